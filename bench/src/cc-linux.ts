/**
 * The congestion-control study against the real thing (`mcstack bench cc --linux`): the
 * Linux kernel's CUBIC (or BBR, or any algorithm net.ipv4.tcp_available_congestion_control
 * lists) and mcstack's CUBIC sharing one bottleneck, then the same mix on the simulator.
 *
 * The topology, in namespaces made for the run and always deleted:
 *
 *   ns lx: Linux sender ── veth ──┐
 *                                 ns r (forwards) ── TAP ── mcstack R (discard, port 9)
 *   mcstack S (CUBIC) ── TAP ─────┘          ▲ tc tbf: the bottleneck
 *
 * Both flows end at R; the router's `tc qdisc ... tbf` on R's TAP is the shared queue
 * (rate, burst, a limit of `queue` full-sized packets); this kernel has no netem, so the
 * round trip's delay is mcstack's own link model: a pipe (docs/cc.md) on R's output
 * delays the ACKs of both flows by the RTT. Each flow's share is what its receiver
 * acknowledged over the measured window: the kernel's tcpi_bytes_acked for Linux, the
 * bulk sender's bytes less netstat's Send-Q for mcstack, sampled at the same moments.
 * The modelled run is runCcFlows with mcstack's CUBIC in both roles (the simulator has
 * no Linux); for an algorithm mcstack does not have (BBR) there is no modelled figure.
 * `mcstack` in place of a Linux algorithm is the control: a second mcstack CUBIC stack
 * (on its own TAP) where the kernel's sender was, so what the setup and the machine do to
 * the shares shows apart from what Linux does.
 * Wall-clock and machine-dependent: a 2-core machine shared with other work makes the
 * senders themselves a bottleneck; report the load with the figures.
 */
import { availableParallelism, loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SysError, linker } from '@mcstack/netinet';
import { runCcFlows } from '@mcstack/netinet/sim';
import { Stack, native, type StackOptions } from '@mcstack/runtime';
import { Netns, netnsUnavailable, vethPair } from './netns.js';
import { formatColumns, sig } from './table.js';

const run = promisify(execFile);

export interface CcLinuxOptions {
  /** Linux algorithms to pit against mcstack's CUBIC, one run each (default cubic). */
  linux: string[];
  rateBps: number;
  rttMs: number;
  queuePkts: number;
  /** Measured seconds, after `warmupSeconds`. */
  seconds: number;
  warmupSeconds?: number;
  seed: number;
}

export interface CcLinuxRun {
  linux: string;
  /** Bytes each receiver acknowledged over the window, and the rates. */
  linuxBytes: number;
  mcstackBytes: number;
  linuxMbps: number;
  mcstackMbps: number;
  /** Linux's share of what both got. */
  linuxShare: number;
  /** The same mix modelled (mcstack CUBIC for Linux's), or null when mcstack lacks the algorithm. */
  modelled: { linuxShare: number; utilization: number } | null;
  /** The router's tbf drops over the run. */
  tbfDrops: number;
  loadavg: number;
}

export interface CcLinuxReport {
  options: CcLinuxOptions;
  runs: CcLinuxRun[];
  /** The machine's cores: the senders, tc and the stacks share them (each run has its load). */
  cores: number;
}

/**
 * The Linux sender: connects with TCP_CONGESTION set, sends until stdin closes, and for
 * every line on stdin prints the kernel's tcpi_bytes_acked (struct tcp_info offset 120)
 * with the RTT and cwnd it measures.
 */
const LINUX_SENDER = String.raw`
import json, socket, struct, sys, threading
p = json.loads(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, 13, p['cc'].encode())
s.settimeout(30); s.connect((p['addr'], p['port'])); s.settimeout(None)
def out(o): sys.stdout.write(json.dumps(o) + '\n'); sys.stdout.flush()
stop = threading.Event()
def pump():
    b = bytes(1 << 16)
    try:
        while not stop.is_set(): s.sendall(b)
    except OSError: pass
threading.Thread(target=pump, daemon=True).start()
out({'event': 'connected', 'cc': s.getsockopt(socket.IPPROTO_TCP, 13, 16).rstrip(b'\0').decode()})
for line in sys.stdin:
    i = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    out({'acked': struct.unpack_from('=Q', i, 120)[0], 'rtt_us': struct.unpack_from('=I', i, 68)[0], 'cwnd': struct.unpack_from('=I', i, 80)[0]})
stop.set()
`;

/** In place of a Linux algorithm: a second mcstack CUBIC, the control run (what the setup itself does). */
export const CONTROL = 'mcstack';

/** Why the study cannot run here (null: it can): root, namespaces, TAP, tc, the kernel's algorithm. */
export async function ccLinuxUnavailable(algorithms: readonly string[]): Promise<string | null> {
  const why = (await netnsUnavailable()) ?? (native.nativeStatus().ok ? null : 'koffi cannot be loaded');
  if (why) return why;
  try {
    await run('tc', ['-V']);
  } catch {
    return '`tc` is not installed (iproute2)';
  }
  const avail = (await readFile('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/);
  for (const a of algorithms)
    if (a !== CONTROL && !avail.includes(a))
      return `the kernel has no ${a} (net.ipv4.tcp_available_congestion_control: ${avail.join(' ') || 'unreadable'}; modprobe tcp_${a})`;
  return null;
}

/** A line-per-request JSON child: send a line, read the reply. */
class Sampler {
  private buf = '';
  private readonly waiting: ((o: Record<string, unknown>) => void)[] = [];
  constructor(private readonly child: import('node:child_process').ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()?.(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }
  next(timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the Linux sender did not answer')), timeoutMs);
      this.waiting.push((o) => {
        clearTimeout(t);
        resolve(o);
      });
    });
  }
  async sample(): Promise<Record<string, unknown>> {
    const r = this.next();
    this.child.stdin!.write('\n');
    return r;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One algorithm of Linux against mcstack's CUBIC on the tbf bottleneck. */
async function oneRun(o: CcLinuxOptions, alg: string, tag: string): Promise<CcLinuxRun> {
  const r = await Netns.create('ccr');
  // The router's namespace goes with a failed second one (the try below owns both).
  const lx = await Netns.create('cclx').catch(async (e: unknown) => {
    await r.delete();
    throw e;
  });
  const tapR = `mcscr${tag}`;
  const tapS = `mcscs${tag}`;
  let R: Stack | null = null;
  let S: Stack | null = null;
  let T: Stack | null = null;
  let child: import('node:child_process').ChildProcess | null = null;
  try {
    await r.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await vethPair(r, '10.9.3.1/24', lx, '10.9.3.2/24', `c${tag}`);
    await lx.exec('ip', ['route', 'add', 'default', 'via', '10.9.3.1']);
    /** A one-worker stack at 10.9.`net`.2 on a per-worker TAP whose router end is .1. */
    const onTap = (name: string, net: number, tap: string, o: Partial<StackOptions>) =>
      Stack.create({
        name,
        workers: 1,
        mac: `02:00:00:00:79:0${net}`,
        addrs: [`10.9.${net}.2/24`],
        routes: [{ dst: 'default', gateway: `10.9.${net}.1` }],
        links: [{ type: 'tap', name: tap, netns: r.name, addrs: [`10.9.${net}.1/24`], queues: 'per-worker' }],
        ...o,
      });
    R = onTap('cc-linux-R', 1, tapR, {
      sysctl: { 'net.inet.tcp.recvbuf_max': 16 << 20 },
      // The round trip: both flows' ACKs wait here.
      pipe: { delay: o.rttMs, queue: 10_000 },
      apps: [{ name: 'discard', port: 9 }],
    });
    await R.start();
    // The bottleneck: the router's queue towards R.
    const burst = Math.max(3028, Math.ceil(o.rateBps / 8 / 1000) * 2);
    await r.exec('tc', [
      'qdisc',
      'add',
      'dev',
      tapR,
      'root',
      'tbf',
      'rate',
      `${Math.round(o.rateBps)}bit`,
      'burst',
      String(burst),
      'limit',
      String(o.queuePkts * 1514),
    ]);
    /** A one-worker mcstack CUBIC bulk sender to R, and what R acknowledged of it. */
    const cubicSender = (name: string, net: number, tap: string) => {
      const st = onTap(name, net, tap, {
        modules: ['cc_cubic'],
        sysctl: { 'net.inet.tcp.cc.algorithm': 'cubic', 'net.inet.tcp.sendbuf_max': 16 << 20 },
        apps: [{ name: 'bulk-sender', options: { addr: '10.9.1.2', port: 9, bytes: 2 ** 50 } }],
      });
      const acked = async () => {
        const sent = ((await st.stats()).apps['bulk-sender']?.bytesSent as number | undefined) ?? 0;
        const c = (await st.netstat()).find((e) => e.fport === 9 && e.state === 'ESTABLISHED');
        return sent - (c?.sendQ ?? 0);
      };
      return { st, acked };
    };
    const mine = cubicSender('cc-linux-S', 2, tapS);
    S = mine.st;
    // The other sender: the kernel, or (`mcstack`, the control) a second mcstack CUBIC.
    let otherAcked: () => Promise<number>;
    if (alg === CONTROL) {
      const twin = cubicSender('cc-linux-T', 4, `mcsct${tag}`);
      T = twin.st;
      await T.start();
      otherAcked = twin.acked;
    } else {
      child = lx.spawn('python3', ['-c', LINUX_SENDER, JSON.stringify({ cc: alg, addr: '10.9.1.2', port: 9 })]);
      const sampler = new Sampler(child);
      const hello = await sampler.next();
      if (hello.cc !== alg) throw new SysError('EINVAL', `the Linux socket runs ${String(hello.cc)}, not ${alg}`);
      otherAcked = async () => (await sampler.sample()).acked as number;
    }
    await S.start();
    await sleep((o.warmupSeconds ?? 5) * 1000);
    const [l0, m0] = await Promise.all([otherAcked(), mine.acked()]);
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const [l1, m1] = await Promise.all([otherAcked(), mine.acked()]);
    const secs = (performance.now() - t0) / 1000;
    const tc = await r.exec('tc', ['-s', 'qdisc', 'show', 'dev', tapR]);
    const linuxBytes = l1 - l0;
    const mcstackBytes = m1 - m0;
    const modelAlg = alg === CONTROL ? 'cubic' : alg;
    const modelled = linker.available().includes(`cc_${modelAlg}`)
      ? (() => {
          const m = runCcFlows({
            seed: o.seed,
            flows: [modelAlg, 'cubic'],
            rateBps: o.rateBps,
            rttMs: o.rttMs,
            queuePkts: o.queuePkts,
            aqm: 'droptail',
            seconds: o.seconds + (o.warmupSeconds ?? 5),
            warmupSeconds: o.warmupSeconds ?? 5,
          });
          const [a, b] = m.flows;
          return { linuxShare: a!.bytes / (a!.bytes + b!.bytes || 1), utilization: m.utilization };
        })()
      : null;
    return {
      linux: alg,
      linuxBytes,
      mcstackBytes,
      linuxMbps: (linuxBytes * 8) / secs / 1e6,
      mcstackMbps: (mcstackBytes * 8) / secs / 1e6,
      linuxShare: linuxBytes / (linuxBytes + mcstackBytes || 1),
      modelled,
      tbfDrops: Number(/dropped (\d+)/.exec(tc)?.[1] ?? 0),
      loadavg: loadavg()[0]!,
    };
  } finally {
    child?.stdin?.end();
    child?.kill();
    await S?.stop().catch(() => undefined);
    await T?.stop().catch(() => undefined);
    await R?.stop().catch(() => undefined);
    await r.delete();
    await lx.delete();
  }
}

export async function runCcLinux(o: CcLinuxOptions): Promise<CcLinuxReport> {
  const why = await ccLinuxUnavailable(o.linux);
  if (why) throw new SysError('MCSTACK_UNAVAILABLE', `cannot run here: ${why}`, 'bench cc --linux');
  const runs: CcLinuxRun[] = [];
  for (const [i, alg] of o.linux.entries()) runs.push(await oneRun(o, alg, `${process.pid % 10000}${i}`));
  return { options: o, runs, cores: availableParallelism() };
}

export function formatCcLinux(r: CcLinuxReport): string {
  const o = r.options;
  const rows = [
    ['other', 'other Mbit/s', 'mcstack cubic Mbit/s', 'other share', 'modelled share', 'tbf drops', 'load'],
  ];
  for (const x of r.runs)
    rows.push([
      x.linux === CONTROL ? 'mcstack cubic (control)' : `Linux ${x.linux}`,
      sig(x.linuxMbps),
      sig(x.mcstackMbps),
      `${(x.linuxShare * 100).toFixed(1)} %`,
      x.modelled ? `${(x.modelled.linuxShare * 100).toFixed(1)} %` : '(no model)',
      String(x.tbfDrops),
      x.loadavg.toFixed(1),
    ]);
  return `${[
    `the kernel's algorithm vs mcstack cubic: tbf ${sig(o.rateBps / 1e6)} Mbit/s, queue ${o.queuePkts} packets, RTT ${o.rttMs} ms ` +
      `(mcstack's pipe on the ACK path), ${o.seconds} s after ${o.warmupSeconds ?? 5} s; wall clock, ${r.cores} cores`,
    ...formatColumns(rows, 2),
    "modelled: the simulator's bottleneck with mcstack's module in the other's place (none for an algorithm mcstack lacks)",
  ].join('\n')}\n`;
}
