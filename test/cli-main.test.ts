/**
 * The `mcstack` subcommand framework in process: dispatch on the registry table, option
 * parsing, --json vs human output, --help, and exit codes (0 ok, 1 failed, 2 usage).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main, defineCommand, UsageError, commands, type Io } from '@mcstack/cli';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}

const echo = defineCommand({
  path: ['demo', 'echo'],
  summary: 'echo options back',
  options: [
    { name: 'n', type: 'int', arg: 'N', min: 1, max: 9, required: true, help: 'a number' },
    { name: 'word', type: 'string', arg: 'W', help: 'a word' },
    { name: 'loud', type: 'flag', help: 'shout' },
  ],
  positionals: [{ name: 'REST', help: 'one more', optional: true }],
  run: (a) => ({ n: a.int('n')!, word: a.str('word') ?? null, loud: a.has('loud'), rest: a.positionals[0] ?? null }),
  human: (r) => `${r.loud ? String(r.word).toUpperCase() : r.word} x${r.n}`,
});
const fail = defineCommand({
  path: ['demo', 'fail'],
  summary: 'fails',
  options: [{ name: 'usage', type: 'flag', help: 'fail as a usage error' }],
  run: (a): never => {
    if (a.has('usage')) throw new UsageError('--usage: asked for it');
    throw Object.assign(new Error('no such thing\nsecond line'), { code: 'ENOENT' });
  },
  human: () => '',
});
const own = defineCommand({
  path: ['demo', 'own'],
  summary: 'has its own --json FILE',
  options: [{ name: 'json', type: 'string', arg: 'FILE', help: 'write here' }],
  run: (a) => ({ file: a.str('json') ?? null }),
  human: (r) => `file ${r.file}`,
});
const table = [echo, fail, own];

test('dispatch, human and --json output', async () => {
  let io = capture();
  assert.equal(await main(['demo', 'echo', '--n', '3', '--word=hi', '--loud', 'x'], io, table), 0);
  assert.equal(io.stdout, 'HI x3\n');
  io = capture();
  assert.equal(await main(['demo', 'echo', '--json', '--n', '0x2'], io, table), 0);
  assert.deepEqual(JSON.parse(io.stdout), { n: 2, word: null, loud: false, rest: null });
  assert.equal(io.stderr, '');
});

test('--json before the command as well as after it', async () => {
  let io = capture();
  assert.equal(await main(['--json', 'demo', 'echo', '--n', '4'], io, table), 0, io.stderr);
  assert.deepEqual(JSON.parse(io.stdout), { n: 4, word: null, loud: false, rest: null });
  io = capture();
  assert.equal(await main(['--json', 'demo', 'echo', '--n', '4', '--json'], io, table), 0, io.stderr);
  assert.equal(JSON.parse(io.stdout).n, 4);
  // A command whose --json takes a FILE: the framework's flag cannot go before it.
  io = capture();
  assert.equal(await main(['--json', 'demo', 'own'], io, table), 2);
  assert.match(io.stderr, /^mcstack: demo own: --json before the command: its own --json takes a FILE/);
  io = capture();
  assert.equal(await main(['demo', 'own', '--json', 'x.json'], io, table), 0);
  assert.equal(io.stdout, 'file x.json\n');
  // The registered commands too.
  io = capture();
  assert.equal(await main(['--json', 'rss', 'hash', '--src', '10.0.0.1', '--dst', '10.0.0.2'], io), 0, io.stderr);
  assert.equal(typeof JSON.parse(io.stdout), 'object');
});

test('a missing input file exits 2 for every command that reads one; capture limits are usage errors', async () => {
  const cases: [string[], RegExp][] = [
    [['drill', '/nonexistent/x.pkt'], /no such file or directory: \/nonexistent\/x\.pkt/],
    [['rss', 'spread', '/nonexistent/x.pcap'], /no such file or directory: \/nonexistent\/x\.pcap/],
    [['serve', '--config', '/nonexistent/x.json'], /\/nonexistent\/x\.json: \(top level\): cannot read: ENOENT/],
    [['capture', '-i', 'cxgbe0', '-w', '/tmp/x.pcapng', '-c', '-1', '--socket', '/nonexistent/s'], /-c/],
    [['capture', '-i', 'cxgbe0', '-w', '/tmp/x.pcapng', '-c', '0', '--socket', '/nonexistent/s'], /-c: not an integer/],
    [
      ['capture', '-i', 'cxgbe0', '-w', '/tmp/x.pcapng', '-s', '1000000000000', '--socket', '/nonexistent/s'],
      /-s: not an integer from 1 to 262144/,
    ],
    [
      ['capture', '-i', 'cxgbe0', '-w', '/tmp/x.pcapng', '-c', '100000000', '--socket', '/nonexistent/s'],
      /-c: not an integer from 1 to 1000000/,
    ],
  ];
  for (const [argv, re] of cases) {
    const io = capture();
    assert.equal(await main(argv, io), 2, `${argv.join(' ')}: ${io.stderr}`);
    assert.match(io.stderr, re);
    assert.equal(io.stderr.split('\n').length, 2, 'one line');
  }
});

test('usage errors exit 2 with one line; other errors exit 1 with their code', async () => {
  const cases: [string[], string][] = [
    [['demo', 'echo'], 'mcstack: demo echo: --n: required'],
    [['demo', 'echo', '--n', '10'], 'mcstack: demo echo: --n: not an integer from 1 to 9: "10"'],
    [['demo', 'echo', '--n', '1', '--n', '2'], 'mcstack: demo echo: --n: given more than once'],
    [['demo', 'echo', '--n'], 'mcstack: demo echo: --n: missing value'],
    [['demo', 'echo', '--n', '1', '--loud=yes'], 'mcstack: demo echo: --loud: takes no value'],
    [['demo', 'echo', '--n', '1', 'a', 'b'], 'mcstack: demo echo: unexpected argument "b"'],
    [['demo', 'echo', '-x'], 'mcstack: demo echo: unknown option -x'],
    [['demo', 'fail', '--usage'], 'mcstack: demo fail: --usage: asked for it'],
    [['demo', 'nope'], 'mcstack: demo: unknown command "nope" (try --help)'],
    [['nope'], 'mcstack: unknown command "nope" (try --help)'],
  ];
  for (const [argv, line] of cases) {
    const io = capture();
    assert.equal(await main(argv, io, table), 2, argv.join(' '));
    assert.equal(io.stderr, `${line}\n`);
  }
  const io = capture();
  assert.equal(await main(['demo', 'fail'], io, table), 1);
  assert.equal(io.stderr, 'mcstack: demo fail: ENOENT: no such thing\n');
});

test('help: top level, a group, a command', async () => {
  let io = capture();
  assert.equal(await main(['--help'], io, table), 0);
  assert.match(io.stdout, /demo echo\s+echo options back/);
  io = capture();
  assert.equal(await main(['demo'], io, table), 2);
  assert.match(io.stderr, /demo fail\s+fails/);
  io = capture();
  assert.equal(await main(['demo', 'echo', '--help'], io, table), 0);
  assert.match(io.stdout, /^usage: mcstack demo echo \[REST\] --n N \[--word W\] \[--loud\] \[--json\]$/m);
});

test('the registry lists rss hash and rss spread, paths unique', () => {
  const paths = commands.map((c) => c.path.join(' '));
  assert.ok(paths.includes('rss hash') && paths.includes('rss spread'));
  assert.equal(new Set(paths).size, paths.length);
});
