/**
 * Merging the workers' captures of one interface into one pcapng file. Each worker's
 * engine clock is its own performance.now(); a frame's wall time is the worker's time
 * origin plus its engine time. The times are kept as seconds since a common base second
 * plus ns within, so no precision is lost (epoch ns do not fit a double exactly).
 */
import { writePcapng, type PcapngPacket } from '@mcstack/wire';
import type { WorkerCapture } from '@mcstack/runtime';

export function mergeCaptures(
  caps: readonly WorkerCapture[],
  count = Infinity,
): { pcapng: Uint8Array; frames: number; linkType: number } {
  const linkType = caps[0]?.linkType ?? 1;
  const snapLen = caps[0]?.snapLen ?? 262144;
  const baseSec = Math.floor(Math.min(...caps.map((c) => c.timeOriginMs)) / 1000);
  const all: { rel: number; w: number; i: number; data: Uint8Array; origLen: number }[] = [];
  caps.forEach((c, w) => {
    const offNs = Math.round((c.timeOriginMs - baseSec * 1000) * 1e6);
    c.frames.forEach((f, i) => {
      all.push({ rel: offNs + f.timeNs, w, i, data: f.data, origLen: f.origLen });
    });
  });
  all.sort((a, b) => a.rel - b.rel || a.w - b.w || a.i - b.i);
  const packets: PcapngPacket[] = all.slice(0, count).map((f) => ({
    interfaceId: 0,
    tsSec: baseSec + Math.floor(f.rel / 1e9),
    tsNsec: f.rel % 1e9,
    origLen: f.origLen,
    data: f.data,
  }));
  return {
    pcapng: writePcapng({ interfaces: [{ linkType, snapLen, tsresol: 9 }] }, packets),
    frames: packets.length,
    linkType,
  };
}
