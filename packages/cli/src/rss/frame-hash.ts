/**
 * Hash a batch of captured frames as a NIC's RSS engine would (@mcstack/rss's
 * FrameClassifier: Ethernet with 802.1Q / QinQ tags, or raw IP). Packets
 * are grouped into flows (distinct hash type + tuple, per direction: each direction is
 * what some host receives). Runs inline or in a piscina worker (spread-worker.ts).
 */
import { type FrameClassifier, classifiesLinkType, hashTypeName, FRAME_MALFORMED, FRAME_NOT_IP } from '@mcstack/rss';

export interface BatchResult {
  packets: number;
  /** Frames that carry no IPv4/IPv6 (ARP, LLDP...): not hashed, as a NIC gives them no RSS type. */
  nonIp: number;
  /** Frames whose link or IP header is malformed or cut short by the capture length. */
  malformed: number;
  /** Packets per hash type name. */
  hashTypes: Record<string, number>;
  /** One entry per distinct flow in the batch. */
  flowKeys: string[];
  flowHashes: Uint32Array;
  flowPackets: Uint32Array;
}

export function hashFrames(
  c: FrameClassifier,
  buf: Uint8Array,
  offsets: ArrayLike<number>,
  lengths: ArrayLike<number>,
  linkType: number,
): BatchResult {
  if (!classifiesLinkType(linkType)) {
    throw Object.assign(new Error(`unsupported link type ${linkType} (Ethernet and raw IP only)`), {
      code: 'MCSTACK_UNSUPPORTED',
    });
  }
  const flowIndex = new Map<string, number>();
  const keys: string[] = [];
  let hashes = new Uint32Array(256);
  let counts = new Uint32Array(256);
  const hashTypes: Record<string, number> = {};
  let nonIp = 0;
  let malformed = 0;
  const n = offsets.length;
  for (let p = 0; p < n; p++) {
    const r = c.classify(buf, offsets[p]!, lengths[p]!, linkType);
    if (r === FRAME_NOT_IP) {
      nonIp++;
      continue;
    }
    if (r === FRAME_MALFORMED) {
      malformed++;
      continue;
    }
    const { hashType, hash, addrOff, portsOff } = c;
    const typeName = hashTypeName(hashType);
    hashTypes[typeName] = (hashTypes[typeName] ?? 0) + 1;
    const key = flowKey(hashType, buf, addrOff, c.version === 4 ? 8 : 32, portsOff);
    let f = flowIndex.get(key);
    if (f === undefined) {
      f = keys.length;
      flowIndex.set(key, f);
      keys.push(key);
      if (f === hashes.length) {
        const h2 = new Uint32Array(f * 2);
        h2.set(hashes);
        hashes = h2;
        const c2 = new Uint32Array(f * 2);
        c2.set(counts);
        counts = c2;
      }
      hashes[f] = hash;
    }
    counts[f]!++;
  }
  return {
    packets: n,
    nonIp,
    malformed,
    hashTypes,
    flowKeys: keys,
    flowHashes: hashes.slice(0, keys.length),
    flowPackets: counts.slice(0, keys.length),
  };
}

/** The hash input itself (with its type) as a compact string: equal keys, same flow. */
function flowKey(hashType: number, buf: Uint8Array, addrOff: number, addrLen: number, portsOff: number): string {
  let s = String.fromCharCode(hashType);
  for (let i = 0; i < addrLen; i += 2) s += String.fromCharCode((buf[addrOff + i]! << 8) | buf[addrOff + i + 1]!);
  if (portsOff >= 0) {
    s += String.fromCharCode(
      (buf[portsOff]! << 8) | buf[portsOff + 1]!,
      (buf[portsOff + 2]! << 8) | buf[portsOff + 3]!,
    );
  }
  return s;
}
