/**
 * struct iovec arrays laid out in bytes for writev(2), so a frame and the header before it
 * go out in one call without being copied together first and without koffi converting an
 * array of objects per call (measured: a 64 KiB copy plus write(2) ~6.5 µs, koffi's struct
 * array ~3 µs a call, these ~1.3 µs).
 *
 * An entry holds the address of a typed array's bytes: only buffers whose memory does not
 * move qualify — an ArrayBuffer's backing store outside V8's heap (reading `.buffer`
 * puts a small one there for good) or a SharedArrayBuffer. Addresses are cached per
 * buffer (a link writes from a handful: its own header buffer, the engine's output
 * buffers), and a cached buffer is held, so its memory cannot be freed and reused.
 *
 * 64-bit little-endian layout (void *iov_base; size_t iov_len); elsewhere `supported`
 * is false and the caller copies instead.
 */
import { addressOf, writevRaw } from './libc.js';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const POINTER_64 = ['x64', 'arm64', 'riscv64', 'loong64', 'ppc64', 's390x', 'mips64el'].includes(process.arch);
const IOV_LEN = 16;
/** Buffers whose address is kept (most recently used first). */
const CACHED = 4;
const TWO32 = 4294967296;

export class IoVecs {
  /** Whether this platform's struct iovec is the layout built here. */
  static readonly supported = LITTLE_ENDIAN && POINTER_64;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  private readonly bufs: (ArrayBufferLike | null)[] = new Array<ArrayBufferLike | null>(CACHED).fill(null);
  private readonly bases: number[] = new Array<number>(CACHED).fill(0);

  constructor(readonly capacity: number) {
    // More than 64 bytes: allocated outside V8's heap like the buffers it points at.
    this.bytes = new Uint8Array(Math.max(128, capacity * IOV_LEN));
    this.words = new Uint32Array(this.bytes.buffer);
  }

  /** The address of `buf`'s backing store (cached per buffer, most recent first). */
  private base(buf: Uint8Array): number {
    const ab = buf.buffer;
    const bufs = this.bufs;
    if (bufs[0] === ab) return this.bases[0]!;
    let i = 1;
    while (i < CACHED && bufs[i] !== ab) i++;
    const base = i < CACHED ? this.bases[i]! : addressOf(buf) - buf.byteOffset;
    if (i === CACHED) i = CACHED - 1;
    for (let k = i; k > 0; k--) {
      bufs[k] = bufs[k - 1]!;
      this.bases[k] = this.bases[k - 1]!;
    }
    bufs[0] = ab;
    this.bases[0] = base;
    return base;
  }

  /** Entry `i`: `len` bytes of `buf` from its index `off`. */
  set(i: number, buf: Uint8Array, off: number, len: number): void {
    const addr = this.base(buf) + buf.byteOffset + off;
    const w = this.words;
    const o = i * 4;
    w[o] = addr % TWO32;
    w[o + 1] = Math.floor(addr / TWO32);
    w[o + 2] = len;
    w[o + 3] = 0;
  }

  /** writev(2) of the first `count` entries: bytes written, or -errno. */
  writev(fd: number, count: number): number {
    return writevRaw(fd, this.bytes, count);
  }
}
