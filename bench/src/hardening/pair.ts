/**
 * Two engines joined by Ethernet in one thread on a virtual clock (ARP and ND run as on a
 * wire), each with an IPv4 and an IPv6 address, frames queued and delivered by pump(); a
 * tap sees every frame either way (the fuzzer's corpus). Deterministic from the seed.
 */
import { Engine, ERRNO } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';

export interface Side {
  e: Engine;
  ifp: Ifnet;
  q: Uint8Array[];
}

export interface EtherPair {
  a: Side;
  b: Side;
  now: number;
  /** Every frame put on the wire, with the side that sent it. */
  tap: ((from: 'a' | 'b', frame: Uint8Array) => void) | null;
  /** Deliver queued frames both ways, then move the clock by `us` and run the callouts. */
  pump(us?: number): void;
}

export function etherPair(seed: number): EtherPair {
  const p = { now: 1_000_000, tap: null } as EtherPair;
  const mk = (x: 1 | 2): Side => {
    const e = new Engine({ seed: seed * 2 + x, now: p.now });
    const ifp = e.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, x), mtu: 1500 });
    e.addAddr(ifp, `10.0.0.${x}/24`);
    e.addAddr(ifp, `fd00::${x}/64`);
    e.setUp(ifp, true);
    return { e, ifp, q: [] };
  };
  p.a = mk(1);
  p.b = mk(2);
  p.a.e.output = (_i, f) => {
    p.tap?.('a', f);
    p.b.q.push(f.slice());
  };
  p.b.e.output = (_i, f) => {
    p.tap?.('b', f);
    p.a.q.push(f.slice());
  };
  p.pump = (us = 1000) => {
    for (let k = 0; k < 1000 && (p.a.q.length > 0 || p.b.q.length > 0); k++) {
      for (const f of p.a.q.splice(0)) p.a.e.input(p.a.ifp, f, p.now);
      for (const f of p.b.q.splice(0)) p.b.e.input(p.b.ifp, f, p.now);
    }
    p.now += us;
    p.a.e.advance(p.now);
    p.b.e.advance(p.now);
  };
  return p;
}

/**
 * A TCP transfer of `bytes` from A to B over `family` to `port` (listening on B first): true
 * when every byte arrived in order within `maxTurns` pump turns of 1 ms.
 */
export function transfer(
  p: EtherPair,
  family: 'inet' | 'inet6',
  port: number,
  bytes: number,
  maxTurns = 20_000,
): boolean {
  const l = p.b.e.socket(family, 'stream');
  if (p.b.e.bind(l, { addr: family === 'inet' ? '0.0.0.0' : '::', port }) < 0) return false;
  p.b.e.listen(l, 16);
  const c = p.a.e.socket(family, 'stream');
  p.a.e.connect(c, { addr: family === 'inet' ? '10.0.0.2' : 'fd00::2', port });
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) & 0xff;
  const buf = new Uint8Array(65536);
  let s = -1;
  let sent = 0;
  let got = 0;
  let ok = true;
  for (let t = 0; t < maxTurns && got < bytes; t++) {
    if (s < 0) s = p.b.e.accept(l);
    if (sent < bytes) {
      const n = p.a.e.send(c, data, sent, bytes - sent);
      if (n > 0) sent += n;
      else if (n !== -ERRNO.EAGAIN && n !== -ERRNO.ENOTCONN) return false;
    }
    if (s >= 0)
      for (let n = p.b.e.recv(s, buf); n > 0; n = p.b.e.recv(s, buf)) {
        for (let i = 0; i < n; i++) if (buf[i] !== data[got + i]) ok = false;
        got += n;
      }
    p.pump();
  }
  p.a.e.close(c);
  if (s >= 0) p.b.e.close(s);
  p.b.e.close(l);
  return ok && got === bytes;
}
