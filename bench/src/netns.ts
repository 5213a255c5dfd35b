/**
 * Network namespaces for interop tests and the TAP benchmark: the caller makes its own
 * (`ip netns add`), runs the Linux side inside it, and always deletes it. Nothing here touches the
 * host's own network: the TAP device moves into the namespace and veth pairs join
 * namespaces the test made.
 *
 * Every command is asynchronous: the engine under test runs on this thread's event loop.
 * Linux only, root (CAP_NET_ADMIN and CAP_SYS_ADMIN for `ip netns`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { tapUnavailable } from '@mcstack/runtime';

const run = promisify(execFile);

/**
 * Why namespaced TAP tests cannot run here (null: they can); `tools` are Debian programs
 * the caller also runs (curl, wrk), missing when they cannot be started at all.
 */
export async function netnsUnavailable(tools: readonly string[] = []): Promise<string | null> {
  const why = await tapUnavailable();
  if (why) return why;
  for (const tool of tools) {
    try {
      await run(tool, ['--version']);
    } catch (e) {
      // Some print their version and exit non-zero (wrk): only a missing program counts.
      if ((e as { code?: unknown }).code === 'ENOENT') return `\`${tool}\` is not installed (apt-get install ${tool})`;
    }
  }
  try {
    await run('python3', ['-c', 'import socket, hashlib, random']);
  } catch {
    return 'python3 is not installed (the Linux-side peer)';
  }
  const probe = `mcs-probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (e) {
    return `cannot create a network namespace: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`;
  }
  await run('ip', ['netns', 'del', probe]).catch(() => undefined);
  return null;
}

export class Netns {
  private constructor(readonly name: string) {}

  /**
   * A fresh namespace with its loopback up. Namespaces of earlier runs that were killed
   * before cleaning up (their names end in a pid no longer alive) are deleted first.
   */
  static async create(tag: string): Promise<Netns> {
    const name = `mcs-${tag}-${process.pid}`;
    await reapStale();
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    await run('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run a command inside; resolves with stdout (rejects with stderr on failure). */
  async exec(cmd: string, args: string[]): Promise<string> {
    const r = await run('ip', ['netns', 'exec', this.name, cmd, ...args], { maxBuffer: 16 << 20 });
    return r.stdout;
  }

  /** Start a long-running process inside (stdin/stdout piped). */
  spawn(cmd: string, args: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  async delete(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

async function reapStale(): Promise<void> {
  const list = (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout;
  for (const m of list.matchAll(/^(mcs-[a-z0-9]+-(\d+))\b/gm)) {
    const pid = Number(m[2]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue;
    } catch {
      /* gone */
    }
    await run('ip', ['netns', 'del', m[1]!]).catch(() => undefined);
  }
}

/** A veth pair with one end in each namespace, addressed. */
export async function vethPair(a: Netns, aAddr: string, b: Netns, bAddr: string, tag: string): Promise<void> {
  const ea = `mcsv${tag}a`;
  const eb = `mcsv${tag}b`;
  await run('ip', ['link', 'add', ea, 'netns', a.name, 'type', 'veth', 'peer', 'name', eb, 'netns', b.name]);
  for (const [ns, dev, addr] of [
    [a, ea, aAddr],
    [b, eb, bAddr],
  ] as const) {
    await ns.exec('ip', ['addr', 'add', addr, 'dev', dev, ...(addr.includes(':') ? ['nodad'] : [])]);
    await ns.exec('ip', ['link', 'set', dev, 'up']);
  }
}

/**
 * The Linux-side peer, in Python (in every Debian image; `ip netns exec` runs it in the
 * namespace). Reads a JSON plan on argv: mode 'client' connects to addr:port for each
 * transfer, sends `send` bytes, half-closes and reads to EOF; mode 'server' listens,
 * and for each connection reads to EOF, then sends `send` bytes and closes. Each
 * transfer prints one JSON line with the SHA-256 of what it sent and received. With
 * `pause`, the first connection stops once established, prints {"event":"established"}
 * and waits for a line on stdin (so the test can run `ss -ti` on a live connection).
 * Mode 'sink' accepts one connection and reads it to EOF, printing the bytes and the
 * seconds it took; mode 'source' sends `bytes` to addr:port as fast as it can. With
 * `md5: {peer, key}` the client's and the listener's sockets get Linux's TCP_MD5SIG
 * (struct tcp_md5sig: the peer's sockaddr in 128 bytes, flags, prefix length, key
 * length, ifindex, an 80-byte key), so every segment is signed (RFC 2385); `timeout`
 * (seconds, default 60) bounds connect and accept.
 */
export const PEER_PY = String.raw`
import hashlib, json, random, socket, struct, sys, time
plan = json.loads(sys.argv[1])
fam = socket.AF_INET6 if ':' in plan['addr'] else socket.AF_INET
CH = 1 << 16
TMO = plan.get('timeout', 60)
def md5sig(s):
    m = plan.get('md5')
    if not m: return
    f = socket.AF_INET6 if ':' in m['peer'] else socket.AF_INET
    a = socket.inet_pton(f, m['peer'])
    sa = struct.pack('=H', f) + (struct.pack('!H', 0) + a if f == socket.AF_INET else struct.pack('!HI', 0, 0) + a + struct.pack('=I', 0))
    k = m['key'].encode()
    s.setsockopt(socket.IPPROTO_TCP, 14, sa.ljust(128, b'\0') + struct.pack('=BBHi', 0, 0, len(k), 0) + k.ljust(80, b'\0'))
def dial():
    s = socket.socket(fam, socket.SOCK_STREAM); md5sig(s); s.settimeout(TMO)
    s.connect((plan['addr'], plan['port'])); s.settimeout(60); return s
def out(o):
    sys.stdout.write(json.dumps(o) + '\n'); sys.stdout.flush()
def pause():
    out({'event': 'established'}); sys.stdin.readline()
def sendall(s, n, seed):
    h = hashlib.sha256(); rnd = random.Random(seed); left = n
    while left > 0:
        b = rnd.randbytes(min(CH * 4, left)); s.sendall(b); h.update(b); left -= len(b)
    return h.hexdigest()
def readall(s):
    h = hashlib.sha256(); n = 0; buf = bytearray(CH * 4); mv = memoryview(buf)
    while True:
        r = s.recv_into(buf)
        if r == 0: return n, h.hexdigest()
        h.update(mv[:r]); n += r
mode = plan['mode']
if mode == 'client':
    for i, t in enumerate(plan['transfers']):
        s = dial()
        if i == 0 and plan.get('pause'): pause()
        sh = sendall(s, t['send'], t['seed'])
        s.shutdown(socket.SHUT_WR)
        n, rh = readall(s); s.close()
        out({'i': i, 'sent': t['send'], 'sentSha': sh, 'received': n, 'receivedSha': rh})
elif mode == 'server':
    ls = socket.socket(fam, socket.SOCK_STREAM); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); md5sig(ls)
    ls.bind((plan['addr'], plan['port'])); ls.listen(8); out({'event': 'listening'})
    ls.settimeout(TMO)
    for i, t in enumerate(plan['transfers']):
        s, _ = ls.accept(); s.settimeout(60)
        if i == 0 and plan.get('pause'): pause()
        n, rh = readall(s)
        sh = sendall(s, t['send'], t['seed']); s.close()
        out({'i': i, 'sent': t['send'], 'sentSha': sh, 'received': n, 'receivedSha': rh})
elif mode == 'sink':
    ls = socket.socket(fam, socket.SOCK_STREAM); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((plan['addr'], plan['port'])); ls.listen(1); out({'event': 'listening'})
    s, _ = ls.accept(); t0 = time.perf_counter(); n = 0; buf = bytearray(1 << 20)
    while True:
        r = s.recv_into(buf)
        if r == 0: break
        n += r
    out({'received': n, 'seconds': time.perf_counter() - t0}); s.close()
elif mode == 'source':
    s = socket.create_connection((plan['addr'], plan['port']), timeout=60)
    b = bytes(1 << 20); left = plan['bytes']; t0 = time.perf_counter()
    while left > 0:
        k = min(len(b), left); s.sendall(memoryview(b)[:k]); left -= k
    s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
    out({'sent': plan['bytes'], 'seconds': time.perf_counter() - t0})
`;
