/**
 * Issue 5's TAP figure: the Linux kernel as a bulk TCP client of one mcstack Engine over
 * a TAP device (socat bridges it to a UDP tunnel on loopback; the engine runs on this
 * thread's real-time loop), beside Linux to Linux over a veth pair measured in the same
 * run. One connection each, IPv4, the sender a Python loop in a private network
 * namespace; the ratio of the two is the figure. Needs root, /dev/net/tun, socat, ip.
 *
 *   npx tsc -b && node bench/dist/tap.js [--bytes N] [--runs N] [--json]
 */
import { Engine, ERRNO, SOL_SOCKET, SO_RCVBUF } from '@mcstack/netinet';
import { TapLink, RealtimeLoop, Netns, netnsUnavailable, vethPair, PEER_PY } from '@mcstack/runtime/links/index';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const BYTES = arg('bytes', 256 << 20);
const RUNS = arg('runs', 3);
const JSON_OUT = process.argv.includes('--json');

/** Run the Python peer in `ns` and resolve with its last JSON line. */
function peer(ns: Netns, plan: object, onLine?: (o: Record<string, unknown>) => void): Promise<Record<string, number>> {
  const child = ns.spawn('python3', ['-c', PEER_PY, JSON.stringify(plan)]);
  let out = '';
  let err = '';
  let last: Record<string, number> = {};
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    out += s;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const o = JSON.parse(out.slice(0, nl)) as Record<string, number>;
      out = out.slice(nl + 1);
      last = o;
      onLine?.(o);
    }
  });
  child.stderr!.on('data', (s) => { err += String(s); });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`python peer: ${err.trim()}`)))));
}

async function main(): Promise<void> {
  const why = await netnsUnavailable();
  if (why) {
    console.log(`bench tap: cannot run here: ${why}`);
    return;
  }
  const ns = await Netns.create('btap');
  const ns2 = await Netns.create('bveth');
  const engine = new Engine({ seed: 5 });
  const ifp = engine.ifattach({ name: 'tap0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0x77, 0, 2), mtu: 1500 });
  engine.addAddr(ifp, '10.77.0.2/24');
  engine.setUp(ifp);
  let loop: RealtimeLoop | null = null;
  const rows: { path: string; run: number; bytes: number; seconds: number; mbps: number }[] = [];
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
      if (fd < 0) { const a = engine.accept(lfd); if (a >= 0) fd = a; else if (a !== -ERRNO.EAGAIN) throw new Error(`accept ${a}`); }
      if (fd < 0) return;
      for (;;) {
        const r = engine.recv(fd, buf, 0, buf.length);
        if (r > 0) { received += r; continue; }
        if (r === 0) { engine.close(fd); fd = -1; }
        break;
      }
    });

    for (let run = 1; run <= RUNS; run++) {
      received = 0;
      const t = await peer(ns, { mode: 'source', addr: '10.77.0.2', port: 5001, bytes: BYTES });
      if (received !== BYTES) throw new Error(`mcstack received ${received} of ${BYTES}`);
      rows.push({ path: 'Linux → mcstack (TAP)', run, bytes: BYTES, seconds: t.seconds!, mbps: BYTES / t.seconds! / 1e6 });

      let listening!: () => void;
      const ready = new Promise<void>((r) => { listening = r; });
      const sink = peer(ns2, { mode: 'sink', addr: '10.78.0.2', port: 7000 + run }, (o) => { if (o.event) listening(); });
      await ready;
      const v = await peer(ns, { mode: 'source', addr: '10.78.0.2', port: 7000 + run, bytes: BYTES });
      const s = await sink;
      if (s.received !== BYTES) throw new Error(`veth sink received ${s.received} of ${BYTES}`);
      rows.push({ path: 'Linux → Linux (veth)', run, bytes: BYTES, seconds: v.seconds!, mbps: BYTES / v.seconds! / 1e6 });
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
  if (JSON_OUT) { console.log(JSON.stringify({ rows, summary }, null, 2)); return; }
  console.log(`bulk TCP, one connection, ${BYTES} B per run, ${RUNS} runs (MB/s = 10^6 B/s, sender's view)`);
  console.log('path                        run      MB/s');
  for (const r of rows) console.log(`${r.path.padEnd(26)} ${String(r.run).padStart(4)} ${r.mbps.toFixed(1).padStart(9)}`);
  console.log(`best: TAP ${tapBest.toFixed(1)} MB/s, veth ${vethBest.toFixed(1)} MB/s, ratio ${summary.ratio.toFixed(4)}`);
}

await main();
