/**
 * A group worker's control API (control.ts WorkerControl), exposed to the coordinator over
 * comlink: sysctl, netstat and sockstat snapshots, counters, capabilities, the live-
 * connection count of buckets, in_pcblookup, packet capture, stop.
 *
 * The reads of the engine run under the group lock (underLock): the loop never holds it
 * while messages are served, so a free lock is taken for the read; a held one is another
 * thread's — the coordinator's, taken for this request (or for a pcblookup hold it has not
 * released) — and the read runs under that hold, the data path excluded either way.
 */
import { userInfo } from 'node:os';
import {
  ERRNO,
  SysError,
  tcpstates,
  TCPS_LISTEN,
  INPLOOKUP_RLOCKPCB,
  INPLOOKUP_WILDCARD,
  inpUnlock,
  type Engine,
  type Inpcb,
} from '@mcstack/netinet';
import type { Pcbgroup } from '@mcstack/netinet';
import {
  snapshot,
  applyIfconfig,
  parseIfconfigArgs,
  applyRoute,
  parseRouteArgs,
  attachCapture,
  type CaptureTap,
  type StackSnapshot,
} from '@mcstack/netinet/tools';
import { toeplitzForKey } from '@mcstack/rss';
import type {
  WorkerControl,
  WorkerCounters,
  WorkerStats,
  NetstatEntry,
  Census,
  WorkerCapture,
  PcbTuple,
  PcbDescription,
} from '../control.js';
import { lookupLocks } from '../pcblookup.js';
import { addr as pcbAddr } from './tuples.js';
import type { GroupApps } from './appctx.js';
import type { TupleTracker } from './tuples.js';
import type { SockHandoff } from '../sockrec.js';
import { handoffIn, handoffOut, appFdOf, appHandoffOut, appHandoffIn, type HandoffOwner } from './handoff.js';
import type { ToeChannel } from './toeproxy.js';
import type { GroupEpairSpec } from '../hostepair.js';

/** What the control API reads and drives of its group. */
export interface ControlledGroup {
  readonly engine: Engine;
  readonly worker: number;
  readonly pcbgroup: Pcbgroup;
  /** RSS buckets of the stack (a power of two). */
  readonly buckets: number;
  readonly apps: GroupApps;
  /** Which connection holds which reservation (a live handoff moves one quietly). */
  readonly tuples: TupleTracker;
  /** The in-worker apps' channel to the stack's TOE card, or null. */
  readonly toe: ToeChannel | null;
  /** Feed the engine what waits in the RX rings (before a live handoff's export). */
  drain(): void;
  counters(): WorkerCounters;
  /** An epair end to the vnet worker (hostepair.ts) appears in, or leaves, this worker. */
  epairAttach(s: GroupEpairSpec): void;
  epairDetach(name: string): void;
  epairAddr(name: string, cidr: string): void;
  /** Leave the loop. */
  stop(): void;
}

/** sockstat's USER: the daemon's login name. */
const USER = (() => {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '?');
  }
})();

export function workerControl(g: ControlledGroup): WorkerControl {
  const e = g.engine;
  const lock = g.pcbgroup.lock;
  const tz = toeplitzForKey();
  const mask = g.buckets - 1;
  /** Capture taps by the coordinator's capture id. */
  const captures = new Map<number, CaptureTap>();

  /** A control read of the engine under the group lock (see the top of the file). */
  function underLock<A extends unknown[], R>(read: (...a: A) => R): (...a: A) => R {
    return (...a: A): R => {
      if (!lock.tryLock()) return read(...a);
      try {
        return read(...a);
      } finally {
        lock.unlock();
      }
    };
  }

  /** The RSS bucket of a connection's return 4-tuple (the packets this host receives for it). */
  function bucketOf(inp: Inpcb): number {
    let h: number;
    if (!inp.isV6) h = tz.hashIPv4Ports(inp.fkey, inp.lkey, inp.inp_fport, inp.inp_lport);
    else h = tz.hashIPv6Ports(inp.inp_faddr, 0, inp.inp_laddr, 0, inp.inp_fport, inp.inp_lport);
    return h & mask;
  }

  function netstatEntry(inp: Inpcb): NetstatEntry {
    const tp = inp.inp_ppcb;
    const so = inp.inp_socket;
    const v4 = !inp.isV6;
    const state = tp ? tp.t_state : TCPS_LISTEN;
    return {
      proto: v4 ? 'tcp4' : 'tcp6',
      laddr: pcbAddr(inp.inp_laddr, v4),
      lport: inp.inp_lport,
      faddr: pcbAddr(inp.inp_faddr, v4),
      fport: inp.inp_fport,
      state: tcpstates[state] ?? String(state),
      recvQ: so ? so.so_rcv.sb_cc : 0,
      sendQ: so ? so.so_snd.sb_cc : 0,
      worker: g.worker,
      bucket: inp.connected ? bucketOf(inp) : -1,
    };
  }

  /**
   * in_pcblookup for the coordinator. The engine's pcb lock is this thread's own
   * reader/writer state, taken and dropped around the read: what keeps the pcb as
   * described across threads is the group lock the caller holds.
   */
  function pcblookup(t: PcbTuple, flags: number): PcbDescription | null {
    lookupLocks(flags);
    const inp = e.pcblookup(
      'tcp',
      { addr: t.faddr, port: t.fport },
      { addr: t.laddr, port: t.lport },
      INPLOOKUP_RLOCKPCB | (flags & INPLOOKUP_WILDCARD),
    );
    if (typeof inp === 'number') throw SysError.fromErrno(inp, 'pcblookup');
    if (inp === null) return null;
    try {
      const tp = inp.inp_ppcb;
      return {
        ...netstatEntry(inp),
        snd_una: tp ? tp.snd_una : 0,
        snd_nxt: tp ? tp.snd_nxt : 0,
        snd_max: tp ? tp.snd_max : 0,
        snd_wnd: tp ? tp.snd_wnd : 0,
        rcv_nxt: tp ? tp.rcv_nxt : 0,
        rcv_wnd: tp ? tp.rcv_wnd : 0,
      };
    } finally {
      inpUnlock(inp);
    }
  }

  const owner: HandoffOwner = {
    engine: e,
    apps: () => g.apps.list.map((a) => a.app),
    leave: (inp) => g.tuples.handOff(inp),
    stay: (inp, id) => g.tuples.keep(inp, id),
    arrive: (id) => {
      g.tuples.pendingActive = id;
    },
    arrived: () => {
      g.tuples.pendingActive = 0;
    },
    importOptions: {},
    drain: () => g.drain(),
  };

  /** The app (not the socket app's name) holding `fd`, by the name it registered. */
  const appOf = (fd: number) => {
    const name = g.apps.fdApp.get(fd);
    return name === undefined ? undefined : g.apps.list.find((a) => a.name === name)?.app;
  };
  const toe = (): ToeChannel => {
    if (g.toe === null) throw new SysError('EOPNOTSUPP', 'this stack has no TOE card', 'handoff');
    return g.toe;
  };

  return {
    sysctlGet: (name) => e.sysctl.get(name),
    sysctlSet: (name, value) => e.sysctl.set(name, value),
    kldload: (name) => {
      const r = e.kldload(name);
      if (r < 0) throw SysError.fromErrno(r, 'kldload');
      return r;
    },
    kldunload: (name) => {
      const r = e.kldunload(name);
      if (r < 0) throw SysError.fromErrno(r, 'kldunload');
    },
    kldstat: () => e.kldstat(),
    setkey: (ops) => e.setkey(ops),
    pfLoad: (rs) => e.pf.load(rs),
    pfEnable: (on) => {
      const r = on ? e.pf.start() : e.pf.stop();
      if (r < 0) throw SysError.fromErrno(r, 'pfctl');
    },
    pfReport: () => e.pf.report(),
    netstat: underLock((): NetstatEntry[] => {
      const out: NetstatEntry[] = [];
      for (const inp of e.tcp.pcbinfo.all()) out.push(netstatEntry(inp));
      return out;
    }),
    census: underLock((): Census => e.census()),
    counters: (): WorkerStats => ({
      ...g.counters(),
      worker: g.worker,
      tcpstat: numbers(e.tcp.stat),
      ipstat: numbers(e.net.ipstat),
      ip6stat: numbers(e.net.ip6stat),
      apps: Object.fromEntries(g.apps.list.map(({ name, app }) => [name, app.stats()])),
    }),
    setCapenable: (ifname, bits) => {
      const ifp = e.ifunit(ifname);
      return ifp === null ? -ERRNO.EINVAL : ifp.setCapenable(bits);
    },
    liveInBuckets: underLock((buckets: number[]) => {
      const set = new Set(buckets);
      let n = 0;
      for (const inp of e.tcp.pcbinfo.all()) if (inp.connected && set.has(bucketOf(inp))) n++;
      return n;
    }),
    pcblookup: underLock((tuple: PcbTuple, flags: number) => pcblookup(tuple, flags)),
    snapshot: underLock(
      (): StackSnapshot => snapshot(e, { worker: g.worker, app: (fd) => g.apps.fdApp.get(fd), user: USER }),
    ),
    ifconfig: (argv) => applyIfconfig(e, parseIfconfigArgs(argv)),
    epairAttach: (s) => g.epairAttach(s),
    epairDetach: (name) => g.epairDetach(name),
    epairAddr: (name, cidr) => g.epairAddr(name, cidr),
    route: (argv) => applyRoute(e, parseRouteArgs(argv)),
    captureStart: (id, ifname, count, snapLen) => {
      if (captures.has(id)) throw new SysError('EEXIST', `capture ${id} is running`, 'capture');
      captures.set(id, attachCapture(e, { ifname, count, snapLen }));
    },
    captureCount: (id) => captures.get(id)?.frames.length ?? 0,
    captureStop: (id): WorkerCapture => {
      const tap = captures.get(id);
      if (tap === undefined) throw new SysError('ENOENT', `no capture ${id}`, 'capture');
      captures.delete(id);
      tap.detach();
      return { linkType: tap.linkType, snapLen: tap.snapLen, timeOriginMs: performance.timeOrigin, frames: tap.frames };
    },
    sockHandoffOut: underLock((sid: number) => handoffOut(owner, sid)),
    sockHandoffIn: underLock((h: SockHandoff, sid: number, id: number) => handoffIn(owner, h, sid, id)),
    appConnOf: underLock((t: PcbTuple) => appFdOf(owner, appOf, t)),
    appHandoffOut: underLock((t: PcbTuple) => {
      const fd = appFdOf(owner, appOf, t);
      if (fd < 0) throw SysError.fromErrno(fd, 'handoff');
      return appHandoffOut(owner, toe(), fd, t, g.apps.fdApp.get(fd) ?? '?');
    }),
    appLive: (sid) => toe().live(sid),
    appFreeze: (sid) => toe().freeze(sid),
    appHandoffIn: (h, sid, id, fromCard) => appHandoffIn(owner, toe(), h, sid, id, fromCard),
    appToeReset: () => g.toe?.reset(),
    stop: () => g.stop(),
  };
}

function numbers(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[k] = v;
  return out;
}
