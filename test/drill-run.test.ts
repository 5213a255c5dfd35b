// The packetdrill runner against the engine with small scripts of our own
// (test/fixtures/drill): a conforming script passes, a wrong expectation fails at
// its line with expected and actual values, a packet the engine does not send in
// time is a failure, and an unsupported construct is an error, never a pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runScript, runScriptFile } from '@mcstack/packetdrill';
import { repoRoot } from './drill-suite-files.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'drill');

test('a passive open, data both ways and a close pass', () => {
  const r = runScriptFile(join(fixtures, 'passive-open-close.pkt'));
  assert.deepEqual(r, { file: join(fixtures, 'passive-open-close.pkt'), status: 'pass' });
});

test('a wrong window fails at its line with expected and actual', () => {
  const r = runScriptFile(join(fixtures, 'wrong-window.pkt'));
  assert.equal(r.status, 'fail');
  assert.equal(r.line, 19);
  assert.match(r.message ?? '', /window: expected 4242 vs actual 65535/);
});

test('an outbound packet the engine does not send in time fails', () => {
  const r = runScriptFile(join(fixtures, 'missing-packet.pkt'));
  assert.equal(r.status, 'fail');
  assert.equal(r.line, 10);
  assert.match(r.message ?? '', /(not sent|timing error)/);
});

test('an unsupported shell command is an error naming it', () => {
  const r = runScriptFile(join(fixtures, 'unsupported-shell.pkt'));
  assert.equal(r.status, 'error');
  assert.equal(r.line, 3);
  assert.match(r.message ?? '', /unsupported: shell command `echo hello`/);
});

test('an unexpected extra packet fails at the next event', () => {
  // The final ACK of the handshake is not sent by the script, so the engine
  // retransmits its SYN-ACK; nothing expects it.
  const r = runScript(
    [
      '--tolerance_usecs=10000',
      ' 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '+0 bind(3, ..., ...) = 0',
      '+0 listen(3, 1) = 0',
      '+0 < S 0:0(0) win 65535 <mss 1460>',
      '+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>',
      '+5 close(3) = 0',
    ].join('\n'),
    { file: 'extra' },
  );
  assert.equal(r.status, 'fail');
  assert.equal(r.line, 7);
  assert.match(r.message ?? '', /unexpected outbound packet/);
});

test('syscall results and errno are checked', () => {
  const r = runScript(
    [
      ' 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)',
      '+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0',
      '+0 fcntl(3, F_GETFL) = 0x06',
      '+0 recv(3, ..., 10, 0) = -1 EWOULDBLOCK (Operation would block)',
    ].join('\n'),
    { file: 'errno' },
  );
  assert.equal(r.status, 'fail');
  assert.equal(r.line, 5);
  assert.match(r.message ?? '', /expected errno EWOULDBLOCK vs actual ENOTCONN/);
});

test('mcstack drill prints one result per script (--json: {file, status, line, message}), exit 0 only if all pass', async () => {
  const { main } = await import('@mcstack/cli');
  let out = '';
  const io = {
    out: (t: string) => {
      out += t;
    },
    err: (t: string) => {
      out += t;
    },
  };
  const code = await main(['drill', fixtures, '--json'], io);
  assert.equal(code, 1, 'not every script passes: exit status 1');
  const results = JSON.parse(out) as { file: string; status: string; line?: number; message?: string }[];
  assert.deepEqual(
    results.map((r) => [r.file.split('/').pop(), r.status, r.line]),
    [
      ['missing-packet.pkt', 'fail', 10],
      ['passive-open-close.pkt', 'pass', undefined],
      ['unsupported-shell.pkt', 'error', 3],
      ['wrong-window.pkt', 'fail', 19],
    ],
  );
  out = '';
  assert.equal(
    await main(['drill', join(fixtures, 'passive-open-close.pkt'), join(fixtures, 'passive-open-close.pkt')], io),
    0,
  );
  assert.match(out, /2\/2 passed/);
  out = '';
  await main(['drill', join(fixtures, 'wrong-window.pkt')], io);
  assert.match(out, /^FAIL {2}.*wrong-window\.pkt:19: window: expected 4242 vs actual 65535/m);
  assert.match(out, /0\/1 passed \(0\.0%\), 1 failed, 0 error/);
});

/** A TCP-MD5 passive open: the SA's key, the script's own secret. */
const md5Script = (secret: string, key: string) => `--ip_version=ipv4
--tolerance_usecs=10000
--tcp_md5_secret=${secret}

 0.00 \`echo 'add 192.168.0.1 192.0.2.1 tcp 0x1000 -A tcp-md5 "${key}" ; add 192.0.2.1 192.168.0.1 tcp 0x1001 -A tcp-md5 "${key}" ;' | setkey -c\`
+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 setsockopt(3, IPPROTO_TCP, TCP_MD5SIG, [1], 4) = 0
+0.00 bind(3, ..., ...) = 0
+0.00 listen(3, 1) = 0
+0.00 < S  0:0(0) win 65535 <mss 1460,sackOK,md5 valid>
+0.00 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,md5 valid>
+0.01 < .  1:1(0) ack 1 win 65535 <nop,nop,md5 valid>
+0.00 accept(3, ..., ...) = 4
+0.00 < P. 1:1001(1000) ack 1 win 65535 <nop,nop,md5 invalid>
+0.00 < P. 1:1001(1000) ack 1 win 65535 <nop,nop,md5 valid>
+0.10 > .  1:1(0) ack 1001 <nop,nop,md5 valid>
`;

test('TCP-MD5 scripts: signed both ways with the shared key; a forged segment draws nothing', () => {
  assert.deepEqual(runScript(md5Script('secret', 'secret')), { file: '<script>', status: 'pass' });
});

test('TCP-MD5 scripts: another key on the stack drops the SYN, so the SYN-ACK never comes', () => {
  const r = runScript(md5Script('secret', 'other'));
  assert.equal(r.status, 'fail');
  assert.equal(r.line, 11);
});
