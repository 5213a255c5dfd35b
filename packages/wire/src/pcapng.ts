/**
 * pcapng (draft-ietf-opsawg-pcapng): read sections of either byte order with
 * their interfaces (link type, snap length, if_tsresol) and packets (enhanced,
 * simple and obsolete packet blocks; other blocks skipped), and write one
 * little- or big-endian section with enhanced packet blocks.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import type { CapturedPacket } from './pcap.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_PB = 0x00000002;
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const OPT_ENDOFOPT = 0;
export const IF_TSRESOL = 9;

export interface PcapngInterface {
  linkType: number;
  snapLen: number;
  /**
   * if_tsresol as stored: high bit clear, 10^-v seconds; set, 2^-v seconds.
   * 6 (microseconds) when the option is absent; 9 is nanoseconds.
   */
  tsresol: number;
}

export interface PcapngPacket extends CapturedPacket {
  /** Index into the section's interfaces. */
  interfaceId: number;
}

export interface PcapngFile {
  /** Interfaces of all sections, in order (a packet's interfaceId is section-relative, rebased here). */
  interfaces: PcapngInterface[];
  packets: PcapngPacket[];
  /** Byte order of the first section. */
  bigEndian: boolean;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Units per second of an if_tsresol value, as a BigInt. */
function unitsPerSecond(tsresol: number): bigint {
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

export function readPcapng(bytes: Uint8Array): ParseResult<PcapngFile> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const interfaces: PcapngInterface[] = [];
  const packets: PcapngPacket[] = [];
  let le = true;
  let first = true;
  let bigEndian = false;
  let base = 0; // first interface index of the current section
  let p = 0;
  while (p < bytes.length) {
    if (bytes.length - p < 12) return parseError('TRUNCATED', 'pcapng.block');
    const type = dv.getUint32(p, le);
    if (type === PCAPNG_SHB || (first && dv.getUint32(p, !le) === PCAPNG_SHB)) {
      // The SHB type reads the same in both orders; the byte-order magic decides.
      if (bytes.length - p < 28) return parseError('TRUNCATED', 'pcapng.shb');
      const m = dv.getUint32(p + 8, true);
      if (m === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(p + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else return parseError('BAD_FIELD', 'pcapng.shb.magic');
      if (first) bigEndian = !le;
      if (dv.getUint16(p + 12, le) !== 1) return parseError('UNSUPPORTED', 'pcapng.shb.version');
      base = interfaces.length;
    } else if (first) {
      return parseError('BAD_FIELD', 'pcapng.shb');
    }
    first = false;
    const total = dv.getUint32(p + 4, le);
    if (total < 12 || (total & 3) !== 0) return parseError('BAD_FIELD', 'pcapng.block.length');
    if (total > bytes.length - p) return parseError('TRUNCATED', 'pcapng.block');
    if (dv.getUint32(p + total - 4, le) !== total) return parseError('BAD_FIELD', 'pcapng.block.trailer');
    const body = p + 8;
    const end = p + total - 4;
    switch (type) {
      case PCAPNG_IDB: {
        if (end - body < 8) return parseError('TRUNCATED', 'pcapng.idb');
        const itf: PcapngInterface = {
          linkType: dv.getUint16(body, le),
          snapLen: dv.getUint32(body + 4, le),
          tsresol: 6,
        };
        let o = body + 8;
        while (o + 4 <= end) {
          const code = dv.getUint16(o, le);
          const len = dv.getUint16(o + 2, le);
          if (code === OPT_ENDOFOPT) break;
          if (o + 4 + len > end) return parseError('BAD_OPTION', 'pcapng.idb.option');
          if (code === IF_TSRESOL && len >= 1) itf.tsresol = bytes[o + 4]!;
          o += 4 + pad4(len);
        }
        interfaces.push(itf);
        break;
      }
      case PCAPNG_EPB:
      case PCAPNG_PB: {
        if (end - body < 20) return parseError('TRUNCATED', 'pcapng.epb');
        const ifid = type === PCAPNG_EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
        const itf = interfaces[base + ifid];
        if (!itf) return parseError('BAD_FIELD', 'pcapng.epb.interface');
        const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
        const caplen = dv.getUint32(body + 12, le);
        const origLen = dv.getUint32(body + 16, le);
        if (body + 20 + caplen > end) return parseError('TRUNCATED', 'pcapng.epb.data');
        const ups = unitsPerSecond(itf.tsresol);
        const sec = ts / ups;
        packets.push({
          interfaceId: base + ifid,
          tsSec: Number(sec),
          tsNsec: Number(((ts - sec * ups) * 1_000_000_000n) / ups),
          origLen,
          data: bytes.subarray(body + 20, body + 20 + caplen),
        });
        break;
      }
      case PCAPNG_SPB: {
        const itf = interfaces[base];
        if (!itf) return parseError('BAD_FIELD', 'pcapng.spb.interface');
        if (end - body < 4) return parseError('TRUNCATED', 'pcapng.spb');
        const origLen = dv.getUint32(body, le);
        // §4.4: the captured length is the smaller of origLen, snaplen and the block body.
        let caplen = Math.min(origLen, end - body - 4);
        if (itf.snapLen > 0) caplen = Math.min(caplen, itf.snapLen);
        packets.push({
          interfaceId: base,
          tsSec: 0,
          tsNsec: 0,
          origLen,
          data: bytes.subarray(body + 4, body + 4 + caplen),
        });
        break;
      }
      default:
        break; // SHB handled above; name resolution, statistics, custom blocks skipped
    }
    p += total;
  }
  if (first) return parseError('TRUNCATED', 'pcapng.shb');
  return parsed({ interfaces, packets, bigEndian });
}

export interface PcapngWriteOptions {
  interfaces: PcapngInterface[];
  bigEndian?: boolean;
}

export function writePcapng(opts: PcapngWriteOptions, packets: readonly PcapngPacket[]): Uint8Array {
  const le = !opts.bigEndian;
  let n = 28;
  for (const itf of opts.interfaces) n += 20 + (itf.tsresol !== 6 ? 8 + 4 : 0);
  for (const pk of packets) n += 32 + pad4(pk.data.length);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let p = 0;
  // Section header: no options, section length unknown (-1).
  dv.setUint32(p, PCAPNG_SHB, le);
  dv.setUint32(p + 4, 28, le);
  dv.setUint32(p + 8, PCAPNG_BYTE_ORDER_MAGIC, le);
  dv.setUint16(p + 12, 1, le);
  dv.setUint16(p + 14, 0, le);
  dv.setInt32(p + 16, -1, le);
  dv.setInt32(p + 20, -1, le);
  dv.setUint32(p + 24, 28, le);
  p += 28;
  for (const itf of opts.interfaces) {
    const len = 20 + (itf.tsresol !== 6 ? 12 : 0);
    dv.setUint32(p, PCAPNG_IDB, le);
    dv.setUint32(p + 4, len, le);
    dv.setUint16(p + 8, itf.linkType, le);
    dv.setUint32(p + 12, itf.snapLen, le);
    if (itf.tsresol !== 6) {
      dv.setUint16(p + 16, IF_TSRESOL, le);
      dv.setUint16(p + 18, 1, le);
      out[p + 20] = itf.tsresol;
      // opt_endofopt at p + 24 stays zero
    }
    dv.setUint32(p + len - 4, len, le);
    p += len;
  }
  for (const pk of packets) {
    const itf = opts.interfaces[pk.interfaceId];
    if (!itf) throw new WireEmitError(`pcapng: no interface ${pk.interfaceId}`);
    if (pk.tsNsec < 0 || pk.tsNsec >= 1e9) throw new WireEmitError('pcapng: tsNsec out of range');
    const ups = unitsPerSecond(itf.tsresol);
    const ts = BigInt(pk.tsSec) * ups + (BigInt(pk.tsNsec) * ups) / 1_000_000_000n;
    const len = 32 + pad4(pk.data.length);
    dv.setUint32(p, PCAPNG_EPB, le);
    dv.setUint32(p + 4, len, le);
    dv.setUint32(p + 8, pk.interfaceId, le);
    dv.setUint32(p + 12, Number(ts >> 32n), le);
    dv.setUint32(p + 16, Number(ts & 0xffffffffn), le);
    dv.setUint32(p + 20, pk.data.length, le);
    dv.setUint32(p + 24, Math.max(pk.origLen, pk.data.length), le);
    out.set(pk.data, p + 28);
    dv.setUint32(p + len - 4, len, le);
    p += len;
  }
  return out;
}
