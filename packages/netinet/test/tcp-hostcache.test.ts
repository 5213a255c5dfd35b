/**
 * The TCP host cache (FreeBSD tcp_hostcache.c): its sizes, limits, reuse of the least
 * recently used entry, expiry on the prune callout, its sysctls, and the metrics it
 * hands new connections (cc_conn_init) after storing them at close (tcp_discardcb).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { hostcacheCreate, TcpHostcache, newHcMetricsLite } from '../src/tcp/hostcache.js';
import { newTcpstat } from '../src/tcp/var.js';
import { makePair, bulkTransfer, addr16, type Pair } from './tcp-harness.js';

const S = 1_000_000;

test('sysctls: FreeBSD defaults; sizes, count and list read-only; list left out of a listing', () => {
  const e = new Engine();
  const get = (n: string) => e.sysctl.get(`net.inet.tcp.hostcache.${n}`);
  assert.deepEqual(
    ['cachelimit', 'hashsize', 'bucketlimit', 'count', 'expire', 'prune', 'purge', 'enable', 'purgenow'].map(get),
    [15360, 512, 30, 0, 3600, 300, 0, 1, 0],
  );
  for (const n of ['cachelimit', 'hashsize', 'bucketlimit', 'count', 'list'])
    assert.throws(() => e.sysctl.set(`net.inet.tcp.hostcache.${n}`, 1), { code: 'EPERM' });
  assert.throws(() => e.sysctl.set('net.inet.tcp.hostcache.enable', 2), { code: 'EINVAL' });
  assert.ok(!e.sysctl.list('net.inet.tcp.hostcache').some((o) => o.name.endsWith('.list')));
  assert.equal(e.sysctl.list('net.inet.tcp.hostcache.list').length, 1);
  e.tcp.hostcache.updatemtu(addr16('192.0.2.9'), 1400);
  assert.equal(get('count'), 1);
  assert.equal(
    get('list'),
    '\nIP address        MTU  SSTRESH      RTT   RTTVAR     CWND SENDPIPE RECVPIPE HITS  UPD  EXP\n' +
      '192.0.2.9        1400        0      0ms      0ms        0        0        0    0    1 3600\n',
  );
});

test('loader tunables size the cache (cachelimit at most hashsize × bucketlimit; a hash size not a power of 2 is the default)', () => {
  const sized = (t: Record<string, number | string>) => {
    const e = new Engine({ tunables: t });
    return ['hashsize', 'bucketlimit', 'cachelimit'].map((n) => e.sysctl.get(`net.inet.tcp.hostcache.${n}`));
  };
  const p = 'net.inet.tcp.hostcache.';
  assert.deepEqual(sized({ [`${p}hashsize`]: 64, [`${p}bucketlimit`]: 2 }), [64, 2, 128]);
  assert.deepEqual(sized({ [`${p}hashsize`]: 64, [`${p}bucketlimit`]: 2, [`${p}cachelimit`]: 1000 }), [64, 2, 128]);
  assert.deepEqual(sized({ [`${p}cachelimit`]: '100' }), [512, 30, 100]);
  const e = new Engine({ tunables: { [`${p}hashsize`]: 100 } });
  assert.equal(e.sysctl.get(`${p}hashsize`), 512);
  assert.ok(e.msgbuf.read().some((m) => /hostcache hash size is not a power of 2/.test(m.text)));
  assert.throws(() => new Engine({ tunables: { [`${p}hashsiz`]: 64 } }), { code: 'ENOENT' });
  assert.throws(() => new Engine({ tunables: { [`${p}bucketlimit`]: 'many' } }), { code: 'EINVAL' });
});

test('a full row reuses its least recently used entry (tcps_hc_bucketoverflow); a full cache fails an insert into an empty row', () => {
  const st = newTcpstat();
  // One row of two: every host hashes to it.
  const hc = new TcpHostcache(hostcacheCreate({ hashsize: 1, bucketlimit: 2 }, false), st);
  assert.ok(hc.updatemtu(addr16('192.0.2.1'), 1001));
  assert.ok(hc.updatemtu(addr16('192.0.2.2'), 1002));
  // Touching .1 makes .2 the least recently used.
  assert.ok(hc.updatemtu(addr16('192.0.2.1'), 1011));
  assert.ok(hc.updatemtu(addr16('192.0.2.3'), 1003));
  assert.equal(hc.count, 2);
  assert.equal(st.tcps_hc_added, 3);
  assert.equal(st.tcps_hc_bucketoverflow, 1);
  assert.deepEqual(
    ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a) => hc.getmtu(addr16(a))),
    [1011, 0, 1003],
  );

  // cachelimit 1 over many rows: the second host's row is empty, so nothing can be reused.
  const st2 = newTcpstat();
  const full = new TcpHostcache(hostcacheCreate({ cachelimit: 1 }, false), st2);
  assert.ok(full.updatemtu(addr16('192.0.2.1'), 1400));
  assert.equal(full.updatemtu(addr16('198.51.100.1'), 1400), false);
  assert.equal(full.count, 1);
  assert.equal(st2.tcps_hc_added, 1);
  assert.equal(st2.tcps_hc_bucketoverflow, 0);
  // The entry zone is bounded by the cache limit too: purged entries are reused.
  full.purge(true);
  assert.equal(full.count, 0);
  assert.ok(full.updatemtu(addr16('198.51.100.1'), 1300));
  assert.equal(full.getmtu(addr16('198.51.100.1')), 1300);
});

test('entries expire on the prune callout (expire, prune); purge empties at the next run, purgenow at once; enable=0 stops it', () => {
  const e = new Engine();
  const hc = e.tcp.hostcache;
  hc.updatemtu(addr16('192.0.2.1'), 1400);
  // purgenow: any write empties the cache at once.
  e.sysctl.set('net.inet.tcp.hostcache.purgenow', 1);
  assert.equal(hc.count, 0);

  // Through TCP, which arms the callout as it inserts: a connection that closes.
  const p = makePair(false, 13);
  transferAndClose(p, 64 << 10);
  const b = addr16('10.0.0.2');
  assert.equal(p.a.sysctl.get('net.inet.tcp.hostcache.count'), 1);
  const t0 = p.now;
  assert.ok(p.a.nextTimeout() <= t0 + 300 * S);
  p.a.sysctl.set('net.inet.tcp.hostcache.expire', 600);
  // Still there after one prune period, gone within expire + prune.
  p.run(t0 + 301 * S);
  assert.equal(p.a.tcp.hostcache.count, 1);
  const left = p.a.tcp.hostcache.entries()[0]!.expire;
  assert.ok(left > 0 && left < 3600, `expire counts down: ${left}`);
  for (let t = t0; t <= t0 + 3 * 3600 * S; t += 60 * S) p.run(t);
  assert.equal(p.a.tcp.hostcache.count, 0);
  assert.equal(p.a.nextTimeout(), Infinity);

  // purge: everything goes at the next run, and the flag resets.
  p.a.tcp.hostcache.updatemtu(b, 1300);
  transferAndClose(p, 16 << 10, 5002);
  assert.ok(p.a.tcp.hostcache.count >= 1);
  p.a.sysctl.set('net.inet.tcp.hostcache.purge', 1);
  p.run(p.now + 301 * S);
  assert.equal(p.a.tcp.hostcache.count, 0);
  assert.equal(p.a.sysctl.get('net.inet.tcp.hostcache.purge'), 0);

  // enable=0: no lookups, no inserts.
  p.a.sysctl.set('net.inet.tcp.hostcache.enable', 0);
  assert.equal(p.a.tcp.hostcache.updatemtu(b, 1300), false);
  const m = newHcMetricsLite();
  assert.equal(p.a.tcp.hostcache.get(b, m), false);
  assert.equal(p.a.tcp.hostcache.count, 0);
});

test('engines sharing one cache: one value per knob, one pace of ageing, and ageing goes on while any one runs', () => {
  const sab = hostcacheCreate();
  const a = new Engine({ seed: 1, hostcache: sab });
  const b = new Engine({ seed: 2, hostcache: sab });
  a.sysctl.set('net.inet.tcp.hostcache.expire', 900);
  assert.equal(b.sysctl.get('net.inet.tcp.hostcache.expire'), 900);
  // An entry one engine adds, the other finds.
  a.tcp.hostcache.updatemtu(addr16('192.0.2.1'), 1400);
  assert.equal(b.tcp.hostcache.getmtu(addr16('192.0.2.1')), 1400);
  assert.equal(b.sysctl.get('net.inet.tcp.hostcache.count'), 1);
  // Both callouts fire every 300 s, but each period runs once: 900 s of life end at the
  // fourth run (1200 s), as with one engine; run twice a period it would end at 600 s.
  const goneAt = (engines: Engine[], from: number) => {
    for (let t = from + 100 * S; t <= from + 3600 * S; t += 100 * S) {
      for (const e of engines) e.advance(t);
      if (a.tcp.hostcache.count === 0) return (t - from) / S;
    }
    return Infinity;
  };
  assert.equal(goneAt([a, b], 0), 1200);
  // a stops (a worker that died): b alone keeps ageing the cache, at the same pace.
  b.tcp.hostcache.updatemtu(addr16('192.0.2.2'), 1300);
  assert.equal(goneAt([b], 1200 * S), 1200);
});

/** bulkTransfer() to its end, `drop`: the nth big segment from A lost; then TIME_WAIT runs out (2 MSL). */
function transferAndClose(p: Pair, size: number, port = 5001, drop?: number): void {
  if (drop !== undefined) {
    let n = 0;
    p.drop = (from, frame) => from === 'a' && frame.length > 1000 && ++n === drop;
  }
  bulkTransfer(p, false, size, size, port).finish();
  p.drop = null;
  p.run(p.now + 61 * S);
}

test('a closed connection leaves RTT, variance and (after a loss) ssthresh in the cache; the next connection starts from them', () => {
  const p = makePair(false, 14);
  // One lost segment: fast recovery sets ssthresh below half the send buffer.
  transferAndClose(p, 512 << 10, 5001, 20);
  const st = p.a.tcp.stat;
  assert.equal(st.tcps_cachedrtt, 1);
  assert.equal(st.tcps_cachedrttvar, 1);
  assert.equal(st.tcps_cachedssthresh, 1);
  const [ent] = p.a.tcp.hostcache.entries();
  assert.ok(ent && ent.rtt > 0 && ent.rttvar > 0 && ent.ssthresh > 0 && ent.cwnd > 0);
  // The stored ssthresh is whole packets with their headers (tcp_discardcb).
  assert.equal(ent.ssthresh % (1460 + 40), 0);

  const c = p.a.socket('inet', 'stream');
  const l = p.b.socket('inet', 'stream');
  p.b.bind(l, { addr: '0.0.0.0', port: 5002 });
  p.b.listen(l, 5);
  p.a.connect(c, { addr: '10.0.0.2', port: 5002 });
  p.run(p.now + 10_000);
  const tp = p.a.sockets.lookup(c)?.so_pcb?.inp_ppcb;
  assert.ok(tp);
  assert.equal(st.tcps_usedrtt, 1);
  assert.equal(st.tcps_usedrttvar, 1);
  assert.equal(st.tcps_usedssthresh, 1);
  assert.equal(tp.snd_ssthresh, Math.max(2 * tp.t_maxseg, ent.ssthresh));
  assert.equal(p.a.tcp.hostcache.entries()[0]!.hits >= 1, true);
});
