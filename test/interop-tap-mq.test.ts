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
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack } from '@mcstack/runtime';
import { Netns } from '@mcstack/bench';
import {
  linuxEchoClient,
  startLinuxEcho,
  echoApps,
  checkBulkSenders,
  nativeLinkUnavailable,
} from './support/linux-echo.js';
import { IFCAP_RXCSUM, IFCAP_TXCSUM, IFCAP_TSO4, IFCAP_TSO6, IFCAP_LRO } from '@mcstack/netinet';

const run = promisify(execFile);

const SEED = 20251207;
const LINUX4 = '10.79.0.1';
const MCS4 = '10.79.0.2';
const LINUX6 = 'fd00:79::1';
const MCS6 = 'fd00:79::2';
const ECHO_PORT = 7007;

const skip = await nativeLinkUnavailable();
const opts = { skip: skip ? `needs the native TAP path: ${skip}` : false, timeout: 120_000 };

let ns: Netns;
let stack: Stack;
let echo: ChildProcess | undefined;
const DEV = `mcsmq${process.pid % 100000}`;

before(
  async () => {
    if (skip) return;
    ns = await Netns.create('tapmq');
    // The Linux echo server listens before the stack starts: bulk-sender dials at once.
    echo = await startLinuxEcho(ns, ECHO_PORT);
    stack = Stack.create({
      name: 'tapmq',
      workers: 2,
      mac: '02:00:00:00:79:02',
      addrs: [`${MCS4}/24`, `${MCS6}/64`],
      seed: SEED,
      links: [
        { type: 'tap', queues: 'per-worker', name: DEV, netns: ns.name, addrs: [`${LINUX4}/24`, `${LINUX6}/64`] },
      ],
      apps: echoApps(LINUX4, LINUX6, ECHO_PORT, 64 << 20, 16 << 20),
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
    await checkBulkSenders(stack, 64 << 20, 16 << 20);
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
