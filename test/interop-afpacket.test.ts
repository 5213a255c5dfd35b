/**
 * The Linux kernel as client and server of a 2-worker Stack sitting on a veth end through
 * AF_PACKET (`links: [{ type: 'af_packet', ifname, netns }]`): a socket and PACKET_MMAP
 * ring per worker in one PACKET_FANOUT group, virtio-net headers both ways. The veth pair
 * joins two namespaces this test makes (and always deletes): Linux's end is addressed,
 * mcstack's end is only up.
 *
 * - Linux client → mcstack echo, IPv4 (64 MiB) and IPv6 (16 MiB), SHA-256-checked;
 * - mcstack bulk-sender → Linux echo server, IPv4 (16 MiB) and IPv6 (8 MiB), every echoed
 *   byte checked by bulk-sender;
 * - the peer's TSO frames arrive whole (GSO on receive: the rings' host_lro);
 * - the fanout group's classic BPF program picks each frame's socket by the stack's own
 *   RSS: no frame of those transfers is forwarded between workers.
 *
 * Skips with the reason where root, namespaces, python3 or koffi's native library are missing.
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

const run = promisify(execFile);

const SEED = 20251208;
const LINUX4 = '10.81.0.1';
const MCS4 = '10.81.0.2';
const LINUX6 = 'fd00:81::1';
const MCS6 = 'fd00:81::2';
const ECHO_PORT = 7007;

const skip = await nativeLinkUnavailable();
const opts = { skip: skip ? `needs AF_PACKET in namespaces: ${skip}` : false, timeout: 120_000 };

let nsLinux: Netns;
let nsMcs: Netns;
let stack: Stack;
let echo: ChildProcess | undefined;
const VL = `mcsl${process.pid % 100000}`;
const VM = `mcsm${process.pid % 100000}`;

before(
  async () => {
    if (skip) return;
    nsLinux = await Netns.create('pktl');
    nsMcs = await Netns.create('pktm');
    await run('ip', [
      'link',
      'add',
      VL,
      'netns',
      nsLinux.name,
      'type',
      'veth',
      'peer',
      'name',
      VM,
      'netns',
      nsMcs.name,
    ]);
    await nsLinux.exec('ip', ['addr', 'add', `${LINUX4}/24`, 'dev', VL]);
    await nsLinux.exec('ip', ['addr', 'add', `${LINUX6}/64`, 'dev', VL, 'nodad']);
    await nsLinux.exec('ip', ['link', 'set', VL, 'up']);
    await nsMcs.exec('ip', ['link', 'set', VM, 'up']);
    echo = await startLinuxEcho(nsLinux, ECHO_PORT);
    stack = Stack.create({
      name: 'afpacket',
      workers: 2,
      mac: '02:00:00:00:81:02',
      addrs: [`${MCS4}/24`, `${MCS6}/64`],
      seed: SEED,
      links: [{ type: 'af_packet', ifname: VM, netns: nsMcs.name }],
      apps: echoApps(LINUX4, LINUX6, ECHO_PORT, 16 << 20, 8 << 20),
      // TIME_WAIT of 200 ms: the buckets of finished connections can be moved soon.
      sysctl: { 'net.inet.tcp.msl': 100 },
    });
    await stack.start();
  },
  { timeout: 60_000 },
);

after(async () => {
  echo?.kill('SIGKILL');
  await stack?.stop();
  await nsLinux?.delete();
  await nsMcs?.delete();
});

test(
  'the stack is on the veth end through a ring per worker; a missing interface is a one-line error',
  opts,
  async () => {
    assert.deepEqual(stack.linkPath, { path: 'native' });
    assert.equal(stack.afpacket!.rings.length, 2);
    assert.equal(stack.afpacket!.steering, 'cbpf');
    const bad = Stack.create({ workers: 1, links: [{ type: 'af_packet', ifname: 'nosuch0', netns: nsMcs.name }] });
    await assert.rejects(bad.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ENXIO');
      assert.match(e.message, /no interface nosuch0 in namespace/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    const big = Stack.create({ workers: 1, mtu: 9000, links: [{ type: 'af_packet', ifname: VM, netns: nsMcs.name }] });
    await assert.rejects(big.start(), /EINVAL: mtu 9000 is larger than .*'s 1500/);
  },
);

test('Linux client → mcstack echo over AF_PACKET, 64 MiB IPv4 and 16 MiB IPv6, byte-exact', opts, async () => {
  // Every bucket without a live connection moves to the other worker first: the fanout
  // group's program must follow the table (setIndirection gives it a new one), or these
  // connections' frames would land on their old owner and hop.
  // (A bucket whose connection is still live or in TIME_WAIT is refused with EBUSY: retried.)
  const entries = [...stack.indirection.entries];
  const left = new Set(entries.keys());
  for (let round = 0; left.size > 0 && round < 50; round++) {
    for (const b of [...left]) {
      try {
        await stack.setIndirection([[b, 1 - entries[b]!]]);
        left.delete(b);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EBUSY') throw e;
      }
    }
    if (left.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(left.size, 0, `buckets ${[...left]} still busy`);
  assert.deepEqual(
    [...stack.indirection.entries],
    entries.map((w) => 1 - w),
  );
  const before = (await stack.stats()).tap!;
  await linuxEchoClient(nsLinux, MCS4, 64 << 20, SEED);
  await linuxEchoClient(nsLinux, MCS6, 16 << 20, SEED + 1);
  const after = (await stack.stats()).tap!;
  assert.ok(after.ipackets > before.ipackets);
  assert.ok(after.host_lro > before.host_lro, "the peer's TSO frames did not arrive whole");
  assert.equal(after.iqdrops, 0, JSON.stringify(after));
  assert.equal(after.ierrors, 0, JSON.stringify(after));
  // Every frame on its owner's ring, the SYN included (PACKET_FANOUT_HASH forwarded ~38%).
  const frames = after.ipackets - before.ipackets;
  assert.equal(after.forwarded - before.forwarded, 0, `${after.forwarded - before.forwarded} of ${frames} forwarded`);
});

test(
  'mcstack bulk-sender → Linux echo server over AF_PACKET, IPv4 and IPv6, every echoed byte checked',
  opts,
  async () => {
    const before = (await stack.stats()).tap!;
    await checkBulkSenders(stack, 16 << 20, 8 << 20);
    const after = (await stack.stats()).tap!;
    assert.equal(after.forwarded - before.forwarded, 0, `${after.forwarded - before.forwarded} forwarded`);
  },
);
