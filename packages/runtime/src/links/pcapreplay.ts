/**
 * pcap replay: feed a capture's frames (pcap or pcapng, packages/wire's readers) into an
 * interface of an Engine, at the recorded pace or as fast as possible, and count what
 * the engine dropped, by its FreeBSD counter names (for RSS and parsing studies, and
 * to put real-world traffic through input paths the simulator never generates).
 *
 * Time: with a RealtimeLoop the frames get its wall-clock time (and the loop's links and
 * hooks keep running); without one, each frame's time is the engine's time at the start
 * plus its offset in the capture, so callouts see the recorded spacing even when
 * replaying as fast as possible.
 */
import { readPcap, readPcapng, isRawIpLinkType, LINKTYPE_ETHERNET, type CapturedPacket } from '@mcstack/wire';
import { SysError } from '@mcstack/netinet';
import type { Engine } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';
import type { RealtimeLoop } from './realtime.js';

export interface ReplayOptions {
  /** 'asap' (default): no waiting; 'recorded': wait out the capture's spacing on the wall clock. */
  pace?: 'asap' | 'recorded';
  /** With 'recorded', play this many times faster (default 1). */
  speed?: number;
  /** The loop driving `engine`: frames get its clock, and it runs its hooks after them. */
  loop?: RealtimeLoop;
  /** Feed records cut by the snapshot length too (default false: skip them). */
  feedTruncated?: boolean;
}

export interface ReplayResult {
  /** Records in the capture, and those fed to the interface (with their bytes). */
  records: number;
  frames: number;
  bytes: number;
  /** Records not fed: link type the interface does not take (Ethernet into 'ether', raw IP into 'tun'). */
  wrongLinkType: number;
  /** Records not fed: shorter than on the wire (snapshot length). */
  truncated: number;
  /** Capture time from first to last record, µs. */
  spanUs: number;
  /** The engine's drop counters that grew during the replay, by name. */
  drops: Record<string, number>;
  /** Their sum. */
  dropped: number;
}

/** Counters that count a dropped input packet (netstat -s wording's "dropped", "bad", "too short"...). */
const IF_DROPS = ['ifi_ierrors', 'ifi_iqdrops', 'ifi_noproto'] as const;
const IP_DROPS = [
  'ips_badsum',
  'ips_tooshort',
  'ips_toosmall',
  'ips_badhlen',
  'ips_badlen',
  'ips_fragdropped',
  'ips_fragtimeout',
  'ips_cantforward',
  'ips_noproto',
  'ips_badoptions',
  'ips_badvers',
  'ips_toolong',
  'ips_notmember',
  'ips_badaddr',
];
const IP6_DROPS = [
  'ip6s_tooshort',
  'ip6s_toosmall',
  'ip6s_fragdropped',
  'ip6s_fragtimeout',
  'ip6s_fragoverflow',
  'ip6s_cantforward',
  'ip6s_badoptions',
  'ip6s_badvers',
  'ip6s_badscope',
  'ip6s_notmember',
  'ip6s_exthdrtoolong',
  'ip6s_toomanyhdr',
];
const UDP_DROPS = ['udps_hdrops', 'udps_badsum', 'udps_badlen', 'udps_noport', 'udps_fullsock'];
const TCP_DROPS = [
  'tcps_rcvbadsum',
  'tcps_rcvbadoff',
  'tcps_rcvshort',
  'tcps_rcvmemdrop',
  'tcps_pawsdrop',
  'tcps_listendrop',
  'tcps_rcvafterclose',
  'tcps_rcvreassfull',
  'tcps_rcvoopackdrop',
];

function snapshot(engine: Engine, ifp: Ifnet): Map<string, number> {
  const m = new Map<string, number>();
  const take = (obj: object, names: readonly string[]) => {
    const o = obj as Record<string, unknown>;
    for (const n of names) if (typeof o[n] === 'number') m.set(n, o[n] as number);
  };
  take(ifp.data, IF_DROPS);
  take(engine.net.ipstat, IP_DROPS);
  take(engine.net.ip6stat, IP6_DROPS);
  take(engine.udp.stat, UDP_DROPS);
  take(engine.tcp.stat, TCP_DROPS);
  return m;
}

/** Parse a pcap or pcapng file (by its magic); a malformed file is EINVAL naming the field. */
export function readCapture(bytes: Uint8Array): { packets: CapturedPacket[]; linkTypeOf: (i: number) => number } {
  const ng = bytes.length >= 4 && bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a;
  if (ng) {
    const r = readPcapng(bytes);
    if (!r.ok) throw new SysError('EINVAL', `pcapng: ${r.code} at ${r.field}`, 'pcapreplay');
    const f = r.value;
    return { packets: f.packets, linkTypeOf: (i) => f.interfaces[f.packets[i]!.interfaceId]?.linkType ?? -1 };
  }
  const r = readPcap(bytes);
  if (!r.ok) throw new SysError('EINVAL', `pcap: ${r.code} at ${r.field}`, 'pcapreplay');
  const lt = r.value.linkType;
  return { packets: r.value.packets, linkTypeOf: () => lt };
}

/** Replay `capture` (pcap or pcapng bytes) into `ifp` of `engine`. */
export async function replayCapture(
  engine: Engine,
  ifp: Ifnet | string,
  capture: Uint8Array,
  o: ReplayOptions = {},
): Promise<ReplayResult> {
  const i = typeof ifp === 'string' ? engine.ifunit(ifp) : ifp;
  if (!i) throw new SysError('ENXIO', `no interface ${String(ifp)}`, 'pcapreplay');
  if (o.loop && o.loop.engine !== engine) throw new SysError('EINVAL', 'the loop drives another engine', 'pcapreplay');
  const speed = o.speed ?? 1;
  if (!(speed > 0)) throw new SysError('EINVAL', `speed ${speed}`, 'pcapreplay');
  const { packets, linkTypeOf } = readCapture(capture);
  const res: ReplayResult = {
    records: packets.length,
    frames: 0,
    bytes: 0,
    wrongLinkType: 0,
    truncated: 0,
    spanUs: 0,
    drops: {},
    dropped: 0,
  };
  const before = snapshot(engine, i);
  const wantRaw = i.type === 'tun';
  const startUs = engine.now;
  const wallStart = performance.now();
  let firstUs = -1;
  for (let k = 0; k < packets.length; k++) {
    const p = packets[k]!;
    const tsUs = p.tsSec * 1e6 + Math.floor(p.tsNsec / 1000);
    if (firstUs < 0) firstUs = tsUs;
    const offUs = Math.max(0, tsUs - firstUs);
    res.spanUs = Math.max(res.spanUs, offUs);
    const lt = linkTypeOf(k);
    if (wantRaw ? !isRawIpLinkType(lt) : lt !== LINKTYPE_ETHERNET) {
      res.wrongLinkType++;
      continue;
    }
    if (p.data.length < p.origLen && !o.feedTruncated) {
      res.truncated++;
      continue;
    }
    if (o.pace === 'recorded') {
      const waitMs = offUs / speed / 1000 - (performance.now() - wallStart);
      // Give the event loop a turn at least now and then, so the loop's links keep flowing.
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
      else if ((k & 63) === 63) await new Promise((r) => setImmediate(r));
    }
    const now = o.loop ? o.loop.nowUs() : startUs + offUs;
    engine.input(i, p.data, now);
    res.frames++;
    res.bytes += p.data.length;
    o.loop?.kick();
  }
  if (!o.loop) engine.advance(startUs + res.spanUs);
  for (const [name, v] of snapshot(engine, i)) {
    const d = v - (before.get(name) ?? 0);
    if (d > 0) {
      res.drops[name] = d;
      res.dropped += d;
    }
  }
  return res;
}
