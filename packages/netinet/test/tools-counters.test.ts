import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScene } from './tools-scenario.js';
import { snapshot, sumCounters, sumSnapshotCounters } from '../src/tools/snapshot.js';
import { formatStats, formatConnections } from '../src/tools/netstat.js';
import { formatZones, sumZones } from '../src/tools/vmstat.js';
import { formatSockstat } from '../src/tools/sockstat.js';

// Two "workers": the two hosts of the scene stand in for two engines whose
// counters a read must add, as FreeBSD adds DPCPU counters.
const scene = buildScene();
const w1 = snapshot(scene.a, { worker: 1, app: 'echo', pid: 7, user: 'root' });
const w2 = snapshot(scene.b, { worker: 2, app: 'client', pid: 7, user: 'root' });

test('sumCounters adds scalars and histograms field by field', () => {
  assert.deepEqual(sumCounters([{ a: 1, h: [1, 2, 0] }, { a: 2, b: 5, h: [0, 3, 4] }, { h: [1] }]), {
    a: 3,
    h: [2, 5, 4],
    b: 5,
  });
  assert.deepEqual(sumCounters([]), {});
});

test('counters of two snapshots are the sums of each worker, every field', () => {
  const sum = sumSnapshotCounters([w1, w2]);
  for (const block of ['tcpstat', 'udpstat', 'ipstat', 'icmpstat', 'ip6stat', 'icmp6stat'] as const) {
    for (const [k, v] of Object.entries(w1.counters[block])) {
      const o = w2.counters[block][k]!;
      const s = sum[block][k]!;
      if (Array.isArray(v))
        assert.deepEqual(
          s,
          v.map((x, i) => x + (o as number[])[i]!),
          `${block}.${k}`,
        );
      else assert.equal(s, v + (o as number), `${block}.${k}`);
    }
  }
  // The scene exchanged real traffic, so the sums are not trivially zero.
  assert.ok((sum.tcpstat.tcps_sndtotal as number) > (w1.counters.tcpstat.tcps_sndtotal as number));
});

test('netstat -s prints the summed values', () => {
  const t1 = w1.counters.tcpstat;
  const t2 = w2.counters.tcpstat;
  const sent = (t1.tcps_sndtotal as number) + (t2.tcps_sndtotal as number);
  const rcvd = (t1.tcps_rcvtotal as number) + (t2.tcps_rcvtotal as number);
  const out = formatStats([w1, w2], { proto: 'tcp' });
  assert.ok(out.includes(`\n\t${sent} packets sent\n`), out);
  assert.ok(out.includes(`\n\t${rcvd} packets received\n`));
  const est = (t1.tcps_states as number[])[4]! + (t2.tcps_states as number[])[4]!;
  assert.ok(out.includes(`\t${est} connections in ESTABLISHED state\n`));
  const ip = formatStats([w1, w2], { proto: 'ip' });
  const total = (w1.counters.ipstat.ips_total as number) + (w2.counters.ipstat.ips_total as number);
  assert.ok(ip.startsWith(`ip:\n\t${total} total packets received\n`));
});

test('zones are summed by name; connections are listed per worker with the worker in COMMAND', () => {
  const z = sumZones([w1, w2]);
  const used = (s: typeof w1, n: string) => s.zones.find((x) => x.name === n)!.used;
  assert.equal(z.find((x) => x.name === 'tcp_inpcb')!.used, used(w1, 'tcp_inpcb') + used(w2, 'tcp_inpcb'));
  // The limit is the stack's (net.inet.tcp.syncache.cachelimit), not the workers' added up.
  assert.equal(z.find((x) => x.name === 'syncache')!.limit, 15360);
  assert.equal(
    z.find((x) => x.name === 'syncache')!.requests,
    (w1.counters.tcpstat.tcps_sc_added as number) + (w2.counters.tcpstat.tcps_sc_added as number),
  );
  const size = w1.zones.find((x) => x.name === 'tcp_inpcb')!.size!;
  assert.ok(size > 0);
  assert.ok(
    formatZones([w1, w2]).includes(
      `${'tcp_inpcb:'.padEnd(20)} ${String(size).padStart(6)},      0,${String(used(w1, 'tcp_inpcb') + used(w2, 'tcp_inpcb')).padStart(8)},`,
    ),
  );
  const rows = formatConnections([w1, w2], { proto: 'tcp', all: true })
    .split('\n')
    .filter((l) => l.startsWith('tcp'));
  assert.equal(
    rows.length,
    w1.connections.filter((c) => c.proto === 'tcp').length + w2.connections.filter((c) => c.proto === 'tcp').length,
  );
  const ss = formatSockstat([w1, w2], { connected: true });
  assert.ok(ss.includes(' echo/w1 ') && ss.includes(' client/w2 '));
});
