/**
 * Where the frames of a capture file are: just enough of classic pcap and pcapng to
 * index frames for `rss spread`. Temporary: @mcstack/wire's pcap reader (being written
 * in packages/wire/src/pcap.ts) replaces this once it lands.
 */

/** LINKTYPE_ values (tcpdump.org/linktypes.html) spread can hash. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;

export interface CaptureIndex {
  linkType: number;
  /** Byte offset and captured length of each frame within the file. */
  offsets: Uint32Array;
  lengths: Uint32Array;
  count: number;
}

export class CaptureFormatError extends Error {
  readonly code = 'MCSTACK_BAD_CAPTURE';
}

export function indexCapture(buf: Uint8Array): CaptureIndex {
  if (buf.length < 4) throw new CaptureFormatError('not a pcap or pcapng file (too short)');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const magic = dv.getUint32(0, false);
  if (magic === 0x0a0d0d0a) return indexPcapng(buf, dv);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = true;
  else throw new CaptureFormatError('not a pcap or pcapng file (bad magic)');
  if (buf.length < 24) throw new CaptureFormatError('pcap: truncated file header');
  const linkType = dv.getUint32(20, le) & 0x0fffffff; // upper bits: FCS length flags
  const idx = new Builder(linkType);
  let o = 24;
  while (o + 16 <= buf.length) {
    const incl = dv.getUint32(o + 8, le);
    if (o + 16 + incl > buf.length) break; // a truncated last record is dropped, as tcpdump does
    idx.push(o + 16, incl, linkType);
    o += 16 + incl;
  }
  return idx.done();
}

/** pcapng (draft-ietf-opsawg-pcapng): SHB, IDB for link types, EPB/SPB for frames. */
function indexPcapng(buf: Uint8Array, dv: DataView): CaptureIndex {
  let le = true;
  const linkTypes: number[] = [];
  let idx: Builder | null = null;
  let o = 0;
  while (o + 12 <= buf.length) {
    let type = dv.getUint32(o, le);
    if (type === 0x0a0d0d0a) {
      const bom = dv.getUint32(o + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureFormatError('pcapng: bad byte-order magic');
      type = 0x0a0d0d0a;
      linkTypes.length = 0; // interface ids are per section
    }
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || len % 4 !== 0 || o + len > buf.length) break;
    if (type === 1 && o + 10 <= buf.length) {
      linkTypes.push(dv.getUint16(o + 8, le));
    } else if (type === 6 && len >= 32) {
      const lt = linkTypes[dv.getUint32(o + 8, le)];
      if (lt === undefined) throw new CaptureFormatError('pcapng: packet for an undeclared interface');
      idx ??= new Builder(lt);
      const cap = dv.getUint32(o + 20, le);
      if (28 + cap <= len) idx.push(o + 28, cap, lt);
    } else if (type === 3 && len >= 16) {
      const lt = linkTypes[0];
      if (lt === undefined) throw new CaptureFormatError('pcapng: packet for an undeclared interface');
      idx ??= new Builder(lt);
      idx.push(o + 12, Math.min(dv.getUint32(o + 8, le), len - 16), lt);
    }
    o += len;
  }
  return (idx ?? new Builder(linkTypes[0] ?? LINKTYPE_ETHERNET)).done();
}

class Builder {
  offsets = new Uint32Array(1024);
  lengths = new Uint32Array(1024);
  count = 0;
  constructor(readonly linkType: number) {}

  push(off: number, len: number, linkType: number): void {
    if (linkType !== this.linkType) throw new CaptureFormatError('pcapng: interfaces of different link types');
    if (this.count === this.offsets.length) {
      const o = new Uint32Array(this.count * 2); o.set(this.offsets); this.offsets = o;
      const l = new Uint32Array(this.count * 2); l.set(this.lengths); this.lengths = l;
    }
    this.offsets[this.count] = off;
    this.lengths[this.count++] = len;
  }

  done(): CaptureIndex {
    return { linkType: this.linkType, offsets: this.offsets.subarray(0, this.count), lengths: this.lengths.subarray(0, this.count), count: this.count };
  }
}
