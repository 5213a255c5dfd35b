/**
 * The modular congestion-control KPI (FreeBSD netinet/cc/cc.h, cc.c): each
 * connection holds its own algorithm (tp.cc) and private state (tp.ccv); every
 * hook is optional and a missing hook does nothing. The window comes from the
 * algorithm alone: there is no inflight limiter.
 */
import { ERRNO } from '../../kern/errno.js';
import type { Tcpcb } from '../var.js';

/** ack_received types */
export const CC_ACK = 0x0001;
export const CC_DUPACK = 0x0002;
/** cong_signal types */
export const CC_ECN = 0x01;
export const CC_RTO = 0x02;
export const CC_RTO_ERR = 0x04;
export const CC_NDUPACK = 0x08;

/** struct cc_var flags */
export const CCF_ABC_SENTAWND = 0x0001;
export const CCF_CWND_LIMITED = 0x0002;
export const CCF_DELACK = 0x0004;
export const CCF_ACKNOW = 0x0008;
export const CCF_IPHDR_CE = 0x0010;
export const CCF_TCPHDR_CWR = 0x0020;

/** What an ACK carried, for ack_received (struct cc_var's per-ACK fields). */
export interface CcAckInfo {
  flags: number;
  bytes_this_ack: number;
  curack: number;
  nsegs: number;
  /** The RTT sample this ACK gave, µs; 0 for none (FreeBSD hands it to the rttsample hook). */
  rtt_us?: number;
}

/** struct cc_algo */
export interface CcAlgo {
  readonly name: string;
  /** Allocate per-connection state (cb_init). */
  cb_init?(tp: Tcpcb): void;
  cb_destroy?(tp: Tcpcb): void;
  /** Connection established: set the initial window (conn_init). */
  conn_init?(tp: Tcpcb): void;
  ack_received?(tp: Tcpcb, ci: CcAckInfo, type: number): void;
  cong_signal?(tp: Tcpcb, ci: CcAckInfo, type: number): void;
  post_recovery?(tp: Tcpcb, ci: CcAckInfo): void;
  after_idle?(tp: Tcpcb): void;
  /**
   * Per received segment on an ECN connection (cc_ecnpkt_handler, RFC 8257 §3.2):
   * ci.flags carries CCF_IPHDR_CE, CCF_TCPHDR_CWR and CCF_DELACK; the hook sets or
   * clears TF_ECN_SND_ECE and CCF_ACKNOW when the ACK must go at once.
   */
  ecnpkt_handler?(tp: Tcpcb, ci: CcAckInfo): void;
  /** Keys of tp.ccv holding absolute engine-clock times (µs), rebased by export/import. */
  readonly ccv_times?: readonly string[];
}

/** cc_list: the registered algorithms and the system default. */
export class CcRegistry {
  private algos = new Map<string, CcAlgo>();
  default: CcAlgo;

  constructor(builtin: CcAlgo) {
    this.algos.set(builtin.name, builtin);
    this.default = builtin;
  }

  /** cc_register_algo; EEXIST for a name taken. */
  register(a: CcAlgo): number {
    if (this.algos.has(a.name)) return -ERRNO.EEXIST;
    this.algos.set(a.name, a);
    return 0;
  }

  /** cc_deregister_algo: EBUSY for the default (the caller checks the connections). */
  unregister(name: string): number {
    const a = this.algos.get(name);
    if (a === undefined) return -ERRNO.ENOENT;
    if (a === this.default) return -ERRNO.EBUSY;
    this.algos.delete(name);
    return 0;
  }

  get(name: string): CcAlgo | undefined {
    return this.algos.get(name);
  }

  /** net.inet.tcp.cc.algorithm=name; ENOENT when unknown. */
  setDefault(name: string): number {
    const a = this.algos.get(name);
    if (!a) return -ERRNO.ENOENT;
    this.default = a;
    return 0;
  }

  /** net.inet.tcp.cc.available: comma-separated as FreeBSD prints it. */
  available(): string {
    return [...this.algos.keys()].join(', ');
  }
}
