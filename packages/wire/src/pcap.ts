/**
 * Classic libpcap files: read (both byte orders, microsecond 0xa1b2c3d4 and
 * nanosecond 0xa1b23c4d magic) and write. Link types: Ethernet (1) and raw IP
 * (LINKTYPE_RAW 101; the DLT_RAW values 12 and 14 are accepted on read).
 * Timestamps are carried as seconds plus nanoseconds whatever the file's resolution.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_HDR_LEN = 24;
export const PCAP_REC_HDR_LEN = 16;

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
/** Raw IP of one version (tcpdump.org/linktypes.html). */
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
/** DLT_RAW as found in files written on some systems (12 most, 14 on OpenBSD). */
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;

/** True for the link types whose frames start with an IPv4 or IPv6 header. */
export function isRawIpLinkType(linkType: number): boolean {
  return linkType === LINKTYPE_RAW || linkType === DLT_RAW_12 || linkType === DLT_RAW_14;
}

export interface CapturedPacket {
  tsSec: number;
  /** Nanoseconds within the second. */
  tsNsec: number;
  /** Length on the wire (>= data.length when the snapshot length cut it). */
  origLen: number;
  /** The captured bytes (a view into the file's buffer on read). */
  data: Uint8Array;
}

export interface PcapFile {
  /** As stored: 1, 101, 12 or 14 (see isRawIpLinkType). */
  linkType: number;
  nanosecond: boolean;
  snapLen: number;
  /** Byte order of the file. */
  bigEndian: boolean;
  packets: CapturedPacket[];
}

export function readPcap(bytes: Uint8Array): ParseResult<PcapFile> {
  if (bytes.length < PCAP_HDR_LEN) return parseError('TRUNCATED', 'pcap.header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mBE = dv.getUint32(0, false);
  const mLE = dv.getUint32(0, true);
  let le: boolean;
  let nanosecond: boolean;
  if (mLE === PCAP_MAGIC_USEC || mLE === PCAP_MAGIC_NSEC) {
    le = true;
    nanosecond = mLE === PCAP_MAGIC_NSEC;
  } else if (mBE === PCAP_MAGIC_USEC || mBE === PCAP_MAGIC_NSEC) {
    le = false;
    nanosecond = mBE === PCAP_MAGIC_NSEC;
  } else return parseError('BAD_FIELD', 'pcap.magic');
  if (dv.getUint16(4, le) !== 2) return parseError('UNSUPPORTED', 'pcap.version');
  const snapLen = dv.getUint32(16, le);
  // The top bits of the link-type field carry the FCS length (LINKTYPE_FCS_LEN); keep the type.
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  let p = PCAP_HDR_LEN;
  while (p < bytes.length) {
    if (bytes.length - p < PCAP_REC_HDR_LEN) return parseError('TRUNCATED', 'pcap.record');
    const tsSec = dv.getUint32(p, le);
    const frac = dv.getUint32(p + 4, le);
    const caplen = dv.getUint32(p + 8, le);
    const origLen = dv.getUint32(p + 12, le);
    if (frac >= (nanosecond ? 1e9 : 1e6)) return parseError('BAD_FIELD', 'pcap.record.ts');
    if (bytes.length - p - PCAP_REC_HDR_LEN < caplen) return parseError('TRUNCATED', 'pcap.record.data');
    const s = p + PCAP_REC_HDR_LEN;
    packets.push({ tsSec, tsNsec: nanosecond ? frac : frac * 1000, origLen, data: bytes.subarray(s, s + caplen) });
    p = s + caplen;
  }
  return parsed({ linkType, nanosecond, snapLen, bigEndian: !le, packets });
}

export interface PcapWriteOptions {
  linkType: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d); microseconds otherwise (truncated). */
  nanosecond?: boolean;
  snapLen?: number;
  bigEndian?: boolean;
}

export function pcapFileLen(packets: readonly CapturedPacket[]): number {
  let n = PCAP_HDR_LEN;
  for (const p of packets) n += PCAP_REC_HDR_LEN + p.data.length;
  return n;
}

export function writePcap(opts: PcapWriteOptions, packets: readonly CapturedPacket[]): Uint8Array {
  const out = new Uint8Array(pcapFileLen(packets));
  const dv = new DataView(out.buffer);
  const le = !opts.bigEndian;
  const ns = opts.nanosecond === true;
  dv.setUint32(0, ns ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, opts.snapLen ?? 262144, le);
  dv.setUint32(20, opts.linkType, le);
  let p = PCAP_HDR_LEN;
  for (const pk of packets) {
    if (pk.tsNsec < 0 || pk.tsNsec >= 1e9) throw new WireEmitError('pcap: tsNsec out of range');
    dv.setUint32(p, pk.tsSec, le);
    dv.setUint32(p + 4, ns ? pk.tsNsec : Math.floor(pk.tsNsec / 1000), le);
    dv.setUint32(p + 8, pk.data.length, le);
    dv.setUint32(p + 12, Math.max(pk.origLen, pk.data.length), le);
    out.set(pk.data, p + PCAP_REC_HDR_LEN);
    p += PCAP_REC_HDR_LEN + pk.data.length;
  }
  return out;
}
