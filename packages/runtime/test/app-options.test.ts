/**
 * Every app declares its options (apps/options.ts): a spec naming another key or a value
 * out of range is EINVAL (AppOptionError, naming the app and the option) where the spec is
 * written — Stack.create for the groups' apps and the card's (toe.apps) — and in the worker
 * for a module app, whose error crosses the thread as its code. Every declared option is one
 * the app reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IFCAP_TOE } from '@mcstack/netinet';
import { Stack, AppOptionError, appNames, appOptions, checkAppSpec, type StackOptions } from '../src/index.js';

const RR_APP = new URL('./support/rr-app.js', import.meta.url).href;

/** Each registry app with options it documents (README, docs/, the tests' usages) and one value out of its range. */
const CASES: Record<string, { ok: Record<string, unknown>; bad: [string, unknown] }> = {
  echo: { ok: { port: 7, backlog: 128 }, bad: ['port', 70000] },
  discard: { ok: { port: 9 }, bad: ['backlog', -1] },
  'http-lite': { ok: { port: 80, backlog: 1024 }, bad: ['port', 0] },
  'bulk-sender': {
    ok: { addr: '10.0.0.2', port: 7, bytes: 8 << 20, mode: 'echo', verify: true, connections: 2 },
    bad: ['mode', 'chargen'],
  },
  'rr-client': {
    ok: { addr: 'fd00::2', port: 7, connections: 16, size: 300, transactions: 25, hold: true, protocol: 'echo' },
    bad: ['size', 1.5],
  },
  'crr-client': {
    ok: { addr: '10.0.0.2', port: 80, protocol: 'http', size: 1000, count: 300, concurrency: 20 },
    bad: ['concurrency', 0],
  },
};

const throwsOption = (fn: () => unknown, app: string, key: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppOptionError, String(e));
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.app, app);
    assert.equal(e.option, key);
    assert.match(e.message, new RegExp(`app '${app}'.*'${key}'`));
    return true;
  });

test('every registry app has a case here and declares its options', () => {
  assert.deepEqual(appNames().sort(), Object.keys(CASES).sort());
  for (const name of appNames()) assert.ok(appOptions(name) !== undefined, name);
});

test('documented options pass; an unknown key and an out-of-range value are EINVAL naming app and key', () => {
  for (const [name, c] of Object.entries(CASES)) {
    checkAppSpec(name, c.ok);
    throwsOption(() => checkAppSpec(name, { ...c.ok, colour: 'red' }), name, 'colour');
    throwsOption(() => checkAppSpec(name, { ...c.ok, [c.bad[0]]: c.bad[1] }), name, c.bad[0]);
  }
  // Types: jexec's KEY=VALUE gives strings where a number is wanted.
  throwsOption(() => checkAppSpec('echo', { port: '7' }), 'echo', 'port');
  throwsOption(() => checkAppSpec('rr-client', { addr: '10.0.0', port: 7 }), 'rr-client', 'addr');
  throwsOption(() => checkAppSpec('rr-client', { addr: '10.0.0.2', port: 7, hold: 'yes' }), 'rr-client', 'hold');
  throwsOption(() => checkAppSpec('crr-client', { port: 7 }), 'crr-client', 'addr');
});

test('Stack.create refuses bad app options, for the groups and for the TOE card', () => {
  const base: StackOptions = { name: 'opts', workers: 1, addrs: ['10.0.0.1/24'] };
  for (const [name, c] of Object.entries(CASES)) {
    throwsOption(() => Stack.create({ ...base, apps: [{ name, options: { ...c.ok, colour: 1 } }] }), name, 'colour');
    throwsOption(
      () => Stack.create({ ...base, apps: [{ name, options: { ...c.ok, [c.bad[0]]: c.bad[1] } }] }),
      name,
      c.bad[0],
    );
  }
  const toe = (options: Record<string, unknown>): StackOptions => ({
    ...base,
    capabilities: IFCAP_TOE,
    modules: ['t4_tom'],
    toe: { apps: [{ name: 'rr-client', options }] },
  });
  throwsOption(() => Stack.create(toe({ addr: '10.0.0.2', port: 7, burst: 2 })), 'rr-client', 'burst');
  throwsOption(() => Stack.create(toe({ addr: '10.0.0.2', port: 7, connections: 0 })), 'rr-client', 'connections');
  assert.throws(() => Stack.create({ ...base, apps: [{ name: 'echo', options: null as never }] }), { code: 'EINVAL' });
});

test("a module app's factory checks its options in the worker: the start fails with EINVAL from there", async () => {
  for (const options of [
    { addr: '10.0.0.2', port: 7, colour: 1 },
    { addr: '10.0.0.2', port: 7, transactions: 0 },
  ]) {
    const s = Stack.create({
      name: 'modopts',
      workers: 1,
      addrs: ['10.0.0.1/24'],
      apps: [{ module: RR_APP, name: 'rr4', options }],
    });
    try {
      await assert.rejects(s.start(), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'EINVAL');
        assert.match(e.message, /app 'rr-client': .*'(colour|transactions)'/);
        return true;
      });
    } finally {
      await s.stop();
    }
  }
});

test('every declared option is one its app reads', () => {
  const src = (f: string) => readFileSync(new URL(`../../src/apps/${f}`, import.meta.url), 'utf8');
  const files: Record<string, string[]> = {
    echo: ['server.ts'],
    discard: ['server.ts'],
    'http-lite': ['server.ts'],
    'bulk-sender': ['bulk-sender.ts'],
    'rr-client': ['rr-client.ts', 'client.ts'],
    'crr-client': ['crr-client.ts', 'client.ts'],
  };
  for (const [name, fs] of Object.entries(files)) {
    const text = fs.map(src).join('\n');
    for (const key of Object.keys(appOptions(name) ?? {}))
      assert.match(text, new RegExp(`options\\.${key}\\b`), `${name} declares '${key}' but never reads it`);
  }
});
