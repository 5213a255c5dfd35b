import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine.js';
import { Simulator } from '../src/sim/simulator.js';
import { ERRNO } from '../src/kern/errno.js';
import { SeededRandom } from '../src/kern/random.js';
import { SHUT_WR } from '../src/kern/uipc_socket.js';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6 } from '../src/net/if.js';
import { CSUM_IP, CSUM_DELAY_DATA, CSUM_DELAY_DATA_IPV6 } from '../src/net/mbuf.js';
import { attachCapture, writeCapture, type CaptureTap } from '../src/tools/capture.js';
import { finishChecksums } from '../src/net/hwcsum.js';
import { readPcapng } from '@mcstack/wire';
import { LINKTYPE_ETHERNET } from '@mcstack/wire';

/**
 * A bulk TCP transfer A -> B over the simulator, captured on A's interface. With
 * `offload`, A's interface has TXCSUM/TXCSUM_IPV6 on: its stack leaves checksums to
 * the card, the wire glue finishes them as a NIC would (so B accepts them), and the
 * capture must show the finished checksums, not the partial sums in A's buffers.
 */
function capturedTransfer(
  family: 'inet' | 'inet6',
  offload: boolean,
  bytes: number,
  count?: number,
): { tap: CaptureTap; a: Engine } {
  const sim = new Simulator(11);
  const a = new Engine({
    seed: 21,
    output: (ifp, frame, meta) => {
      const f = frame.slice();
      finishChecksums(
        f,
        14,
        (meta.csumFlags & CSUM_IP) !== 0,
        (meta.csumFlags & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0,
      );
      sim.transmit(ifp, f);
    },
  });
  const b = new Engine({ seed: 22, output: (ifp, f) => sim.transmit(ifp, f) });
  const caps = offload ? IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 : 0;
  const ia = a.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 0x0a), capabilities: caps });
  const ib = b.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 0x0b) });
  const [aa, ba, plen] = family === 'inet' ? ['10.0.0.1', '10.0.0.2', 24] : ['fd00::1', 'fd00::2', 64];
  a.addAddr(ia, `${aa}/${plen}`);
  a.setUp(ia);
  b.addAddr(ib, `${ba}/${plen}`);
  b.setUp(ib);
  sim.connect({ engine: a, ifp: ia }, { engine: b, ifp: ib });
  const tap = attachCapture(a, { ifname: 'em0', count });

  const l = b.socket(family, 'stream');
  assert.equal(b.bind(l, { addr: ba, port: 5001 }), 0);
  assert.equal(b.listen(l, 4), 0);
  const c = a.socket(family, 'stream');
  assert.equal(a.connect(c, { addr: ba, port: 5001 }), -ERRNO.EINPROGRESS);
  const data = new SeededRandom(5).fill(new Uint8Array(bytes));
  const rbuf = new Uint8Array(65536);
  let sent = 0;
  let got = 0;
  let s = -1;
  let shut = false;
  let done = false;
  sim.run(60_000_000, () => {
    while (sent < bytes) {
      const n = a.send(c, data, sent, bytes - sent);
      if (n <= 0) break;
      sent += n;
    }
    if (sent === bytes && !shut && a.shutdown(c, SHUT_WR) === 0) shut = true;
    if (s < 0) {
      const r = b.accept(l);
      if (r >= 0) s = r;
    }
    if (s >= 0 && !done) {
      for (;;) {
        const n = b.recv(s, rbuf);
        if (n > 0) {
          got += n;
          continue;
        }
        if (n === 0) {
          b.close(s);
          b.close(l);
          done = true;
        }
        break;
      }
    }
    if (done && a.recv(c, rbuf) === 0) {
      a.close(c);
      return true;
    }
    return false;
  });
  sim.run(sim.now + 200_000_000);
  assert.equal(got, bytes, 'the transfer completed');
  return { tap, a };
}

test('capture: frames both ways, engine time in ns, pcapng readable, Ethernet link type', () => {
  const { tap } = capturedTransfer('inet', false, 20_000);
  const f = readPcapng(tap.toPcapng());
  assert.ok(f.ok);
  if (!f.ok) return;
  assert.equal(f.value.interfaces[0]!.linkType, LINKTYPE_ETHERNET);
  assert.equal(f.value.interfaces[0]!.tsresol, 9);
  assert.equal(f.value.packets.length, tap.frames.length);
  assert.ok(tap.frames.some((x) => x.dir === 'in') && tap.frames.some((x) => x.dir === 'out'));
  for (let i = 1; i < tap.frames.length; i++) assert.ok(tap.frames[i]!.timeNs >= tap.frames[i - 1]!.timeNs);
  const p0 = f.value.packets[0]!;
  assert.equal(p0.tsSec * 1e9 + p0.tsNsec, tap.frames[0]!.timeNs);
  assert.deepEqual(p0.data, tap.frames[0]!.data);
});

test('capture: -c COUNT stops after COUNT frames, onLimit once; detach restores the engine', () => {
  const { tap, a } = capturedTransfer('inet', false, 20_000, 7);
  assert.equal(tap.frames.length, 7);
  assert.ok(tap.full);
  assert.equal(a.net.bpf.length, 1, 'the input path is tapped while attached');
  tap.detach();
  assert.equal(a.net.bpf.length, 0);
  assert.throws(() => attachCapture(a, { ifname: 'em9' }), { code: 'ENXIO' });
});

test('capture: frames of several workers merge in time order', () => {
  const mk = (t: number, b: number) => ({ timeNs: t, dir: 'out' as const, origLen: 1, data: Uint8Array.of(b) });
  const file = writeCapture([mk(30, 3), mk(10, 1), mk(20, 2), mk(10, 4)], LINKTYPE_ETHERNET);
  const f = readPcapng(file);
  assert.ok(f.ok);
  if (f.ok)
    assert.deepEqual(
      f.value.packets.map((p) => p.data[0]),
      [1, 4, 2, 3],
    );
});

/*
 * tshark's verdict. The display filter keeps only what would make a capture
 * wrong: `_ws.malformed` (a dissector ran off the data), `_ws.expert.severity >=
 * error` (Wireshark files bad checksums and malformed packets as errors), and the
 * checksum status fields explicitly (0 = Bad). It deliberately does not use
 * `>= warning`: TCP analysis warnings such as "Zero window", "Previous segment not
 * captured" or "ACKed unseen segment" describe the flow (or where a capture
 * started), not a fault in any packet, and window updates are only notes/chats.
 */
const BAD =
  '_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 || tcp.checksum.status == 0 ' +
  '|| udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0';
const CHECK = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const noTshark =
  tshark.error || tshark.status !== 0
    ? 'tshark is not installed (apt-get install -y tshark; .ci/run installs it in CI)'
    : false;

for (const family of ['inet', 'inet6'] as const) {
  for (const offload of [false, true]) {
    test(`capture: tshark reads a bulk ${family} transfer${offload ? ' with TXCSUM offload' : ''} without malformed or bad-checksum packets`, {
      skip: noTshark,
    }, () => {
      const { tap } = capturedTransfer(family, offload, 300_000);
      const dir = mkdtempSync(join(tmpdir(), 'mcstack-cap-'));
      try {
        const file = join(dir, 'bulk.pcapng');
        writeFileSync(file, tap.toPcapng());
        const bad = execFileSync('tshark', ['-r', file, ...CHECK, '-Y', BAD], { encoding: 'utf8' });
        assert.equal(bad, '', `tshark flagged:\n${bad}`);
        // Every TCP checksum was verified and found good (1), none left unverified (2).
        const st = execFileSync(
          'tshark',
          ['-r', file, ...CHECK, '-Y', 'tcp', '-T', 'fields', '-e', 'tcp.checksum.status'],
          { encoding: 'utf8' },
        )
          .trim()
          .split('\n');
        assert.equal(st.length, tap.frames.filter((f) => isTcp(f.data)).length);
        assert.ok(
          st.every((x) => x === '1'),
          `checksum statuses: ${[...new Set(st)].join(',')}`,
        );
        const all = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' })
          .trim()
          .split('\n');
        assert.equal(all.length, tap.frames.length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

function isTcp(f: Uint8Array): boolean {
  const et = (f[12]! << 8) | f[13]!;
  return (et === 0x0800 && f[23] === 6) || (et === 0x86dd && f[20] === 6);
}
