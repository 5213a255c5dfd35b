/**
 * The TAP figure: the Linux kernel as a bulk TCP client of one mcstack Engine over
 * a TAP device (socat bridges it to a UDP tunnel on loopback; the engine runs on this
 * thread's real-time loop), beside Linux to Linux over a veth pair measured in the same
 * run. One connection each, IPv4, the sender a Python loop in a private network
 * namespace; the ratio of the two is the figure. Used by `mcstack bench tap` and
 * bench/tap.ts.
 */
import { Engine, ERRNO, SOL_SOCKET, SO_RCVBUF } from '@mcstack/netinet';
import { SysError } from '@mcstack/netinet';
import { TapLink, RealtimeLoop } from '@mcstack/runtime';
import { Netns, netnsUnavailable, vethPair, PEER_PY } from './netns.js';

/** Run the Python peer in `ns` and resolve with its last JSON line. */
function peer(ns: Netns, plan: object, onLine?: (o: Record<string, unknown>) => void): Promise<Record<string, number>> {
  const child = ns.spawn('python3', ['-c', PEER_PY, JSON.stringify(plan)]);
  let out = '';
  let err = '';
  let last: Record<string, number> = {};
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    out += s;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const o = JSON.parse(out.slice(0, nl)) as Record<string, number>;
      out = out.slice(nl + 1);
      last = o;
      onLine?.(o);
    }
  });
  child.stderr!.on('data', (s) => {
    err += String(s);
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`python peer: ${err.trim()}`)))),
  );
}

/** One measured run of one path. */
export interface TapBenchRow {
  path: string;
  run: number;
  bytes: number;
  seconds: number;
  mbps: number;
}
export interface TapBenchReport {
  rows: TapBenchRow[];
  /** Best of the runs per path (MB/s = 10^6 B/s, the sender's view) and their ratio: the figure. */
  summary: { bytes: number; runs: number; tapMBps: number; vethMBps: number; ratio: number };
}

/**
 * Measure (root, /dev/net/tun, socat, ip, python3): `runs` bulk transfers of `bytes` each
 * way per path. Throws MCSTACK_UNAVAILABLE with the reason where it cannot run.
 */
export async function runTapBench(o: { bytes?: number; runs?: number } = {}): Promise<TapBenchReport> {
  const BYTES = o.bytes ?? 256 << 20;
  const RUNS = o.runs ?? 3;
  const why = await netnsUnavailable();
  if (why) throw new SysError('MCSTACK_UNAVAILABLE', `cannot run here: ${why}`, 'bench tap');
  const ns = await Netns.create('btap');
  const ns2 = await Netns.create('bveth');
  const engine = new Engine({ seed: 5 });
  const ifp = engine.ifattach({ name: 'tap0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0x77, 0, 2), mtu: 1500 });
  engine.addAddr(ifp, '10.77.0.2/24');
  engine.setUp(ifp);
  let loop: RealtimeLoop | null = null;
  const rows: TapBenchRow[] = [];
  try {
    const tap = await TapLink.open({ netns: ns.name, addrs: ['10.77.0.1/24'] });
    loop = new RealtimeLoop(engine);
    loop.attach(ifp, tap);
    loop.start();
    await vethPair(ns, '10.78.0.1/24', ns2, '10.78.0.2/24', String(process.pid % 10000));

    // mcstack's sink: accept, read and discard to EOF, close.
    const buf = new Uint8Array(1 << 16);
    const lfd = engine.socket('inet', 'stream');
    engine.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, 1 << 20);
    engine.bind(lfd, { addr: '10.77.0.2', port: 5001 });
    engine.listen(lfd, 8);
    let fd = -1;
    let received = 0;
    loop.onPoll(() => {
      if (fd < 0) {
        const a = engine.accept(lfd);
        if (a >= 0) fd = a;
        else if (a !== -ERRNO.EAGAIN) throw new Error(`accept ${a}`);
      }
      if (fd < 0) return;
      for (;;) {
        const r = engine.recv(fd, buf, 0, buf.length);
        if (r > 0) {
          received += r;
          continue;
        }
        if (r === 0) {
          engine.close(fd);
          fd = -1;
        }
        break;
      }
    });

    for (let run = 1; run <= RUNS; run++) {
      received = 0;
      const t = await peer(ns, { mode: 'source', addr: '10.77.0.2', port: 5001, bytes: BYTES });
      if (received !== BYTES) throw new Error(`mcstack received ${received} of ${BYTES}`);
      rows.push({
        path: 'Linux → mcstack (TAP)',
        run,
        bytes: BYTES,
        seconds: t.seconds!,
        mbps: BYTES / t.seconds! / 1e6,
      });

      let listening!: () => void;
      const ready = new Promise<void>((r) => {
        listening = r;
      });
      const sink = peer(ns2, { mode: 'sink', addr: '10.78.0.2', port: 7000 + run }, (o) => {
        if (o.event) listening();
      });
      await ready;
      const v = await peer(ns, { mode: 'source', addr: '10.78.0.2', port: 7000 + run, bytes: BYTES });
      const s = await sink;
      if (s.received !== BYTES) throw new Error(`veth sink received ${s.received} of ${BYTES}`);
      rows.push({
        path: 'Linux → Linux (veth)',
        run,
        bytes: BYTES,
        seconds: v.seconds!,
        mbps: BYTES / v.seconds! / 1e6,
      });
    }
  } finally {
    await loop?.close();
    await ns.delete();
    await ns2.delete();
  }
  const best = (p: string) => Math.max(...rows.filter((r) => r.path === p).map((r) => r.mbps));
  const tapBest = best('Linux → mcstack (TAP)');
  const vethBest = best('Linux → Linux (veth)');
  const summary = { bytes: BYTES, runs: RUNS, tapMBps: tapBest, vethMBps: vethBest, ratio: tapBest / vethBest };
  return { rows, summary };
}

/** The report for a terminal. */
export function formatTapBench(r: TapBenchReport): string {
  const { rows, summary } = r;
  const lines = [
    `bulk TCP, one connection, ${summary.bytes} B per run, ${summary.runs} runs (MB/s = 10^6 B/s, sender's view)`,
    'path                        run      MB/s',
  ];
  for (const x of rows)
    lines.push(`${x.path.padEnd(26)} ${String(x.run).padStart(4)} ${x.mbps.toFixed(1).padStart(9)}`);
  lines.push(
    `best: TAP ${summary.tapMBps.toFixed(1)} MB/s, veth ${summary.vethMBps.toFixed(1)} MB/s, ratio ${summary.ratio.toFixed(4)}`,
  );
  return `${lines.join('\n')}\n`;
}
