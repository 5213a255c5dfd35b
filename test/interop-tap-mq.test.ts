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
 * - A CSUM_TSO frame written to a queue reaches Linux as one GSO frame (capture) that its
 *   TCP takes as one segment (the RST acknowledges all of it).
 *
 * Skips with the reason where root, /dev/net/tun, namespaces, python3 or koffi's native
 * library are missing (the socat path is tested by interop-stack-tap.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack, TapMqLink, vtnetTxOffload } from '@mcstack/runtime';
import { Netns } from '@mcstack/bench';
import {
  linuxEchoClient,
  startLinuxEcho,
  echoApps,
  checkBulkSenders,
  nativeLinkUnavailable,
  capture,
} from './support/linux-echo.js';
import {
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCAP_TSO4,
  IFCAP_TSO6,
  IFCAP_LRO,
  CSUM_IP,
  CSUM_TCP,
  CSUM_IP_TSO,
  newFrameMeta,
} from '@mcstack/netinet';

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
    const cap = await capture(ns, DEV, ['frame.len', 'ip.src']);
    await linuxEchoClient(ns, MCS4, 64 << 20, SEED);
    await cap.waitFor((o) => o.includes(`\t${LINUX4}\n`), 5000);
    const capOut = await cap.stop();
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
    // Each queue's counters are sysctls any worker answers (if_vtnet.c's names).
    let sum = 0;
    for (let q = 0; q < 2; q++) sum += Number(await stack.control(1 - q).sysctlGet(`dev.vtnet.0.rxq${q}.forwarded`));
    const later = (await stack.stats()).tap!.forwarded;
    assert.ok(sum >= after.forwarded && sum <= later, `sysctl ${sum}, stats ${after.forwarded}..${later}`);
  },
);

test(
  'mcstack bulk-sender → Linux echo server, IPv4 (64 MiB) and IPv6 (16 MiB), every echoed byte checked',
  opts,
  async () => {
    await checkBulkSenders(stack, 64 << 20, 16 << 20);
    // What the queues wrote as GSO the kernel cut: cxgbe0's tso_wrs counts it (every
    // queue in one worker's tree, the others' rows published once per loop turn).
    const tso = (await stack.stats()).tap!.tso;
    let wrs = 0;
    for (let q = 0; q < 2; q++) wrs += Number(await stack.control(0).sysctlGet(`dev.cxgbe.0.txq.${q}.tso_wrs`));
    assert.ok(wrs > 0 && wrs <= tso, `tso_wrs ${wrs}, GSO frames written ${tso}`);
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

test(
  'a CSUM_TSO frame goes to Linux as one GSO frame: in a capture whole, and taken by its TCP as one segment',
  opts,
  async () => {
    // A queue of a device of its own (the stack's queues belong to its workers), with a
    // static neighbour entry so the kernel's answer needs no ARP.
    const gso = await TapMqLink.open({
      queues: 1,
      netns: ns.name,
      addrs: ['10.79.1.1/24'],
      name: `mcsg${process.pid % 100000}`,
    });
    try {
      const MAC = '02:00:00:00:79:09';
      await ns.exec('ip', ['neigh', 'add', '10.79.1.2', 'lladdr', MAC, 'dev', gso.name]);
      const info = JSON.parse(await ns.exec('ip', ['-j', 'link', 'show', 'dev', gso.name])) as { address: string }[];
      const PAYLOAD = 4000;
      const f = new Uint8Array(14 + 20 + 20 + PAYLOAD);
      f.set(
        info[0]!.address.split(':').map((x) => Number.parseInt(x, 16)),
        0,
      );
      f.set(
        MAC.split(':').map((x) => Number.parseInt(x, 16)),
        6,
      );
      f.set([0x08, 0x00, 0x45, 0, (40 + PAYLOAD) >> 8, (40 + PAYLOAD) & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0], 12);
      f.set([10, 79, 1, 2, 10, 79, 1, 1], 26);
      // TCP 40000 → 5555 (nobody listens), seq 1000, PSH without ACK: Linux answers RST|ACK
      // acknowledging seq + the whole segment's length (tcp_v4_send_reset).
      f.set([0x9c, 0x40, 0x15, 0xb3, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x08, 0xff, 0xff], 34);
      const m = newFrameMeta();
      m.csumFlags = CSUM_IP | CSUM_TCP | CSUM_IP_TSO;
      m.tsoSegsz = 1000;
      const out = new Uint8Array(10 + f.length);
      out.set(f, 10);
      const frame = out.subarray(10);
      assert.equal(vtnetTxOffload(frame, frame.length, m, out, 0, 10), 1, 'goes as GSO');
      const cap = await capture(ns, gso.name, ['frame.len', 'tcp.flags'], 'tcp port 5555');
      const q = gso.queues[0]!;
      assert.equal(q.write(out), out.length);
      // The kernel's answer, read back from the queue.
      let ack = -1;
      const buf = new Uint8Array(70000);
      for (let i = 0; i < 100 && ack < 0; i++) {
        const n = q.read(buf);
        if (n === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const r = buf.subarray(10, n);
        if (
          r[12] === 0x08 &&
          r[13] === 0x00 &&
          r[23] === 6 &&
          ((r[34]! << 8) | r[35]!) === 5555 &&
          (r[47]! & 0x04) !== 0
        )
          ack = ((r[42]! << 24) | (r[43]! << 16) | (r[44]! << 8) | r[45]!) >>> 0;
      }
      assert.equal(ack, 1000 + PAYLOAD, 'Linux acknowledged the whole GSO frame as one segment');
      // A capture may start late on a busy machine: write the frame again until it shows.
      const seen = (o: string) => o.split('\n').some((l) => Number(l.split('\t')[0]) === f.length);
      for (let i = 0; i < 10 && !seen(cap.output()); i++) {
        await cap.waitFor(seen, 500);
        if (!seen(cap.output())) q.write(out);
      }
      const capOut = await cap.stop();
      const lens = capOut.split('\n').map((l) => Number(l.split('\t')[0]));
      assert.ok(lens.includes(f.length), `the capture has the ${f.length}-byte GSO frame: ${capOut}`);
    } finally {
      gso.close();
    }
  },
);

test('a deleted device fails each worker with EBADFD through worker-error: no silent spin', opts, async () => {
  const errs: { code: string; worker: number }[] = [];
  stack.on('worker-error', (e: { code: string; worker: number }) => errs.push(e));
  await ns.exec('ip', ['link', 'del', 'dev', DEV]);
  for (let i = 0; i < 100 && errs.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(errs.map((e) => [e.worker, e.code]).sort(), [
    [0, 'EBADFD'],
    [1, 'EBADFD'],
  ]);
});
