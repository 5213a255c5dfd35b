/**
 * in_pcblookup with the change notes' flags (INPLOOKUP_WILDCARD, INPLOOKUP_RLOCKPCB,
 * INPLOOKUP_WLOCKPCB), the group table then the wildcard pcbs every group shares, the
 * pcb locks it hands back (asserted with invariants on), and the group's RSS bucket
 * set: hashed segments for buckets it does not own are counted as misdirected, and a
 * connection remembers the hash of its segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INPLOOKUP_WILDCARD,
  INPLOOKUP_RLOCKPCB,
  INPLOOKUP_WLOCKPCB,
  inpUnlock,
  inpWlock,
  inpWunlock,
  inpWlockAssert,
  setPcbInvariants,
  type Inpcb,
} from '../src/netinet/in_pcb.js';
import { Pcbgroup } from '../src/netinet/in_pcbgroup.js';
import { M_HASHTYPE_RSS_TCP_IPV4, newFrameMeta } from '../src/net/mbuf.js';
import { Engine } from '../src/engine.js';
import { makePair, type Pair } from './tcp-harness.js';

/** a connects to b:80 (listening); returns the fds. */
function connected(p: Pair): { lfd: number; cfd: number; sfd: number } {
  const lfd = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(lfd, { addr: '10.0.0.2', port: 80 }), 0);
  assert.equal(p.b.listen(lfd, 64), 0);
  const cfd = p.a.socket('inet', 'stream');
  p.a.connect(cfd, { addr: '10.0.0.2', port: 80 });
  p.run(p.now + 100_000);
  const sfd = p.b.accept(lfd);
  assert.ok(sfd >= 0);
  return { lfd, cfd, sfd };
}

const pcb = (r: Inpcb | null | number): Inpcb => {
  assert.ok(r !== null && typeof r === 'object', `expected a pcb, got ${String(r)}`);
  return r;
};

test('the exact 4-tuple, then with INPLOOKUP_WILDCARD the listener; locked as asked', () => {
  const was = setPcbInvariants(true);
  try {
    const p = makePair();
    const { cfd, sfd } = connected(p);
    const local = p.a.getsockname(cfd) as { addr: string; port: number };
    const c = pcb(p.b.pcblookup('tcp', local, { addr: '10.0.0.2', port: 80 }, INPLOOKUP_WLOCKPCB));
    assert.equal(c, p.b.sockets.lookup(sfd)!.so_pcb);
    assert.equal(c.inp_lock, -1);
    assert.throws(() => inpWlock(c), { code: 'EDEADLK' }, 'not recursive');
    inpUnlock(c);
    assert.equal(c.inp_lock, 0);
    assert.throws(() => inpWlockAssert(c), { code: 'EDEADLK' });
    // An unknown peer: nothing without the wildcard, the listener with it.
    const stranger = { addr: '10.0.0.9', port: 4444 };
    assert.equal(p.b.pcblookup('tcp', stranger, { addr: '10.0.0.2', port: 80 }, INPLOOKUP_RLOCKPCB), null);
    const l = pcb(
      p.b.pcblookup('tcp', stranger, { addr: '10.0.0.2', port: 80 }, INPLOOKUP_WILDCARD | INPLOOKUP_RLOCKPCB),
    );
    assert.equal(l.inp_fport, 0);
    assert.equal(l.inp_lock, 1);
    const l2 = pcb(
      p.b.pcblookup('tcp', stranger, { addr: '10.0.0.2', port: 80 }, INPLOOKUP_WILDCARD | INPLOOKUP_RLOCKPCB),
    );
    assert.equal(l2, l);
    assert.equal(l.inp_lock, 2, 'readers share');
    assert.throws(
      () => p.b.pcblookup('tcp', stranger, { addr: '10.0.0.2', port: 80 }, INPLOOKUP_WILDCARD | INPLOOKUP_WLOCKPCB),
      { code: 'EDEADLK' },
    );
    inpUnlock(l);
    inpUnlock(l);
    assert.equal(
      p.b.pcblookup('tcp', stranger, { addr: '10.0.0.2', port: 81 }, INPLOOKUP_WILDCARD | INPLOOKUP_WLOCKPCB),
      null,
    );
    assert.equal(p.b.pcblookup('tcp', { addr: 'nonsense', port: 1 }, stranger, INPLOOKUP_WLOCKPCB), -22);
    // UDP goes through the same lookup.
    const u = p.b.socket('inet', 'dgram');
    p.b.bind(u, { addr: '0.0.0.0', port: 53 });
    const up = pcb(
      p.b.pcblookup('udp', stranger, { addr: '10.0.0.2', port: 53 }, INPLOOKUP_WILDCARD | INPLOOKUP_WLOCKPCB),
    );
    assert.equal(up, p.b.sockets.lookup(u)!.so_pcb);
    inpWunlock(up);
  } finally {
    setPcbInvariants(was);
  }
});

test('exactly one of INPLOOKUP_RLOCKPCB / INPLOOKUP_WLOCKPCB', () => {
  const e = new Engine();
  const a = { addr: '10.0.0.1', port: 1 };
  for (const flags of [0, INPLOOKUP_WILDCARD, INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB, INPLOOKUP_WLOCKPCB | 0x10]) {
    assert.throws(() => e.pcblookup('tcp', a, a, flags), { code: 'EINVAL' }, `flags ${flags}`);
  }
});

test('tcp_input holds the connection write-locked while it processes a segment and leaves every pcb unlocked', () => {
  const was = setPcbInvariants(true);
  try {
    const p = makePair(false, 3);
    const { cfd, sfd } = connected(p);
    // Upcalls made while b processes input (not those from the application's own calls).
    const seen: number[] = [];
    let inInput = false;
    p.b.upcall = (fd) => {
      if (inInput && fd === sfd) seen.push(p.b.sockets.lookup(fd)!.so_pcb!.inp_lock);
    };
    const data = new Uint8Array(100_000).fill(7);
    let off = 0;
    const buf = new Uint8Array(65536);
    let got = 0;
    while (got < data.length) {
      if (off < data.length) {
        const w = p.a.send(cfd, data, off);
        if (w > 0) off += w;
      }
      inInput = true;
      p.run(p.now + 10_000);
      inInput = false;
      const r = p.b.recv(sfd, buf);
      if (r > 0) got += r;
    }
    assert.ok(seen.length > 0);
    assert.ok(
      seen.every((s) => s === -1),
      `lock states seen in upcalls: ${[...new Set(seen)]}`,
    );
    for (const e of [p.a, p.b]) for (const inp of e.tcp.pcbinfo.all()) assert.equal(inp.inp_lock, 0);
  } finally {
    setPcbInvariants(was);
  }
});

test('a group owns its RSS buckets: hashed segments for other buckets are counted as misdirected; a connection keeps its hash', () => {
  const p = makePair(false, 5);
  const pg = p.b.setPcbgroup({ id: 0, ngroups: 2, nbuckets: 4, buckets: [0, 2] });
  assert.ok(pg.owns(0) && !pg.owns(1) && pg.owns(6) && !pg.owns(7));
  assert.equal(pg.bucketOf(0x1234567b), 3);
  const { cfd, sfd } = connected(p);
  assert.equal(pg.misdirected, 0, 'unhashed segments are not misdirected');
  // Deliver a's next segments to b by hand, with the metadata a NIC's RSS would add.
  const held: Uint8Array[] = [];
  p.drop = (from, frame) => {
    if (from === 'a') {
      held.push(frame.slice());
      return true;
    }
    return false;
  };
  p.a.send(cfd, new Uint8Array(10).fill(1));
  p.a.send(cfd, new Uint8Array(10).fill(2));
  assert.ok(held.length >= 1);
  const meta = newFrameMeta();
  meta.hashType = M_HASHTYPE_RSS_TCP_IPV4;
  meta.flowid = 0x0000abc2; // bucket 2: ours
  p.b.input('tun0', held[0]!, p.now, meta);
  assert.equal(pg.misdirected, 0);
  const inp = p.b.sockets.lookup(sfd)!.so_pcb!;
  assert.equal(inp.inp_flowid, 0x0000abc2);
  assert.equal(inp.inp_flowtype, M_HASHTYPE_RSS_TCP_IPV4);
  meta.flowid = 0x0000abc1; // bucket 1: another group's
  p.b.input('tun0', held[1] ?? held[0]!, p.now, meta);
  assert.equal(pg.misdirected, 1);
  assert.equal(inp.inp_flowid, 0x0000abc2, 'the first hash sticks');
  const rec = p.b.pcblist().records.find((r) => r.fd === sfd)!;
  assert.equal(rec.flowid, 0x0000abc2);
  assert.equal(rec.group, 0);
  pg.setBuckets([1]);
  assert.deepEqual(pg.buckets(), [1]);
});

test('Pcbgroup validates its shape; a standalone engine is group 0 of 1 owning every bucket', () => {
  const e = new Engine();
  assert.equal(e.pcbgroup.id, 0);
  assert.equal(e.pcbgroup.ngroups, 1);
  assert.ok(e.pcbgroup.owns(0xdeadbeef) && !e.pcbgroup.shared);
  assert.equal(e.udp.pcbinfo.group.pcbgroup, e.pcbgroup, 'TCP and UDP share the group');
  assert.throws(() => new Pcbgroup({ id: 2, ngroups: 2 }), { code: 'EINVAL' });
  assert.throws(() => new Pcbgroup({ nbuckets: 3 }), { code: 'EINVAL' });
  assert.throws(() => new Pcbgroup({ nbuckets: 256 }), { code: 'EINVAL' });
  assert.throws(() => new Pcbgroup({ nbuckets: 4, buckets: [4] }), { code: 'EINVAL' });
  const g = new Engine({ pcbgroup: { id: 1, ngroups: 3, nbuckets: 8, buckets: [1, 4, 7] } });
  assert.deepEqual(g.pcbgroup.buckets(), [1, 4, 7]);
  assert.equal(g.tcp.pcbinfo.group.pcbgroup, g.pcbgroup);
});

test('listeners and connections on one port: a SYN finds the listener, segments find their connection', () => {
  const p = makePair(false, 8);
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 128);
  const fds: number[] = [];
  for (let i = 0; i < 40; i++) {
    const c = p.a.socket('inet', 'stream');
    p.a.connect(c, { addr: '10.0.0.2', port: 80 });
    fds.push(c);
  }
  p.run(p.now + 200_000);
  const acc: number[] = [];
  for (let s: number; (s = p.b.accept(lfd)) >= 0; ) acc.push(s);
  assert.equal(acc.length, 40);
  assert.equal(p.b.tcp.pcbinfo.group.count, 40, 'connections in the group table');
  for (let i = 0; i < fds.length; i++) p.a.send(fds[i]!, Uint8Array.of(i));
  p.run(p.now + 100_000);
  const got = new Set<number>();
  const one = new Uint8Array(1);
  for (const s of acc) {
    assert.equal(p.b.recv(s, one), 1);
    got.add(one[0]!);
  }
  assert.equal(got.size, 40);
});
