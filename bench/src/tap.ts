/**
 * The TAP figures: the Linux kernel and a 2-worker mcstack Stack over a TAP device in a
 * private namespace, beside Linux to Linux over a veth pair measured in the same run.
 *
 * Paths, each way (Linux → mcstack: the kernel sends to mcstack's discard app; mcstack →
 * Linux: mcstack's bulk-sender sends to a Linux sink):
 * - 'native': `{ type: 'tap', queues: 'per-worker' }`, one queue per worker, read and
 *   written by it through koffi with virtio-net offloads (links/tapmq.ts);
 * - 'socat': `{ type: 'tap' }`, socat and the main thread's software RSS (links/tap.ts);
 * - 'veth': Linux to Linux, the reference.
 * Bulk on one connection and on one connection per worker (the Linux side opens as many;
 * the kernel's hash, not mcstack, spreads them), and request/response over 100
 * connections (1-byte ping-pong, Linux client to mcstack's echo beside Linux's).
 * MB/s = 10^6 B/s; bulk is timed by the Linux end (sender to the peer's FIN, or sink from
 * the first accept to the last EOF). Each round (rounds.ts) runs every path's three steps
 * (receive tests and rr on one stack; each send test on its own) once, in an order shuffled
 * from the seed; a row gives each path's median with its interval, and native/veth and
 * native/socat as the median of the rounds' ratios with its interval. The bulk rows' verdicts
 * are the targets' (docs/native-links.md): ≥ 0.25× veth and ≥ 10× socat; rr has none.
 * Used by `mcstack bench tap` and bench/tap.ts.
 */
import { SysError } from '@mcstack/netinet';
import { Stack, native, type AppSpec } from '@mcstack/runtime';
import { Netns, netnsUnavailable, vethPair } from './netns.js';
import { DEFAULT_REPEATS } from './stats/order.js';
import { formatConditions, startConditions, type RunConditions } from './conditions.js';
import {
  estimate,
  formatEstimate,
  formatOrder,
  orderOf,
  ratioRow,
  roundsLine,
  runRounds,
  type Estimate,
  type RatioRow,
  type RoundPoint,
} from './rounds.js';
import { formatColumns } from './table.js';

/**
 * The Linux peer: 'sources' sends `bytes` on each of `conns` connections (a thread each)
 * and waits for the peer's FIN; 'sinks' accepts `conns` connections and reads each to
 * EOF; 'rr' runs `conns` connections of 1-byte request/response for `seconds`; 'echo'
 * serves echo. Each prints one JSON line (sinks and echo print {"event":"listening"} first).
 */
const PEER = String.raw`
import json, socket, sys, threading, time, selectors
p = json.loads(sys.argv[1]); mode = p['mode']
fam = socket.AF_INET6 if ':' in p.get('addr', '') else socket.AF_INET
def out(o): sys.stdout.write(json.dumps(o) + '\n'); sys.stdout.flush()
if mode == 'sources':
    blk = bytes(1 << 20); res = []
    def one():
        s = socket.create_connection((p['addr'], p['port']), timeout=60); left = p['bytes']
        while left > 0:
            k = min(len(blk), left); s.sendall(memoryview(blk)[:k]); left -= k
        s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
    t0 = time.perf_counter(); ts = [threading.Thread(target=one) for _ in range(p['conns'])]
    for t in ts: t.start()
    for t in ts: t.join()
    out({'bytes': p['bytes'] * p['conns'], 'seconds': time.perf_counter() - t0})
elif mode in ('sinks', 'echo'):
    ls = socket.socket(fam, socket.SOCK_STREAM); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((p['addr'], p['port'])); ls.listen(128); out({'event': 'listening'})
    if mode == 'echo':
        def ech(c):
            while True:
                b = c.recv(65536)
                if not b: break
                c.sendall(b)
            c.close()
        while True:
            c, _ = ls.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=ech, args=(c,), daemon=True).start()
    total = [0]; first = [None]; lock = threading.Lock()
    def rd(c):
        buf = bytearray(1 << 20); n = 0
        while True:
            r = c.recv_into(buf)
            if r == 0: break
            n += r
        c.close()
        with lock: total[0] += n
    ts = []
    for _ in range(p['conns']):
        c, _ = ls.accept()
        if first[0] is None: first[0] = time.perf_counter()
        t = threading.Thread(target=rd, args=(c,)); t.start(); ts.append(t)
    for t in ts: t.join()
    out({'bytes': total[0], 'seconds': time.perf_counter() - first[0]})
elif mode == 'rr':
    sel = selectors.DefaultSelector(); socks = []
    for _ in range(p['conns']):
        s = socket.create_connection((p['addr'], p['port']), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); s.setblocking(False); socks.append(s)
        sel.register(s, selectors.EVENT_READ)
    n = 0; t0 = time.perf_counter(); end = t0 + p['seconds']
    for s in socks: s.send(b'x')
    while time.perf_counter() < end:
        for key, _ in sel.select(1):
            if key.fileobj.recv(64): n += 1; key.fileobj.send(b'x')
    out({'transactions': n, 'seconds': time.perf_counter() - t0})
`;

function peer(
  ns: Netns,
  plan: object,
  onLine?: (o: Record<string, unknown>) => void,
): { done: Promise<Record<string, number>>; kill(): void } {
  const child = ns.spawn('python3', ['-c', PEER, JSON.stringify(plan)]);
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
  const done = new Promise<Record<string, number>>((resolve, reject) =>
    child.on('exit', (code, sig) =>
      code === 0 || sig === 'SIGKILL' ? resolve(last) : reject(new Error(`python peer: ${err.trim()}`)),
    ),
  );
  return { done, kill: () => child.kill('SIGKILL') };
}

/** Start a listening peer ('sinks', 'echo') and resolve once it listens. */
async function listeningPeer(ns: Netns, plan: object): Promise<ReturnType<typeof peer>> {
  let listening!: () => void;
  const ready = new Promise<void>((r) => {
    listening = r;
  });
  const p = peer(ns, plan, (o) => {
    if (o.event === 'listening') listening();
  });
  await Promise.race([ready, p.done.then(() => Promise.reject(new Error('the peer exited before listening')))]);
  return p;
}

/** One measured run of one path. */
export interface TapBenchRow {
  path: TapPath;
  test: string;
  /** The round (1-based) it ran in. */
  run: number;
  /** Bulk: bytes moved and MB/s; rr: transactions and transactions/s. */
  bytes?: number;
  mbps?: number;
  transactions?: number;
  tps?: number;
  seconds: number;
}

export type TapPath = 'native' | 'socat' | 'veth';

/** A test's medians per path and the native path's ratios, each with its interval. */
export interface TapSummaryRow {
  test: string;
  native: Estimate;
  socat: Estimate | null;
  veth: Estimate;
  /** native/veth and native/socat: the median of the rounds' ratios; verdicts on the bulk rows. */
  vsVeth: RatioRow;
  vsSocat: RatioRow | null;
}

export interface TapBenchReport extends RunConditions {
  workers: number;
  bytes: number;
  rrSeconds: number;
  repeats: number;
  seed: number;
  /** The steps in the order each round ran them. */
  order: string[][];
  /** Every run of every test on every path. */
  rows: TapBenchRow[];
  summary: TapSummaryRow[];
  /** Per path and test (`native/rx1`), each round's MB/s or transactions/s under `throughput`, for `bench compare`. */
  points: RoundPoint[];
}

const WORKERS = 2;
const LINUX = '10.77.0.1';
const MCS = '10.77.0.2';
const VETH_A = '10.78.0.1';
const VETH_B = '10.78.0.2';
const SINK_PORT = 5001;

export const TAP_TESTS = {
  rx1: 'Linux → mcstack, 1 conn',
  rxN: `Linux → mcstack, ${WORKERS} conns`,
  tx1: 'mcstack → Linux, 1 conn',
  txN: `mcstack → Linux, 1 conn/worker`,
  rr: 'request/response, 100 conns',
} as const;

/** The targets of the bulk rows (docs/native-links.md); request/response has none. */
export const TAP_TARGETS = { vsVeth: 0.25, vsSocat: 10 } as const;

/**
 * The summary of a run's rows: per test, each path's median over the rounds and the native
 * path's ratios to veth and socat, each round's native figure over the same round's other.
 */
export function summarizeTap(rows: readonly TapBenchRow[], paths: readonly TapPath[]): TapSummaryRow[] {
  return (Object.entries(TAP_TESTS) as [keyof typeof TAP_TESTS, string][]).map(([id, test]) => {
    const of = (path: TapPath): number[] =>
      rows
        .filter((r) => r.test === test && r.path === path)
        .sort((a, b) => a.run - b.run)
        .map((r) => r.mbps ?? r.tps ?? 0);
    const bulk = id !== 'rr';
    const n = of('native'),
      v = of('veth'),
      s = paths.includes('socat') ? of('socat') : null;
    return {
      test,
      native: estimate(n),
      socat: s === null ? null : estimate(s),
      veth: estimate(v),
      vsVeth: ratioRow(n, v, bulk ? { direction: 'at least', value: TAP_TARGETS.vsVeth } : undefined),
      vsSocat:
        s === null ? null : ratioRow(n, s, bulk ? { direction: 'at least', value: TAP_TARGETS.vsSocat } : undefined),
    };
  });
}

/** Per path and test, each round's figure: `bench compare`'s points (`native/rx1` …). */
export function tapPoints(rows: readonly TapBenchRow[], paths: readonly TapPath[]): RoundPoint[] {
  return paths.flatMap((path) =>
    (Object.entries(TAP_TESTS) as [string, string][]).map(([id, test]) => ({
      key: `${path}/${id}`,
      samples: {
        throughput: rows
          .filter((r) => r.test === test && r.path === path)
          .sort((a, b) => a.run - b.run)
          .map((r) => r.mbps ?? r.tps ?? 0),
      },
    })),
  );
}

/**
 * Measure (root, /dev/net/tun, socat, ip, python3; koffi for the native path): `repeats`
 * rounds of every test on every path. Throws MCSTACK_UNAVAILABLE with the reason where it cannot run.
 */
export async function runTapBench(
  o: { bytes?: number; repeats?: number; seed?: number; socat?: boolean; rrSeconds?: number } = {},
): Promise<TapBenchReport> {
  const BYTES = o.bytes ?? 64 << 20;
  const repeats = o.repeats ?? DEFAULT_REPEATS;
  const seed = o.seed ?? 1;
  const RR_S = o.rrSeconds ?? 2;
  const why = (await netnsUnavailable()) ?? (native.nativeStatus().ok ? null : 'koffi cannot be loaded');
  if (why) throw new SysError('MCSTACK_UNAVAILABLE', `cannot run here: ${why}`, 'bench tap');
  const conditions = startConditions();
  const rows: TapBenchRow[] = [];
  const ns = await Netns.create('btap');
  const ns2 = await Netns.create('bveth');
  let seq = 0;
  /** A stack on a fresh TAP device in `ns`, for one run; `apps` besides discard (9) and echo (7). */
  const withStack = async (path: 'native' | 'socat', apps: AppSpec[], fn: (s: Stack) => Promise<void>) => {
    const name = `mcsb${process.pid % 10000}${seq++}`;
    const s = Stack.create({
      name: 'bench-tap',
      workers: WORKERS,
      mac: '02:00:00:00:77:02',
      addrs: [`${MCS}/24`],
      links: [
        {
          type: 'tap',
          name,
          netns: ns.name,
          addrs: [`${LINUX}/24`],
          queues: path === 'native' ? 'per-worker' : 'single',
        },
      ],
      apps: [{ name: 'discard', port: 9 }, { name: 'echo', port: 7 }, ...apps],
    });
    await s.start();
    try {
      if (path === 'native' && s.linkPath?.path !== 'native')
        throw new Error(`native path not taken: ${s.linkPath?.reason}`);
      await fn(s);
    } finally {
      await s.stop();
    }
  };
  const bulk = (path: TapBenchRow['path'], test: string, run: number, r: Record<string, number>) =>
    rows.push({ path, test, run, bytes: r.bytes!, seconds: r.seconds!, mbps: r.bytes! / r.seconds! / 1e6 });
  const rr = (path: TapBenchRow['path'], run: number, r: Record<string, number>) =>
    rows.push({
      path,
      test: TAP_TESTS.rr,
      run,
      transactions: r.transactions!,
      seconds: r.seconds!,
      tps: r.transactions! / r.seconds!,
    });
  const tx = { tx1: [TAP_TESTS.tx1, 1], txN: [TAP_TESTS.txN, WORKERS] } as const;
  /** One step of a round: the receive tests and rr on one stack (rx), or one send test (tx1, txN). */
  const step = async (path: TapPath, what: 'rx' | 'tx1' | 'txN', run: number): Promise<void> => {
    if (path === 'veth') {
      // The reference: Linux → Linux over veth, the same tests; receive tests are timed by
      // the sender, send tests by the sink, as on the TAP paths.
      const tests =
        what === 'rx'
          ? ([
              [TAP_TESTS.rx1, 1],
              [TAP_TESTS.rxN, WORKERS],
            ] as const)
          : [tx[what]];
      for (const [test, conns] of tests) {
        const sink = await listeningPeer(ns2, { mode: 'sinks', addr: VETH_B, port: SINK_PORT, conns });
        const src = peer(ns, { mode: 'sources', addr: VETH_B, port: SINK_PORT, bytes: BYTES / conns, conns });
        const [s, t] = await Promise.all([sink.done, src.done]);
        bulk('veth', test, run, what === 'rx' ? t : s);
      }
      if (what === 'rx') {
        const echo = await listeningPeer(ns2, { mode: 'echo', addr: VETH_B, port: 7 });
        const r = await peer(ns, { mode: 'rr', addr: VETH_B, port: 7, conns: 100, seconds: RR_S }).done;
        echo.kill();
        rr('veth', run, r);
      }
      return;
    }
    if (what === 'rx') {
      // Linux → mcstack: one connection, then one per worker; then rr.
      await withStack(path, [], async () => {
        for (const [test, conns] of [
          [TAP_TESTS.rx1, 1],
          [TAP_TESTS.rxN, WORKERS],
        ] as const) {
          const r = await peer(ns, { mode: 'sources', addr: MCS, port: 9, bytes: BYTES / conns, conns }).done;
          bulk(path, test, run, r);
        }
        rr(path, run, await peer(ns, { mode: 'rr', addr: MCS, port: 7, conns: 100, seconds: RR_S }).done);
      });
      return;
    }
    // mcstack → Linux: bulk-sender dials a sink that listens first.
    const [test, conns] = tx[what];
    const sink = await listeningPeer(ns, { mode: 'sinks', addr: '0.0.0.0', port: SINK_PORT, conns });
    await withStack(
      path,
      [
        {
          name: 'bulk-sender',
          options: { addr: LINUX, port: SINK_PORT, bytes: Math.floor(BYTES / conns), connections: conns },
        },
      ],
      async () => {
        bulk(path, test, run, await sink.done);
      },
    );
  };
  const paths: TapPath[] = o.socat === false ? ['native', 'veth'] : ['native', 'socat', 'veth'];
  let order: string[][];
  try {
    await vethPair(ns, `${VETH_A}/24`, ns2, `${VETH_B}/24`, String(process.pid % 10000));
    const keys = paths.flatMap((p) => ['rx', 'tx1', 'txN'].map((w) => `${p}/${w}`));
    const rounds = await runRounds(keys, { seed, repeats }, (key, run) => {
      const [path, what] = key.split('/') as [TapPath, 'rx' | 'tx1' | 'txN'];
      return step(path, what, run);
    });
    order = orderOf(rounds.plan);
  } finally {
    await ns.delete();
    await ns2.delete();
  }
  return {
    workers: WORKERS,
    bytes: BYTES,
    rrSeconds: RR_S,
    repeats,
    seed,
    order,
    rows,
    summary: summarizeTap(rows, paths),
    points: tapPoints(rows, paths),
    ...conditions(),
  };
}

/** The report for a terminal. */
export function formatTapBench(r: TapBenchReport): string {
  const ratio = (x: RatioRow | null, d: number) =>
    x === null
      ? ['-', '-']
      : [`${x.ratio.toFixed(d)} [${x.ratioLo.toFixed(d)}–${x.ratioHi.toFixed(d)}]`, x.verdict ?? '-'];
  const table = formatColumns(
    [
      ['test', 'native', 'socat', 'veth', 'nat/veth', '≥ 0.25', 'nat/socat', '≥ 10'],
      ...r.summary.map((s) => [
        s.test,
        formatEstimate(s.native),
        s.socat === null ? '-' : formatEstimate(s.socat),
        formatEstimate(s.veth),
        ...ratio(s.vsVeth, 3),
        ...ratio(s.vsSocat, 1),
      ]),
    ],
    1,
  );
  return (
    `${r.workers} workers, ${r.bytes} B per bulk run, rr ${r.rrSeconds} s; ${roundsLine(r)} ` +
    `(MB/s = 10^6 B/s; rr in transactions/s; the targets are the bulk rows')\n` +
    formatOrder(r.order) +
    `${table.join('\n')}\n${formatConditions(r)}\n`
  );
}
