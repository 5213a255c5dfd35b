/**
 * The libc bindings' conventions: errno becomes a Node-style NativeError on the
 * setup calls and -errno on the per-frame ones; poll honours its timeout; the
 * native layer loads lazily and, off Linux, says MCSTACK_NATIVE_UNAVAILABLE with a
 * reason instead of failing at import.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:os';
import { nativeStatus, libc, NativeError, NATIVE_UNAVAILABLE, _IOR, _IOW, _IO } from '../src/native/index.js';

const status = nativeStatus();
const skip = status.ok ? undefined : status.reason;

// <sys/socket.h>, <asm-generic/socket.h>
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_RCVBUF = 8;

it('ioctl numbers follow asm-generic/ioctl.h', () => {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return;
  assert.equal(_IOW('T', 202, 4), 0x400454ca);
  assert.equal(_IOR('T', 207, 4), 0x800454cf);
  assert.equal(_IO('T', 1), 0x5401);
});

it('a failed setup call throws NativeError with code, errno and syscall', (t) => {
  if (skip) return t.skip(skip);
  assert.throws(
    () => libc.close(-1),
    (e: unknown) => {
      assert.ok(e instanceof NativeError);
      assert.equal(e.code, 'EBADF');
      assert.equal(e.errno, -constants.errno.EBADF);
      assert.equal(e.syscall, 'close');
      return true;
    },
  );
  assert.throws(
    () => libc.open('/nonexistent/mcstack', libc.O_RDWR),
    (e: unknown) =>
      e instanceof NativeError &&
      e.code === 'ENOENT' &&
      e.syscall === 'open' &&
      /\/nonexistent\/mcstack/.test(e.message),
  );
});

it('socket options round-trip; an empty non-blocking read is -EAGAIN; poll times out', (t) => {
  if (skip) return t.skip(skip);
  const fd = libc.socket(AF_INET, SOCK_DGRAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
  try {
    const v = new Int32Array(1);
    assert.equal(libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(v.buffer)), 4);
    assert.equal(v[0], SOCK_DGRAM);
    libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 65536);
    libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Uint8Array(v.buffer));
    assert.equal(v[0], 2 * 65536, 'socket(7): the kernel doubles SO_RCVBUF');
    assert.equal(libc.read(fd, new Uint8Array(64)), -constants.errno.EAGAIN);
    const fds = [{ fd, events: libc.POLLIN, revents: 0 }];
    const t0 = Date.now();
    assert.equal(libc.poll(fds, 30), 0);
    assert.ok(Date.now() - t0 >= 25, 'poll waited for its timeout');
    assert.equal(libc.poll(fds, 0), 0);
    assert.equal(fds[0]!.revents, 0);
    assert.equal(libc.poll([{ fd, events: libc.POLLOUT, revents: 0 }], 0), 1);
  } finally {
    libc.close(fd);
  }
});

it('the kernel writes straight into a SharedArrayBuffer view at an offset (frame rings are SABs)', (t) => {
  if (skip) return t.skip(skip);
  const fd = libc.socket(AF_INET, SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
  try {
    const ring = new Uint8Array(new SharedArrayBuffer(256));
    const slot = ring.subarray(100, 104);
    assert.equal(libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, slot), 4);
    assert.deepEqual(
      [...ring.subarray(96, 108)],
      [0, 0, 0, 0, ...new Uint8Array(Int32Array.of(SOCK_DGRAM).buffer), 0, 0, 0, 0],
    );
  } finally {
    libc.close(fd);
  }
});

it('gettid names the calling OS thread', (t) => {
  if (skip) return t.skip(skip);
  // The main thread's id is the process id.
  assert.equal(libc.gettid(), process.pid);
});

it('elsewhere than Linux: importing works, calling says MCSTACK_NATIVE_UNAVAILABLE with the reason', () => {
  const mod = new URL('../src/native/index.js', import.meta.url).href;
  const script = `
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    const n = await import(${JSON.stringify(mod)});
    const s = n.nativeStatus();
    let thrown;
    try { n.threadAffinity(); } catch (e) { thrown = { code: e.code, reason: e.reason, name: e.name }; }
    console.log(JSON.stringify({ s, thrown }));`;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }).toString(),
  ) as {
    s: { ok: boolean; reason: string };
    thrown: { code: string; reason: string; name: string };
  };
  assert.deepEqual(out.s, { ok: false, reason: 'Linux only (this is darwin)' });
  assert.deepEqual(out.thrown, {
    code: NATIVE_UNAVAILABLE,
    reason: 'Linux only (this is darwin)',
    name: 'NativeUnavailableError',
  });
});
