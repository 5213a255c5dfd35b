/**
 * Multiple FIBs (net/route.c, setfib(2), SO_SETFIB): host A has two links to host B, which
 * owns the service address 192.0.2.1. FIB 0's default route goes over em0, FIB 1's over em1,
 * so the link a segment leaves on tells which table routed it. Every frame is copied onto a
 * queue and delivered on the engines' shared virtual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import type { Ifnet } from '../src/net/if.js';
import { ERRNO, SysError } from '../src/kern/errno.js';
import { SOL_SOCKET, SO_SETFIB } from '../src/kern/uipc_socket.js';
import { RTF_DYNAMIC, RTF_GATEWAY, RTF_LOCAL, RTF_MODIFIED, routeAdd6, rtFib } from '../src/net/route.js';
import {
  delAddr4,
  inAddr,
  in6Addr,
  inetNtoa,
  in6SolicitedNode,
  IN6ADDR_LINKLOCAL_ALLNODES,
  ip6Sprintf,
} from '../src/netinet/in.js';
import { inGroup6 } from '../src/netinet6/in6.js';
import { ND6_LLINFO_STALE } from '../src/netinet6/nd6.js';
import { finish, internetChecksum, pseudoHeaderSum6, set16, sumBytes } from '@mcstack/wire';
import type { Inpcb } from '../src/netinet/in_pcb.js';

const PORT = 7000;

interface Net {
  a: Engine;
  b: Engine;
  /** Frames A sent, per interface name, and the last one. */
  sent: Map<string, number>;
  last: Map<string, Uint8Array>;
  now: number;
  run(): void;
}

function mac(n: number): Uint8Array {
  return Uint8Array.of(2, 0, 0, 0, 0, n);
}

function setup(tunables: Record<string, number> = { 'net.fibs': 2 }): Net {
  const queue: { to: Engine; ifp: Ifnet; frame: Uint8Array }[] = [];
  const peer = new Map<Ifnet, { e: Engine; ifp: Ifnet }>();
  const sent = new Map<string, number>();
  const last = new Map<string, Uint8Array>();
  const net = { sent, last, now: 0 } as Net;
  const out = (from: Engine) => (ifp: Ifnet, frame: Uint8Array) => {
    if (from === net.a) {
      sent.set(ifp.name, (sent.get(ifp.name) ?? 0) + 1);
      last.set(ifp.name, frame.slice());
    }
    const p = peer.get(ifp);
    if (p) queue.push({ to: p.e, ifp: p.ifp, frame: frame.slice() });
  };
  const a = new Engine({ seed: 1, tunables });
  const b = new Engine({ seed: 2 });
  a.output = out(a);
  b.output = out(b);
  net.a = a;
  net.b = b;
  const pairs: [string, number, string, string][] = [
    ['em0', 0, '10.0.0.1/24', '10.0.0.254/24'],
    ['em1', 1, '10.0.1.1/24', '10.0.1.254/24'],
  ];
  for (const [name, i, aa, ba] of pairs) {
    const ia = a.ifattach({ name, type: 'ether', lladdr: mac(0x10 + i) });
    const ib = b.ifattach({ name: `ix${i}`, type: 'ether', lladdr: mac(0x20 + i) });
    peer.set(ia, { e: b, ifp: ib });
    peer.set(ib, { e: a, ifp: ia });
    assert.equal(a.addAddr(ia, aa), 0);
    assert.equal(b.addAddr(ib, ba), 0);
    a.setUp(ia);
    b.setUp(ib);
  }
  assert.equal(b.addAddr('ix0', '192.0.2.1/32'), 0);
  net.run = () => {
    for (let i = 0; i < 100_000 && queue.length > 0; i++) {
      const f = queue.shift()!;
      f.to.input(f.ifp, f.frame, net.now);
    }
  };
  return net;
}

/** A connection from A (in `fib`, set on the socket) to B's service: [A's fd, B's fd]. */
function connectIn(n: Net, fib: number, lfd: number): [number, number] {
  const fd = n.a.socket('inet', 'stream');
  assert.equal(n.a.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib), 0);
  const e = n.a.connect(fd, { addr: '192.0.2.1', port: PORT });
  assert.ok(e === 0 || e === -ERRNO.EINPROGRESS, `connect: ${e}`);
  n.run();
  const bfd = n.b.accept(lfd);
  assert.ok(bfd >= 0, `accept: ${bfd}`);
  return [fd, bfd];
}

function listenB(n: Net): number {
  const lfd = n.b.socket('inet', 'stream');
  assert.equal(n.b.bind(lfd, { addr: '0.0.0.0', port: PORT }), 0);
  assert.equal(n.b.listen(lfd, 16), 0);
  return lfd;
}

/** Send `text` from A's fd and read it on B's; whether A sent anything on each link meanwhile. */
function transfer(n: Net, afd: number, bfd: number, text: string): { em0: boolean; em1: boolean; got: string } {
  const before = { em0: n.sent.get('em0') ?? 0, em1: n.sent.get('em1') ?? 0 };
  assert.equal(n.a.send(afd, Buffer.from(text)), text.length);
  n.run();
  // Let B's delayed ACK go, so the next small write is not held by Nagle.
  n.now += 500_000;
  n.b.advance(n.now);
  n.a.advance(n.now);
  n.run();
  const buf = new Uint8Array(4096);
  const r = n.b.recv(bfd, buf);
  return {
    em0: (n.sent.get('em0') ?? 0) > before.em0,
    em1: (n.sent.get('em1') ?? 0) > before.em1,
    got: r > 0 ? Buffer.from(buf.subarray(0, r)).toString() : String(r),
  };
}

function pcbOf(e: Engine, fd: number): Inpcb {
  return e.sockets.lookup(fd)!.so_pcb as Inpcb;
}

test('two FIBs with different default routes: sockets in each leave by a different link', () => {
  const n = setup();
  assert.equal(n.a.addRoute('default', '10.0.0.254'), 0);
  assert.equal(n.a.addRoute('default', '10.0.1.254', { fib: 1 }), 0);
  const lfd = listenB(n);
  const [a0, b0] = connectIn(n, 0, lfd);
  const [a1, b1] = connectIn(n, 1, lfd);
  assert.equal((n.b.getpeername(b0) as { addr: string }).addr, '10.0.0.1');
  assert.equal((n.b.getpeername(b1) as { addr: string }).addr, '10.0.1.1', 'FIB 1 picked em1 and its source');
  assert.deepEqual(transfer(n, a0, b0, 'fib zero'), { em0: true, em1: false, got: 'fib zero' });
  assert.deepEqual(transfer(n, a1, b1, 'fib one'), { em0: false, em1: true, got: 'fib one' });
  assert.equal(pcbOf(n.a, a1).inc_fibnum, 1);
});

test('a connection keeps its FIB when FIB 0 changes, and through export and import', () => {
  const n = setup();
  assert.equal(n.a.addRoute('default', '10.0.0.254'), 0);
  assert.equal(n.a.addRoute('default', '10.0.1.254', { fib: 1 }), 0);
  const lfd = listenB(n);
  const [a1, b1] = connectIn(n, 1, lfd);
  // FIB 0's default now points at a gateway nobody answers for: a connection that looked
  // in FIB 0 would stall behind ARP on em0.
  const gen1 = rtFib(n.a.net, 1).gen;
  assert.equal(n.a.addRoute('0.0.0.0/1', '10.0.0.99'), 0);
  assert.equal(n.a.addRoute('128.0.0.0/1', '10.0.0.99'), 0);
  assert.equal(rtFib(n.a.net, 1).gen, gen1, 'FIB 1 untouched');
  assert.deepEqual(transfer(n, a1, b1, 'still one'), { em0: false, em1: true, got: 'still one' });
  // Export and import (a move to another worker): the FIB goes with it.
  const x = n.a.exportConnection(a1, n.now);
  assert.ok(typeof x !== 'number', `export: ${String(x)}`);
  assert.equal(x.pcb.fib, 1);
  const moved = n.a.importConnection(x, n.now);
  assert.ok(moved >= 0, `import: ${moved}`);
  assert.equal(pcbOf(n.a, moved).inc_fibnum, 1);
  assert.equal(n.a.getsockopt(moved, SOL_SOCKET, SO_SETFIB), 1);
  assert.deepEqual(transfer(n, moved, b1, 'moved'), { em0: false, em1: true, got: 'moved' });
  // An importer with fewer tables refuses it.
  const small = new Engine({ seed: 3 });
  assert.equal(small.importConnection({ ...x, pcb: { ...x.pcb, fib: 1 } }), -ERRNO.EINVAL);
  // A FIB 0 connection made now follows FIB 0's new routes toward the silent gateway.
  const fd0 = n.a.socket('inet', 'stream');
  n.a.connect(fd0, { addr: '192.0.2.1', port: PORT });
  n.run();
  assert.equal(n.b.accept(lfd), -ERRNO.EAGAIN, 'no SYN reached B over em1');
});

test('connected prefixes are in every FIB (net.add_addr_allfibs), IPv6 addresses only in the default one', () => {
  const n = setup({ 'net.fibs': 3 });
  assert.equal(n.a.sysctl.get('net.fibs'), 3);
  assert.equal(n.a.sysctl.get('net.add_addr_allfibs'), 1);
  assert.equal(n.a.addAddr('em0', 'fd00::1/64'), 0);
  for (let f = 0; f < 3; f++) {
    const fib = rtFib(n.a.net, f);
    assert.equal(fib.lookup4(inAddr('10.0.1.77'))?.ifp.name, 'em1', `10.0.1.0/24 in FIB ${f}`);
    assert.equal(fib.lookup4(inAddr('127.0.0.1'))?.ifp.name, 'lo0', `lo0 in FIB ${f}`);
    assert.equal(fib.lookup6(in6Addr('fd00::77'))?.ifp.name, 'em0', `fd00::/64 in FIB ${f}`);
    const own6 = fib.find6(in6Addr('fd00::1'), 128);
    assert.equal(own6 !== null && (own6.flags & RTF_LOCAL) !== 0, f === 0, `fd00::1/128 only in FIB 0 (FIB ${f})`);
  }
  // Off: a new address's prefix goes only into its interface's FIB.
  n.a.sysctl.set('net.add_addr_allfibs', 0);
  assert.equal(n.a.setIfFib('em1', 2), 0);
  assert.equal(n.a.addAddr('em1', '10.9.0.1/16'), 0);
  assert.deepEqual(
    [0, 1, 2].map((f) => rtFib(n.a.net, f).lookup4(inAddr('10.9.3.3'))?.ifp.name ?? null),
    [null, null, 'em1'],
  );
  // Removing an address takes its prefix and local route out of every FIB it went into.
  n.a.sysctl.set('net.add_addr_allfibs', 1);
  assert.equal(n.a.addAddr('em0', '172.16.0.1/24'), 0);
  assert.equal(rtFib(n.a.net, 2).lookup4(inAddr('172.16.0.9'))?.ifp.name, 'em0');
  assert.equal(delAddr4(n.a.net, n.a.ifunit('em0')!, inAddr('172.16.0.1')), 0);
  for (let f = 0; f < 3; f++) {
    assert.equal(rtFib(n.a.net, f).lookup4(inAddr('172.16.0.9')), null, `prefix gone from FIB ${f}`);
    assert.equal(rtFib(n.a.net, f).find4(inAddr('172.16.0.1'), 32), null, `local route gone from FIB ${f}`);
  }
});

test("SO_SETFIB, setfib and ifconfig fib: EINVAL past net.fibs; sockets inherit the process FIB, accepted ones the listener's", () => {
  const n = setup();
  const fd = n.a.socket('inet', 'stream');
  assert.equal(n.a.setsockopt(fd, SOL_SOCKET, SO_SETFIB, 2), -ERRNO.EINVAL);
  assert.equal(n.a.setsockopt(fd, SOL_SOCKET, SO_SETFIB, -1), -ERRNO.EINVAL);
  assert.equal(n.a.setsockopt(fd, SOL_SOCKET, SO_SETFIB, 1.5), -ERRNO.EINVAL);
  assert.equal(n.a.getsockopt(fd, SOL_SOCKET, SO_SETFIB), 0);
  assert.equal(n.a.setsockopt(fd, SOL_SOCKET, SO_SETFIB, 1), 0);
  assert.equal(n.a.getsockopt(fd, SOL_SOCKET, SO_SETFIB), 1);
  assert.equal(n.a.setfib(2), -ERRNO.EINVAL);
  assert.equal(n.a.setfib(1), 0);
  const u = n.a.socket('inet', 'dgram');
  assert.equal(n.a.getsockopt(u, SOL_SOCKET, SO_SETFIB), 1, 'socreate takes the process FIB');
  assert.equal(pcbOf(n.a, u).inc_fibnum, 1);
  assert.equal(n.a.setIfFib('em0', 2), -ERRNO.EINVAL);
  assert.equal(n.a.setIfFib('em0', 1), 0);
  assert.equal(n.a.ifunit('em0')!.fib, 1);
  // One FIB only (the default): any other is EINVAL, on sockets and at ifattach.
  const one = new Engine();
  assert.equal(one.sysctl.get('net.fibs'), 1);
  assert.equal(one.setsockopt(one.socket('inet', 'stream'), SOL_SOCKET, SO_SETFIB, 1), -ERRNO.EINVAL);
  assert.throws(
    () => one.ifattach({ name: 'em9', type: 'ether', lladdr: mac(9), fib: 1 }),
    (e: unknown) => e instanceof SysError && e.code === 'EINVAL',
  );
  assert.throws(
    () => new Engine({ tunables: { 'net.fibs': 0 } }),
    (e: unknown) => (e as SysError).code === 'EINVAL',
  );
  assert.throws(
    () => new Engine({ tunables: { 'net.fibs': 17 } }),
    (e: unknown) => (e as SysError).code === 'EINVAL',
  );
  // The loader takes hex as sysctl(8) does (strtol base 0); text that is no integer is EINVAL.
  assert.equal(new Engine({ tunables: { 'net.fibs': '0x4' } }).sysctl.get('net.fibs'), 4);
  assert.throws(
    () => new Engine({ tunables: { 'net.fibs': '4k' } }),
    (e: unknown) => (e as SysError).code === 'EINVAL',
  );
  assert.throws(
    () => n.a.sysctl.set('net.fibs', 4),
    (e: unknown) => (e as SysError).code === 'EPERM',
  );
  // A listener in FIB 1 on B: the accepted connection is in FIB 1 too (sonewconn, syncache_socket),
  // and its replies follow FIB 1, where B has a route back only over ix1.
  n.a.setfib(0);
  assert.equal(n.b.setfib(1), -ERRNO.EINVAL, 'B has one FIB');
  const b2 = setup();
  b2.a.addRoute('default', '10.0.0.254');
  const lfd = b2.a.socket('inet', 'stream');
  assert.equal(b2.a.setsockopt(lfd, SOL_SOCKET, SO_SETFIB, 1), 0);
  assert.equal(b2.a.bind(lfd, { addr: '0.0.0.0', port: PORT }), 0);
  assert.equal(b2.a.listen(lfd, 4), 0);
  // B (the client here) reaches A's 10.0.0.1 over ix0; A answers from FIB 1, which has
  // 10.0.0.0/24 (a connected prefix) over em0 as well: the handshake completes.
  const cfd = b2.b.socket('inet', 'stream');
  b2.b.connect(cfd, { addr: '10.0.0.1', port: PORT });
  b2.run();
  const acc = b2.a.accept(lfd);
  assert.ok(acc >= 0, `accept: ${acc}`);
  assert.equal(b2.a.getsockopt(acc, SOL_SOCKET, SO_SETFIB), 1);
  assert.equal(pcbOf(b2.a, acc).inc_fibnum, 1);
});

/** An ICMP redirect from `router` to A (10.0.0.1 on em0): `dst` is better reached through `gw`. */
function redirectFrame(router: string, gw: string, dst: string): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 28);
  f.set(mac(0x10), 0);
  f.set(mac(0x30), 6);
  f[12] = 0x08;
  const ip = 14;
  const put32 = (o: number, a: string) => f.set(a.split('.').map(Number), o);
  f[ip] = 0x45;
  f[ip + 3] = 20 + 8 + 28;
  f[ip + 8] = 64;
  f[ip + 9] = 1;
  put32(ip + 12, router);
  put32(ip + 16, '10.0.0.1');
  set16(f, ip + 10, internetChecksum(f, ip, 20));
  const ic = ip + 20;
  f[ic] = 5; // ICMP_REDIRECT
  f[ic + 1] = 1; // host
  put32(ic + 4, gw);
  // The quoted datagram: ours, 10.0.0.1 -> dst, TCP.
  const q = ic + 8;
  f[q] = 0x45;
  f[q + 3] = 48;
  f[q + 8] = 64;
  f[q + 9] = 6;
  put32(q + 12, '10.0.0.1');
  put32(q + 16, dst);
  set16(f, ic + 2, internetChecksum(f, ic, 8 + 28));
  return f;
}

test('an ICMP redirect goes into every FIB whose route to the destination runs through its sender', () => {
  const n = setup({ 'net.fibs': 3 });
  assert.equal(n.a.addRoute('default', '10.0.0.254'), 0);
  assert.equal(n.a.addRoute('default', '10.0.0.254', { fib: 1 }), 0);
  assert.equal(n.a.addRoute('default', '10.0.0.253', { fib: 2 }), 0);
  const gw = (f: number, d: string) => {
    const rt = rtFib(n.a.net, f).lookup4(inAddr(d));
    return rt === null ? null : `${inetNtoa(rt.gw4)}${rt.flags & RTF_DYNAMIC ? ' dynamic' : ''}`;
  };
  n.a.input('em0', redirectFrame('10.0.0.254', '10.0.0.200', '192.0.2.7'), 0);
  assert.deepEqual(
    [0, 1, 2].map((f) => gw(f, '192.0.2.7')),
    ['10.0.0.200 dynamic', '10.0.0.200 dynamic', '10.0.0.253'],
  );
  assert.deepEqual(
    [0, 1, 2].map((f) => gw(f, '192.0.2.8')),
    ['10.0.0.254', '10.0.0.254', '10.0.0.253'],
  );
  assert.deepEqual(n.a.net.rtstat, { rts_badredirect: 1, rts_dynamic: 2, rts_newgateway: 0 });
  // From the router now in charge of 192.0.2.7: the host route's gateway changes (RTF_MODIFIED).
  n.a.input('em0', redirectFrame('10.0.0.200', '10.0.0.201', '192.0.2.7'), 0);
  assert.equal(gw(0, '192.0.2.7'), '10.0.0.201 dynamic');
  assert.equal(n.a.net.rtstat.rts_newgateway, 2);
  // Forged or useless: from a router that is not our next hop, to ourselves, off-net.
  n.a.input('em0', redirectFrame('10.0.0.99', '10.0.0.202', '192.0.2.9'), 0);
  n.a.input('em0', redirectFrame('10.0.0.254', '10.0.0.1', '192.0.2.9'), 0);
  n.a.input('em0', redirectFrame('10.0.0.254', '172.16.0.1', '192.0.2.9'), 0);
  assert.deepEqual(
    [0, 1, 2].map((f) => gw(f, '192.0.2.9')),
    ['10.0.0.254', '10.0.0.254', '10.0.0.253'],
  );
  // FIB 2 twice before, then each of the three in all three FIBs.
  assert.equal(n.a.net.rtstat.rts_badredirect, 2 + 3 * 3);
  // net.inet.icmp.drop_redirect: ignored.
  n.a.sysctl.set('net.inet.icmp.drop_redirect', 1);
  n.a.input('em0', redirectFrame('10.0.0.254', '10.0.0.200', '192.0.2.10'), 0);
  assert.equal(gw(0, '192.0.2.10'), '10.0.0.254');
});

/**
 * An ND redirect (RFC 4861 §4.5) from `router` (link-local) to A's fe80::1 on em0: `dst` is
 * better reached through `target` (a link-local router), or is on-link when target = dst;
 * `lladdr` adds the target's link-address option.
 */
function redirect6Frame(o: {
  router: string;
  target: string;
  dst: string;
  hlim?: number;
  lladdr?: number;
}): Uint8Array {
  const icmpLen = 40 + (o.lladdr === undefined ? 0 : 8);
  const f = new Uint8Array(14 + 40 + icmpLen);
  f.set(mac(0x10), 0);
  f.set(mac(0x20), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  const ip = 14;
  f[ip] = 0x60;
  set16(f, ip + 4, icmpLen);
  f[ip + 6] = 58;
  f[ip + 7] = o.hlim ?? 255;
  f.set(in6Addr(o.router), ip + 8);
  f.set(in6Addr('fe80::1'), ip + 24);
  const ic = ip + 40;
  f[ic] = 137; // ND_REDIRECT
  f.set(in6Addr(o.target), ic + 8);
  f.set(in6Addr(o.dst), ic + 24);
  if (o.lladdr !== undefined) {
    f[ic + 40] = 2; // ND_OPT_TARGET_LINKADDR
    f[ic + 41] = 1;
    f.set(mac(o.lladdr), ic + 42);
  }
  set16(f, ic + 2, finish(sumBytes(f, ic, icmpLen, pseudoHeaderSum6(f, ip + 8, ip + 24, 58, icmpLen))));
  return f;
}

test('an ND redirect goes into every FIB that routes the destination through its sender (RFC 4861 §8)', () => {
  const n = setup({ 'net.fibs': 3 });
  const em0 = n.a.ifunit('em0')!;
  assert.equal(n.a.addAddr(em0, 'fe80::1/64'), 0);
  assert.equal(n.a.addAddr(em0, 'fd00::1/64'), 0);
  const dflt = new Uint8Array(16);
  assert.equal(routeAdd6(n.a.net, 0, dflt, 0, in6Addr('fe80::fe'), em0), 0);
  assert.equal(routeAdd6(n.a.net, 1, dflt, 0, in6Addr('fe80::fe'), em0), 0);
  assert.equal(routeAdd6(n.a.net, 2, dflt, 0, in6Addr('fe80::fd'), em0), 0);
  const via = (f: number, d: string) => {
    const rt = rtFib(n.a.net, f).lookup6(in6Addr(d));
    if (rt === null) return null;
    const gw = rt.flags & RTF_GATEWAY ? ip6Sprintf(rt.gw6!) : `link#${rt.ifp.name}`;
    return `${gw}${rt.flags & RTF_DYNAMIC ? ' dynamic' : ''}${rt.flags & RTF_MODIFIED ? ' modified' : ''}`;
  };
  const icmp6 = n.a.net.icmp6.stat;
  // A better router, with its link address: FIBs 0 and 1 (through fe80::fe) take it, FIB 2 does not.
  n.a.input('em0', redirect6Frame({ router: 'fe80::fe', target: 'fe80::c8', dst: '2001:db8::7', lladdr: 0xc8 }), 0);
  assert.deepEqual(
    [0, 1, 2].map((f) => via(f, '2001:db8::7')),
    ['fe80::c8 dynamic', 'fe80::c8 dynamic', 'fe80::fd'],
  );
  assert.deepEqual(
    [0, 1, 2].map((f) => via(f, '2001:db8::8')),
    ['fe80::fe', 'fe80::fe', 'fe80::fd'],
  );
  assert.deepEqual(n.a.net.rtstat, { rts_badredirect: 1, rts_dynamic: 2, rts_newgateway: 0 });
  const nd = n.a.net.nd6.lookup(em0, in6Addr('fe80::c8'));
  assert.ok(nd !== null && nd.state === ND6_LLINFO_STALE && nd.isRouter, 'the target learned as a router (§8.3)');
  assert.deepEqual([...nd.lladdr], [...mac(0xc8)]);
  // A FIB 0 datagram to 2001:db8::7 now leaves for the new router's link address.
  const u = n.a.socket('inet6', 'dgram');
  assert.equal(n.a.sendto(u, Uint8Array.of(1), { addr: '2001:db8::7', port: 9 }), 1);
  assert.deepEqual([...n.last.get('em0')!.subarray(0, 6)], [...mac(0xc8)]);
  // The host route's router redirects again, to the destination itself (on-link): modified.
  n.a.input('em0', redirect6Frame({ router: 'fe80::c8', target: '2001:db8::7', dst: '2001:db8::7' }), 0);
  assert.equal(via(0, '2001:db8::7'), 'link#em0 dynamic modified');
  assert.equal(n.a.net.rtstat.rts_newgateway, 2);
  // Refused (§8.1): a global source, a hop limit below 255, a target neither link-local nor
  // the destination, a multicast destination, a router that is not the next hop.
  const bad0 = icmp6.icp6s_badredirect;
  n.a.input('em0', redirect6Frame({ router: 'fd00::fe', target: 'fe80::c9', dst: '2001:db8::9' }), 0);
  n.a.input('em0', redirect6Frame({ router: 'fe80::fe', target: 'fe80::c9', dst: '2001:db8::9', hlim: 64 }), 0);
  n.a.input('em0', redirect6Frame({ router: 'fe80::fe', target: 'fd00::c9', dst: '2001:db8::9' }), 0);
  n.a.input('em0', redirect6Frame({ router: 'fe80::fe', target: 'fe80::c9', dst: 'ff0e::9' }), 0);
  n.a.input('em0', redirect6Frame({ router: 'fe80::99', target: 'fe80::c9', dst: '2001:db8::9', lladdr: 0xc9 }), 0);
  assert.equal(icmp6.icp6s_badredirect, bad0 + 5);
  // A redirect no FIB believes teaches the neighbor cache nothing (§8.1 before §8.3).
  assert.equal(n.a.net.nd6.lookup(em0, in6Addr('fe80::c9')), null);
  assert.deepEqual(
    [0, 1, 2].map((f) => via(f, '2001:db8::9')),
    ['fe80::fe', 'fe80::fe', 'fe80::fd'],
  );
  // net.inet6.icmp6.rediraccept=0: ignored.
  n.a.sysctl.set('net.inet6.icmp6.rediraccept', 0);
  n.a.input('em0', redirect6Frame({ router: 'fe80::fe', target: 'fe80::c9', dst: '2001:db8::10' }), 0);
  assert.equal(via(0, '2001:db8::10'), 'fe80::fe');
});

test('multicast groups and neighbor discovery belong to the interface and the default FIB, whatever FIB the socket is in', () => {
  const n = setup();
  // em1 in FIB 1 and its prefix only there: FIB 0 cannot route to fd01::/64 at all.
  n.a.sysctl.set('net.add_addr_allfibs', 0);
  assert.equal(n.a.setIfFib('em1', 1), 0);
  const em1 = n.a.ifunit('em1')!;
  assert.equal(n.a.addAddr(em1, 'fd01::1/64'), 0);
  assert.equal(n.b.addAddr('ix1', 'fd01::fe/64'), 0);
  assert.equal(rtFib(n.a.net, 0).lookup6(in6Addr('fd01::fe')), null);
  assert.equal(rtFib(n.a.net, 1).lookup6(in6Addr('fd01::fe'))?.ifp.name, 'em1');
  // The address itself and the groups ND needs: the default FIB's and the interface's.
  assert.ok(rtFib(n.a.net, 0).find6(in6Addr('fd01::1'), 128) !== null);
  assert.equal(rtFib(n.a.net, 1).find6(in6Addr('fd01::1'), 128), null);
  assert.ok(inGroup6(em1, IN6ADDR_LINKLOCAL_ALLNODES, 0));
  assert.ok(inGroup6(em1, in6SolicitedNode(in6Addr('fd01::1'), 0), 0));
  // B solicits fd01::1 on the link: A answers from em1 though its FIB 0 has no route there.
  const s = n.a.socket('inet6', 'dgram');
  assert.equal(n.a.bind(s, { addr: '::', port: 5000 }), 0);
  const c = n.b.socket('inet6', 'dgram');
  assert.equal(n.b.sendto(c, Uint8Array.of(7), { addr: 'fd01::1', port: 5000 }), 1);
  n.run();
  const from = { addr: '', port: 0 };
  const buf = new Uint8Array(8);
  assert.equal(n.a.recvfrom(s, buf, from), 1, 'resolved by ND and delivered');
  assert.equal(from.addr, 'fd01::fe');
  // A FIB 0 socket has no route back; a FIB 1 socket resolves B by ND (source chosen on em1) and reaches it.
  assert.equal(n.a.sendto(s, Uint8Array.of(8), from), -ERRNO.ENETUNREACH);
  assert.equal(n.a.setsockopt(s, SOL_SOCKET, SO_SETFIB, 1), 0);
  assert.equal(n.a.sendto(s, Uint8Array.of(9), from), 1);
  n.run();
  assert.equal(n.b.recvfrom(c, buf, { addr: '', port: 0 }), 1);
  assert.equal(buf[0], 9);
});
