/**
 * Whom the control socket is trusted from. The tools refuse a socket, or a directory,
 * that belongs to another user or that others may write (another user could have put it
 * there first), before connecting; EACCES is said as such, not as "no daemon"; serve
 * creates a missing socket directory 0700 and refuses an untrusted one; the fallback
 * path is in a private per-user directory, not a predictable name in /tmp. The ownership
 * cases need root (to chown to uid 65534) and are skipped otherwise.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@mcstack/cli';
import {
  checkConfig,
  connectDaemon,
  defaultSocketPath,
  fallbackSocketDir,
  prepareSocketDir,
  resolveSocketPath,
  serve,
} from '@mcstack/cli/daemon';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const base = mkdtempSync(join(tmpdir(), 'mcstack-socket-'));
chmodSync(base, 0o711);
after(() => rmSync(base, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const needRoot = isRoot ? {} : { skip: 'needs root to chown files to another user (uid 65534)' };

let n = 0;
function fresh(): string {
  const d = join(base, `d${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

/** Something listening on `path` that counts the connections it gets. */
async function listener(path: string): Promise<{ conns: () => number; close: () => Promise<void> }> {
  let conns = 0;
  const srv = net.createServer((s) => {
    conns++;
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(path, r));
  return { conns: () => conns, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

async function tool(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = { out: '', err: '' };
  const code = await main(argv, {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  return { code, ...io };
}

test('the fallback is a private per-user directory, not a name directly in /tmp', () => {
  const uid = process.getuid?.() ?? 0;
  assert.equal(fallbackSocketDir(), `/tmp/mcstack-${uid}`);
  assert.equal(resolveSocketPath(undefined, {}), `/tmp/mcstack-${uid}/mcstack.sock`);
  assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: '' }), `/tmp/mcstack-${uid}/mcstack.sock`);
});

test('a socket directory another user owns is refused before connecting, naming the owner', needRoot, async () => {
  const d = fresh();
  const sock = join(d, 'ctl.sock');
  const l = await listener(sock);
  try {
    chownSync(d, NOBODY, NOBODY);
    const r = await tool('ifconfig', '--socket', sock);
    assert.equal(r.code, 1);
    assert.match(r.err, /EPERM: refusing the control socket .*ctl\.sock: its directory .* belongs to uid 65534/);
    assert.equal(r.err.split('\n').length, 2, 'one line');
    assert.equal(l.conns(), 0, 'never connected');
  } finally {
    await l.close();
  }
});

test('a socket another user owns is refused, in a directory that is ours', needRoot, async () => {
  const d = fresh();
  const sock = join(d, 'ctl.sock');
  const l = await listener(sock);
  try {
    chownSync(sock, NOBODY, NOBODY);
    await assert.rejects(connectDaemon(sock), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'EPERM');
      assert.match(e.message, /it belongs to uid 65534, not to you \(uid 0\) or root/);
      return true;
    });
    assert.equal(l.conns(), 0);
  } finally {
    await l.close();
  }
});

test('a directory others may write (not sticky) is refused; a sticky one is not', async () => {
  const d = fresh();
  const sock = join(d, 'ctl.sock');
  const l = await listener(sock);
  try {
    chmodSync(d, 0o777);
    const r = await tool('sysctl', 'net.inet.tcp.msl', '--socket', sock);
    assert.equal(r.code, 1);
    assert.match(r.err, /refusing the control socket .*: its directory .* is writable by others \(mode 0777\)/);
    assert.equal(l.conns(), 0);
    chmodSync(d, 0o1777);
    const c = await connectDaemon(sock);
    c.close();
    chmodSync(sock, 0o666);
    await assert.rejects(connectDaemon(sock), /it is writable by others \(mode 0666\)/);
  } finally {
    await l.close();
  }
});

test('no socket is "no daemon"; a socket this user may not use is EACCES, said as such', needRoot, async () => {
  const d = fresh();
  const r = await tool('vmstat', '-z', '--socket', join(d, 'none.sock'));
  assert.equal(r.code, 1);
  assert.match(r.err, /ENOENT: no mcstack daemon on .*none\.sock/);
  // root's 0600 socket in a directory others may enter, tried by uid 65534.
  chmodSync(d, 0o711);
  const sock = join(d, 'ctl.sock');
  const l = await listener(sock);
  try {
    chmodSync(sock, 0o600);
    const c = spawnSync(process.execPath, [bin, 'vmstat', '-z', '--socket', sock], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: '/',
      encoding: 'utf8',
      timeout: 20000,
    });
    assert.equal(c.status, 1, c.stderr);
    assert.match(c.stderr, /EACCES: permission denied connecting to .*ctl\.sock/);
    assert.doesNotMatch(c.stderr, /no mcstack daemon/);
  } finally {
    await l.close();
  }
});

test('serve creates a missing socket directory 0700 and refuses one another user owns', needRoot, async () => {
  const d = fresh();
  const sub = join(d, 'run');
  const sock = join(sub, 'ctl.sock');
  const config = checkConfig({ name: 'own', workers: 1, addrs: ['10.0.0.1/24'] }, 'inline');
  const daemon = await serve(config, { socket: sock });
  try {
    assert.equal(statSync(sub).mode & 0o7777, 0o700);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    const r = await tool('ifconfig', 'cxgbe0', '--socket', sock);
    assert.equal(r.code, 0, r.err);
  } finally {
    await daemon.close();
  }
  const theirs = fresh();
  chownSync(theirs, NOBODY, NOBODY);
  await assert.rejects(serve(config, { socket: join(theirs, 'ctl.sock') }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'EPERM');
    assert.match(e.message, /will not listen on .*: its directory .* belongs to uid 65534/);
    return true;
  });
});

test("the fallback directory must be the user's own and private", needRoot, () => {
  // prepareSocketDir applies the fallback's rule to /tmp/mcstack-$UID of the uid it is given.
  const uid = 4242;
  const dir = fallbackSocketDir(uid);
  rmSync(dir, { recursive: true, force: true });
  try {
    // Missing: created 0700 (here by root, so not uid 4242's: refused too).
    assert.throws(() => prepareSocketDir(join(dir, 'mcstack.sock'), uid), /belongs to uid 0, not to you \(uid 4242\)/);
    assert.equal(statSync(dir).mode & 0o7777, 0o700);
    rmSync(dir, { recursive: true, force: true });
    // Made first by someone else: refused, not trusted.
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, NOBODY, NOBODY);
    assert.throws(
      () => prepareSocketDir(join(dir, 'mcstack.sock'), uid),
      /belongs to uid 65534, not to you \(uid 4242\)/,
    );
    chownSync(dir, uid, uid);
    assert.doesNotThrow(() => prepareSocketDir(join(dir, 'mcstack.sock'), uid));
    chmodSync(dir, 0o755);
    assert.throws(() => prepareSocketDir(join(dir, 'mcstack.sock'), uid), /open to others \(mode 0755, want 0700\)/);
    rmSync(dir, { recursive: true, force: true });
    const elsewhere = fresh();
    chownSync(elsewhere, uid, uid);
    symlinkSync(elsewhere, dir);
    assert.throws(() => prepareSocketDir(join(dir, 'mcstack.sock'), uid), /is a symbolic link/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
