import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScene } from './tools-scenario.js';
import { formatIfconfig } from '../src/tools/ifconfig.js';
import { formatConnections, formatRoutes, formatStats } from '../src/tools/netstat.js';
import { formatSockstat } from '../src/tools/sockstat.js';
import { formatZones } from '../src/tools/vmstat.js';
import {
  formatSysctlGet,
  formatSysctlAll,
  parseSysctlArgs,
  applySysctl,
  formatSysctlChange,
} from '../src/tools/sysctl.js';
import { TF_TOE } from '../src/tcp/var.js';

/*
 * Golden output of every formatter for the seeded scene of tools-scenario.ts. The
 * layouts follow FreeBSD's sources: netstat inet.c protopr ("%-5.5s %-6.6s %-6.6s
 * %-22.22s %-22.22s %-11.11s" header, "%-3.3s%-2.2s %6u %6u " rows, inetprint's
 * "%.16s." + port in 22 columns, "%-11s" state; -x: twelve "%6u" socket-buffer
 * columns and six "%4d.%02d" timers), route.c (18/18/6/8/6 columns for Internet,
 * 33/29 with -n for Internet6, "link#N", bits[] flag letters), ifconfig.c
 * (printb "flags=%x<...>", "options=", "capabilities=", "ether", "inet ... netmask
 * 0x%x broadcast", "inet6 ... prefixlen"), sockstat.c (columns 9/20/26/30/37/59,
 * "addr:port", "?" for sockets no descriptor holds), vmstat.c domemstat_zone
 * ("%-20s %6s, %6s,%8s,%8s,%8s,%4s,%4s"), and the tcp_stats/ip_stats wording.
 */
const IFCONFIG = `${[
  'cxgbe0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500',
  '\toptions=68072b<RXCSUM,TXCSUM,VLAN_MTU,JUMBO_MTU,TSO4,TSO6,LRO,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>',
  '\tcapabilities=68c72b<RXCSUM,TXCSUM,VLAN_MTU,JUMBO_MTU,TSO4,TSO6,LRO,TOE4,TOE6,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>',
  '\tether 00:07:43:12:34:56',
  '\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255',
  '\tinet6 fd00::1 prefixlen 64',
  '\tmedia: Ethernet autoselect',
  '\tstatus: active',
].join('\n')}\n`;

const TCP = `${[
  'Active Internet connections (including servers)',
  'Proto Recv-Q Send-Q Local Address          Foreign Address        (state)    ',
  'tcp4    3000      0 10.0.0.1.7             10.0.0.2.23054         ESTABLISHED',
  'tcp6       0      0 fd00::1.7              fd00::2.18896          ESTABLISHED',
  'tcp4       0      0 10.0.0.1.7             10.0.0.2.58821         TIME_WAIT  ',
  'tcp6       0      0 *.7                    *.*                    LISTEN     ',
  'tcp4       0      0 *.7                    *.*                    LISTEN     ',
].join('\n')}\n`;

const UDP = `${[
  'Active Internet connections (including servers)',
  'Proto Recv-Q Send-Q Local Address          Foreign Address        (state)    ',
  'udp4       0      0 *.9                    *.*                    ',
  'udp6       0      0 fd00::1.63160          fd00::2.53             ',
].join('\n')}\n`;

const X = `${[
  'Active Internet connections (including servers)',
  'Proto Recv-Q Send-Q Local Address          Foreign Address        R-MBUF S-MBUF R-CLUS S-CLUS R-HIWA S-HIWA R-LOWA S-LOWA R-BCNT S-BCNT R-BMAX S-BMAX   rexmt persist    keep    2msl  delack rcvtime',
  'tcp4    3000      0 10.0.0.1.7             10.0.0.2.23054              0      0      0      0  65700  33580      1   2048   3000      0  65700  33580    0.00    0.00 7198.60    0.00    0.00    0.30',
  'tcp6       0      0 fd00::1.7              fd00::2.18896               0      0      0      0  66240  33120      1   2048      0      0  66240  33120    0.00    0.00 7197.60    0.00    0.00    2.40',
  // TIME_WAIT keeps no socket (FreeBSD frees it at tcp_twstart): its buffer columns are 0.
  'tcp4       0      0 10.0.0.1.7             10.0.0.2.58821              0      0      0      0      0      0      0      0      0      0      0      0    0.00    0.00    0.00   59.80    0.00    0.20',
  'tcp6       0      0 *.7                    *.*                         0      0      0      0  65536  32768      1   2048      0      0  65536  32768    0.00    0.00    0.00    0.00    0.00    2.40',
  'tcp4       0      0 *.7                    *.*                         0      0      0      0  65536  32768      1   2048      0      0  65536  32768    0.00    0.00    0.00    0.00    0.00    2.40',
].join('\n')}\n`;

const RN = `${[
  'Routing tables',
  '',
  'Internet:',
  'Destination        Gateway            Flags     Netif Expire',
  'default            10.0.0.254         UGS      cxgbe0',
  '10.0.0.0/24        link#2             U        cxgbe0',
  '10.0.0.1           link#2             UH          lo0',
  '127.0.0.0/8        link#1             U           lo0',
  '127.0.0.1          link#1             UH          lo0',
  '',
  'Internet6:',
  'Destination                       Gateway                       Flags     Netif Expire',
  '::1                               link#1                        UH          lo0',
  'fd00::/64                         link#2                        U        cxgbe0',
  'fd00::1                           link#2                        UH          lo0',
].join('\n')}\n`;

const SOCKSTAT = `${[
  'USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS      ',
  'root     dns/w1      4242 6   udp6   fd00::1:63160         fd00::2:53',
  'root     echo/w1     4242 8   tcp4   10.0.0.1:7            10.0.0.2:23054',
  'root     echo/w1     4242 9   tcp6   fd00::1:7             fd00::2:18896',
  '?        ?          ?     ?   tcp4   10.0.0.1:7            10.0.0.2:58821',
].join('\n')}\n`;

const VMSTAT = `${[
  'ITEM                   SIZE  LIMIT     USED     FREE      REQ FAIL SLEEP',
  '',
  'socket:                 192,  65536,       6,       0,       7,   0,   0',
  'tcp_inpcb:              704,      0,       5,       0,       5,   0,   0',
  'tcpreass:                56,      0,       0,       0,       0,   0,   0',
  'udp_inpcb:              272,      0,       2,       0,       2,   0,   0',
  'syncache:               264,  15360,       0,       2,       3,   0,   0',
  'sockbuf_4096:          4096,      0,       1,       0,       1,   0,   0',
  'hostcache:               68,  15360,       0,       0,       0,   -,   0',
  '',
].join('\n')}\n`;

const STCP = `${[
  'tcp:',
  '\t7 packets sent',
  '\t\t3 ack-only packets (1 delayed)',
  '\t\t4 control packets',
  '\t10 packets received', // cxgbe0's LRO merged two of the 3000 bytes' segments
  '\t\t4 acks (for 4 bytes)',
  '\t\t3 packets (3000 bytes) received in-sequence',
  '\t3 connection accepts',
  '\t3 connections established (including accepts)',
  '\t4 segments updated rtt (of 1 attempt)',
  '\t2 correct data packet header predictions',
  '\t3 syncache entries added',
  '\t\t3 completed',
  '\t3 cookies sent',
  'TCP connection count by state:',
  '\t2 connections in LISTEN state',
  '\t2 connections in ESTABLISHED state',
  '\t1 connection in TIME_WAIT state',
].join('\n')}\n`;

const SIP = `${[
  'ip:',
  '\t8 total packets received',
  '\t0 bad header checksums',
  '\t0 with size smaller than minimum',
  '\t0 with data size < data length',
  '\t0 with ip length > max ip packet size',
  '\t0 with header length < data size',
  '\t0 with data length < header length',
  '\t0 with bad options',
  '\t0 with incorrect version number',
  '\t0 fragments received',
  '\t0 fragments dropped (dup or out of space)',
  '\t0 fragments dropped after timeout',
  '\t0 packets reassembled ok',
  '\t8 packets for this host',
  '\t0 packets for unknown/unsupported protocol',
  '\t0 packets forwarded (0 packets fast forwarded)',
  '\t0 packets not forwardable',
  '\t0 packets received for unknown multicast group',
  '\t0 redirects sent',
  '\t6 packets sent from this host',
  '\t0 packets sent with fabricated ip header',
  '\t0 output packets dropped due to no bufs, etc.',
  '\t0 output packets discarded due to no route',
  '\t0 output datagrams fragmented',
  '\t0 fragments created',
  "\t0 datagrams that can't be fragmented",
  "\t0 tunneling packets that can't find gif",
  '\t0 datagrams with bad address in header',
].join('\n')}\n`;

const SYSCTL = `${[
  'net.inet.tcp.sack.enable: 1',
  'net.inet.tcp.sack.maxholes: 128',
  'net.inet.tcp.sack.revised: 1',
  'net.inet.ip.ttl: 64',
].join('\n')}\n`;

const scene = buildScene();
const snaps = [scene.snap()];

test('ifconfig -m cxgbe0: flags, options, capabilities with TOE4/TOE6, ether, inet, inet6, media, status', () => {
  assert.equal(formatIfconfig(snaps, { m: true, name: 'cxgbe0' }), IFCONFIG);
  // Without -m there is no capabilities line; -a lists lo0 (attached first) too.
  const all = formatIfconfig(snaps);
  assert.ok(all.startsWith('lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\n'));
  assert.ok(!all.includes('capabilities='));
  assert.ok(all.includes('\tinet 127.0.0.1 netmask 0xff000000\n'));
  assert.throws(() => formatIfconfig(snaps, { name: 'em9' }), {
    code: 'ENXIO',
    message: /interface em9 does not exist/,
  });
});

test('netstat -anp tcp / -anp udp: header, columns, addr.port and *.* formatting', () => {
  assert.equal(formatConnections(snaps, { proto: 'tcp', all: true }), TCP);
  assert.equal(formatConnections(snaps, { proto: 'udp', all: true }), UDP);
  // Without -a: no listeners, no sockets bound to the unspecified address, and the plain header.
  const noA = formatConnections(snaps, { proto: 'tcp' });
  assert.ok(noA.startsWith('Active Internet connections\n'));
  assert.ok(!noA.includes('LISTEN'));
  assert.equal(
    formatConnections(snaps, { proto: 'tcp', family: 6 })
      .split('\n')
      .filter((l) => l.startsWith('tcp')).length,
    1,
  );
});

test('netstat -anxp tcp: socket buffers and the rexmt/persist/keep/2msl/delack/rcvtime timers', () => {
  assert.equal(formatConnections(snaps, { proto: 'tcp', all: true, x: true }), X);
});

test('netstat -rn: routing tables; -F with a table that does not exist is EINVAL', () => {
  assert.equal(formatRoutes(snaps), RN);
  assert.throws(() => formatRoutes(snaps, { fib: 1 }), { code: 'EINVAL', message: /1: invalid fib/ });
  assert.equal(formatRoutes(snaps, { family: 6 }).includes('Internet:'), false);
});

test('sockstat -46c: application/worker as COMMAND, the pid, descriptors, ? for TIME_WAIT', () => {
  assert.equal(formatSockstat(snaps, { inet4: true, inet6: true, connected: true }), SOCKSTAT);
  const l = formatSockstat(snaps, { inet4: true, listening: true });
  assert.ok(l.includes('root     echo/w1     4242 3   tcp4   *:7                   *:*\n'));
  assert.ok(l.includes('root     discard/w1  4242 5   udp4   *:9                   *:*\n'));
  assert.ok(!l.includes('tcp6'));
});

test('vmstat -z: ITEM SIZE LIMIT USED FREE REQ FAIL SLEEP, - where the engine does not count', () => {
  assert.equal(formatZones(snaps), VMSTAT);
});

test('netstat -s -p tcp (-s -s: zero counters left out) and -s -p ip wording', () => {
  assert.equal(formatStats(snaps, { proto: 'tcp', zeros: false }), STCP);
  assert.equal(formatStats(snaps, { proto: 'ip' }), SIP);
  const all = formatStats(snaps);
  assert.deepEqual(
    all.split('\n').filter((l) => /^[a-z0-9]+:$/.test(l)),
    ['tcp:', 'udp:', 'ip:', 'icmp:', 'ip6:', 'icmp6:'],
  );
  assert.throws(() => formatStats(snaps, { proto: 'sctp' }), { code: 'EINVAL', message: /sctp: unknown protocol/ });
});

test('offloaded connections show as toe4/toe6 in netstat and sockstat (the TF_TOE flag)', () => {
  const sc = buildScene();
  for (const tp of sc.a.tcp.tcbs) if (tp.t_state === 4) tp.t_flags |= TF_TOE;
  const s = [sc.snap()];
  const ns = formatConnections(s, { proto: 'tcp', all: true });
  assert.ok(ns.includes('\ntoe4    3000      0 10.0.0.1.7             10.0.0.2.23054         ESTABLISHED\n'));
  assert.ok(ns.includes('\ntoe6       0      0 fd00::1.7              fd00::2.18896          ESTABLISHED\n'));
  assert.ok(ns.includes('\ntcp4       0      0 *.7 '));
  const ss = formatSockstat(s, { connected: true });
  assert.ok(ss.includes('root     echo/w1     4242 8   toe4   10.0.0.1:7            10.0.0.2:23054\n'));
});

test('sysctl NAME, NAME=VALUE (name: old -> new), -a; ENOENT, EINVAL, EPERM', () => {
  assert.equal(formatSysctlGet(snaps[0]!, ['net.inet.tcp.sack', 'net.inet.ip.ttl']), SYSCTL);
  assert.throws(() => formatSysctlGet(snaps[0]!, ['net.inet.tcp.nosuch']), {
    code: 'ENOENT',
    message: /unknown oid 'net.inet.tcp.nosuch'/,
  });
  const all = formatSysctlAll(snaps[0]!).split('\n').filter(Boolean);
  assert.equal(all.length, snaps[0]!.sysctls.filter((o) => !o.skip).length);
  // A CTLFLAG_SKIP OID: not in -a, not under its node, but by its own name.
  assert.ok(!all.some((l) => l.startsWith('net.inet.tcp.hostcache.list')));
  assert.ok(!formatSysctlGet(snaps[0]!, ['net.inet.tcp.hostcache']).includes('hostcache.list'));
  assert.match(
    formatSysctlGet(snaps[0]!, ['net.inet.tcp.hostcache.list']),
    /^net\.inet\.tcp\.hostcache\.list: \nIP address +MTU/,
  );
  assert.deepEqual([...all].sort(), all, 'sysctl -a is in name order');
  assert.deepEqual(parseSysctlArgs(['-a']), { all: true, args: [] });
  assert.deepEqual(parseSysctlArgs(['net.inet.ip.ttl=32', 'kern.x']), {
    all: false,
    args: [{ name: 'net.inet.ip.ttl', value: '32' }, { name: 'kern.x' }],
  });
  assert.throws(() => parseSysctlArgs(['-z']), { code: 'EINVAL' });
  assert.throws(() => parseSysctlArgs(['=3']), { code: 'EINVAL' });
  const sc = buildScene();
  assert.equal(formatSysctlChange(applySysctl(sc.a, 'net.inet.ip.ttl', '32')), 'net.inet.ip.ttl: 64 -> 32\n');
  assert.throws(() => applySysctl(sc.a, 'net.inet.ip.ttl', 'x'), { code: 'EINVAL' });
  assert.throws(() => applySysctl(sc.a, 'net.inet.ip.curfrags', '1'), { code: 'EPERM' });
  assert.throws(() => applySysctl(sc.a, 'net.inet.nosuch', '1'), { code: 'ENOENT' });
});

test('a snapshot is plain data: it survives JSON and structured clone unchanged', () => {
  const s = snaps[0]!;
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  assert.deepEqual(structuredClone(s), s);
  const again = [JSON.parse(JSON.stringify(s))];
  assert.equal(formatConnections(again, { proto: 'tcp', all: true }), TCP);
});
