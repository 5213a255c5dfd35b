/**
 * Connection export/import (tcp/export.ts): a live TCP connection moves between
 * engines mid-transfer and carries on byte-exact, the peer never noticing (no RST,
 * no reset of the sequence space), and nothing is left in the engine it left.
 * The wire and the move are handoff-harness.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Engine } from '../src/engine.js';
import { SeededRandom } from '../src/kern/random.js';
import { ERRNO } from '../src/kern/errno.js';
import { SHUT_WR } from '../src/kern/uipc_socket.js';
import { setPcbInvariants } from '../src/netinet/in_pcb.js';
import type { TcpExport } from '../src/tcp/export.js';
import { migrate, settle, setup } from './handoff-harness.js';
import { TCPS_ESTABLISHED } from '../src/tcp/var.js';

const PORT = 5001;

for (const family of ['inet', 'inet6'] as const) {
  test(`bulk ${family}: the server connection moves to another engine halfway, the transfer completes byte-exact`, () => {
    const was = setPcbInvariants(true);
    try {
      const seed = 4242;
      const bytes = 3 * 1024 * 1024 + 17;
      const m = setup(seed, family, 2, {});
      const [s1, s2] = m.servers as [Engine, Engine];
      const pattern = new SeededRandom(seed).fill(new Uint8Array(65521));
      const hs = createHash('sha256');
      const hr = createHash('sha256');
      const lfd = s1.socket(family, 'stream');
      assert.equal(s1.bind(lfd, { addr: m.sa, port: PORT }), 0);
      assert.equal(s1.listen(lfd, 8), 0);
      const cfd = m.client.socket(family, 'stream');
      assert.equal(m.client.connect(cfd, { addr: m.sa, port: PORT }), -ERRNO.EINPROGRESS);
      const rbuf = new Uint8Array(16384);
      let sent = 0;
      let received = 0;
      let sfd = -1;
      let shut = false;
      let sclosed = false;
      let cclosed = false;
      let moved: TcpExport | null = null;
      m.sim.run(600_000_000, () => {
        while (sent < bytes) {
          const at = sent % pattern.length;
          const w = m.client.send(cfd, pattern, at, Math.min(65536, bytes - sent, pattern.length - at));
          if (w <= 0) {
            assert.ok(w === -ERRNO.EAGAIN || w === -ERRNO.ENOTCONN || w === 0, `send ${w}`);
            break;
          }
          hs.update(pattern.subarray(at, at + w));
          sent += w;
        }
        if (sent === bytes && !shut && m.client.shutdown(cfd, SHUT_WR) === 0) shut = true;
        const srv = m.active;
        if (sfd < 0) {
          const a = srv.accept(lfd);
          if (a >= 0) {
            sfd = a;
            assert.equal(srv.close(lfd), 0);
          }
        }
        // Halfway, with bytes waiting to be read: the connection moves to s2.
        if (sfd >= 0 && moved === null && received >= bytes / 2 && srv.sockets.lookup(sfd)!.so_rcv.sb_cc > 0) {
          const mg = migrate(m, sfd, s2);
          sfd = mg.fd;
          moved = mg.x;
        }
        if (sfd >= 0 && !sclosed) {
          for (let k = 0; k < 4; k++) {
            const r = m.active.recv(sfd, rbuf);
            if (r > 0) {
              hr.update(rbuf.subarray(0, r));
              received += r;
            }
            if (r === 0) {
              assert.equal(m.active.close(sfd), 0);
              sclosed = true;
            } else assert.ok(r > 0 || r === -ERRNO.EAGAIN, `recv ${r}`);
            if (r <= 0) break;
          }
        }
        if (shut && !cclosed) {
          const r = m.client.recv(cfd, rbuf);
          if (r === 0) {
            m.client.close(cfd);
            cclosed = true;
          }
        }
        return sclosed && cclosed;
      });
      assert.ok(moved !== null, 'the connection moved');
      assert.equal((moved as TcpExport).state, TCPS_ESTABLISHED);
      assert.ok((moved as TcpExport).socket.rcv.data.byteLength > 0, 'moved with unread data');
      assert.ok(sclosed && cclosed, `finished (sent ${sent}, received ${received})`);
      assert.equal(received, bytes);
      assert.equal(hr.digest('hex'), hs.digest('hex'));
      assert.equal(m.rsts, 0, 'no RST on the wire');
      assert.ok(s2.tcp.stat.tcps_rcvbyte > 0, 'the second engine received part of the data');
      settle(m);
    } finally {
      setPcbInvariants(was);
    }
  });
}

test('echo with loss and reordering: the connection hops twice with SACK holes, reassembly and unsent data in flight; the export is faithful', () => {
  const was = setPcbInvariants(true);
  try {
    const seed = 77;
    const bytes = 2 * 1024 * 1024;
    const m = setup(seed, 'inet', 3, { loss: 0.01, reorder: 0.03, reorderDelayUs: 300, delayUs: 100 });
    const [s1, s2, s3] = m.servers as [Engine, Engine, Engine];
    const pattern = new SeededRandom(seed).fill(new Uint8Array(65521));
    const hs = createHash('sha256');
    const he = createHash('sha256');
    const lfd = s1.socket('inet', 'stream');
    assert.equal(s1.bind(lfd, { addr: m.sa, port: PORT }), 0);
    assert.equal(s1.listen(lfd, 8), 0);
    const cfd = m.client.socket('inet', 'stream');
    m.client.connect(cfd, { addr: m.sa, port: PORT });
    const buf = new Uint8Array(65536);
    // The echo application's own state (it moves with the connection).
    const pending: Uint8Array[] = [];
    let sent = 0;
    let echoed = 0;
    let sfd = -1;
    let shut = false;
    let sEof = false;
    let sclosed = false;
    let cclosed = false;
    let hops = 0;
    let first: TcpExport | null = null;
    let second: TcpExport | null = null;
    m.sim.run(3_600_000_000, () => {
      while (sent < bytes) {
        const at = sent % pattern.length;
        const w = m.client.send(cfd, pattern, at, Math.min(16384, bytes - sent, pattern.length - at));
        if (w <= 0) break;
        hs.update(pattern.subarray(at, at + w));
        sent += w;
      }
      if (sent === bytes && !shut && m.client.shutdown(cfd, SHUT_WR) === 0) shut = true;
      for (;;) {
        const r = m.client.recv(cfd, buf);
        if (r > 0) {
          he.update(buf.subarray(0, r));
          echoed += r;
          continue;
        }
        if (r === 0 && !cclosed) {
          m.client.close(cfd);
          cclosed = true;
        }
        break;
      }
      const srv = m.active;
      if (sfd < 0) {
        const a = srv.accept(lfd);
        if (a >= 0) {
          sfd = a;
          srv.close(lfd);
        }
      }
      if (sfd >= 0 && !sclosed) {
        // Move when the connection is in an interesting state: holes to repair on
        // either side or bytes not yet acknowledged (first hop), then at once again.
        const tp = srv.sockets.lookup(sfd)?.so_pcb?.inp_ppcb;
        if (hops === 0 && tp && sent > bytes / 3 && (tp.reass.length > 0 || tp.sack.nholes > 0)) {
          const a = migrate(m, sfd, s2);
          first = a.x;
          const b = migrate(m, a.fd, s3);
          second = b.x;
          sfd = b.fd;
          hops = 2;
        }
        const s = m.active;
        for (;;) {
          while (pending.length > 0) {
            const p = pending[0]!;
            const w = s.send(sfd, p);
            if (w <= 0) break;
            if (w < p.length) {
              pending[0] = p.subarray(w);
              break;
            }
            pending.shift();
          }
          if (pending.length > 0) break;
          const r = s.recv(sfd, buf);
          if (r > 0) {
            pending.push(buf.slice(0, r));
            continue;
          }
          if (r === 0) sEof = true;
          break;
        }
        if (sEof && pending.length === 0) {
          s.close(sfd);
          sclosed = true;
        }
      }
      return sclosed && cclosed;
    });
    assert.equal(hops, 2, 'the connection hopped twice');
    const x1 = first as unknown as TcpExport;
    const x2 = second as unknown as TcpExport;
    assert.ok(x1.reass.length > 0 || x1.scoreboard.nholes > 0, 'moved with holes to repair');
    // Import then export again at the same instant gives the same state back.
    assert.deepEqual(x2, x1);
    assert.ok(sclosed && cclosed, `finished (sent ${sent}, echoed ${echoed})`);
    assert.equal(echoed, bytes);
    assert.equal(he.digest('hex'), hs.digest('hex'));
    assert.equal(m.rsts, 0, 'no RST on the wire');
    settle(m);
  } finally {
    setPcbInvariants(was);
  }
});

test('export and import refuse what they cannot move, and leave nothing behind when they do', () => {
  // s1's clock runs 20 s ahead of the wire's, s2's with it.
  const m = setup(9, 'inet', 2, {}, [20_000_000, 0]);
  const [s1, s2] = m.servers as [Engine, Engine];
  const lfd = s1.socket('inet', 'stream');
  s1.bind(lfd, { addr: m.sa, port: PORT });
  s1.listen(lfd, 8);
  assert.equal(s1.exportConnection(lfd), -ERRNO.EINVAL, 'a listener');
  assert.equal(s1.exportConnection(99), -ERRNO.EBADF);
  const ufd = s1.socket('inet', 'dgram');
  assert.equal(s1.exportConnection(ufd), -ERRNO.EINVAL, 'a datagram socket');
  const fresh = s1.socket('inet', 'stream');
  assert.equal(s1.exportConnection(fresh), -ERRNO.EINVAL, 'never connected');
  const cfd = m.client.socket('inet', 'stream');
  m.client.connect(cfd, { addr: m.sa, port: PORT });
  let sfd = -1;
  m.sim.run(1_000_000, () => (sfd = s1.accept(lfd)) >= 0);
  assert.ok(sfd >= 0);
  m.sim.run(m.sim.now + 10_000_000);
  const x = s1.exportConnection(sfd, m.sim.now + 20_000_000) as TcpExport;
  assert.equal(typeof x, 'object');
  m.active = s2;
  const bad = (f: (y: TcpExport) => void, errno: number, why: string) => {
    const y = structuredClone(x);
    f(y);
    const before = s2.census();
    assert.equal(s2.importConnection(y), -errno, why);
    assert.deepEqual(s2.census(), before, `${why}: nothing left after the refusal`);
  };
  bad(
    (y) => {
      y.cc.name = 'no-such-cc';
    },
    ERRNO.ENOENT,
    'unknown congestion control',
  );
  bad(
    (y) => {
      y.version = 99;
    },
    ERRNO.EINVAL,
    'unknown version',
  );
  bad(
    (y) => {
      y.domain = 'inet6';
    },
    ERRNO.EINVAL,
    'family mismatch',
  );
  bad(
    (y) => {
      new Uint8Array(y.pcb.laddr)[15] = 99;
    },
    ERRNO.EADDRNOTAVAIL,
    'local address not configured here',
  );
  const fd = s2.importConnection(structuredClone(x), m.sim.now);
  assert.ok(fd >= 0);
  // Timers keep their remaining time on the importer's clock.
  const [rec] = s2.pcblist().records;
  assert.ok(rec !== undefined && rec.timers !== null);
  assert.deepEqual(
    [rec.timers.tt_delack, rec.timers.tt_rexmt, rec.timers.tt_persist, rec.timers.tt_keep, rec.timers.tt_2msl],
    x.timers,
  );
  assert.ok(
    x.timers.some((t) => t !== null),
    'some timer was running',
  );
  const lastTs = m.serverTs[m.serverTs.length - 1]!;
  const mark = m.serverTs.length;
  bad(() => {}, ERRNO.EADDRINUSE, 'the 4-tuple is taken');
  assert.deepEqual(s2.getpeername(fd), m.client.getsockname(cfd));
  assert.deepEqual(s2.getsockname(fd), m.client.getpeername(cfd));
  // The moved connection still talks.
  const msg = new TextEncoder().encode('still here');
  assert.equal(s2.send(fd, msg), msg.length);
  const got = new Uint8Array(64);
  let n = -1;
  m.sim.run(m.sim.now + 1_000_000, () => (n = m.client.recv(cfd, got)) > 0);
  assert.deepEqual(got.subarray(0, n), msg);
  // The importer's clock is 20 s behind the exporter's, yet its TSvals go on from where
  // the exporter's would be after the 10 idle seconds (RFC 7323 §5.4: PAWS at the peer).
  const after = m.serverTs.slice(mark);
  assert.ok(
    after.length > 0 && after[0]! - lastTs >= 10_000 && after[0]! - lastTs < 11_000,
    `TSval ${after[0]} after ${lastTs}`,
  );
  assert.equal(m.client.tcp.stat.tcps_pawsdrop, 0);
});
