/**
 * The control plane's types: what a Stack is configured with, the comlink API every group
 * worker exposes to the coordinator (`WorkerControl`), the API the coordinator exposes to
 * each worker (`CoordinatorApi`), and the records they exchange. Nothing here runs on the
 * data plane: frames never cross comlink (docs/architecture.md, "Rings for the data plane").
 */
import type { StackSnapshot, CapturedFrame, SetkeyOp, RouteResult } from '@mcstack/netinet/tools';
import type { KldStat, PfReport, PfRuleset, SecAssocRecord } from '@mcstack/netinet';
import type { SockHandoff } from './sockrec.js';
import type { PipeSpec } from './pipe.js';
import type { GroupEpairSpec } from './hostepair.js';

/** How frames reach the worker that owns their connection. */
export type Strategy = 'rss-groups' | 'single' | 'unaligned';

/** A static neighbour (`arp -s` / an ND entry that never expires). */
export interface NeighborSpec {
  addr: string;
  /** 'aa:bb:cc:dd:ee:ff' or 6 bytes. */
  mac: string | Uint8Array;
}

/** An in-worker application: by registry name, or by module URL (its export `export`, default 'default'). */
export type AppSpec = (
  | { name: string; port?: number; options?: Record<string, unknown> }
  | { module: string; export?: string; name?: string; port?: number; options?: Record<string, unknown> }
) & {
  /** The app's FIB (setfib(1): its "process" default): its sockets route in it. 0 .. net.fibs-1. */
  fib?: number;
};

export interface StackOptions {
  /** Name used in errors, thread names and netstat output (default 'mcstack'). */
  name?: string;
  /** Group workers, 1 .. os.availableParallelism() (default the latter; 'single' forces 1). */
  workers?: number;
  strategy?: Strategy;
  /** The interface's link address (default 02:00:00:00:00:01). */
  mac?: string | Uint8Array;
  /** Interface addresses in CIDR form, e.g. ['10.0.0.1/24', 'fd00::1/64']. */
  addrs?: string[];
  neighbors?: NeighborSpec[];
  apps?: AppSpec[];
  /** Static routes installed in every worker after the addresses. */
  routes?: RouteSpec[];
  /** Kernel modules loaded in every worker at start (loader.conf's `cc_cubic_load="YES"`), before `sysctl`. */
  modules?: string[];
  /** Applied in every worker before the apps start. */
  sysctl?: Record<string, number | string>;
  /**
   * Loader tunables (loader.conf), read once at start, e.g. the host cache's
   * `net.inet.tcp.hostcache.{hashsize,bucketlimit,cachelimit}`; an unknown name is ENOENT.
   */
  tunables?: Record<string, number | string>;
  /** Seeds the engines' random sources and the coordinator's port allocation (default 1). */
  seed?: number;
  /**
   * The stack's port, which says the card it models (cardmodel.ts): `cxgbe0` (default), a
   * Chelsio T4 port (t4_tom, TOE4 and TOE6, dev.t4nex.0), or `cxgb0`, a T3 port (t3_tom,
   * TOE4 only, dev.cxgbc.0). EINVAL for another name, or TOE6 among a T3's capabilities.
   */
  ifname?: 'cxgbe0' | 'cxgb0';
  /** MTU of cxgbe0 (default 1500). */
  mtu?: number;
  /** IFCAP_* bits cxgbe0 offers (`ifconfig -m` capabilities=) and has enabled (options=); default none. */
  capabilities?: number;
  capenable?: number;
  /**
   * 802.3x flow control on the in-memory link (ifconfig mediaopt rxpause,txpause), default
   * on: a frame for a full receive ring waits in a transmit queue instead of being lost.
   */
  flowControl?: boolean;
  /** Frames each transmit queue holds (hw.cxgbe.qsize_txq, default 1024); then ENOBUFS. */
  qsizeTxq?: number;
  /**
   * Loss on the in-memory wire (dummynet(4)'s `plr`, packet loss rate): each unicast frame
   * this stack's workers and TOE card put on the link is lost with this probability, drawn
   * from a generator seeded by `seed` and the sender's index (reproducible per sender).
   * Frames every queue gets (ARP, ND, multicast) are not lost. Default 0; EINVAL outside [0, 1).
   *
   * Not `pipe.plr`: the pipe is dummynet in the host's output path, which an offloaded
   * connection's frames bypass (the TOE card sends them itself, as in FreeBSD, where TOE
   * traffic never meets ipfw/dummynet), while this is the wire's loss, which the card's
   * frames cross too; and its draws are each sender's own, so a seed repeats its pattern,
   * where the pipe's come from one generator the workers share in whatever order they run.
   */
  plr?: number;
  /**
   * A dummynet pipe on cxgbe0's output (pipe.ts, docs/cc.md): rate, queue, AQM, ECN
   * marking, loss, delay, shared by every worker; the TOE card's frames do not pass it
   * (see plr). On a per-worker TAP or AF_PACKET link it turns TSO off (each frame one
   * packet on the wire).
   */
  pipe?: PipeSpec;
  /** RSS buckets (default rssDefaultBuckets(workers)). */
  buckets?: number;
  /** Ring geometry of the link matrix. */
  ringSlots?: number;
  /**
   * Attach `cxgbe0` to the outside (instead of Stack.join): at most one single-queue link,
   * read and written on the main thread, frames spread over the workers by software RSS
   * (links/external.ts).
   */
  links?: LinkSpec[];
  /**
   * The TOE card's limits when the port offers TOE4/TOE6 (its card runs as a worker of its
   * own once its TOM is loaded: `kldload t4_tom`, `t3_tom` on cxgb0): TIDs (default 1024)
   * and socket-buffer memory in bytes (default 64 MiB). EINVAL outside 1 .. 2^20 TIDs or
   * below 64 KiB. `apps`: client applications the card's processor runs on its own engine
   * (the scaling study's `toe` strategy): their active opens are admitted as any offload
   * (EOPNOTSUPP, counted, when the card cannot take one) and take TIDs; the card takes no
   * listens, so a server app fails to start with EOPNOTSUPP.
   */
  toe?: { ntids?: number; memory?: number; apps?: AppSpec[] };
}

/**
 * A single-queue link to real hosts. 'udp-tunnel': frames one per datagram to `remote`
 * (numeric `host:port`, `[v6]:port`), from `local` (default loopback, any port).
 * 'tap': a TAP device, optionally moved into the existing namespace `netns` with the
 * kernel's side addressed `addrs`: bridged by socat (links/tap.ts), or with `queues:
 * 'per-worker'` one native queue per worker (links/tapmq.ts).
 */
export type LinkSpec =
  | { type: 'udp-tunnel'; remote: string; local?: string; name?: string }
  | {
      type: 'tap';
      name?: string;
      netns?: string;
      addrs?: string[];
      /**
       * 'single' (default): socat and software RSS on the main thread (links/external.ts).
       * 'per-worker': a multi-queue TAP, one queue per worker read and written by that
       * worker (links/tapmq.ts, queueport.ts); socat only where the native layer cannot load.
       */
      queues?: 'single' | 'per-worker';
    }
  /**
   * An existing Linux interface (a veth end, a port) in this process's namespace or in
   * `netns`: an AF_PACKET socket and PACKET_MMAP ring per worker in one PACKET_FANOUT
   * group (links/afpacket.ts). The interface must be up; it is not addressed.
   */
  | { type: 'af_packet'; ifname: string; netns?: string };

/** `route add DST GATEWAY`: DST 'default', 'default6' or a prefix; GATEWAY an address or an interface name. */
export interface RouteSpec {
  dst: string;
  gateway: string;
  fib?: number;
  mtu?: number;
}

/** What one worker's capture tap recorded (tools/capture.ts), with its clock's origin for merging. */
export interface WorkerCapture {
  linkType: number;
  snapLen: number;
  /** performance.timeOrigin of the worker (ms since the epoch): frame times are ns after it. */
  timeOriginMs: number;
  frames: CapturedFrame[];
}

/** One connection as `netstat -an` shows it, with the group that holds it. */
export interface NetstatEntry {
  proto: 'tcp4' | 'tcp6';
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
  /** TCP state name (LISTEN, ESTABLISHED, TIME_WAIT...). */
  state: string;
  recvQ: number;
  sendQ: number;
  worker: number;
  /** The RSS bucket of the return 4-tuple (what this host's NIC computes), -1 for listeners. */
  bucket: number;
}

/**
 * The runtime's per-worker counters (DPCPU-style: summed by Stack.stats()). Frame
 * counters count frames; `hops` counts frames this worker forwarded to a sibling because
 * their connection is owned there (the cross-thread hop pcbgroups remove).
 */
export interface WorkerCounters {
  rxFrames: number;
  txFrames: number;
  /** TX frames dropped because the peer's ring was full (or no peer is joined). */
  txDrops: number;
  hops: number;
  /** Frames received from siblings (forwarded to us). */
  hopsIn: number;
  /** Frames that could not hop: the owner's hop ring was full (it processes none while its lock is held elsewhere). */
  hopDrops: number;
  /** Frames that arrived on a peer ring for a bucket this worker does not own. */
  misdirected: number;
  /**
   * Acquisitions of this group's lock that found it held: the worker's own (a slice that
   * began while the coordinator held it) and the coordinator's (pcblookup, netstat,
   * setIndirection waiting for the worker's slice to end).
   */
  lockWaits: number;
  /** Loop iterations, sleeps on the doorbell, and batches published. */
  loops: number;
  sleeps: number;
  batches: number;
  /**
   * Sleeps by what set their timeout: the next callout, the MAX_SLEEP_MS cap (nothing
   * due), the short cap while a coordinator batch is pending; sleeps the re-check
   * cancelled (work came in after the spins); sleeps a ring/signal ended vs the timeout;
   * timed-out sleeps after which work was waiting (a lost wakeup if it happens often);
   * µs slept in all, and the longest sleep (µs).
   */
  sleepsCallout: number;
  sleepsIdle: number;
  sleepsSync: number;
  sleepsCancelled: number;
  sleepsWoken: number;
  sleepsTimedOut: number;
  sleepsLate: number;
  sleepUs: number;
  sleepMaxUs: number;
  /** µs of empty turns (polling every ring) that ended in a sleep: spinning that found nothing. */
  spinUs: number;
  /**
   * Poll windows after activity (cpushare.ts, taken when the threads do not all fit the
   * cores but the awake ones do): ended by work (no wake-up needed) vs run out (then a
   * sleep), µs polled in windows that found work, and idle decisions that slept at once
   * because the awake threads filled the cores.
   */
  spinsWon: number;
  spinsLost: number;
  spinWonUs: number;
  spinsRefused: number;
  /** The worker thread's CPU time (user + system), µs, read from the OS. */
  cpuUs: number;
  /** Wall time the loop ran, µs. */
  wallUs: number;
  /** Active opens granted and passive opens registered with the coordinator. */
  connects: number;
  accepts: number;
}

export interface WorkerStats extends WorkerCounters {
  worker: number;
  /** Engine counters: tcpstat/ipstat/ip6stat fields that are numbers. */
  tcpstat: Record<string, number>;
  ipstat: Record<string, number>;
  ip6stat: Record<string, number>;
  /** Per app (by name): its stats(). */
  apps: Record<string, Record<string, number>>;
}

export interface Census {
  pcbs: number;
  tcbs: number;
  callouts: number;
  fds: number;
  syncache: number;
}

/** A TCP 4-tuple from this stack's side (laddr is ours): what Stack.pcblookup looks up. */
export interface PcbTuple {
  faddr: string;
  fport: number;
  laddr: string;
  lport: number;
}

/**
 * One TCP pcb as in_pcblookup found it: the netstat row plus the tcpcb's sequence
 * variables under their tcp_var.h names (0 for a listener or a pcb without a tcpcb).
 */
export interface PcbDescription extends NetstatEntry {
  snd_una: number;
  snd_nxt: number;
  snd_max: number;
  snd_wnd: number;
  rcv_nxt: number;
  rcv_wnd: number;
}

/**
 * The comlink API of one group worker. Every method runs in that worker's thread, between
 * slices of its loop. The reads of the engine (netstat, census, liveInBuckets, pcblookup,
 * snapshot) run under the group's lock: taken for the read when free, else under the
 * hold of the coordinator, which took it for the request.
 */
export interface WorkerControl {
  sysctlGet(name: string): number | string;
  sysctlSet(name: string, value: number | string): number | string;
  /** kldload in this worker: the file id; SysError ENOENT (no such module), EEXIST (loaded). */
  kldload(name: string): number;
  /** kldunload in this worker; SysError ENOENT (not loaded), EBUSY (in use). */
  kldunload(name: string): void;
  kldstat(): KldStat[];
  /** setkey operations on this worker's SA database (TCP-MD5 keys); the SAs after. Throws SysError. */
  setkey(ops: SetkeyOp[]): SecAssocRecord[];
  /** pf (netpfil/pf) in this worker: replace the ruleset (DIOCXCOMMIT). */
  pfLoad(rs: PfRuleset): void;
  /** pf on (`pfctl -e`) or off (`-d`); SysError EEXIST (already on), ENOENT (not on). */
  pfEnable(on: boolean): void;
  /** This worker's rules, counters, states and status (`pfctl -s`). */
  pfReport(): PfReport;
  netstat(): NetstatEntry[];
  census(): Census;
  counters(): WorkerStats;
  /** SIOCSIFCAP: 0 or -errno. */
  setCapenable(ifname: string, capenable: number): number;
  /** Connections (not listeners) whose return-tuple bucket is one of `buckets`. */
  liveInBuckets(buckets: number[]): number;
  /**
   * in_pcblookup in this group (TCP): the pcb of `tuple` (failing that, with
   * INPLOOKUP_WILDCARD, the listener it would reach), or null. The lock flags are checked (EINVAL) but say
   * nothing here: the cross-thread hold is the group lock, which Stack.pcblookup takes.
   */
  pcblookup(tuple: PcbTuple, flags: number): PcbDescription | null;
  /** The FreeBSD tools' view of this worker's engine (tools/snapshot.ts), sockets named by app. */
  snapshot(): StackSnapshot;
  /** `ifconfig IF word...` (tools/ifconfig.ts) applied to this worker's engine; throws SysError. */
  ifconfig(argv: string[]): void;
  /** The `a` end of an epair to the vnet worker (hostepair.ts) in this worker; EEXIST. */
  epairAttach(s: GroupEpairSpec): void;
  /** That end goes; ENXIO when it is not one. */
  epairDetach(name: string): void;
  /** `ifconfig epairNa inet|inet6 A/P` on that end: SysError from in_control (EINVAL, EEXIST). */
  epairAddr(name: string, cidr: string): void;
  /** `route [-F fib] add|delete|get|show ...` (tools/route.ts) on this worker's engine; throws SysError. */
  route(argv: string[]): RouteResult;
  /** Tap interface `ifname` (tools/capture.ts) under capture `id`; ENXIO, EEXIST. */
  captureStart(id: number, ifname: string, count?: number, snapLen?: number): void;
  /** Frames capture `id` holds so far (0 when unknown). */
  captureCount(id: number): number;
  /** Detach capture `id` and hand over its frames. ENOENT when unknown. */
  captureStop(id: number): WorkerCapture;
  /**
   * Live handoff, the leaving half: the connection of main-thread socket `sid` (its id on
   * this worker's rings) exported with what the socket app held for it (worker/handoff.ts).
   * SysError EBADF (no such socket), EAGAIN (connecting, closing, or its reservation not
   * registered yet), the export's errno.
   */
  sockHandoffOut(sid: number): SockHandoff;
  /** The arriving half: import it under reservation `id` for socket `sid`; SysError with the import's errno. */
  sockHandoffIn(h: SockHandoff, sid: number, id: number): void;
  /**
   * An in-worker app's connection `t` (docs/toe.md, "In-worker apps"): its descriptor when
   * an app of this group holds it established, else -ENOENT (none here), -EBUSY (the socket
   * app's: @mcstack/api moves those), -EAGAIN (not established, or closing).
   */
  appConnOf(t: PcbTuple): number;
  /** Host → card, the leaving half for connection `t`: the export, and the id of the offloaded socket put under the app's descriptor. SysError. */
  appHandoffOut(t: PcbTuple): { h: SockHandoff; sid: number };
  /** The card has connection `sid`: what the app wrote meanwhile goes down. */
  appLive(sid: number): void;
  /** Card → host begins: nothing more goes down for `sid`. SysError EAGAIN (connecting, closing). */
  appFreeze(sid: number): void;
  /**
   * The arriving half on the host: `h` imported under reservation `id` and put under the
   * app's descriptor of offloaded socket `sid` (after the card's OP_MOVED when `fromCard`). SysError.
   */
  appHandoffIn(h: SockHandoff, sid: number, id: number, fromCard: boolean): void;
  /** The TOE card failed: this group's apps' offloaded connections are reset (ECONNRESET). */
  appToeReset(): void;
  /** Ask the loop to stop: apps stop, the task resolves. */
  stop(): void;
}

/**
 * Active opens to one destination: `count` 4-tuples wanted (a connect waiting for its
 * answer asks one, a pool refill its shortfall). Addresses: IPv4 as u32 numbers (host
 * order), IPv6 as text.
 */
export interface ConnectRequest {
  req: number;
  laddr: number | string;
  faddr: number | string;
  fport: number;
  count: number;
  /** A local port bound by the caller (count 1): reserved as bind() then connect() would, not picked. */
  lport?: number;
}
/** The 4-tuples granted as [id, lport] pairs; `errno` when fewer than asked were (the first refusal ends the request). */
export interface ConnectReply {
  req: number;
  grants: number[];
  errno?: string;
}
/** An IPv6 connection born from a listener (IPv4 ones travel packed: SyncRequest.passives4). */
export interface PassiveTuple {
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
}

/** What a worker sends in one batched sync. */
export interface SyncRequest {
  connects: ConnectRequest[];
  /** Reservation ids to release (the pcb is gone). */
  releases: number[];
  /** IPv4 connections born from a listener, to register: laddr, lport, faddr, fport per connection (addresses u32). */
  passives4: number[];
  /** IPv6 ones. */
  passives6: PassiveTuple[];
}
export interface SyncReply {
  connects: ConnectReply[];
  /**
   * A reservation id per passive registration, the IPv4 ones first, each in request order
   * (0 when the 4-tuple was already taken: a conflict).
   */
  passives: number[];
}

/** An error rebuilt across a thread: name, stable code, message. */
export interface ErrorInfo {
  name: string;
  code: string;
  message: string;
  stack?: string;
}

/** The coordinator's comlink API, one per worker. */
export interface CoordinatorApi {
  sync(worker: number, r: SyncRequest): SyncReply;
  /**
   * Reserve (family, port) for a listener of `owner` (once per stack; every group then
   * listens): the port reserved (port 0 picks one), or an errno name.
   */
  listen(worker: number, family: 4 | 6, port: number, owner: string): number | string;
  /** The group closed a listener a listen() reserved for: the last one's close frees the port. */
  unlisten(worker: number, family: 4 | 6, port: number): void;
  /** Reserve a UDP (family, port) for `owner`'s socket (once per stack; every group then binds): the port, or an errno name. */
  udpBind(worker: number, family: 4 | 6, port: number, owner: string): number | string;
  /** The group closed a UDP socket udpBind() reserved for: the last one's close frees the port. */
  udpUnbind(worker: number, family: 4 | 6, port: number): void;
  /** The worker is up (apps started) or failed to start. */
  ready(worker: number, error?: ErrorInfo): void;
  /** A fatal error is about to end the worker's task. */
  fatal(worker: number, error: ErrorInfo): void;
  /** Whether an in-worker app's active open to `faddr` goes to the TOE card (Stack.toeAdmit: counted by reason when not). */
  toeAdmit(faddr: string, fport: number): boolean;
}

/**
 * An API as another thread holds it: each method answers with a Promise of its result
 * (what comlink's Remote makes of an API of plain methods, written out here so that the
 * runtime's type definitions do not pull in comlink's, which need the DOM's types).
 */
export type RemoteApi<T> = {
  [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;
};

export type RemoteWorker = RemoteApi<WorkerControl>;

/**
 * comlink sends a thrown error as its name, message and stack; add the stable `code` (and
 * errno/syscall) so a SysError thrown in a worker arrives with its code (docs/architecture.md,
 * "Errors"). Installed by both ends at module load; idempotent.
 */
export function installErrorCodes(handlers: Map<string, unknown>): void {
  type ThrowHandler = {
    canHandle(v: unknown): boolean;
    serialize(v: { value: unknown }): [unknown, unknown[]];
    deserialize(v: unknown): unknown;
    codes?: true;
  };
  const orig = handlers.get('throw') as ThrowHandler | undefined;
  if (orig === undefined || orig.codes) return;
  const h: ThrowHandler = {
    codes: true,
    canHandle: (v) => orig.canHandle(v),
    serialize(v) {
      const [s, t] = orig.serialize(v);
      const e = v.value as { code?: unknown; errno?: unknown; syscall?: unknown } | null;
      const inner = (s as { value?: Record<string, unknown> }).value;
      if (e !== null && typeof e === 'object' && inner !== undefined && typeof inner === 'object') {
        if (typeof e.code === 'string') inner.code = e.code;
        if (typeof e.errno === 'number') inner.errno = e.errno;
        if (typeof e.syscall === 'string') inner.syscall = e.syscall;
      }
      return [s, t];
    },
    deserialize(s) {
      try {
        return orig.deserialize(s);
      } catch (err) {
        const inner = (s as { value?: Record<string, unknown> }).value;
        if (err instanceof Error && inner !== undefined) {
          for (const k of ['code', 'errno', 'syscall'])
            if (inner[k] !== undefined) (err as unknown as Record<string, unknown>)[k] = inner[k];
        }
        throw err;
      }
    },
  };
  handlers.set('throw', h);
}
