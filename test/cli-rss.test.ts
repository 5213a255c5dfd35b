/**
 * `mcstack rss hash` and `mcstack rss spread` through the real binary (spawned), checked
 * against the Microsoft RSS verification vectors and against sums the output must obey.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap, writePcapng } from '@mcstack/wire';

// Compiled to test/dist/; paths from the repository root.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const fixtures = join(root, 'packages/cli/test/fixtures');
const vectors = JSON.parse(readFileSync(join(root, 'packages/rss/test/fixtures/toeplitz-ms-vectors.json'), 'utf8')) as {
  vectors: {
    family: string;
    src: string;
    dst: string;
    sport: number;
    dport: number;
    ipv4_only_hash: string;
    with_ports_hash: string;
  }[];
};

function mcstack(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('rss hash: every Microsoft vector, 2-tuple and 4-tuple, IPv4 and IPv6', () => {
  assert.equal(vectors.vectors.length, 8);
  for (const v of vectors.vectors) {
    const two = mcstack('rss', 'hash', '--src', v.src, '--dst', v.dst, '--workers', '2');
    assert.equal(two.code, 0, two.err);
    assert.equal(two.out.split(' ')[0], v.ipv4_only_hash, `${v.src} 2-tuple`);
    assert.match(two.out, v.family === 'ipv4' ? / RSS_IPV4 / : / RSS_IPV6 /);
    const four = mcstack(
      'rss',
      'hash',
      '--src',
      v.src,
      '--dst',
      v.dst,
      '--sport',
      String(v.sport),
      '--dport',
      String(v.dport),
      '--workers',
      '2',
    );
    assert.equal(four.code, 0, four.err);
    assert.equal(four.out.split(' ')[0], v.with_ports_hash, `${v.src} 4-tuple`);
    assert.match(four.out, v.family === 'ipv4' ? / RSS_TCP_IPV4 / : / RSS_TCP_IPV6 /);
  }
});

test('rss hash --json: shape, bucket and worker from the indirection table', () => {
  const v = vectors.vectors.find((x) => x.family === 'ipv6')!;
  const r = mcstack(
    'rss',
    'hash',
    '--src',
    v.src,
    '--dst',
    v.dst,
    '--sport',
    String(v.sport),
    '--dport',
    String(v.dport),
    '--workers',
    '3',
    '--buckets',
    '16',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j).sort(), [
    'bucket',
    'buckets',
    'dport',
    'dst',
    'hash',
    'hashType',
    'key',
    'sport',
    'src',
    'worker',
    'workers',
  ]);
  assert.equal(j.hash, v.with_ports_hash);
  assert.equal(j.hashType, 'RSS_TCP_IPV6');
  assert.equal(j.bucket, Number(v.with_ports_hash) & 15);
  assert.equal(j.worker, j.bucket % 3); // round-robin fill
  assert.deepEqual([j.buckets, j.workers, j.sport, j.dport, j.src], [16, 3, v.sport, v.dport, v.src]);
  // Another key changes the hash; an embedded-IPv4 IPv6 form parses.
  const k = mcstack(
    'rss',
    'hash',
    '--src',
    '::ffff:1.2.3.4',
    '--dst',
    '::1',
    '--key',
    `${'00'.repeat(39)}01`,
    '--workers',
    '1',
    '--json',
  );
  assert.equal(k.code, 0, k.err);
  assert.equal(JSON.parse(k.out).hash, '0x00000000');
  assert.equal(JSON.parse(k.out).src, '::ffff:1.2.3.4');
});

test('bad arguments exit 2 with one line on stderr', () => {
  const cases: [string[], string][] = [
    [
      ['rss', 'hash', '--src', 'foo', '--dst', '1.2.3.4'],
      'mcstack: rss hash: --src: not an IPv4 or IPv6 address: "foo"',
    ],
    [['rss', 'hash', '--src', '1.2.3.4'], 'mcstack: rss hash: --dst: required'],
    [
      ['rss', 'hash', '--src', '1.2.3.4', '--dst', '::1'],
      'mcstack: rss hash: --src and --dst: one is IPv4, the other IPv6',
    ],
    [
      ['rss', 'hash', '--src', '1.2.3.4', '--dst', '1.2.3.5', '--sport', '1'],
      'mcstack: rss hash: --sport and --dport: give both or neither',
    ],
    [
      ['rss', 'hash', '--src', '1.2.3.4', '--dst', '1.2.3.5', '--sport', '65536', '--dport', '1'],
      'mcstack: rss hash: --sport: not an integer from 0 to 65535: "65536"',
    ],
    [
      ['rss', 'hash', '--src', '1.2.3.4', '--dst', '1.2.3.5', '--buckets', '6'],
      'mcstack: rss hash: --buckets: RSS bucket count must be a power of two from 1 to 128, got 6',
    ],
    [
      ['rss', 'hash', '--src', '1.2.3.4', '--dst', '1.2.3.5', '--key', 'abc'],
      'mcstack: rss hash: --key: not a hex key: "abc"',
    ],
    [['rss', 'hash', '--bogus'], 'mcstack: rss hash: unknown option --bogus'],
    [['rss', 'spread'], 'mcstack: rss spread: give a capture FILE or --flows N (one of them)'],
    [['rss', 'frobnicate'], 'mcstack: rss: unknown command "frobnicate" (try --help)'],
  ];
  for (const [args, line] of cases) {
    const r = mcstack(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err, `${line}\n`);
    assert.equal(r.out, '');
  }
});

test('--help exits 0 and lists the rss commands', () => {
  const r = mcstack('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /rss hash/);
  assert.match(r.out, /rss spread/);
  const h = mcstack('rss', 'hash', '--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /^usage: mcstack rss hash --src ADDR --dst ADDR/);
});

interface Spread {
  packets: number;
  flows: number;
  workers: number;
  buckets: number;
  skipped: { nonIp: number; malformed: number };
  hashTypes: Record<string, number>;
  perWorker: {
    worker: number;
    buckets: number[];
    flows: number;
    packets: number;
    flowShare: number;
    packetShare: number;
  }[];
  perBucket: { bucket: number; worker: number; flows: number; packets: number }[];
  imbalance: { flows: number; packets: number };
  parallel: { tasks: number; threads: number };
}

function checkSums(s: Spread): void {
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const hashed = s.packets - s.skipped.nonIp - s.skipped.malformed;
  assert.equal(sum(s.perWorker.map((w) => w.packets)), hashed);
  assert.equal(sum(s.perBucket.map((b) => b.packets)), hashed);
  assert.equal(sum(Object.values(s.hashTypes)), hashed);
  assert.equal(sum(s.perWorker.map((w) => w.flows)), s.flows);
  assert.equal(sum(s.perBucket.map((b) => b.flows)), s.flows);
  assert.equal(s.perWorker.length, s.workers);
  assert.equal(s.perBucket.length, s.buckets);
  for (const w of s.perWorker) {
    const mine = s.perBucket.filter((b) => b.worker === w.worker);
    assert.deepEqual(
      w.buckets,
      mine.map((b) => b.bucket),
    );
    assert.equal(w.packets, sum(mine.map((b) => b.packets)));
    assert.ok(Math.abs(w.packetShare - w.packets / hashed) < 1e-12);
  }
  const maxOverMean = (a: number[]) => Math.max(...a) / (sum(a) / a.length);
  assert.ok(Math.abs(s.imbalance.flows - maxOverMean(s.perWorker.map((w) => w.flows))) < 1e-12);
  assert.ok(Math.abs(s.imbalance.packets - maxOverMean(s.perWorker.map((w) => w.packets))) < 1e-12);
}

function spreadJson(...args: string[]): Spread {
  const r = mcstack('rss', 'spread', ...args, '--json');
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Spread;
}

test('rss spread on the fixture captures: counts add up; the piscina pool agrees with inline hashing', () => {
  const dns = spreadJson(join(fixtures, 'tcpdump-dns_tcp.pcap'), '--workers', '2', '--buckets', '8');
  checkSums(dns);
  // One TCP connection, both directions: 11 packets, 2 flows, all TCP 4-tuple hashes.
  assert.deepEqual([dns.packets, dns.flows, dns.hashTypes], [11, 2, { RSS_TCP_IPV4: 11 }]);
  assert.equal(dns.parallel.tasks, 0);

  const file6 = join(fixtures, 'pcapplusplus-one_ipv6_http_stream.pcap');
  const inline = spreadJson(file6, '--workers', '3');
  checkSums(inline);
  assert.deepEqual([inline.packets, inline.flows, inline.hashTypes], [19, 2, { RSS_TCP_IPV6: 19 }]);
  const pooled = spreadJson(file6, '--workers', '3', '--batch', '4');
  assert.equal(pooled.parallel.tasks, 5);
  assert.ok(pooled.parallel.threads >= 1);
  assert.deepEqual({ ...pooled, parallel: null }, { ...inline, parallel: null });

  // The same frames as pcapng give the same spread.
  const pcap = readPcap(new Uint8Array(readFileSync(file6)));
  assert.ok(pcap.ok);
  const dir = mkdtempSync(join(tmpdir(), 'mcstack-spread-'));
  try {
    const ng = join(dir, 'stream.pcapng');
    writeFileSync(
      ng,
      writePcapng(
        { interfaces: [{ linkType: pcap.value.linkType, snapLen: 65535, tsresol: 6 }] },
        pcap.value.packets.map((p) => ({ ...p, interfaceId: 0 })),
      ),
    );
    const fromNg = spreadJson(ng, '--workers', '3');
    assert.deepEqual({ ...fromNg, input: null }, { ...inline, input: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rss spread --flows with a fixed seed: deterministic, counts add up, near-even spread', () => {
  const a = spreadJson('--flows', '20000', '--seed', '42', '--workers', '4');
  const b = spreadJson('--flows', '20000', '--seed', '42', '--workers', '4');
  assert.deepEqual(a, b);
  checkSums(a);
  assert.equal(a.flows, 20000);
  assert.equal(a.buckets, 8);
  assert.deepEqual(Object.keys(a.hashTypes), ['RSS_TCP_IPV4']);
  // 20000 uniform flows over 4 workers: max/mean within a few percent (binomial sd ~0.7%).
  assert.ok(a.imbalance.flows >= 1 && a.imbalance.flows < 1.05, String(a.imbalance.flows));
  const c = spreadJson('--flows', '20000', '--seed', '43', '--workers', '4');
  assert.notDeepEqual(c.perWorker, a.perWorker);
  const human = mcstack('rss', 'spread', '--flows', '1000', '--seed', '42', '--workers', '2');
  assert.equal(human.code, 0);
  assert.match(human.out, /^worker\s+buckets\s+flows\s+share\s+packets\s+share$/m);
  assert.match(human.out, /imbalance \(max\/mean over workers\): flows \d\.\d{3}, packets \d\.\d{3}/);
});
