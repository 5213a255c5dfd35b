/**
 * The Linux kernel as an HTTP client of mcstack over TAP (a namespace this test makes and
 * always deletes), on both paths: the native multi-queue TAP (a queue per worker,
 * links/tapmq.ts; skipped with the reason where koffi's native layer cannot be loaded)
 * and socat's single queue, the fallback. On each, http-lite and node:http served over @mcstack/api answer
 * every body size of `mcstack bench http` on one keep-alive connection without the 40 ms
 * stall of a short last segment held under Nagle for Linux's delayed ACK; curl's first
 * look at `/` gets the page saying what the server is. Latency is bounded generously:
 * of up to fifteen fetches per size (stopping at the first clean one: a loaded machine's
 * scheduling pauses are random, a delayed-ACK stall is in every fetch) at least one must
 * have no pause of 30 ms (a delayed ACK is at least 40 ms on Linux) between its request
 * and last byte.
 * Skips with the reason where TAP, socat, ip, python3, namespaces or curl are missing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, netnsUnavailable, startMcstackHttp, type McstackHttp } from '@mcstack/bench';
import { native } from '@mcstack/runtime';

const LINUX = '10.80.0.1';
const MCS = '10.80.0.2';
const SIZES = [0, 128, 16384, 1 << 20];
const TRIES = 15;
const GAP_MS = 30;

const skip = await netnsUnavailable(['curl']);
const nativeStatus = native.nativeStatus();

/**
 * The kernel's client: one connection, keep-alive GETs per size until one has no pause
 * of `gapMs` or `tries` were made; per size the smallest over the tries of the largest
 * pause between request and arrivals (ms), and the status and body checked.
 */
const CLIENT_PY = String.raw`
import json, socket, sys, time
p = json.loads(sys.argv[1])
s = socket.create_connection((p['addr'], p['port']), timeout=20)
out = []
for size in p['sizes']:
    best = None
    for _ in range(p['tries']):
        if best is not None and best * 1000 < p['gapMs']: break
        s.sendall(('GET /%d HTTP/1.1\r\nHost: mcstack\r\n\r\n' % size).encode())
        last = time.perf_counter(); gap = 0.0; head = b''; body = 0; need = None
        while need is None or body < need:
            d = s.recv(1 << 20)
            now = time.perf_counter(); gap = max(gap, now - last); last = now
            if not d: raise SystemExit('connection closed after %d of %s body bytes' % (body, need))
            if need is None:
                head += d
                i = head.find(b'\r\n\r\n')
                if i < 0: continue
                lines = head[:i].decode('latin1').split('\r\n')
                if not lines[0].startswith('HTTP/1.1 200'): raise SystemExit('status: ' + lines[0])
                need = int([l.split(':', 1)[1] for l in lines if l.lower().startswith('content-length:')][0])
                d = head[i + 4:]
            if d.count(b'x') != len(d): raise SystemExit('body is not all x')
            body += len(d)
        if body != size: raise SystemExit('body %d, not %d' % (body, size))
        best = gap if best is None else min(best, gap)
    out.append({'size': size, 'gapMs': best * 1000})
print(json.dumps(out))
`;

for (const queues of ['per-worker', 'single'] as const) {
  const why = skip ?? (queues === 'per-worker' && !nativeStatus.ok ? `koffi: ${nativeStatus.reason}` : null);
  const opts = { skip: why ? `needs TAP, network namespaces and curl: ${why}` : false, timeout: 120_000 };
  const path = queues === 'per-worker' ? 'native' : 'socat';
  describe(`over the ${path} TAP (queues: '${queues}')`, () => {
    let ns: Netns;
    let mcs: McstackHttp | undefined;

    before(
      async () => {
        if (why) return;
        ns = await Netns.create(queues === 'per-worker' ? 'htapn' : 'htaps');
        mcs = await startMcstackHttp(ns, { workers: 2, addr: MCS, linux: LINUX, seed: 80, queues });
      },
      { timeout: 60_000 },
    );

    after(async () => {
      await mcs?.close();
      await ns?.delete();
    });

    test(`the link took the ${path} path`, opts, () => {
      assert.deepEqual(mcs!.link, { path });
    });

    test("curl's first look at http-lite: / says what the server is and what it serves", opts, async () => {
      const page = await ns.exec('curl', ['-sS', '--fail', '--max-time', '20', `http://${MCS}/`]);
      assert.match(page, /^mcstack http-lite/);
      assert.match(page, /GET \/<n>/);
      const nf = await ns.exec('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '20',
        `http://${MCS}/nope`,
      ]);
      assert.equal(nf, '404');
    });

    for (const [name, port] of [
      ['http-lite', 'litePort'],
      ['node:http over mcstack', 'nodePort'],
    ] as const) {
      test(`the kernel fetches ${SIZES.join(', ')} B from ${name} with no delayed-ACK stall`, opts, async () => {
        const out = await ns.exec('python3', [
          '-c',
          CLIENT_PY,
          JSON.stringify({ addr: MCS, port: mcs![port], sizes: SIZES, tries: TRIES, gapMs: GAP_MS }),
        ]);
        const rows = JSON.parse(out) as { size: number; gapMs: number }[];
        assert.deepEqual(
          rows.map((r) => r.size),
          SIZES,
        );
        for (const r of rows)
          assert.ok(
            r.gapMs < GAP_MS,
            `${name} /${r.size}: a pause of ${r.gapMs.toFixed(1)} ms in each of up to ${TRIES} fetches`,
          );
      });
    }
  });
}
