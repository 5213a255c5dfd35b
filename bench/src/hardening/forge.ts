/**
 * Forged IPv4 TCP segments for the probes: an established connection between the pair and
 * a frame of it rewritten (addresses, ports, sequence numbers, flags, payload) with its
 * checksums fixed, as an off-path attacker who knows the 4-tuple would send it.
 */
import { internetChecksum, l4Checksum4 } from '@mcstack/wire';
import { etherPair, type EtherPair } from './pair.js';

export const ETH = 14;

export interface Established {
  p: EtherPair;
  /** A's latest TCP frame to B (its pure ACK): seq is B's rcv_nxt, ack B's snd_nxt. */
  last: Uint8Array;
  /** A's descriptor and B's accepted one. */
  client: number;
  server: number;
}

/** An established IPv4 connection A → B:80, accepted on B. */
export function established(seed: number): Established {
  const p = etherPair(seed);
  let last = new Uint8Array(0);
  p.tap = (from, f) => {
    if (from === 'a' && f[ETH + 9] === 6) last = f.slice();
  };
  const l = p.b.e.socket('inet', 'stream');
  p.b.e.bind(l, { addr: '0.0.0.0', port: 80 });
  p.b.e.listen(l, 8);
  const client = p.a.e.socket('inet', 'stream');
  p.a.e.connect(client, { addr: '10.0.0.2', port: 80 });
  for (let t = 0; t < 300; t++) p.pump();
  p.tap = null;
  return { p, last, client, server: p.b.e.accept(l) };
}

export interface ForgeFields {
  flags?: number;
  seq?: number;
  ack?: number;
  /** IPv4 source address (host order) and TCP source port. */
  src?: number;
  sport?: number;
  payload?: number;
  /** The payload's bytes (0 unless given). */
  fill?: number;
}

/** Frame `f` (Ethernet + IPv4 + TCP) with the given fields and `payload` bytes, checksums fixed. */
export function forge(f: Uint8Array, o: ForgeFields): Uint8Array {
  const ihl = (f[ETH]! & 15) * 4;
  const th = ETH + ihl;
  const thoff = (f[th + 12]! >> 4) * 4;
  const g = new Uint8Array(th + thoff + (o.payload ?? 0));
  g.set(f.subarray(0, th + thoff));
  if (o.fill !== undefined) g.fill(o.fill, th + thoff);
  const dv = new DataView(g.buffer);
  dv.setUint16(ETH + 2, g.length - ETH);
  if (o.src !== undefined) dv.setUint32(ETH + 12, o.src >>> 0);
  dv.setUint16(ETH + 10, 0);
  dv.setUint16(ETH + 10, internetChecksum(g, ETH, ihl));
  if (o.sport !== undefined) dv.setUint16(th, o.sport);
  if (o.seq !== undefined) dv.setUint32(th + 4, o.seq >>> 0);
  if (o.ack !== undefined) dv.setUint32(th + 8, o.ack >>> 0);
  if (o.flags !== undefined) g[th + 13] = o.flags;
  dv.setUint16(th + 16, 0);
  dv.setUint16(th + 16, l4Checksum4(g, ETH, th, g.length - th, 6, 16));
  return g;
}
