// Shell commands and %{ }% snippets the runner emulates: what it accepts, what it
// refuses as unsupported, and how sockstat pipelines count like grep would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCode,
  parseCommand,
  runAssertions,
  runCommand,
  UnsupportedError,
  type DrillStack,
  type PcbEntry,
} from '@mcstack/packetdrill';

test('sysctl, sockstat and tcpdrop commands parse; anything else is unsupported', () => {
  assert.deepEqual(parseCommand('sysctl -w net.inet.tcp.sack.enable=1'), {
    kind: 'sysctl',
    settings: [['net.inet.tcp.sack.enable', '1']],
  });
  assert.deepEqual(parseCommand('sockstat -6 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0'), {
    kind: 'sockstat',
    family: 6,
    port: 8080,
    filters: [],
    countPattern: 'SYN_RCVD',
    expect: '0',
  });
  assert.deepEqual(parseCommand('sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1'), {
    kind: 'sockstat',
    family: 4,
    port: undefined,
    filters: ['packetdril'],
    countPattern: 'TIME_WAIT',
    expect: '1',
  });
  assert.deepEqual(parseCommand('tcpdrop -s TIME_WAIT'), { kind: 'tcpdrop', state: 10 });
  // setkey, with the suite's tcpmd5 module check in front (the engine has it built in).
  assert.deepEqual(
    parseCommand(
      `kldstat -q -m tcpmd5 || kldload tcpmd5; echo 'add 1.1.1.1 2.2.2.2 tcp 0x1000 -A tcp-md5 "s" ;' | setkey -c`,
    ),
    { kind: 'setkey', text: 'add 1.1.1.1 2.2.2.2 tcp 0x1000 -A tcp-md5 "s" ;' },
  );
  assert.deepEqual(parseCommand('setkey -F'), { kind: 'setkey', text: 'flush;' });
  for (const bad of [
    'echo hi',
    'setkey -D',
    `echo 'flush;' | setkey -c -v`,
    'sockstat -4 -P tcp | wc -l',
    'sysctl net.inet.tcp.sack.enable',
    'tcpdrop -s NOPE',
  ]) {
    assert.throws(() => parseCommand(bad), UnsupportedError, bad);
  }
});

test('sockstat counts matching connections the way grep -c | grep N does', () => {
  const pcbs: PcbEntry[] = [
    { family: 4, localPort: 8080, remotePort: 0, state: 1, hasFd: true },
    { family: 4, localPort: 8080, remotePort: 50000, state: 10, hasFd: true },
    { family: 4, localPort: 8080, remotePort: 0, state: 3, hasFd: false },
    { family: 6, localPort: 8080, remotePort: 50001, state: 10, hasFd: true },
    { family: 4, localPort: 9, remotePort: 50002, state: 10, hasFd: false },
  ];
  const stack = { pcbList: () => pcbs } as unknown as DrillStack;
  const run = (cmd: string) => runCommand(parseCommand(cmd), stack);
  assert.equal(run('sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1'), undefined);
  assert.equal(run('sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 1'), undefined);
  assert.match(
    run('sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0') ?? '',
    /1 connection\(s\) matching SYN_RCVD, expected 0/,
  );
  assert.equal(run('sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 2'), undefined);
  assert.match(run('sockstat -6 -P tcp -s | grep -c LISTEN | grep 1') ?? '', /0 connection/);
});

test('assertions over tcp_info', () => {
  const info = { tcpi_state: 4, tcpi_options: 0x0b };
  assert.equal(runAssertions(parseCode('assert tcpi_state == TCPI_ESTABLISHED'), info), undefined);
  assert.match(runAssertions(parseCode('assert tcpi_state == TCPI_CLOSE_WAIT'), info) ?? '', /tcpi_state = 4/);
  assert.equal(
    runAssertions(parseCode('assert tcpi_options == (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_ECN)'), info),
    undefined,
  );
  assert.equal(runAssertions(parseCode('assert tcpi_options & TCPI_OPT_WSCALE == 0'), info), undefined);
  assert.equal(
    runAssertions(parseCode('assert not tcpi_state == 1 and tcpi_state >= 4\nassert tcpi_options != 0'), info),
    undefined,
  );
  assert.throws(() => parseCode('print(tcpi_state)'), UnsupportedError);
  assert.throws(() => parseCode('assert tcpi_state == FOO'), UnsupportedError);
  assert.throws(() => runAssertions(parseCode('assert tcpi_nosuch == 1'), info), UnsupportedError);
});
