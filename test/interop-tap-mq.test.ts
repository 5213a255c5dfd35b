/**
 * The Linux kernel as client and server of a 2-worker Stack over a multi-queue TAP
 * (`links: [{ type: 'tap', queues: 'per-worker' }]`): one queue per worker, read and
 * written by it through the native layer, virtio-net headers carrying checksum and GSO
 * state. The device sits in a namespace this test makes (and always deletes).
 *
 * - Linux client → mcstack echo, IPv4 and IPv6: every byte sent and echoed back is
 *   SHA-256-checked by the Python peer (64 MiB over IPv4, 16 MiB over IPv6).
 * - mcstack bulk-sender → Linux echo server, IPv4 and IPv6: bulk-sender checks every
 *   echoed byte against the pattern it sent.
 * - The kernel's GSO frames (coalesced segments larger than the MTU) reach mcstack: seen
 *   in a capture on the device (tshark) and in the queues' host_lro counters.
 * - The kernel learns which queue a flow lives on: a long transfer's frames arrive on
 *   its owner's queue; only the first few of each connection are forwarded.
 *
 * Skips with the reason where root, /dev/net/tun, namespaces, python3 or koffi's native
 * library are missing (the socat path is tested by interop-stack-tap.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack, native } from '@mcstack/runtime';
import { Netns, netnsUnavailable } from '@mcstack/bench';
import { LINUX_PEER, linuxEchoClient } from './support/linux-echo.js';
import { IFCAP_RXCSUM, IFCAP_TXCSUM, IFCAP_TSO4, IFCAP_TSO6, IFCAP_LRO } from '@mcstack/netinet';

const run = promisify(execFile);

const SEED = 20251207;
const LINUX4 = '10.79.0.1';
const MCS4 = '10.79.0.2';
const LINUX6 = 'fd00:79::1';
const MCS6 = 'fd00:79::2';
const ECHO_PORT = 7007;

async function why(): Promise<string | null> {
  const st = native.nativeStatus();
  if (!st.ok) return `koffi's native library cannot be loaded: ${st.reason}`;
  return netnsUnavailable();
}

const skip = await why();
const opts = { skip: skip ? `needs the native TAP path: ${skip}` : false, timeout: 120_000 };

let ns: Netns;
let stack: Stack;
let echo: ReturnType<Netns['spawn']> | undefined;
const DEV = `mcsmq${process.pid % 100000}`;

before(
  async () => {
    if (skip) return;
    ns = await Netns.create('tapmq');
    // The Linux echo server listens before the stack starts: bulk-sender dials at once.
    echo = ns.spawn('python3', ['-c', LINUX_PEER, 'echo', String(ECHO_PORT)]);
    await new Promise<void>((resolve, reject) => {
      echo!.stdout!.once('data', () => resolve());
      echo!.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
    });
    stack = Stack.create({
      name: 'tapmq',
      workers: 2,
      mac: '02:00:00:00:79:02',
      addrs: [`${MCS4}/24`, `${MCS6}/64`],
      seed: SEED,
      links: [
        { type: 'tap', queues: 'per-worker', name: DEV, netns: ns.name, addrs: [`${LINUX4}/24`, `${LINUX6}/64`] },
      ],
      apps: [
        { name: 'echo', port: 7 },
        {
          name: 'bulk-sender',
          options: { addr: LINUX4, port: ECHO_PORT, bytes: 64 << 20, mode: 'echo', verify: true, connections: 1 },
        },
        {
          module: new URL('./support/bulk-sender-app.js', import.meta.url).href,
          name: 'bulk-sender6',
          options: { addr: LINUX6, port: ECHO_PORT, bytes: 16 << 20, mode: 'echo', verify: true, connections: 1 },
        },
      ],
    });
    await stack.start();
  },
  { timeout: 60_000 },
);

after(async () => {
  echo?.kill('SIGKILL');
  await stack?.stop();
  await ns?.delete();
});

test('the link took the native path: one queue per worker, the device offloads as ifconfig says', opts, async () => {
  assert.deepEqual(stack.linkPath, { path: 'native' });
  assert.equal(stack.tapmq!.queues.length, 2);
  // tun accepted CSUM and TSO: cxgbe0 offers RXCSUM, TXCSUM, TSO4/6 and LRO, all enabled.
  const want = IFCAP_RXCSUM | IFCAP_TXCSUM | IFCAP_TSO4 | IFCAP_TSO6 | IFCAP_LRO;
  assert.equal(stack.tapmq!.capabilities & want, want);
  for (let w = 0; w < 2; w++) {
    const cx = (await stack.control(w).snapshot()).interfaces.find((i) => i.name === 'cxgbe0')!;
    assert.equal(cx.capabilities, stack.tapmq!.capabilities, `worker ${w}`);
    assert.equal(cx.capenable, stack.tapmq!.capabilities, `worker ${w}`);
  }
  const ethtool = await ns.exec('ip', ['-d', 'link', 'show', 'dev', DEV]);
  assert.match(ethtool, /numtxqueues 2/, ethtool);
});

test(
  'Linux client → mcstack echo, 64 MiB over IPv4 and 16 MiB over IPv6, byte-exact; GSO frames in a capture',
  opts,
  async () => {
    const before = (await stack.stats()).tap!;
    // Capture on the kernel's side while the IPv4 transfer runs: frame lengths and sources.
    const cap = ns.spawn('tshark', [
      '-i',
      DEV,
      '-n',
      '-a',
      'duration:6',
      '-T',
      'fields',
      '-e',
      'frame.len',
      '-e',
      'ip.src',
    ]);
    let capOut = '';
    cap.stdout!.on('data', (s) => {
      capOut += s;
    });
    const capDone = new Promise<number | null>((r) => cap.once('exit', (c) => r(c)));
    await new Promise((r) => setTimeout(r, 1000)); // tshark is listening
    await linuxEchoClient(ns, MCS4, 64 << 20, SEED);
    await capDone;
    await linuxEchoClient(ns, MCS6, 16 << 20, SEED + 1);
    const after = (await stack.stats()).tap!;
    const big = capOut
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([len, src]) => Number(len) > 1514 && src === LINUX4);
    assert.ok(big.length > 0, `no GSO frame from Linux in the capture (${capOut.split('\n').length} frames)`);
    assert.ok(after.host_lro > before.host_lro, 'the queues counted no coalesced frame');
    // The flows' frames came on their owners' queues: a handful forwarded, not thousands.
    const forwarded = after.forwarded - before.forwarded;
    const frames = after.ipackets - before.ipackets;
    assert.ok(forwarded < 100, `${forwarded} of ${frames} frames forwarded between workers`);
    assert.equal(after.iqdrops, 0);
  },
);

test(
  'mcstack bulk-sender → Linux echo server, IPv4 (64 MiB) and IPv6 (16 MiB), every echoed byte checked',
  opts,
  async () => {
    const deadline = Date.now() + 90_000;
    const done = (x: Awaited<ReturnType<Stack['stats']>>) =>
      (x.apps['bulk-sender']?.done ?? 0) + (x.apps['bulk-sender6']?.done ?? 0);
    let s = await stack.stats();
    while (done(s) < 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      s = await stack.stats();
    }
    for (const [app, bytes] of [
      ['bulk-sender', 64 << 20],
      ['bulk-sender6', 16 << 20],
    ] as const) {
      const b = s.apps[app]!;
      // `done` is per worker: each says its share (here one connection or none) is over.
      assert.equal(b.done, 2, `${app}: ${JSON.stringify(b)}`);
      assert.equal(b.errors, 0, `${app}: ${JSON.stringify(b)}`);
      assert.equal(b.bytesSent, bytes, app);
      assert.equal(b.bytesReceived, bytes, app);
      assert.equal(b.mismatches, 0, app);
    }
    // Every frame went out through a worker's own queue, with the kernel finishing checksums.
    assert.ok(s.tap!.opackets > 0 && s.tap!.csum > 0, JSON.stringify(s.tap));
    assert.equal(s.tap!.oerrors, 0);
    assert.equal(s.link, undefined, 'no main-thread link');
  },
);

test('`ifconfig cxgbe0 -lro` reaches the device: the kernel stops sending GSO frames', opts, async () => {
  for (let w = 0; w < 2; w++) await stack.control(w).ifconfig(['cxgbe0', '-lro']);
  await new Promise((r) => setTimeout(r, 100)); // each worker applies it on its next slice
  const before = (await stack.stats()).tap!;
  await linuxEchoClient(ns, MCS4, 8 << 20, SEED + 2);
  const after = (await stack.stats()).tap!;
  assert.equal(after.host_lro, before.host_lro, 'GSO frames arrived with LRO off');
  const feats = await run('ip', ['netns', 'exec', ns.name, 'ethtool', '-k', DEV]).catch(() => null);
  if (feats !== null) assert.match(feats.stdout, /tcp-segmentation-offload: off/);
  for (let w = 0; w < 2; w++) await stack.control(w).ifconfig(['cxgbe0', 'lro']);
});
