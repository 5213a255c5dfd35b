/**
 * SO_SETFIB on an offloaded in-worker socket: the card's connection keeps the FIB it
 * opened in, so the host refuses a new one (EOPNOTSUPP) and the socket's FIB stays.
 * A host socket of the same engine still takes it (sosetopt, uipc_socket.c).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, ERRNO, SOL_SOCKET, SO_SETFIB } from '@mcstack/netinet';
import { FrameRing } from '../src/ring.js';
import { DOORBELL_BYTES } from '../src/doorbell.js';
import { ToeChannel } from '../src/worker/toeproxy.js';

test('SO_SETFIB on an offloaded socket is refused with EOPNOTSUPP and leaves its FIB; a host socket takes it', () => {
  const e = new Engine({ seed: 1, tunables: { 'net.fibs': 2 } });
  const ch = new ToeChannel(e, {
    down: FrameRing.create({ slots: 16, slotSize: 256 }).sab,
    up: FrameRing.create({ slots: 16, slotSize: 256 }).sab,
    cardBell: new SharedArrayBuffer(DOORBELL_BYTES),
    toeOn: new SharedArrayBuffer(4),
  });
  const fd = ch.connect('10.0.0.2', 80, 'setfib');
  assert.ok(fd >= 0, `connect: ${fd}`);
  assert.equal(e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, 1), -ERRNO.EOPNOTSUPP);
  assert.equal(e.getsockopt(fd, SOL_SOCKET, SO_SETFIB), 0);
  // Past net.fibs is EINVAL before the protocol is asked, as FreeBSD's sosetopt.
  assert.equal(e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, 2), -ERRNO.EINVAL);

  const host = e.socket('inet', 'stream');
  assert.ok(host >= 0);
  assert.equal(e.setsockopt(host, SOL_SOCKET, SO_SETFIB, 1), 0);
  assert.equal(e.getsockopt(host, SOL_SOCKET, SO_SETFIB), 1);
});
