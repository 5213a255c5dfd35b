/**
 * The Linux kernel as a real peer of a 2-worker Stack: cxgbe0's single-queue link is a TAP
 * device (socat) moved into a namespace this test makes (and always deletes), read on the
 * main thread and spread over the workers by software RSS; each worker resolves the
 * kernel's MAC by ARP itself. In the namespace, `curl` fetches a page that node:http
 * serves over mcstack through @mcstack/api (http.Server fed by the mcstack server's
 * 'connection' event), and the Python peer makes byte-exact, SHA-256-checked transfers
 * to the echo app. Connections land on both workers and none is misdirected.
 * It runs twice: on the socat path (`queues: 'single'`) and on the native one (`queues:
 * 'per-worker'`, a TAP queue per worker read by it: links/tapmq.ts), where a connection's
 * first frames may land on the wrong queue and hop (the queue's `forwarded`) until the
 * kernel has seen the owner send.
 * Skips with the reason where TAP, socat, ip, python3, namespaces or curl (or, for the
 * native path, koffi's native library) are missing.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { Stack, native, type StackOptions } from '@mcstack/runtime';
import { Netns, netnsUnavailable, PEER_PY } from '@mcstack/bench';
import { planTransfers } from './support/transfers.js';

/**
 * @mcstack/api builds on this package, so its types cannot be referenced from here (the
 * project graph would have a cycle); it is imported at run time, built by then.
 */
interface Api {
  withNet(o: StackOptions): StackOptions;
  mcnet(s: Stack): {
    createServer(): {
      listen(port: number, cb?: () => void): unknown;
      close(): void;
      on(e: 'connection', fn: (s: unknown) => void): unknown;
    };
  };
}

const SEED = 20251125;
const LINUX = '10.78.0.1';
const MCS = '10.78.0.2';

const skip = await netnsUnavailable(['curl']);
const nativeStatus = native.nativeStatus();

for (const queues of ['single', 'per-worker'] as const) {
  const why = skip ?? (queues === 'per-worker' && !nativeStatus.ok ? `koffi: ${nativeStatus.reason}` : null);
  const opts = { skip: why ? `needs TAP, network namespaces and curl: ${why}` : false, timeout: 120_000 };
  describe(`queues: '${queues}'`, () => {
    let ns: Netns;
    let stack: Stack;
    let httpServer: http.Server;
    const PAGE = createHash('sha256').update(String(SEED)).digest('hex').repeat(200); // 12.8 kB: several segments

    before(
      async () => {
        if (skip) return;
        const api = (await import(String('@mcstack/api'))) as Api;
        ns = await Netns.create('stap');
        stack = Stack.create(
          api.withNet({
            name: 'tap',
            workers: 2,
            mac: '02:00:00:00:78:02',
            addrs: [`${MCS}/24`],
            seed: SEED,
            links: [{ type: 'tap', netns: ns.name, addrs: [`${LINUX}/24`], queues }],
            apps: [{ name: 'echo', port: 7 }],
          }),
        );
        await stack.start();
        httpServer = http.createServer((_req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end(PAGE);
        });
        const server = api.mcnet(stack).createServer();
        server.on('connection', (s) => httpServer.emit('connection', s));
        await new Promise<void>((r) => server.listen(80, () => r()));
      },
      { timeout: 60_000 },
    );

    after(async () => {
      httpServer?.closeAllConnections();
      httpServer?.close();
      await stack?.stop();
      await ns?.delete();
    });

    test('curl in the namespace fetches a page node:http serves over mcstack (TAP, 2 workers)', opts, async () => {
      for (let i = 0; i < 8; i++) {
        const body = await ns.exec('curl', ['-sS', '--fail', '--max-time', '20', `http://${MCS}/page${i}`]);
        assert.equal(body.length, PAGE.length, `fetch ${i}`);
        assert.equal(body, PAGE, `fetch ${i}`);
      }
    });

    test("a Linux client's transfers to echo come back byte-exact (SHA-256)", opts, async () => {
      // The peer writes everything before it reads: a transfer must fit in what the two
      // stacks buffer between them (socket buffers and windows), or both sides stall.
      const plan = planTransfers(SEED, 16, 64 << 10).map((t) => ({ send: t.send, seed: t.seed }));
      const child = ns.spawn('python3', [
        '-c',
        PEER_PY,
        JSON.stringify({ mode: 'client', addr: MCS, port: 7, transfers: plan }),
      ]);
      let err = '';
      child.stderr!.on('data', (s) => {
        err += s;
      });
      const lines: { sent: number; sentSha: string; received: number; receivedSha: string }[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 0, err);
      assert.equal(lines.length, plan.length);
      for (const [i, l] of lines.entries()) {
        assert.equal(l.sent, plan[i]!.send, `transfer ${i} (seed ${SEED})`);
        assert.equal(l.received, l.sent, `transfer ${i} (seed ${SEED})`);
        assert.equal(l.receivedSha, l.sentSha, `transfer ${i} (seed ${SEED}): data differs`);
      }
    });

    test('connections landed on both workers by RSS; none misdirected, no ring drop', opts, async () => {
      const s = await stack.stats();
      for (const w of s.workers)
        assert.ok(w.accepts > 0, `worker ${w.worker} accepted no connection: ${s.workers.map((x) => x.accepts)}`);
      assert.equal(s.total.misdirected, 0);
      assert.equal(s.total.hops, 0);
      if (queues === 'single') {
        assert.deepEqual(stack.linkPath, { path: 'socat' });
        assert.ok(s.link!.floods > 0, 'ARP reached every worker');
        assert.equal(s.link!.iqdrops, 0, JSON.stringify(s.link));
      } else {
        assert.deepEqual(stack.linkPath, { path: 'native' });
        assert.ok(s.tap!.floods > 0, 'ARP reached every worker');
        assert.equal(s.tap!.iqdrops, 0, JSON.stringify(s.tap));
        // Only frames before the kernel learnt a flow's queue hop: a few per connection (24 of them).
        assert.ok(s.tap!.forwarded < 24 * 4, `${s.tap!.forwarded} of ${s.tap!.ipackets} frames forwarded`);
      }
    });
  });
}
