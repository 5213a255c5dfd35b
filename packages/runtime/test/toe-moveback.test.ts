/**
 * An in-worker app's connection coming back from the card keeps the socket buffers its
 * descriptor had (worker/toeproxy.ts `merged`): the offloaded socket's credit toward the
 * card, not the card's own smaller buffers. Shrunk mid-transfer under an app that writes
 * its whole request before it reads (crr-client) and an echo that writes only what it
 * reads, both ends sat in zero windows for good (persist probes, no error) — the stall a
 * 256 KiB echo through the card showed after `-toe`.
 *
 * Deterministic: two engines on the simulated wire (virtual clock, seeded loss); the
 * server's connection is exported at a swept instant of the transfer, put under the app's
 * descriptor as an offloaded socket (`adopt`, as host → card does) and brought straight
 * back (`merged`, import, `restore`, as card → host does). A failure names its seed and
 * move point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, ERRNO } from '@mcstack/netinet';
import { Simulator } from '@mcstack/netinet/sim';
import { FrameRing } from '../src/ring.js';
import { DOORBELL_BYTES } from '../src/doorbell.js';
import { ToeChannel } from '../src/worker/toeproxy.js';

const REQ = 256 * 1024;
const CHUNK = 64 * 1024;
/** Virtual time a transaction may take: a stalled one sits in persist far beyond it. */
const LIMIT_US = 120_000_000;

function setup(seed: number, loss: number) {
  const sim = new Simulator(seed);
  const eng = (s: number) => new Engine({ seed: s, output: (ifp, f) => sim.transmit(ifp, f) });
  const c = eng(seed * 2 + 1);
  const s = eng(seed * 2 + 2);
  // Autotuning that has not grown the buffers yet, as under load in the runtime: it grows
  // them only while data flows, and here both ends come to a standstill first.
  for (const e of [c, s]) {
    e.sysctl.set('net.inet.tcp.recvbuf_auto', 0);
    e.sysctl.set('net.inet.tcp.sendbuf_auto', 0);
  }
  const ifc = c.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 0x0c), mtu: 1500 });
  const ifs = s.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 0x05), mtu: 1500 });
  c.addAddr(ifc, '10.0.0.1/24');
  s.addAddr(ifs, '10.0.0.2/24');
  c.setUp(ifc);
  s.setUp(ifs);
  sim.connect({ engine: c, ifp: ifc }, { engine: s, ifp: ifs }, { loss, delayUs: 200 });
  const ch = new ToeChannel(s, {
    down: FrameRing.create({ slots: 16, slotSize: 256 }).sab,
    up: FrameRing.create({ slots: 16, slotSize: 256 }).sab,
    cardBell: new SharedArrayBuffer(DOORBELL_BYTES),
    toeOn: new SharedArrayBuffer(4),
  });
  return { sim, c, s, ch };
}

/**
 * One crr transaction of REQ bytes against an echo, the server's connection moved to an
 * offloaded socket and back once the client has written `moveAt` bytes. Returns the bytes
 * echoed back and the server descriptor's buffer sizes after the move.
 */
function transaction(seed: number, loss: number, moveAt: number) {
  const { sim, c, s, ch } = setup(seed, loss);
  const lfd = s.socket('inet', 'stream');
  assert.equal(s.bind(lfd, { addr: '10.0.0.2', port: 7 }), 0);
  assert.equal(s.listen(lfd, 8), 0);
  const cfd = c.socket('inet', 'stream');
  assert.equal(c.connect(cfd, { addr: '10.0.0.2', port: 7 }), -ERRNO.EINPROGRESS);
  const req = new Uint8Array(REQ).map((_, i) => (i * 7 + seed) & 0xff);
  const buf = new Uint8Array(CHUNK);
  let sfd = -1;
  let sent = 0;
  let got = 0;
  let pend = 0;
  let moved = false;
  let hiwat = { snd: 0, rcv: 0 };
  const step = (): boolean => {
    if (sfd < 0) sfd = s.accept(lfd);
    // crr-client: the whole request first, then the response.
    while (sent < REQ) {
      const w = c.send(cfd, req, sent, Math.min(16384, REQ - sent));
      if (w <= 0) break;
      sent += w;
    }
    if (sent === REQ) for (let r = c.recv(cfd, buf, 0, CHUNK); r > 0; r = c.recv(cfd, buf, 0, CHUNK)) got += r;
    if (sfd < 0) return false;
    if (!moved && sent >= moveAt) {
      moved = true;
      // Host → card: exported, an offloaded socket under the app's descriptor ...
      const x = s.exportConnection(sfd);
      assert.equal(typeof x, 'object', `export: ${String(x)}`);
      if (typeof x === 'number') return true;
      const sid = ch.adopt(sfd, x, { laddr: '10.0.0.2', lport: 7, faddr: '10.0.0.1', fport: x.pcb.fport }, 'echo');
      assert.ok(sid > 0, `adopt: ${sid}`);
      // ... and card → host: the card's export (its buffers as the host's were) merged and imported.
      const r = ch.merged(sid, x, false);
      const fd = s.importConnection(r.x);
      assert.ok(fd >= 0, `import: ${fd}`);
      sfd = ch.restore(sid, fd, r.shut);
      const so = s.sockets.lookup(sfd)!;
      hiwat = { snd: so.so_snd.sb_hiwat, rcv: so.so_rcv.sb_hiwat };
    }
    // echo: what it read goes back; what does not fit waits, and nothing more is read meanwhile.
    for (;;) {
      if (pend > 0) {
        const w = s.send(sfd, buf, 0, pend);
        if (w <= 0) break;
        buf.copyWithin(0, w, pend);
        pend -= w;
        if (pend > 0) break;
      }
      const r = s.recv(sfd, buf, 0, CHUNK);
      if (r <= 0) break;
      pend = r;
    }
    return got === REQ;
  };
  sim.run(LIMIT_US, step);
  return { got, hiwat };
}

test('an offloaded connection back on the host keeps its descriptor’s buffers: a 256 KiB echo completes from any move point', () => {
  for (const seed of [1, 2]) {
    // Move points up to where, unmoved, both ends would already be at a standstill.
    for (let i = 0; i < 7; i++) {
      const moveAt = i * (REQ / 8);
      const where = `seed ${seed}, moved after ${moveAt} bytes written`;
      const { got, hiwat } = transaction(seed, seed === 1 ? 0 : 0.01, moveAt);
      assert.equal(got, REQ, `${where}: the echo stalled (buffers ${JSON.stringify(hiwat)})`);
      assert.ok(hiwat.snd >= REQ && hiwat.rcv >= REQ, `${where}: buffers ${JSON.stringify(hiwat)}`);
    }
  }
});
