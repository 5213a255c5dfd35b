/**
 * The hardening probes, each repeatable from a seed: forged SYNs into an established
 * connection (RFC 5961 challenge ACKs under tcp_ack_war_check), one forged in-window
 * segment between two engines (the ACK war it would start), a SYN flood beside legitimate
 * connects and blind RST/SYN/data segments (attacks.ts), an IPv6 fragment flood beside a
 * legitimate fragmented stream (frag6 bounds), and connection churn (heap after close and
 * 2MSL). `runHardening` puts them and the frame fuzzer (fuzz.ts) in one report.
 */
import { ERRNO } from '@mcstack/netinet';
import { fuzz, type FuzzResult } from './fuzz.js';
import { etherPair } from './pair.js';
import { ETH, established, forge } from './forge.js';
import { probeBlind, probeSynFlood, type BlindProbe, type SynFloodProbe } from './attacks.js';

export interface ChallengeAckProbe {
  forgedSyns: number;
  challengeAcks: number;
  perAttackSegment: number;
  virtualSeconds: number;
}

/** `n` forged SYNs, 50 µs apart, into an established connection: the challenge ACKs they draw. */
export function probeChallengeAcks(seed: number, n: number): ChallengeAckProbe {
  const { p, last } = established(seed);
  let out = 0;
  p.tap = (from) => {
    if (from === 'b') out++;
  };
  let seq = seed >>> 0;
  const t0 = p.now;
  for (let i = 0; i < n; i++) {
    seq = (Math.imul(seq, 1103515245) + 12345) >>> 0;
    p.b.e.input(p.b.ifp, forge(last, { flags: 0x02, seq }), p.now);
    p.pump(50);
  }
  return { forgedSyns: n, challengeAcks: out, perAttackSegment: out / n, virtualSeconds: (p.now - t0) / 1e6 };
}

export interface AckWarProbe {
  /** Segments each way in the `virtualSeconds` after one forged in-window segment. */
  aToB: number;
  bToA: number;
  virtualSeconds: number;
}

/** One forged in-window data segment with A's ACK and timestamp, injected at B. */
export function probeAckWar(seed: number, seconds = 5): AckWarProbe {
  const { p, last } = established(seed);
  const n = { a: 0, b: 0 };
  p.tap = (from) => {
    n[from]++;
  };
  p.b.e.input(p.b.ifp, forge(last, { payload: 100 }), p.now);
  for (let t = 0; t < seconds * 1000; t++) p.pump(1000);
  return { aToB: n.a, bToA: n.b, virtualSeconds: seconds };
}

export interface Frag6Probe {
  legitimate: number;
  delivered: number;
  floodFragments: number;
  maxQueues: number;
  maxFragments: number;
  limits: { maxfragpackets: number; maxfrags: number; maxfragbucketsize: number };
  fragoverflow: number;
}

/** A UDP datagram over IPv6 sent as fragments by the stack; `flood` never-completed first fragments between. */
export function probeFrag6(seed: number, datagrams: number, floodPerDatagram: number): Frag6Probe {
  const p = etherPair(seed);
  const rx = p.b.e.socket('inet6', 'dgram');
  p.b.e.bind(rx, { addr: '::', port: 9000 });
  const tx = p.a.e.socket('inet6', 'dgram');
  // Neighbor discovery first.
  p.a.e.sendto(tx, new Uint8Array(8), { addr: 'fd00::2', port: 9000 });
  for (let t = 0; t < 5; t++) p.pump();
  const buf = new Uint8Array(4096);
  while (p.b.e.recv(rx, buf) > 0);
  // One real first fragment to copy the flood from.
  let template: Uint8Array | null = null;
  p.tap = (from, f) => {
    if (from === 'a' && f[ETH + 6] === 44 && (f[ETH + 40 + 3]! & 1) === 1 && template === null) template = f.slice();
  };
  p.a.e.sendto(tx, new Uint8Array(3000), { addr: 'fd00::2', port: 9001 });
  p.tap = null;
  p.a.q.length = 0;
  p.b.q.length = 0;
  const tpl = template as Uint8Array | null;
  if (tpl === null) throw new Error('no IPv6 fragment seen');
  const f6 = p.b.e.net.frag6;
  let delivered = 0;
  let flood = 0;
  let maxQueues = 0;
  let maxFragments = 0;
  for (let k = 0; k < datagrams; k++) {
    p.a.e.sendto(tx, new Uint8Array(3000), { addr: 'fd00::2', port: 9000 });
    const frags = p.b.q.splice(0);
    for (let i = 0; i < frags.length; i++) {
      p.b.e.input(p.b.ifp, frags[i]!, p.now);
      if (i === 0)
        for (let j = 0; j < floodPerDatagram; j++) {
          // Another source address and identification each time.
          const f = tpl.slice();
          const x = flood++;
          f[ETH + 8 + 12] = (x >>> 24) & 0xff;
          f[ETH + 8 + 13] = (x >>> 16) & 0xff;
          f[ETH + 8 + 14] = (x >>> 8) & 0xff;
          f[ETH + 8 + 15] = x & 0xff;
          new DataView(f.buffer).setUint32(ETH + 40 + 4, x ^ 0x5a5a5a5a);
          p.b.e.input(p.b.ifp, f, p.now);
        }
      maxQueues = Math.max(maxQueues, f6.npackets);
      maxFragments = Math.max(maxFragments, f6.nfragments);
    }
    for (let r = p.b.e.recv(rx, buf); r > 0; r = p.b.e.recv(rx, buf)) delivered++;
    p.pump(100);
  }
  const t = f6.tun;
  return {
    legitimate: datagrams,
    delivered,
    floodFragments: flood,
    maxQueues,
    maxFragments,
    limits: { maxfragpackets: t.maxfragpackets, maxfrags: t.maxfrags, maxfragbucketsize: t.maxfragbucketsize },
    fragoverflow: p.b.e.net.ip6stat.ip6s_fragoverflow,
  };
}

export interface ChurnProbe {
  connections: number;
  heapBefore: number;
  heapAfter: number;
  growth: number;
  pcbsLeft: number;
  gc: boolean;
}

/** `n` connections opened, closed from both ends and past 2MSL; the heap before and after. */
export function probeChurn(seed: number, n: number): ChurnProbe {
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const p = etherPair(seed);
  for (const s of [p.a, p.b]) s.e.sysctl.set('net.inet.tcp.msl', 250);
  const ports = Math.max(1, Math.ceil(n / 25_000));
  const lfds = Array.from({ length: ports }, (_, i) => {
    const l = p.b.e.socket('inet', 'stream');
    p.b.e.bind(l, { addr: '0.0.0.0', port: 20_000 + i });
    p.b.e.listen(l, 128);
    return l;
  });
  const cycle = (count: number) => {
    const fds: number[] = [];
    const acceptAll = () => {
      for (const l of lfds) for (let fd = p.b.e.accept(l); fd >= 0; fd = p.b.e.accept(l)) fds.push(fd);
    };
    for (let i = 0; i < count; i++) {
      const fd = p.a.e.socket('inet', 'stream');
      if (p.a.e.connect(fd, { addr: '10.0.0.2', port: 20_000 + (i % ports) }) !== -ERRNO.EINPROGRESS) break;
      fds.push(-fd - 1);
      if ((i & 63) === 63) {
        p.pump(0);
        acceptAll();
      }
    }
    p.pump(0);
    acceptAll();
    for (const fd of fds) (fd < 0 ? p.a.e : p.b.e).close(fd < 0 ? -fd - 1 : fd);
    for (let t = 0; t < 60; t++) p.pump(1_000_000);
  };
  // A small cycle first: what V8 compiles is not connection memory.
  cycle(2000);
  const before = heap();
  cycle(n);
  const after = heap();
  return {
    connections: n,
    heapBefore: before,
    heapAfter: after,
    growth: (after - before) / before,
    pcbsLeft: p.a.e.tcp.pcbinfo.count + p.b.e.tcp.pcbinfo.count - ports,
    gc: gc !== undefined,
  };
}

export interface HardeningReport {
  seed: number;
  fuzz: FuzzResult;
  challengeAcks: ChallengeAckProbe;
  ackWar: AckWarProbe;
  synFlood: SynFloodProbe;
  blind: BlindProbe;
  frag6Flood: Frag6Probe;
  churn: ChurnProbe;
}

export function runHardening(seed: number, o: { fuzzFrames?: number; churn?: number } = {}): HardeningReport {
  return {
    seed,
    fuzz: fuzz(seed, o.fuzzFrames ?? 200_000),
    challengeAcks: probeChallengeAcks(seed, 100_000),
    ackWar: probeAckWar(seed),
    synFlood: probeSynFlood(seed, 200_000, 1000),
    blind: probeBlind(seed, 100_000),
    frag6Flood: probeFrag6(seed, 1000, 50),
    churn: probeChurn(seed, o.churn ?? 100_000),
  };
}
