/**
 * Loader tunables sorted before any engine exists (splitLoaderTunables): the names the
 * subsystems declared (kern/sysctl.ts loaderTunable) are exactly the OIDs an engine's tree
 * loads, and a tree refuses a loader OID nobody declared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, SysctlTree, isLoaderTunable, splitLoaderTunables } from '@mcstack/netinet';

test('splitLoaderTunables: loader tunables apart, the rest in their order', () => {
  const r = splitLoaderTunables({
    'net.inet.tcp.sack.enable': 0,
    'net.fibs': 2,
    'kern.ipc.maxsockets': 100,
    'net.inet.tcp.msl': 15000,
    'net.inet.tcp.syncache.hashsize': 64,
  });
  assert.deepEqual(r.tunables, { 'net.fibs': 2, 'kern.ipc.maxsockets': 100, 'net.inet.tcp.syncache.hashsize': 64 });
  assert.deepEqual(Object.keys(r.sysctls), ['net.inet.tcp.sack.enable', 'net.inet.tcp.msl']);
});

test("the declared names are the ones an engine's tree loads, no more and no fewer", () => {
  const e = new Engine();
  const names = e.sysctl.list('', true).map((o) => o.name);
  const loadable = names.filter((n) => e.sysctl.isLoadable(n));
  assert.ok(loadable.length >= 6, `only ${loadable.length} loadable OIDs`);
  for (const n of names) assert.equal(isLoaderTunable(n), e.sysctl.isLoadable(n), n);
});

test('a loader OID whose name was not declared is refused when registered', () => {
  const tree = new SysctlTree();
  const t = { x: 1 };
  assert.throws(() => tree.int('net.inet.tcp.undeclared', t, 'x', 'a tunable nobody declared', { tunable: true }), {
    message: /not declared/,
  });
  tree.int('net.inet.tcp.undeclared', t, 'x', 'the same, run-time');
});
