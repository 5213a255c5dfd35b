/**
 * Where the frames of a capture file are, for `rss spread`: @mcstack/wire's pcap and
 * pcapng readers, flattened to offset/length arrays so batches of frames can be copied
 * out and transferred to pool workers.
 */
import { readPcap, readPcapng, PCAPNG_SHB, type CapturedPacket } from '@mcstack/wire';

export interface CaptureIndex {
  linkType: number;
  /** Byte offset (within the file) and captured length of each frame. */
  offsets: Uint32Array;
  lengths: Uint32Array;
  count: number;
}

export class CaptureFormatError extends Error {
  readonly code = 'MCSTACK_BAD_CAPTURE';
}

export function indexCapture(buf: Uint8Array): CaptureIndex {
  const ng = buf.length >= 4 && new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0) === PCAPNG_SHB;
  let linkType: number;
  let packets: readonly CapturedPacket[];
  if (ng) {
    const r = readPcapng(buf);
    if (!r.ok) throw new CaptureFormatError(`not a readable pcapng file: ${r.code} at ${r.field}`);
    const types = new Set(r.value.packets.map((p) => r.value.interfaces[p.interfaceId]!.linkType));
    if (types.size > 1)
      throw new CaptureFormatError(`pcapng: interfaces of different link types (${[...types].join(', ')})`);
    linkType = [...types][0] ?? r.value.interfaces[0]?.linkType ?? 1;
    packets = r.value.packets;
  } else {
    const r = readPcap(buf);
    if (!r.ok) throw new CaptureFormatError(`not a readable pcap or pcapng file: ${r.code} at ${r.field}`);
    linkType = r.value.linkType;
    packets = r.value.packets;
  }
  const count = packets.length;
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const d = packets[i]!.data;
    offsets[i] = d.byteOffset - buf.byteOffset;
    lengths[i] = d.length;
  }
  return { linkType, offsets, lengths, count };
}
