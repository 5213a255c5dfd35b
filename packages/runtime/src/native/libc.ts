/**
 * libc through koffi: the system calls Node has no API for (ioctl, poll on an
 * arbitrary fd, sched_setaffinity, setsockopt of any option...).
 *
 * Nothing is loaded until the first call: importing this module costs nothing
 * and works on every platform; only calling it on one without Linux, koffi's
 * prebuilt binary or glibc throws NativeUnavailableError (MCSTACK_NATIVE_UNAVAILABLE).
 *
 * Two error conventions, by use:
 * - setup calls (open, close, ioctl, socket, bind, setsockopt, getsockopt,
 *   sched_*affinity) throw NativeError on failure;
 * - the per-frame calls (read, write, readv, writev, poll) return -errno, as the
 *   raw syscall ABI does, so EAGAIN on a non-blocking fd costs no Error object.
 *
 * Every call is synchronous on the calling thread: open fds O_NONBLOCK and wait
 * with poll() and a timeout, never in a blocking read.
 */
import { createRequire } from 'node:module';
import { NativeError, NativeUnavailableError } from './errors.js';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => number;

/** Flags of open(2) and socket(2) as asm-generic/fcntl.h numbers them (x86, arm, riscv, ppc, s390). */
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;

/** eventfd(2) flags (linux/eventfd.h: O_NONBLOCK and O_CLOEXEC's values). */
export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;

/** poll(2) events (asm-generic/poll.h). */
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

/** sizeof(cpu_set_t) in glibc: 1024 CPUs (sched.h, CPU_SETSIZE). */
export const CPU_SETSIZE_BYTES = 128;

interface Libc {
  koffi: Koffi;
  open: Fn;
  close: Fn;
  ioctl: Fn;
  read: Fn;
  write: Fn;
  readv: Fn;
  writev: Fn;
  writevRaw: Fn;
  poll: Fn;
  socket: Fn;
  bind: Fn;
  setsockopt: Fn;
  getsockopt: Fn;
  setaffinity: Fn;
  getaffinity: Fn;
  gettid: () => number;
  mmap: Fn;
  munmap: Fn;
  setns: Fn;
  eventfd: Fn;
}

/** SYS_gettid where glibc predates gettid() (2.30): asm/unistd_64.h and asm-generic/unistd.h. */
const SYS_GETTID: Partial<Record<string, number>> = {
  x64: 186,
  arm64: 178,
  riscv64: 178,
  loong64: 178,
  ia32: 224,
  arm: 224,
};

let loaded: Libc | string | undefined;

function load(): Libc | string {
  if (process.platform !== 'linux') return `Linux only (this is ${process.platform})`;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return `koffi did not load: ${(e as Error).message}`;
  }
  try {
    const lib = koffi.load('libc.so.6');
    const f = (decl: string) => lib.func(decl) as unknown as Fn;
    const iovec = koffi.struct({ iov_base: 'void *', iov_len: 'size_t' });
    let gettid: () => number;
    try {
      const g = f('int gettid(void)');
      gettid = () => g();
    } catch {
      const nr = SYS_GETTID[process.arch];
      if (nr === undefined) return `no gettid() in libc and no SYS_gettid known for ${process.arch}`;
      const sys = f('long syscall(long number, ...)');
      gettid = () => Number(sys(nr));
    }
    return {
      koffi,
      // Variadic as declared in fcntl.h and sys/ioctl.h: each extra argument is passed with its type.
      open: f('int open(const char *path, int flags, ...)'),
      close: f('int close(int fd)'),
      ioctl: f('int ioctl(int fd, unsigned long request, ...)'),
      read: f('intptr_t read(int fd, void *buf, size_t count)'),
      write: f('intptr_t write(int fd, const void *buf, size_t count)'),
      readv: lib.func('readv', 'intptr_t', ['int', koffi.pointer(iovec), 'int']) as unknown as Fn,
      writev: lib.func('writev', 'intptr_t', ['int', koffi.pointer(iovec), 'int']) as unknown as Fn,
      // The same call on an iovec array built in bytes (IoVecs): nothing to marshal per call.
      writevRaw: f('intptr_t writev(int fd, const void *iov, int iovcnt)'),
      poll: f('int poll(void *fds, unsigned long nfds, int timeout)'),
      socket: f('int socket(int domain, int type, int protocol)'),
      bind: f('int bind(int fd, const void *addr, uint32_t addrlen)'),
      setsockopt: f('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
      getsockopt: f('int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *len)'),
      setaffinity: f('int sched_setaffinity(int pid, size_t size, const void *mask)'),
      getaffinity: f('int sched_getaffinity(int pid, size_t size, void *mask)'),
      gettid,
      mmap: f('intptr_t mmap(void *addr, size_t len, int prot, int flags, int fd, intptr_t off)'),
      munmap: lib.func('int munmap(intptr_t addr, size_t len)') as unknown as Fn,
      setns: f('int setns(int fd, int nstype)'),
      eventfd: f('int eventfd(unsigned int initval, int flags)'),
    };
  } catch (e) {
    return `libc.so.6 did not load: ${(e as Error).message}`;
  }
}

function libc(): Libc {
  loaded ??= load();
  if (typeof loaded === 'string') throw new NativeUnavailableError(loaded);
  return loaded;
}

/** Whether the native layer can be used here; the reason when not. Loads it on first call. */
export function nativeStatus(): { ok: true } | { ok: false; reason: string } {
  loaded ??= load();
  return typeof loaded === 'string' ? { ok: false, reason: loaded } : { ok: true };
}

/** errno of this thread's last failed call, read at once (anything in between may change it). */
export function errno(): number {
  return libc().koffi.errno();
}

/** Throw the errno of a call that returned -1. */
function fail(syscall: string, detail?: string): never {
  throw new NativeError(errno(), syscall, detail);
}

function checked(r: number, syscall: string, detail?: string): number {
  if (r < 0) fail(syscall, detail);
  return r;
}

/** -errno for the per-frame calls. */
function raw(r: number): number {
  return r < 0 ? -errno() : r;
}

export function open(path: string, flags: number, mode = 0): number {
  return checked(libc().open(path, flags, 'uint32_t', mode), 'open', path);
}

export function close(fd: number): void {
  checked(libc().close(fd), 'close');
}

/** eventfd(2): a counter another thread can make readable to end this one's poll(2). */
export function eventfd(flags = EFD_NONBLOCK | EFD_CLOEXEC): number {
  return checked(libc().eventfd(0, flags), 'eventfd');
}

/** eventfd's write and read unit: one u64 (1 to add; what a read returns is discarded). */
const EVENT_ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const eventSink = new Uint8Array(8);

/** Add 1 to an eventfd's counter (it becomes readable): 8 or -errno. */
export function eventfdSignal(fd: number): number {
  return raw(libc().write(fd, EVENT_ONE, 8));
}

/** Take an eventfd's counter (non-blocking: -EAGAIN when it was 0). */
export function eventfdDrain(fd: number): number {
  return raw(libc().read(fd, eventSink, 8));
}

/**
 * ioctl(2). A Uint8Array argument is passed as a pointer to its bytes (the kernel
 * reads or writes them in place); a number is passed as the unsigned long value
 * itself, which requests such as TUNSETOFFLOAD expect.
 */
export function ioctl(
  fd: number,
  request: number,
  arg: Uint8Array | number,
  what = `0x${request.toString(16)}`,
): number {
  const c = libc();
  const r = typeof arg === 'number' ? c.ioctl(fd, request, 'unsigned long', arg) : c.ioctl(fd, request, 'void *', arg);
  return checked(r, 'ioctl', what);
}

/**
 * read(2) into the first `count` bytes of `buf` (all of it by default): bytes read, or
 * -errno (-EAGAIN on an empty non-blocking fd). A count instead of a subarray keeps a
 * per-frame caller free of allocations.
 */
export function read(fd: number, buf: Uint8Array, count = buf.length): number {
  return raw(libc().read(fd, buf, Math.min(count, buf.length)));
}

/** write(2) of the first `count` bytes of `buf` (all of it by default): bytes written, or -errno. */
export function write(fd: number, buf: Uint8Array, count = buf.length): number {
  return raw(libc().write(fd, buf, Math.min(count, buf.length)));
}

/** readv(2) into the buffers in order (e.g. a virtio-net header, then a frame slot): bytes, or -errno. */
export function readv(fd: number, bufs: readonly Uint8Array[]): number {
  return raw(
    libc().readv(
      fd,
      bufs.map((b) => ({ iov_base: b, iov_len: b.length })),
      bufs.length,
    ),
  );
}

/** writev(2) of the buffers in order, as one frame on a TAP: bytes, or -errno. */
export function writev(fd: number, bufs: readonly Uint8Array[]): number {
  return raw(
    libc().writev(
      fd,
      bufs.map((b) => ({ iov_base: b, iov_len: b.length })),
      bufs.length,
    ),
  );
}

/**
 * The address of a typed array's first byte, as a number. Only for memory that does not
 * move: an ArrayBuffer's backing store outside V8's heap (every buffer larger than 64
 * bytes, and any once its `buffer` was read) or a SharedArrayBuffer, and only while the
 * caller holds the buffer.
 */
export function addressOf(buf: Uint8Array): number {
  return Number(libc().koffi.address(buf));
}

/** writev(2) of `count` struct iovec already laid out in `iov` (see IoVecs): bytes, or -errno. */
export function writevRaw(fd: number, iov: Uint8Array, count: number): number {
  return raw(libc().writevRaw(fd, iov, count));
}

/** One entry of poll(2); `revents` is filled in by poll(). */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** struct pollfd is in host order. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** sizeof(struct pollfd): int fd; short events; short revents. */
const POLLFD_LEN = 8;
let pollBuf = new Uint8Array(POLLFD_LEN * 4);
let pollView = new DataView(pollBuf.buffer);

/**
 * poll(2) for at most `timeoutMs` (0: do not wait; never pass -1 from a test):
 * the number of fds with events, 0 on timeout, or -errno (-EINTR on a signal).
 */
export function poll(fds: PollFd[], timeoutMs: number): number {
  if (pollBuf.length < fds.length * POLLFD_LEN) {
    pollBuf = new Uint8Array(fds.length * POLLFD_LEN);
    pollView = new DataView(pollBuf.buffer);
  }
  const le = LITTLE_ENDIAN;
  for (let i = 0; i < fds.length; i++) {
    const p = fds[i]!;
    pollView.setInt32(i * POLLFD_LEN, p.fd, le);
    pollView.setInt16(i * POLLFD_LEN + 4, p.events, le);
    pollView.setInt16(i * POLLFD_LEN + 6, 0, le);
  }
  const r = raw(libc().poll(pollBuf, fds.length, timeoutMs));
  for (let i = 0; i < fds.length; i++) fds[i]!.revents = r > 0 ? pollView.getUint16(i * POLLFD_LEN + 6, le) : 0;
  return r;
}

export function socket(domain: number, type: number, protocol: number): number {
  return checked(libc().socket(domain, type, protocol), 'socket');
}

/** bind(2) to the sockaddr bytes in `addr` (sockaddr_ll, sockaddr_un...). */
export function bind(fd: number, addr: Uint8Array): void {
  checked(libc().bind(fd, addr, addr.length), 'bind');
}

/** setsockopt(2); a number is passed as an int option value. */
export function setsockopt(fd: number, level: number, name: number, value: Uint8Array | number): void {
  const v = typeof value === 'number' ? new Uint8Array(Int32Array.of(value).buffer) : value;
  checked(libc().setsockopt(fd, level, name, v, v.length), 'setsockopt', `${level}/${name}`);
}

/** getsockopt(2) into `out`: the length the kernel wrote (struct ucred for SO_PEERCRED...). */
export function getsockopt(fd: number, level: number, name: number, out: Uint8Array): number {
  const len = [out.length];
  checked(libc().getsockopt(fd, level, name, out, len), 'getsockopt', `${level}/${name}`);
  return len[0]!;
}

/** sched_setaffinity(2); tid 0 is the calling thread. `mask` is a cpu_set_t's bytes. */
export function schedSetaffinity(tid: number, mask: Uint8Array): void {
  checked(libc().setaffinity(tid, mask.length, mask), 'sched_setaffinity');
}

/** sched_getaffinity(2) into `mask` (CPU_SETSIZE_BYTES long). */
export function schedGetaffinity(tid: number, mask: Uint8Array): void {
  checked(libc().getaffinity(tid, mask.length, mask), 'sched_getaffinity');
}

/** gettid(2): the kernel's id of the calling thread (each worker_thread has its own). */
export function gettid(): number {
  return libc().gettid();
}

/** mmap(2) prot and flags (asm-generic/mman-common.h, mman.h). */
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
/** setns(2): the network namespace (sched.h CLONE_NEWNET). */
export const CLONE_NEWNET = 0x40000000;

/**
 * mmap(2) of `len` bytes of `fd` (a packet socket's ring): the address, a number any
 * thread of the process can view with mapView(). Throws NativeError on MAP_FAILED.
 */
export function mmap(len: number, prot: number, flags: number, fd: number): number {
  const r = Number(libc().mmap(null, len, prot, flags, fd, 0));
  if (r === -1) fail('mmap');
  return r;
}

export function munmap(addr: number, len: number): void {
  checked(libc().munmap(addr, len), 'munmap');
}

/**
 * The bytes at a mapping made by mmap(), as an ArrayBuffer of this thread (no copy; it
 * must not outlive the mapping).
 */
export function mapView(addr: number, len: number): ArrayBuffer {
  return libc().koffi.view(addr as never, len) as ArrayBuffer;
}

/** setns(2) of the calling thread into the namespace open on `fd`. */
export function setns(fd: number, nstype: number): void {
  checked(libc().setns(fd, nstype), 'setns');
}
