/**
 * The SYN cache under a spoofed SYN flood (tcp_syncache.c): 100,000 SYNs from random
 * addresses and ports (seeded) against one listener, interleaved with 1,000 real clients
 * connecting on the virtual clock. Buckets overflow, the cache pauses and answers with
 * cookies alone; the clients complete through their cookies; the cache never holds more
 * than its limit and nothing of the flood is left once it has timed out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { SeededRandom } from '../src/kern/random.js';
import { SS_ISCONNECTED } from '../src/kern/uipc_socket.js';
import { makePair } from './tcp-harness.js';
import { rawTcp4 } from './raw-tcp4.js';

/** A SYN with an MSS option from src:sport to 10.0.0.2:80. */
function spoofedSyn(buf: Uint8Array, src: number, sport: number, seq: number): Uint8Array {
  return rawTcp4(buf, { src, dst: 0x0a000002, sport, dport: 80, seq, flags: 0x02, mss: 1460 });
}

test('syncache: 100k spoofed SYNs and 1,000 clients — ≥ 99% connect, the cache stays within its limit', (t) => {
  const p = makePair();
  const b = p.b;
  const limit = b.sysctl.get('net.inet.tcp.syncache.cachelimit') as number;
  assert.equal(limit, 512 * 30, 'cachelimit = hashsize * bucketlimit');
  // SYN-ACKs to the spoofed sources leave by the default route and go nowhere.
  assert.equal(b.addRoute('0.0.0.0/0', '10.0.0.1'), 0);
  p.drop = (from, frame) => from === 'b' && !(frame[16] === 10 && frame[19] === 1);
  const lfd = b.socket('inet', 'stream');
  assert.equal(b.bind(lfd, { addr: '10.0.0.2', port: 80 }), 0);
  assert.equal(b.listen(lfd, 4096), 0);
  const rnd = new SeededRandom(42);
  const buf = new Uint8Array(64);
  const FLOOD = 100_000;
  const CLIENTS = 1000;
  const fds: number[] = [];
  let accepted = 0;
  let maxCount = 0;
  const drainAccept = () => {
    for (let fd = b.accept(lfd); fd >= 0; fd = b.accept(lfd)) {
      accepted++;
      b.close(fd);
    }
  };
  // One spoofed SYN every 10 µs (1 s of flood), a client every 100 SYNs.
  for (let i = 0; i < FLOOD; i++) {
    const src = (0x0b000000 | (rnd.u32() & 0x00ffffff)) >>> 0; // 11.0.0.0/8: never a real host here
    b.input('tun0', spoofedSyn(buf, src, 1024 + (rnd.u32() % 64000), rnd.u32()), p.now);
    if (i % 100 === 0 && fds.length < CLIENTS) {
      const fd = p.a.socket('inet', 'stream');
      p.a.connect(fd, { addr: '10.0.0.2', port: 80 });
      fds.push(fd);
    }
    if (i % 10 === 9) {
      p.run(p.now + 100);
      drainAccept();
    }
    maxCount = Math.max(maxCount, b.tcp.syncache.size);
  }
  p.run(p.now + 5_000_000);
  drainAccept();
  const st = b.tcp.stat;
  const connected = fds.filter((fd) => ((p.a.sockets.lookup(fd)?.so_state ?? 0) & SS_ISCONNECTED) !== 0).length;
  t.diagnostic(
    `connected ${connected}/${CLIENTS}, accepted ${accepted}, max cache ${maxCount}/${limit}, ` +
      `added ${st.tcps_sc_added}, bucketoverflow ${st.tcps_sc_bucketoverflow}, sendcookie ${st.tcps_sc_sendcookie}, ` +
      `recvcookie ${st.tcps_sc_recvcookie}, completed ${st.tcps_sc_completed}`,
  );
  assert.ok(connected >= 0.99 * CLIENTS, `${connected} of ${CLIENTS} clients connected`);
  assert.ok(accepted >= 0.99 * CLIENTS, `${accepted} accepted`);
  assert.ok(maxCount <= limit, `cache held ${maxCount} > ${limit}`);
  assert.ok(st.tcps_sc_bucketoverflow > 0, 'a bucket overflowed');
  assert.ok(st.tcps_sc_recvcookie > 0, 'clients completed through cookies');
  assert.ok(st.tcps_sc_sendcookie >= FLOOD, 'every SYN-ACK carried a cookie');
  // After the flood has timed out (SYN-ACK retransmissions exhausted, the pause over), no state is left.
  p.run(p.now + 120_000_000);
  assert.equal(b.tcp.syncache.size, 0);
  assert.equal(b.sysctl.get('net.inet.tcp.syncache.count'), 0);
});

test('syncache sizes are loader tunables: read at start, refused later; a zone at its limit is counted', () => {
  assert.throws(
    () => new Engine().sysctl.set('net.inet.tcp.syncache.hashsize', 1024),
    (e: Error & { code?: string }) => e.code === 'EPERM',
  );
  const e = new Engine({ tunables: { 'net.inet.tcp.syncache.hashsize': 64, 'net.inet.tcp.syncache.bucketlimit': 4 } });
  assert.equal(e.sysctl.get('net.inet.tcp.syncache.cachelimit'), 256);
  assert.throws(
    () => new Engine({ tunables: { 'net.inet.tcp.sack.enable': 0 } }),
    (x: Error & { code?: string }) => x.code === 'EINVAL',
  );
  // A cache limit below the buckets' room: the zone refuses, the oldest of the bucket makes room.
  const b = new Engine({ seed: 9, tunables: { 'net.inet.tcp.syncache.cachelimit': 8 } });
  b.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
  b.addAddr('tun0', '10.0.0.2/24');
  b.setUp('tun0', true);
  b.addRoute('0.0.0.0/0', '10.0.0.1');
  b.sysctl.set('net.inet.tcp.syncookies', 0);
  const lfd = b.socket('inet', 'stream');
  b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  b.listen(lfd, 128);
  const buf = new Uint8Array(64);
  for (let i = 0; i < 20; i++) b.input('tun0', spoofedSyn(buf, 0x0b000001 + i, 2000 + i, i * 1000), 1000 + i);
  assert.equal(b.tcp.syncache.size, 8);
  const z = b.uma.get('syncache')!;
  assert.equal(z.limit, 8);
  assert.equal(b.tcp.stat.tcps_sc_zonefail, 12);
  assert.ok(z.fail >= 12);
});
