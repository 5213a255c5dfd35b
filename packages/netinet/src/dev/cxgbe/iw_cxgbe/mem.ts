/**
 * Protection domains and memory regions (iw_cxgbe's mem.c, the verbs' ibv_reg_mr):
 * a region is a byte range of the host's memory (in the runtime a SharedArrayBuffer
 * both threads map) named by an STag. On iWARP the local and the remote key are
 * the same STag (RFC 5040 §2.1): a 24-bit index and an 8-bit key, so a stale STag
 * whose index was reused does not match (the T4's TPT entry, a key per entry).
 */
import {
  IBV_ACCESS_LOCAL_WRITE,
  IBV_ACCESS_REMOTE_READ,
  IBV_ACCESS_REMOTE_WRITE,
  IBV_ACCESS_REMOTE_ATOMIC,
  IBV_ACCESS_MW_BIND,
} from '../../../ofed/ib_verbs.js';

export class IwPd {
  constructor(readonly pdn: number) {}
}

export class IwMr {
  /** False once deregistered or invalidated (Send with Invalidate, RFC 5040 §5.1). */
  valid = true;
  constructor(
    readonly stag: number,
    readonly pd: IwPd,
    readonly buf: Uint8Array,
    /** The virtual address of buf[0]: SGEs and Tagged Offsets are addresses. */
    readonly iova: number,
    readonly access: number,
  ) {}
  get lkey(): number {
    return this.stag;
  }
  get rkey(): number {
    return this.stag;
  }
  get length(): number {
    return this.buf.length;
  }
}

/** What an STag check found (the Terminate codes of RFC 5040 §4.8 follow from it). */
export const STAG_OK = 0;
export const STAG_INVALID = 1;
export const STAG_NOT_ASSOCIATED = 2;
export const STAG_BOUNDS = 3;
export const STAG_ACCESS = 4;

const ACCESS_ALL =
  IBV_ACCESS_LOCAL_WRITE |
  IBV_ACCESS_REMOTE_WRITE |
  IBV_ACCESS_REMOTE_READ |
  IBV_ACCESS_REMOTE_ATOMIC |
  IBV_ACCESS_MW_BIND;

/** The device's STag table. */
export class MrTable {
  private readonly byIndex = new Map<number, IwMr>();
  private nextIndex = 1;
  private key = 0;

  /** ibv_reg_mr: -EINVAL for unknown access bits, remote write without local write (verbs' rule), or atomics/MW (not built). */
  reg(pd: IwPd, buf: Uint8Array, access: number, iova = 0): IwMr | number {
    if ((access & ~ACCESS_ALL) !== 0) return -22;
    if (access & (IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_MW_BIND)) return -45; // EOPNOTSUPP: no atomics, no windows
    if (access & IBV_ACCESS_REMOTE_WRITE && !(access & IBV_ACCESS_LOCAL_WRITE)) return -22;
    if (!Number.isSafeInteger(iova) || iova < 0 || !Number.isSafeInteger(iova + buf.length)) return -22;
    let idx = this.nextIndex;
    for (let n = 0; this.byIndex.has(idx); n++) {
      if (n > 0xffffff) return -12; // ENOMEM: table full
      idx = (idx % 0xffffff) + 1;
    }
    this.nextIndex = (idx % 0xffffff) + 1;
    this.key = (this.key + 1) & 0xff;
    const mr = new IwMr(((idx << 8) | this.key) >>> 0, pd, buf, iova, access);
    this.byIndex.set(idx, mr);
    return mr;
  }

  dereg(mr: IwMr): void {
    mr.valid = false;
    if (this.byIndex.get(mr.stag >>> 8) === mr) this.byIndex.delete(mr.stag >>> 8);
  }

  lookup(stag: number): IwMr | undefined {
    const mr = this.byIndex.get(stag >>> 8);
    return mr && mr.stag === stag >>> 0 ? mr : undefined;
  }

  get size(): number {
    return this.byIndex.size;
  }

  /** Check an access of `len` bytes at address `va` through `stag` for a QP of `pd` needing `access`. */
  check(stag: number, pd: IwPd, va: number, len: number, access: number): number {
    const mr = this.lookup(stag);
    if (!mr?.valid) return STAG_INVALID;
    if (mr.pd !== pd) return STAG_NOT_ASSOCIATED;
    if (va < mr.iova || va + len > mr.iova + mr.buf.length) return STAG_BOUNDS;
    if ((mr.access & access) !== access) return STAG_ACCESS;
    return STAG_OK;
  }
}
