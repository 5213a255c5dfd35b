/**
 * The frame fuzzer: a corpus of real frames between two engines with live connections —
 * ARP, ND, ICMP and ICMPv6 echo, IPv4 and IPv6 fragments (a UDP datagram larger than the
 * MTU), TCP over both families with every option the handshake carries — mutated (bit
 * flips, bytes set to edge values, truncation, extension, splices of two frames) and fed to
 * engine B. Bad wire input must be a counted drop (docs/architecture.md, "Errors"): an
 * exception is a failure. Afterwards a transfer over each family must still work.
 */
import { SeededRandom } from '@mcstack/netinet';
import { etherPair, transfer, type EtherPair } from './pair.js';

export interface FuzzResult {
  seed: number;
  frames: number;
  corpus: number;
  /** The corpus by kind (census()). */
  kinds: Record<string, number>;
  exceptions: number;
  /** The first exception's message and the frame's hex, to replay. */
  firstException: { message: string; frame: string } | null;
  transferAfter: { inet: boolean; inet6: boolean };
}

/** Traffic of every kind the engines speak, with a connection per family left open. */
function collect(p: EtherPair): Uint8Array[] {
  const corpus: Uint8Array[] = [];
  p.tap = (_from, f) => {
    if (corpus.length < 4096) corpus.push(f.slice());
  };
  // TCP with data both families (handshake options, data, ACKs, FIN).
  transfer(p, 'inet', 7001, 20_000);
  transfer(p, 'inet6', 7002, 20_000);
  // UDP larger than the MTU: IPv4 and IPv6 fragments; and to a closed port: ICMP unreachables.
  for (const [fam, addr] of [
    ['inet', '10.0.0.2'],
    ['inet6', 'fd00::2'],
  ] as const) {
    const u = p.a.e.socket(fam, 'dgram');
    p.a.e.sendto(u, new Uint8Array(4000), { addr, port: 9 });
    p.a.e.sendto(u, new Uint8Array(100), { addr, port: 9 });
    p.pump();
    p.a.e.close(u);
  }
  // Live connections the mutated frames can hit.
  for (const [fam, port] of [
    ['inet', 7101],
    ['inet6', 7102],
  ] as const) {
    const l = p.b.e.socket(fam, 'stream');
    p.b.e.bind(l, { addr: fam === 'inet' ? '0.0.0.0' : '::', port });
    p.b.e.listen(l, 16);
    const c = p.a.e.socket(fam, 'stream');
    p.a.e.connect(c, { addr: fam === 'inet' ? '10.0.0.2' : 'fd00::2', port });
    for (let t = 0; t < 10; t++) p.pump();
    p.a.e.send(c, new Uint8Array(3000));
    for (let t = 0; t < 10; t++) p.pump();
  }
  p.tap = null;
  return corpus;
}

/** What a frame is, for the corpus census: arp, nd, icmp, icmp6, frag4, frag6, tcp4, tcp6, udp4, udp6. */
function kind(f: Uint8Array): string {
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0806) return 'arp';
  if (type === 0x0800) {
    if (((f[20]! << 8) | f[21]!) & 0x3fff) return 'frag4';
    return f[23] === 6 ? 'tcp4' : f[23] === 1 ? 'icmp' : f[23] === 17 ? 'udp4' : 'ip4';
  }
  if (type === 0x86dd) {
    const nxt = f[20];
    if (nxt === 44) return 'frag6';
    if (nxt === 58) return f[54]! >= 133 && f[54]! <= 137 ? 'nd' : 'icmp6';
    return nxt === 6 ? 'tcp6' : nxt === 17 ? 'udp6' : 'ip6';
  }
  return 'other';
}

/** Frames of each kind in a corpus. */
export function census(corpus: readonly Uint8Array[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const f of corpus) c[kind(f)] = (c[kind(f)] ?? 0) + 1;
  return c;
}

const EDGE = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x3f];

function mutate(r: SeededRandom, corpus: Uint8Array[]): Uint8Array {
  const base = corpus[r.below(corpus.length)]!;
  let f = base.slice();
  const ops = 1 + r.below(4);
  for (let k = 0; k < ops; k++) {
    switch (r.below(6)) {
      case 0: // flip bits
        for (let i = 0, n = 1 + r.below(4); i < n && f.length > 0; i++) f[r.below(f.length)]! ^= 1 << r.below(8);
        break;
      case 1: // edge values in the headers
        if (f.length > 14) f[14 + r.below(Math.min(f.length - 14, 80))] = EDGE[r.below(EDGE.length)]!;
        break;
      case 2: // truncate
        f = f.slice(0, r.below(f.length + 1));
        break;
      case 3: {
        // extend with random bytes
        const g = new Uint8Array(f.length + 1 + r.below(64));
        g.set(f);
        for (let i = f.length; i < g.length; i++) g[i] = r.below(256);
        f = g;
        break;
      }
      case 4: {
        // splice: this frame's head, another's tail
        const o = corpus[r.below(corpus.length)]!;
        const cut = r.below(Math.min(f.length, o.length) + 1);
        const g = new Uint8Array(o.length);
        g.set(f.subarray(0, cut));
        g.set(o.subarray(cut), cut);
        f = g;
        break;
      }
      default: // a random 16-bit field (lengths, offsets, ports, checksums)
        if (f.length > 2) {
          const i = r.below(f.length - 1);
          const v = r.below(65536);
          f[i] = v >> 8;
          f[i + 1] = v & 0xff;
        }
    }
  }
  return f;
}

function hex(f: Uint8Array): string {
  return Buffer.from(f).toString('hex');
}

export function fuzz(seed: number, frames: number): FuzzResult {
  const p = etherPair(seed);
  const corpus = collect(p);
  const r = new SeededRandom(seed);
  let exceptions = 0;
  let firstException: FuzzResult['firstException'] = null;
  for (let i = 0; i < frames; i++) {
    const f = mutate(r, corpus);
    try {
      p.b.e.input(p.b.ifp, f, p.now);
      if ((i & 255) === 255) p.pump(50_000);
    } catch (e) {
      exceptions++;
      firstException ??= { message: String((e as Error)?.stack ?? e), frame: hex(f) };
    }
  }
  // Let what the mutants started (timers, half-open connections) run out.
  for (let t = 0; t < 100; t++) p.pump(100_000);
  const transferAfter = { inet: transfer(p, 'inet', 7201, 100_000), inet6: transfer(p, 'inet6', 7202, 100_000) };
  return { seed, frames, corpus: corpus.length, kinds: census(corpus), exceptions, firstException, transferAfter };
}
