/**
 * TAP queues against the real kernel: a 2-queue device with a virtio-net header and
 * checksum/TSO offloads is opened here, then moved into a network namespace this
 * test makes (`mcst-native-<pid>`, always deleted), so the only addresses involved
 * are the namespace's own (10.79.0.1 the kernel's side, 10.79.0.2 ours).
 *
 * The kernel's ARP request for 10.79.0.2 is read from a queue with a plain header;
 * the ARP reply written back shows in the namespace's RX counters and releases the
 * held UDP datagram, which arrives checksum-partial (TUN_F_CSUM at work). A frame
 * written with a partial checksum and NEEDS_CSUM is delivered (the kernel answers
 * port unreachable); the same bytes without the flag count as a checksum error. Skips, with the reason, without root,
 * /dev/net/tun, ip(8) or the native layer.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  parseVirtioNetHdr,
  emitVirtioNetHdr,
  VIRTIO_NET_HDR_LEN,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  parseEthernet,
  emitEthernet,
  ETHER_HDR_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  parseArp,
  emitArp,
  ARPOP_REQUEST,
  ARPOP_REPLY,
  ARP_LEN,
  parseIpv4,
  emitIpv4,
  IP_HDR_LEN,
  IPPROTO_UDP,
  IPPROTO_ICMP,
  parseIcmp,
  ICMP_UNREACH_PORT,
  parseUdp,
  emitUdp,
  UDP_HDR_LEN,
  verifyUdpChecksum4,
  sumBytes,
  finish,
  fold,
  pseudoHeaderSum4,
  parseIPv4,
  formatIPv4,
} from '@mcstack/wire';
import {
  openTap,
  openTapQueues,
  tunFeatures,
  nativeStatus,
  libc,
  NativeError,
  type TapQueue,
  IFF_TAP,
  IFF_NO_PI,
  IFF_VNET_HDR,
  IFF_MULTI_QUEUE,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUNGETVNETHDRSZ,
  TUNSETIFF,
  TUNGETFEATURES,
  TUNSETOFFLOAD,
  TUNSETVNETHDRSZ,
  TUNSETQUEUE,
} from '../src/native/index.js';

const NS = `mcst-native-${process.pid}`;
const DEV = `mcsn${process.pid}`;
const KERNEL_IP = '10.79.0.1';
const OUR_IP = '10.79.0.2';
const OUR_MAC = Uint8Array.of(0x02, 0, 0, 0, 0x79, 0x02);

function ip(...args: string[]): string {
  return execFileSync('ip', args, { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `Linux only (this is ${process.platform})`;
  const s = nativeStatus();
  if (!s.ok) return s.reason;
  if (process.getuid?.() !== 0) return 'needs root for TUNSETIFF and ip netns';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  try {
    ip('-V');
  } catch {
    return 'no ip(8)';
  }
  return undefined;
}

/** Poll every queue (20 ms at a time, yielding between) until `want` accepts a frame. */
async function nextFrame(
  qs: readonly TapQueue[],
  want: (f: Uint8Array) => boolean,
  timeoutMs = 5000,
): Promise<{ queue: number; frame: Uint8Array }> {
  const buf = new Uint8Array(VIRTIO_NET_HDR_LEN + 65536);
  const fds = qs.map((q) => ({ fd: q.fd, events: libc.POLLIN, revents: 0 }));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (libc.poll(fds, 20) > 0) {
      for (let i = 0; i < qs.length; i++) {
        if ((fds[i]!.revents & libc.POLLIN) === 0) continue;
        for (let n: number; (n = qs[i]!.read(buf)) > 0; ) {
          const f = buf.slice(0, n);
          if (want(f)) return { queue: i, frame: f };
        }
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no matching frame within ${timeoutMs} ms`);
}

/** `count` frames that `want` accepts, with the queue each came from. */
async function collect(qs: readonly TapQueue[], want: (f: Uint8Array) => boolean, count: number): Promise<number[]> {
  const from: number[] = [];
  while (from.length < count) from.push((await nextFrame(qs, want)).queue);
  return from;
}

/** UDP datagrams from the namespace to `n` ports of ours, each from a new socket (a new flow). */
function sendFlows(firstPort: number, n: number): void {
  execFileSync(
    'ip',
    [
      'netns',
      'exec',
      NS,
      'bash',
      '-c',
      `for p in $(seq ${firstPort} ${firstPort + n - 1}); do echo x > /dev/udp/${OUR_IP}/$p; done`,
    ],
    { timeout: 10_000 },
  );
}

function udpTo(lo: number, hi: number): (f: Uint8Array) => boolean {
  return (f) => {
    if (ether(f)?.ethertype !== ETHERTYPE_IP) return false;
    const off = VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN;
    const p = parseIpv4(f, off);
    if (!p.ok || p.value.protocol !== IPPROTO_UDP) return false;
    const u = parseUdp(f, off + IP_HDR_LEN);
    return u.ok && u.value.dstPort >= lo && u.value.dstPort <= hi;
  };
}

/** The frame after the header, parsed as Ethernet; null when it is not one. */
function ether(f: Uint8Array) {
  const e = parseEthernet(f, VIRTIO_NET_HDR_LEN);
  return e.ok ? e.value : null;
}

function rxPackets(): number {
  const j = JSON.parse(ip('-n', NS, '-s', '-j', 'link', 'show', DEV)) as { stats64: { rx: { packets: number } } }[];
  return j[0]!.stats64.rx.packets;
}

/** Udp: InCsumErrors of the namespace (/proc/net/snmp, per network namespace). */
function udpInCsumErrors(): number {
  const snmp = execFileSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/snmp'], { timeout: 10_000 }).toString();
  const [names, values] = snmp
    .split('\n')
    .filter((l) => l.startsWith('Udp:'))
    .map((l) => l.trim().split(/\s+/));
  const i = names!.indexOf('InCsumErrors');
  assert.ok(i > 0, 'Udp InCsumErrors in /proc/net/snmp');
  return Number(values![i]);
}

function addr(s: string): Uint8Array {
  return parseIPv4(s)!;
}

/** A UDP/IPv4 frame from us to the kernel's side, checksum left partial as a NIC would finish it. */
function udpFrameToKernel(payload: Uint8Array, kernelMac: Uint8Array): Uint8Array {
  const ipOff = VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN;
  const udpOff = ipOff + IP_HDR_LEN;
  const udpLen = UDP_HDR_LEN + payload.length;
  const f = new Uint8Array(udpOff + udpLen);
  emitEthernet({ dst: kernelMac, src: OUR_MAC, ethertype: ETHERTYPE_IP }, f, VIRTIO_NET_HDR_LEN);
  const a = (s: string) => new DataView(addr(s).buffer).getUint32(0);
  emitIpv4(
    {
      src: a(OUR_IP),
      dst: a(KERNEL_IP),
      protocol: IPPROTO_UDP,
      ttl: 64,
      tos: 0,
      ident: 1,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: udpLen,
    },
    f,
    ipOff,
  );
  emitUdp({ srcPort: 40000, dstPort: 9, payloadLen: payload.length }, f, udpOff);
  f.set(payload, udpOff + UDP_HDR_LEN);
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, uncomplemented.
  const ps = fold(pseudoHeaderSum4(f, ipOff + 12, ipOff + 16, IPPROTO_UDP, udpLen));
  f[udpOff + 6] = ps >>> 8;
  f[udpOff + 7] = ps & 0xff;
  emitVirtioNetHdr(
    {
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: 0,
      hdrLen: 0,
      gsoSize: 0,
      csumStart: udpOff - VIRTIO_NET_HDR_LEN,
      csumOffset: 6,
    },
    f,
    0,
  );
  return f;
}

const skip = unavailable();

/** A test that skips, with the reason, where TAP devices cannot be made here. */
function tapIt(name: string, fn: () => void | Promise<void>): void {
  it(name, (t) => (skip ? t.skip(skip) : fn()));
}

it('ioctl numbers are those of linux/if_tun.h', () => {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return;
  assert.equal(TUNSETIFF, 0x400454ca);
  assert.equal(TUNGETFEATURES, 0x800454cf);
  assert.equal(TUNSETOFFLOAD, 0x400454d0);
  assert.equal(TUNSETVNETHDRSZ, 0x400454d8);
  assert.equal(TUNSETQUEUE, 0x400454d9);
});

it('a 20-character name is a typed EINVAL, not a truncated device', () => {
  assert.throws(
    () => openTap({ name: 'mcstack-name-too-long', vnetHdr: true }),
    (e: unknown) => {
      assert.ok(e instanceof NativeError);
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, -22);
      assert.equal(e.syscall, 'ioctl');
      return true;
    },
  );
});

describe('a 2-queue TAP in a namespace', () => {
  let qs: TapQueue[] = [];
  let kernelMac: Uint8Array = new Uint8Array(6);

  before(() => {
    if (skip) return;
    ip('netns', 'add', NS);
    // No IPv6 in the namespace: its router and MLD traffic would only be noise here.
    try {
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          NS,
          'sh',
          '-c',
          'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6',
        ],
        { timeout: 10_000, stdio: 'ignore' },
      );
    } catch {
      /* no IPv6 at all: nothing to silence */
    }
    qs = openTapQueues({ name: DEV, vnetHdr: true, offloads: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 }, 2);
    ip('link', 'set', 'dev', DEV, 'netns', NS);
    ip('-n', NS, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', DEV);
    ip('-n', NS, 'link', 'set', 'dev', DEV, 'up');
  });

  after(() => {
    if (skip) return;
    for (const q of qs) q.close();
    try {
      ip('netns', 'del', NS);
    } catch {
      /* never made */
    }
    try {
      ip('link', 'del', DEV);
    } catch {
      /* gone with its last queue */
    }
  });

  tapIt('the kernel offers TAP, multi-queue and the virtio-net header', () => {
    const f = tunFeatures();
    for (const flag of [IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE])
      assert.ok(f & flag, `feature 0x${flag.toString(16)}`);
    assert.equal(qs.length, 2);
    assert.notEqual(qs[0]!.fd, qs[1]!.fd);
    for (const q of qs) {
      assert.equal(q.name, DEV);
      assert.equal(q.vnetHdrSize, 10);
      const sz = new Int32Array(1);
      libc.ioctl(q.fd, TUNGETVNETHDRSZ, new Uint8Array(sz.buffer));
      assert.equal(sz[0], 10);
    }
    assert.equal(qs[0]!.read(new Uint8Array(2048)) >= 0, true, 'an empty queue reads 0, it does not block');
  });

  tapIt(
    'an ARP request from the namespace arrives with a plain header; the reply counts in RX and releases a checksum-partial datagram',
    async () => {
      execFileSync('ip', ['netns', 'exec', NS, 'bash', '-c', `echo hi > /dev/udp/${OUR_IP}/9`], { timeout: 10_000 });
      const req = await nextFrame(qs, (f) => {
        const e = ether(f);
        if (e?.ethertype !== ETHERTYPE_ARP) return false;
        const a = parseArp(f, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN);
        return a.ok && a.value.operation === ARPOP_REQUEST && formatIPv4(a.value.targetProto) === OUR_IP;
      });
      const h = parseVirtioNetHdr(req.frame);
      assert.ok(h.ok);
      assert.deepEqual(h.value, {
        flags: 0,
        gsoType: VIRTIO_NET_HDR_GSO_NONE,
        hdrLen: 0,
        gsoSize: 0,
        csumStart: 0,
        csumOffset: 0,
      });
      const arp = parseArp(req.frame, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN);
      assert.ok(arp.ok);
      assert.equal(formatIPv4(arp.value.senderProto), KERNEL_IP);
      kernelMac = arp.value.senderHw;

      // The reply goes out through the other queue: any queue may write.
      const reply = new Uint8Array(VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN + ARP_LEN);
      emitVirtioNetHdr({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }, reply, 0);
      emitEthernet({ dst: kernelMac, src: OUR_MAC, ethertype: ETHERTYPE_ARP }, reply, VIRTIO_NET_HDR_LEN);
      emitArp(
        {
          operation: ARPOP_REPLY,
          senderHw: OUR_MAC,
          senderProto: addr(OUR_IP),
          targetHw: kernelMac,
          targetProto: addr(KERNEL_IP),
        },
        reply,
        VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN,
      );
      const rx0 = rxPackets();
      assert.equal(qs[1 - req.queue]!.write(reply), reply.length);
      assert.ok(rxPackets() >= rx0 + 1, 'the namespace counted the frame');
      assert.match(ip('-n', NS, 'neigh', 'show', OUR_IP), /lladdr 02:00:00:00:79:02/);

      const dgram = await nextFrame(qs, (f) => {
        if (ether(f)?.ethertype !== ETHERTYPE_IP) return false;
        const p = parseIpv4(f, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN, undefined, { verifyChecksum: true });
        return p.ok && p.value.protocol === IPPROTO_UDP;
      });
      const f = dgram.frame;
      const vh = parseVirtioNetHdr(f);
      assert.ok(vh.ok);
      const udpOff = VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN + IP_HDR_LEN;
      // TUN_F_CSUM: the kernel left the UDP checksum for "the NIC", i.e. for us.
      assert.deepEqual(vh.value, {
        flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
        gsoType: 0,
        hdrLen: vh.value.hdrLen,
        gsoSize: 0,
        csumStart: udpOff - VIRTIO_NET_HDR_LEN,
        csumOffset: 6,
      });
      const udp = parseUdp(f, udpOff);
      assert.ok(udp.ok);
      assert.equal(udp.value.dstPort, 9);
      assert.equal(Buffer.from(f.subarray(udpOff + UDP_HDR_LEN)).toString(), 'hi\n');
      const udpLen = UDP_HDR_LEN + udp.value.payloadLen;
      const start = VIRTIO_NET_HDR_LEN + vh.value.csumStart;
      const c = finish(sumBytes(f, start, udpLen));
      f[start + vh.value.csumOffset] = c >>> 8;
      f[start + vh.value.csumOffset + 1] = c & 0xff;
      assert.ok(
        verifyUdpChecksum4(f, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN, udpOff, udpLen),
        'completed as csum_start/csum_offset say, the checksum verifies',
      );
    },
  );

  tapIt('a checksum-partial frame is delivered with NEEDS_CSUM, and is a checksum error without it', async () => {
    assert.notDeepEqual(kernelMac, new Uint8Array(6), 'runs after the ARP exchange');
    const frame = udpFrameToKernel(new TextEncoder().encode('csum offload'), kernelMac);
    assert.equal(qs[0]!.write(frame), frame.length);
    const icmp = await nextFrame(qs, (f) => {
      if (ether(f)?.ethertype !== ETHERTYPE_IP) return false;
      const p = parseIpv4(f, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN);
      return p.ok && p.value.protocol === IPPROTO_ICMP;
    });
    const m = parseIcmp(icmp.frame, VIRTIO_NET_HDR_LEN + ETHER_HDR_LEN + IP_HDR_LEN);
    assert.ok(m.ok);
    assert.equal(m.value.kind, 'destUnreachable');
    assert.equal(m.value.kind === 'destUnreachable' && m.value.code, ICMP_UNREACH_PORT);

    // Without the flag the field is just a wrong checksum: UDP counts InCsumErrors.
    const before = udpInCsumErrors();
    frame[0] = 0;
    assert.equal(qs[0]!.write(frame), frame.length);
    // Delivery is synchronous in tun_get_user unless IFF_NAPI; allow a softirq's delay anyway.
    const deadline = Date.now() + 2000;
    while (udpInCsumErrors() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(udpInCsumErrors(), before + 1);
  });

  tapIt('a header the kernel cannot honour is refused with a typed EINVAL', () => {
    const frame = udpFrameToKernel(new Uint8Array(4), kernelMac);
    // csum_start points past the frame: virtio_net_hdr_to_skb says EINVAL.
    frame[6] = 0xff;
    frame[7] = 0x0f;
    assert.throws(
      () => qs[0]!.write(frame),
      (e: unknown) => e instanceof NativeError && e.code === 'EINVAL' && e.syscall === 'write',
    );
  });

  tapIt('a detached queue gets no frames from the kernel until attached again (writes still go through)', async () => {
    const q = qs[1]!;
    q.detach();
    try {
      // TUNSETQUEUE/IFF_DETACH_QUEUE takes the queue out of tun_select_queue's choice only.
      sendFlows(2001, 8);
      assert.deepEqual(await collect(qs, udpTo(2001, 2008), 8), [0, 0, 0, 0, 0, 0, 0, 0]);
      const frame = udpFrameToKernel(new Uint8Array(1), kernelMac);
      assert.equal(q.write(frame), frame.length);
    } finally {
      q.attach();
    }
    // 16 new flows spread by hash over both queues again (all on one: p = 2^-15).
    sendFlows(3001, 16);
    const from = await collect(qs, udpTo(3001, 3016), 16);
    assert.ok(from.includes(1) && from.includes(0), `queues of 16 flows: ${from.join(' ')}`);
  });
});

describe('a 12-byte header', () => {
  let q: TapQueue | undefined;
  after(() => q?.close());

  tapIt('TUNSETVNETHDRSZ 12 takes effect', () => {
    q = openTap({ name: `mcsm${process.pid}`, vnetHdr: true, vnetHdrSize: 12 });
    const sz = new Int32Array(1);
    libc.ioctl(q.fd, TUNGETVNETHDRSZ, new Uint8Array(sz.buffer));
    assert.equal(sz[0], 12);
    assert.equal(q.vnetHdrSize, 12);
  });
});
