/**
 * A TAP link: the Linux kernel as a real Ethernet peer. socat opens a TAP device and
 * bridges it to a UDP socket on loopback, one frame per datagram, and this side carries
 * those datagrams over a UdpTunnel:
 *
 *   socat TUN,tun-type=tap,iff-no-pi,iff-up,tun-name=NAME
 *         UDP-DATAGRAM:127.0.0.1:MINE,bind=127.0.0.1:SOCAT
 *
 * Why socat rather than a native addon: opening /dev/net/tun needs ioctl(TUNSETIFF),
 * which Node cannot issue, so the alternative is a C++ addon, i.e. a native build step
 * (node-gyp, a compiler, headers) on every install. socat is one Debian package that CI
 * installs with apt (.ci/run), and it carries frames unchanged. UDP-DATAGRAM, not UDP:
 * socat's connected UDP address exits on the first ICMP port unreachable (ours before
 * the tunnel is bound, for instance), taking the TAP device with it.
 *
 * Optionally the device moves into a network namespace the caller made (`ip link set
 * NAME netns NS`; socat keeps its file descriptor) and gets its addresses there, so that
 * the kernel of that namespace is the peer and nothing on the host's own network is
 * touched. A device moved there loses what was configured before, so socat is not given
 * an address in that case.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { openSync, closeSync, readFileSync, constants as fsc } from 'node:fs';
import dgram from 'node:dgram';
import { SysError } from '@mcstack/netinet';
import { UdpTunnel, type FrameLink, type UdpTunnelStats } from './udptunnel.js';

const run = promisify(execFile);

/** capability.h: CAP_NET_ADMIN, needed for TUNSETIFF and for `ip link`/`ip netns`. */
const CAP_NET_ADMIN = 12;

export interface TapOptions {
  /** Device name, at most 15 characters (IFNAMSIZ - 1); default mcs<pid>t<n>. */
  name?: string;
  /** MTU of both the device and the tunnel (default 1500). */
  mtu?: number;
  /** Move the device into this (existing) network namespace. */
  netns?: string;
  /**
   * Addresses for the kernel's side of the device, `ADDR/PLEN` (IPv4 or IPv6; IPv6 ones
   * skip duplicate address detection). Set inside `netns` when given, else by socat
   * (one IPv4 address at most there).
   */
  addrs?: string[];
  /** socat binary (default `socat` on PATH). */
  socat?: string;
  /** SO_RCVBUF/SO_SNDBUF of both ends of the tunnel (default 4 MiB, capped by net.core.[rw]mem_max). */
  bufferSize?: number;
}

let tapSeq = 0;

/**
 * Why a TAP link cannot be made here, or null when it can: no Linux, no /dev/net/tun
 * (or it cannot be opened), no CAP_NET_ADMIN, no `ip` (iproute2), no socat.
 */
export async function tapUnavailable(socatBin = 'socat'): Promise<string | null> {
  if (process.platform !== 'linux') return `TAP needs Linux (this is ${process.platform})`;
  try {
    closeSync(openSync('/dev/net/tun', fsc.O_RDWR));
  } catch (e) {
    return `/dev/net/tun cannot be opened (${(e as NodeJS.ErrnoException).code}): no TUN/TAP driver or device node here`;
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (capEff === undefined || (BigInt(`0x${capEff}`) & (1n << BigInt(CAP_NET_ADMIN))) === 0n) {
    return 'this process lacks CAP_NET_ADMIN (run as root, or in a container with --cap-add NET_ADMIN)';
  }
  try {
    await run('ip', ['-V']);
  } catch {
    return '`ip` (iproute2) is not installed';
  }
  try {
    await run(socatBin, ['-V']);
  } catch {
    return '`socat` is not installed (apt-get install socat)';
  }
  return null;
}

export class TapLink implements FrameLink {
  readonly name: string;
  readonly netns: string | undefined;
  readonly tunnel: UdpTunnel;
  private readonly socat: ChildProcess;
  private readonly exited: Promise<void>;
  private stderr = '';
  private closing = false;

  private constructor(name: string, netns: string | undefined, tunnel: UdpTunnel, socat: ChildProcess) {
    this.name = name;
    this.netns = netns;
    this.tunnel = tunnel;
    this.socat = socat;
    socat.stderr?.setEncoding('utf8');
    socat.stderr?.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-4096);
    });
    // 'error' (socat could not be started) comes without an 'exit'.
    this.exited = new Promise((resolve) => {
      socat.once('exit', () => resolve());
      socat.once('error', () => resolve());
    });
  }

  get onframe(): ((frame: Uint8Array) => void) | null {
    return this.tunnel.onframe;
  }
  set onframe(fn: ((frame: Uint8Array) => void) | null) {
    this.tunnel.onframe = fn;
  }
  get stats(): UdpTunnelStats {
    return this.tunnel.stats;
  }
  /** socat's process id (ours to stop). */
  get pid(): number | undefined {
    return this.socat.pid;
  }
  /** The last of what socat wrote to stderr (diagnostics). */
  get socatErrors(): string {
    return this.stderr;
  }

  transmit(frame: Uint8Array): boolean {
    return this.tunnel.transmit(frame);
  }

  /** Create the device, start socat, and (with `netns`) move and configure the device. */
  static async open(o: TapOptions = {}): Promise<TapLink> {
    const name = o.name ?? `mcs${process.pid % 100000}t${tapSeq++}`;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new SysError('EINVAL', `TAP name ${JSON.stringify(name)}`, 'tap');
    const mtu = o.mtu ?? 1500;
    const socatPort = await freeUdpPort();
    const buf = o.bufferSize ?? 4 << 20;
    const tunnel = await UdpTunnel.open({
      name,
      mtu,
      remote: { address: '127.0.0.1', port: socatPort },
      bufferSize: buf,
    });
    const v4 = (o.addrs ?? []).filter((a) => !a.includes(':'));
    const tunAddr = o.netns === undefined && v4.length > 0 ? `:${v4[0]}` : '';
    const args = [
      `TUN${tunAddr},tun-type=tap,iff-no-pi,iff-up,tun-name=${name}`,
      // socat's socket takes the engine's bursts (a congestion window at once): with the
      // default SO_RCVBUF (~200 KiB) a burst overflows it and TCP has to recover.
      `UDP-DATAGRAM:127.0.0.1:${tunnel.address().port},bind=127.0.0.1:${socatPort},rcvbuf=${buf},sndbuf=${buf}`,
    ];
    const child = spawn(o.socat ?? 'socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const link = new TapLink(name, o.netns, tunnel, child);
    try {
      await link.waitForDevice();
      // socat gave the device its first IPv4 address unless it moves to a namespace.
      const addrs = (o.addrs ?? []).filter((a) => o.netns !== undefined || a !== v4[0]);
      await configureTap(name, { netns: o.netns, addrs, mtu });
    } catch (e) {
      await link.close();
      throw e;
    }
    return link;
  }

  /** Wait until socat has made the device (or has died saying why). */
  private async waitForDevice(): Promise<void> {
    let dead = false;
    void this.exited.then(() => {
      dead = true;
    });
    const spawnError = new Promise<Error>((resolve) => this.socat.once('error', resolve));
    for (let i = 0; i < 250; i++) {
      const err = await Promise.race([spawnError, sleep(20).then(() => null)]);
      if (err) throw new SysError('ENOENT', `cannot start socat: ${err.message}`, 'tap');
      if (dead) throw new SysError('ENXIO', `socat exited: ${this.stderr.trim() || 'no message'}`, 'tap');
      try {
        await run('ip', ['-o', 'link', 'show', 'dev', this.name]);
        return;
      } catch {
        /* not yet */
      }
    }
    throw new SysError('ETIMEDOUT', `TAP device ${this.name} did not appear`, 'tap');
  }

  /** Stop socat (the device goes with its last file descriptor) and close the tunnel. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.socat.pid !== undefined && this.socat.exitCode === null && this.socat.signalCode === null) {
      this.socat.kill('SIGTERM');
      const t = setTimeout(() => this.socat.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(t);
    }
    await this.tunnel.close();
  }
}

/**
 * The kernel's side of a TAP device: moved into `netns` (an existing namespace) when
 * given, its MTU set, up, and addressed (`ADDR/PLEN`; IPv6 without duplicate address
 * detection, so it is usable at once).
 */
export async function configureTap(
  name: string,
  o: { netns?: string; addrs?: readonly string[]; mtu: number },
): Promise<void> {
  const ipn = o.netns === undefined ? [] : ['-n', o.netns];
  if (o.netns !== undefined) await run('ip', ['link', 'set', 'dev', name, 'netns', o.netns]);
  await run('ip', [...ipn, 'link', 'set', 'dev', name, 'mtu', String(o.mtu), 'up']);
  for (const a of o.addrs ?? [])
    await run('ip', [...ipn, 'addr', 'add', a, 'dev', name, ...(a.includes(':') ? ['nodad'] : [])]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A UDP port on 127.0.0.1 that was free a moment ago (for socat's side of the tunnel). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
