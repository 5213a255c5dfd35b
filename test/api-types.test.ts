/**
 * The published type definitions of @mcstack/runtime and @mcstack/api compile in a consumer
 * that checks library types (skipLibCheck: false) with Node's types and no DOM: a tiny
 * consumer is compiled by the repository's tsc against the built .d.ts files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

const CONSUMER = `import * as net from 'node:net';
import { Stack, type RemoteWorker, errorInfo, rebuildError } from '@mcstack/runtime';
import { mcnet, withNet } from '@mcstack/api';

export const stack: Stack = Stack.create(withNet({ name: 'A', workers: 1, addrs: ['10.0.0.1/24'] }));
export const control: RemoteWorker = stack.control(0);
export const rows = control.netstat();
export const err: Error = rebuildError(errorInfo(new Error('x')), 0);
const m = mcnet(stack);
export const socket: net.Socket = m.connect(80, '10.0.0.2');
export const connect: typeof net.createConnection = m.createConnection;
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  },
  files: ['consumer.ts'],
};

test('a consumer with skipLibCheck: false compiles against the runtime and api type definitions', {
  timeout: 120000,
}, async () => {
  // Inside the repository, so that @mcstack/* and @types/node resolve from its node_modules.
  const dir = mkdtempSync(join(root, 'test', 'dist', 'types-consumer-'));
  try {
    writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const out = await new Promise<string>((resolve) => {
      execFile('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: root }, (e, stdout, stderr) =>
        resolve(e ? `${stdout}${stderr}` || String(e) : ''),
      );
    });
    assert.equal(out, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
