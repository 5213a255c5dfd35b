/**
 * What the daemon offers on its control socket (rpc.ts: a fixed table of methods, one
 * JSON request and one reply per line): the FreeBSD tools' data from every live worker,
 * and the run-time changes they make. Formatting is the caller's (packages/netinet tools
 * take these snapshots).
 */
import type { RouteResult, StackSnapshot } from '@mcstack/netinet/tools';
import type { RdmaInfo, RemoteApi, StackStats } from '@mcstack/runtime';
import type { JailInfo, KldStat, PfReport, SecAssocRecord, VnetLeftovers } from '@mcstack/netinet';

export interface DaemonInfo {
  name: string;
  pid: number;
  socket: string;
  workers: number;
  strategy: string;
  /** The in-memory peer's name, when one is joined. */
  peer: string | null;
  apps: string[];
  startedAt: string;
}

export interface SysctlResult {
  name: string;
  /** Before (a set) and now, as worker 0 reports them (every worker is set alike). */
  old?: number | string;
  value: number | string;
}

export interface CaptureResult {
  ifname: string;
  /** Frames written (at most the count asked for). */
  frames: number;
  linkType: number;
  pcapng: Uint8Array;
}

export interface DaemonApi {
  info(): DaemonInfo;
  /** One snapshot per live worker, in worker order. */
  snapshots(): Promise<StackSnapshot[]>;
  /**
   * `ifconfig IF word...` on every worker (the same interface in each); `epair create`, and
   * an epair to the jails' `vnet J`/`-vnet J`/`destroy` (runtime hostepair.ts): what it prints.
   */
  ifconfig(argv: string[]): Promise<string | undefined>;
  /**
   * `route [-F fib] add|delete|get|show ...` on every worker (get: worker 0's answer, every
   * worker holds the same tables). EINVAL (bad words, a fib past net.fibs), EEXIST, ESRCH.
   */
  route(argv: string[]): Promise<RouteResult>;
  /** Get (no value) or set a sysctl in every worker. ENOENT, EINVAL, EPERM. */
  sysctl(name: string, value?: string): Promise<SysctlResult>;
  stats(): Promise<StackStats>;
  /** kldload in every worker: worker 0's file id. ENOENT (no such module), EEXIST (loaded). */
  kldload(name: string): Promise<number>;
  /** kldunload in every worker or none. ENOENT (not loaded), EBUSY (a connection uses it). */
  kldunload(name: string): Promise<void>;
  /** Worker 0's loaded files (every worker loads alike). */
  kldstat(): Promise<KldStat[]>;
  /** The card's RDMA device: its QPs, listeners and counters. ENXIO when the card is not running. */
  rdma(): Promise<RdmaInfo>;
  /**
   * `setkey -c` statements (TCP-MD5 SAs, netinet tools/setkey.ts) on every worker; the
   * SAs after. EINVAL for a statement that does not parse, EEXIST/ENOENT for one that fails
   * (then nothing is changed).
   */
  setkey(text: string): Promise<SecAssocRecord[]>;
  /**
   * `pfctl -f`: pf.conf text (netinet netpfil/pf/pf_parse.ts) loaded into every worker; the
   * number of rules. EINVAL naming the line for a rule that does not parse (nothing loaded).
   */
  pfctlLoad(text: string): Promise<number>;
  /** `pfctl -e` (true) / `-d` (false) in every worker. EEXIST (already enabled), ENOENT (not enabled). */
  pfctlEnable(on: boolean): Promise<void>;
  /** pf's rules, states and counters, summed over the workers (`pfctl -s`). */
  pfctlShow(): Promise<PfReport>;
  /**
   * Start capturing on `ifname` in every worker; the capture's id. EBUSY while one runs.
   * `count` 1 .. MAX_CAPTURE_COUNT, `snapLen` 1 .. MAX_SNAPLEN (EINVAL otherwise).
   */
  captureStart(ifname: string, count?: number, snapLen?: number): Promise<number>;
  /** Frames captured so far over every worker. */
  captureCount(id: number): Promise<number>;
  /** Stop and merge (in time order, the first `count`) into one pcapng file. */
  captureStop(id: number): Promise<CaptureResult>;
  /** jail -c name=N vnet: a vnet jail in the stack's vnet worker (runtime vnet.ts); its jid. EEXIST, EINVAL. */
  jailCreate(name: string): Promise<number>;
  /** jail -r J (jid or name): the jail's stack torn down; what it still held (all zero). ENOENT. */
  jailRemove(jail: string): Promise<VnetLeftovers>;
  /** jls */
  jls(): Promise<JailInfo[]>;
  /** What ifconfig, netstat, sockstat and sysctl -j J read: the jail's stack. ENOENT. */
  jailSnapshot(jail: string): Promise<StackSnapshot>;
  /** sysctl -j J: get or set in the jail's own tree. ENOENT, EINVAL, EPERM. */
  jailSysctl(jail: string, name: string, value?: string): Promise<SysctlResult>;
  /** ifconfig -j J words (epair create, IF destroy, IF vnet K, IF -vnet K, IF inet A/P, ...): what it prints. */
  jailIfconfig(jail: string, argv: string[]): Promise<string>;
  /**
   * jexec J APP [KEY=VALUE...]: the registry's app APP (echo, http-lite, rr-client...) started
   * on jail J's stack with those options (numbers and true/false where they look so). ENOENT,
   * MCSTACK_NOAPP, or the app's own start error (EADDRINUSE...).
   */
  jailExec(jail: string, app: string, options: Record<string, string | number | boolean>): Promise<void>;
}

/** What a tool holds: every method of the API, answered over the socket. */
export type DaemonRemote = RemoteApi<DaemonApi>;

/** The longest pf.conf the socket takes. */
export const MAX_PF_CONF_TEXT = 262144;

/** The longest `setkey` input the socket takes. */
export const MAX_SETKEY_TEXT = 65536;

/** The largest snapshot length a capture takes (tcpdump's MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;
/** The most frames one capture keeps (each worker holds them until the stop). */
export const MAX_CAPTURE_COUNT = 1_000_000;
