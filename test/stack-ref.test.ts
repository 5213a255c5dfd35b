/**
 * Stack.ref()/unref() and the socket API's holds, as node handles behave: each case runs
 * in a child process whose only work is a stack (and maybe a server), and tells whether
 * the process was still alive 1.5 s after its body ran (an unref'd timer fires only if something else
 * keeps the event loop alive) or exited by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const RUNTIME = new URL(import.meta.resolve('@mcstack/runtime')).href;
const API = new URL(import.meta.resolve('@mcstack/api')).href;

/** Run `body` (an async module body with `s` a stack and `net` its mcnet) in a child: 'alive' or 'exited'. */
function fate(body: string): string {
  const src = `
    import { Stack } from ${JSON.stringify(RUNTIME)};
    import { mcnet, withNet } from ${JSON.stringify(API)};
    const s = Stack.create(withNet({ name: 'ref', workers: 2, addrs: ['10.9.0.1/24'] }));
    const net = mcnet(s);
    ${body}
    console.log('ran');
    setTimeout(() => { console.log('alive'); process.exit(0); }, 1500).unref();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  assert.match(r.stdout, /ran/, `the child's body did not run to its end: ${r.stdout} ${r.stderr}`);
  return r.stdout.includes('alive') ? 'alive' : 'exited';
}

test('a running stack holds the process alive by default', () => {
  assert.equal(fate('await s.start();'), 'alive');
});

test('an unref()ed stack lets the process exit, whether unref() came before or after start()', () => {
  assert.equal(fate('await s.start(); s.unref();'), 'exited');
  assert.equal(fate('s.unref(); await s.start();'), 'exited');
  assert.equal(fate('s.unref(); await s.start(); s.ref();'), 'alive');
});

test("a ref'd server holds an unref()ed stack alive; server.unref() and close() let it go", () => {
  const listen =
    's.unref(); await s.start(); const srv = net.createServer(); await new Promise((r) => srv.listen(80, r));';
  assert.equal(fate(listen), 'alive');
  assert.equal(fate(`${listen} srv.unref();`), 'exited');
  assert.equal(fate(`${listen} await new Promise((r) => srv.close(r));`), 'exited');
});

test('hasRef() reports the stack and its holds', async () => {
  const { Stack } = await import('@mcstack/runtime');
  const s = Stack.create({ name: 'hasref', workers: 1 });
  assert.equal(s.hasRef(), true);
  s.unref();
  assert.equal(s.hasRef(), false);
  s.hold(1);
  assert.equal(s.hasRef(), true);
  s.hold(-1);
  assert.equal(s.hasRef(), false);
  assert.equal(s.ref(), s);
});
