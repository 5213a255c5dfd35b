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
 * - the peer's TSO frames arrive whole (GSO on receive: the rings' host_lro).
 *
 * Skips with the reason where root, namespaces, python3 or koffi's native library are missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack, native } from '@mcstack/runtime';
import { Netns, netnsUnavailable } from '@mcstack/bench';
import { LINUX_PEER, linuxEchoClient } from './support/linux-echo.js';

const run = promisify(execFile);

const SEED = 20251208;
const LINUX4 = '10.81.0.1';
const MCS4 = '10.81.0.2';
const LINUX6 = 'fd00:81::1';
const MCS6 = 'fd00:81::2';
const ECHO_PORT = 7007;

async function why(): Promise<string | null> {
  const st = native.nativeStatus();
  if (!st.ok) return `koffi's native library cannot be loaded: ${st.reason}`;
  return netnsUnavailable();
}

const skip = await why();
const opts = { skip: skip ? `needs AF_PACKET in namespaces: ${skip}` : false, timeout: 120_000 };

let nsLinux: Netns;
let nsMcs: Netns;
let stack: Stack;
let echo: ReturnType<Netns['spawn']> | undefined;
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
    echo = nsLinux.spawn('python3', ['-c', LINUX_PEER, 'echo', String(ECHO_PORT)]);
    await new Promise<void>((resolve, reject) => {
      echo!.stdout!.once('data', () => resolve());
      echo!.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
    });
    stack = Stack.create({
      name: 'afpacket',
      workers: 2,
      mac: '02:00:00:00:81:02',
      addrs: [`${MCS4}/24`, `${MCS6}/64`],
      seed: SEED,
      links: [{ type: 'af_packet', ifname: VM, netns: nsMcs.name }],
      apps: [
        { name: 'echo', port: 7 },
        {
          name: 'bulk-sender',
          options: { addr: LINUX4, port: ECHO_PORT, bytes: 16 << 20, mode: 'echo', verify: true, connections: 1 },
        },
        {
          module: new URL('./support/bulk-sender-app.js', import.meta.url).href,
          name: 'bulk-sender6',
          options: { addr: LINUX6, port: ECHO_PORT, bytes: 8 << 20, mode: 'echo', verify: true, connections: 1 },
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
  await nsLinux?.delete();
  await nsMcs?.delete();
});

test(
  'the stack is on the veth end through a ring per worker; a missing interface is a one-line error',
  opts,
  async () => {
    assert.deepEqual(stack.linkPath, { path: 'native' });
    assert.equal(stack.afpacket!.rings.length, 2);
    const bad = Stack.create({ workers: 1, links: [{ type: 'af_packet', ifname: 'nosuch0', netns: nsMcs.name }] });
    await assert.rejects(bad.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ENXIO');
      assert.match(e.message, /no interface nosuch0 in namespace/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  },
);

test('Linux client → mcstack echo over AF_PACKET, 64 MiB IPv4 and 16 MiB IPv6, byte-exact', opts, async () => {
  const before = (await stack.stats()).tap!;
  await linuxEchoClient(nsLinux, MCS4, 64 << 20, SEED);
  await linuxEchoClient(nsLinux, MCS6, 16 << 20, SEED + 1);
  const after = (await stack.stats()).tap!;
  assert.ok(after.ipackets > before.ipackets);
  assert.ok(after.host_lro > before.host_lro, "the peer's TSO frames did not arrive whole");
  assert.equal(after.iqdrops, 0, JSON.stringify(after));
  assert.equal(after.ierrors, 0, JSON.stringify(after));
});

test(
  'mcstack bulk-sender → Linux echo server over AF_PACKET, IPv4 and IPv6, every echoed byte checked',
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
      ['bulk-sender', 16 << 20],
      ['bulk-sender6', 8 << 20],
    ] as const) {
      const b = s.apps[app]!;
      assert.equal(b.done, 2, `${app}: ${JSON.stringify(b)}`);
      assert.equal(b.errors, 0, `${app}: ${JSON.stringify(b)}`);
      assert.equal(b.bytesReceived, bytes, app);
      assert.equal(b.mismatches, 0, app);
    }
    assert.ok(s.tap!.opackets > 0 && s.tap!.csum > 0, JSON.stringify(s.tap));
    assert.equal(s.tap!.oerrors, 0);
  },
);
