// The packetdrill parser: small scripts give the expected AST with line numbers, bad
// syntax is a ScriptSyntaxError naming its line, and every script of the FreeBSD TCP
// test suite (../shared/data/tcp-testsuite, when present) parses or is reported as
// unsupported, without crashing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseScript, ScriptSyntaxError, type PacketEvent, type SyscallEvent } from '@mcstack/packetdrill';
import { suiteDir, suiteScripts } from './drill-suite-files.js';

test('options, times and a handshake parse with their line numbers', () => {
  const s = parseScript(
    [
      '--ip_version=ipv6',
      '--tolerance_usecs=50000',
      '',
      ' 0.00 `sysctl -w net.inet.tcp.sack.enable=1`',
      '+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)',
      '+0.00 > S  0:0(0) win 65535 <mss 1440,nop,wscale 6,sackOK,TS val 100 ecr 0>',
      '+0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>',
      '1.00...6.00 read(3, ..., 100) = 3',
      '*  > . 1:1(0) ack 1 <...>',
      '+0.1~+0.2 %{ assert tcpi_state == TCPI_ESTABLISHED }%',
    ].join('\n'),
  );
  assert.deepEqual(
    s.options.map((o) => [o.name, o.value, o.line]),
    [
      ['ip_version', 'ipv6', 1],
      ['tolerance_usecs', '50000', 2],
    ],
  );
  assert.deepEqual(
    s.events.map((e) => e.line),
    [4, 5, 6, 7, 8, 9, 10, 11],
  );
  assert.deepEqual(s.events[0]!.time, { kind: 'absolute', usecs: 0 });
  assert.deepEqual(s.events[4]!.time, { kind: 'relative', usecs: 100_000 });
  const connect = s.events[2]!.body as SyscallEvent;
  assert.equal(connect.name, 'connect');
  assert.deepEqual(connect.result, { t: 'int', v: -1 });
  assert.equal(connect.errno, 'EINPROGRESS');
  const syn = s.events[3]!.body as PacketEvent;
  assert.equal(syn.direction, 'outbound');
  assert.deepEqual(syn.tcp, {
    flags: 'S',
    seq: 0,
    seqEnd: 0,
    payloadLen: 0,
    win: 65535,
    options: [
      { kind: 'mss', value: 1440 },
      { kind: 'nop' },
      { kind: 'wscale', value: 6 },
      { kind: 'sackOK' },
      { kind: 'timestamp', val: 100, ecr: 0 },
    ],
  });
  const synack = s.events[4]!.body as PacketEvent;
  assert.equal(synack.tcp!.flags, 'S.');
  assert.equal(synack.tcp!.ack, 1);
  const read = s.events[5]!.body as SyscallEvent;
  assert.deepEqual(s.events[5]!.time, { kind: 'absolute', usecs: 1_000_000 });
  assert.deepEqual(read.end, { kind: 'absolute', usecs: 6_000_000 });
  assert.deepEqual(s.events[6]!.time, { kind: 'any' });
  assert.equal((s.events[6]!.body as PacketEvent).tcp!.options, 'any');
  assert.deepEqual(s.events[7]!.time, { kind: 'relative-range', usecs: 100_000, endUsecs: 200_000 });
  assert.deepEqual(s.events[7]!.body, { type: 'code', code: 'assert tcpi_state == TCPI_ESTABLISHED' });
});

test('#ifdef keeps FreeBSD branches and line numbers', () => {
  const s = parseScript(
    [
      '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '#ifdef STANDARD',
      '+0 close(3) = 0',
      '#else',
      '+0 close(4) = 0',
      '#endif',
      '#ifdef FreeBSD',
      '+0 < icmp unreachable frag_needed mtu 1234 [1:1(0)]',
      '#endif',
    ].join('\n'),
  );
  assert.deepEqual(
    s.events.map((e) => e.line),
    [1, 5, 8],
  );
  assert.deepEqual((s.events[1]!.body as SyscallEvent).args, [{ t: 'int', v: 4 }]);
  assert.deepEqual((s.events[2]!.body as PacketEvent).icmp, {
    type: 'unreachable',
    code: 'frag_needed',
    mtu: 1234,
    tcpSeq: 1,
    tcpPayloadLen: 0,
  });
});

test('syntax errors name their line', () => {
  assert.throws(
    () => parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:10(5) win 1\n'),
    (e: unknown) => e instanceof ScriptSyntaxError && e.line === 2 && /inconsistent sequence range/.test(e.message),
  );
  assert.throws(
    () => parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n+0 > Q 0:0(0)\n'),
    (e: unknown) => e instanceof ScriptSyntaxError && e.line === 3,
  );
  assert.throws(
    () => parseScript('0 `sysctl -w a=1\n'),
    (e: unknown) => e instanceof ScriptSyntaxError && e.line === 1,
  );
  assert.throws(
    () => parseScript('#ifdef FreeBSD\n0 close(3) = 0\n'),
    (e: unknown) => e instanceof ScriptSyntaxError && e.line === 1,
  );
});

test('constructs the runner cannot execute are marked unsupported, not dropped', () => {
  const s = parseScript('0 < . 1:1(0) ack 1 win 1 urg 1\n');
  assert.match(s.events[0]!.unsupported ?? '', /urgent/);
});

test('/udp(src > dst) parses into the segment (TCP over UDP)', () => {
  const s = parseScript('0 < F. 1:1(0) ack 1 win 32767/udp(1 > 9811)\n');
  const ev = s.events[0]!;
  assert.equal(ev.unsupported, undefined);
  assert.ok(ev.body.type === 'packet' && ev.body.tcp);
  assert.deepEqual(ev.body.tcp.udp, { src: 1, dst: 9811 });
});

test("md5 options and the '!' absolute-sequence mark parse into the segment", () => {
  const s = parseScript('0 > R. 0:0(0)! ack 1 win 0 <nop,nop,md5 valid>\n');
  const ev = s.events[0]!;
  assert.equal(ev.unsupported, undefined);
  assert.ok(ev.body.type === 'packet' && ev.body.tcp);
  assert.equal(ev.body.tcp.absoluteSeq, true);
  assert.deepEqual(ev.body.tcp.options, [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'md5', text: 'valid' }]);
});

test('every script of the FreeBSD TCP test suite parses', (t) => {
  if (!existsSync(suiteDir)) {
    t.skip(`${suiteDir} is absent (../shared is not checked out next to the repository)`);
    return;
  }
  const files = suiteScripts();
  assert.ok(files.length >= 600, `found only ${files.length} scripts`);
  const failures: string[] = [];
  for (const f of files) {
    try {
      const s = parseScript(readFileSync(f, 'utf8'));
      assert.ok(s.events.length > 0, `${f}: no events`);
    } catch (e) {
      failures.push(`${f}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});
