/**
 * Two `mcstack serve` daemons (child processes, 2 workers each) whose cxgbe0s are joined
 * by a UDP tunnel over loopback (config `links`). Daemon A runs an rr-client holding its
 * connections open to daemon B's echo; the FreeBSD tools on each control socket show the
 * connections ESTABLISHED on both sides (and on both of B's workers), and `netstat -s`
 * the bytes that moved. Both daemons end with SIGTERM (exit 0) and are always killed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@mcstack/cli';
import { freeUdpPort } from './support/udp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const dir = mkdtempSync(join(tmpdir(), 'mcstack-tunnel-'));
const children: { child: ChildProcess; err: string; exited: Promise<number | null> }[] = [];

after(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: each tool prints its own JSON shape
async function tool(sock: string, ...argv: string[]): Promise<any> {
  const io = { out: '', err: '' };
  const code = await main([...argv, '--socket', sock, '--json'], {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  assert.equal(code, 0, io.err);
  return JSON.parse(io.out);
}

function start(name: string, config: object): { sock: string; d: (typeof children)[number] } {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const sock = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--socket', sock], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const d = { child, err: '', exited: new Promise<number | null>((r) => child.once('exit', (c) => r(c))) };
  child.stderr.on('data', (s) => {
    d.err += s;
  });
  children.push(d);
  return { sock, d };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${children.map((c) => c.err).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two mcstack serve daemons joined by a UDP tunnel on loopback exchange data', { timeout: 90000 }, async () => {
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const CONNS = 8;
  const TXNS = 40;
  const SIZE = 700;
  const b = start('b', {
    name: 'b',
    workers: 2,
    mac: '02:00:00:00:0b:02',
    addrs: ['10.11.0.2/24', 'fd11::2/64'],
    links: [{ type: 'udp-tunnel', local: `127.0.0.1:${pb}`, remote: `127.0.0.1:${pa}` }],
    apps: [{ name: 'echo', port: 7 }],
  });
  await until('daemon b', async () => existsSync(b.sock));
  const a = start('a', {
    name: 'a',
    workers: 2,
    mac: '02:00:00:00:0b:01',
    addrs: ['10.11.0.1/24', 'fd11::1/64'],
    links: [{ type: 'udp-tunnel', local: `127.0.0.1:${pa}`, remote: `127.0.0.1:${pb}` }],
    apps: [
      {
        name: 'rr-client',
        options: { addr: '10.11.0.2', port: 7, connections: CONNS, size: SIZE, transactions: TXNS, hold: true },
      },
    ],
  });
  await until('daemon a', async () => existsSync(a.sock));

  const est = (
    j: { connections: { state: string; lport: number; fport: number; worker: string }[] },
    port: 'lport' | 'fport',
  ) => j.connections.filter((c) => c.state === 'ESTABLISHED' && c[port] === 7);
  const served = await until('B to hold every connection ESTABLISHED', async () => {
    const l = est(await tool(b.sock, 'netstat', '-np', 'tcp'), 'lport');
    return l.length === CONNS && l;
  });
  const clients = est(await tool(a.sock, 'netstat', '-np', 'tcp'), 'fport');
  assert.equal(clients.length, CONNS);
  for (const c of served) assert.match(JSON.stringify(c), /10\.11\.0\.1/);
  assert.equal(
    new Set(served.map((c) => c.worker)).size,
    2,
    `B's connections on both workers (software RSS): ${served.map((c) => c.worker)}`,
  );
  const bytes = await until('every echo to come back', async () => {
    const st = (await tool(a.sock, 'netstat', '-s', '-p', 'tcp')).stats.tcpstat;
    return st.tcps_rcvbyte >= CONNS * TXNS * SIZE && st;
  });
  assert.ok(bytes.tcps_sndbyte >= CONNS * TXNS * SIZE);
  const bst = (await tool(b.sock, 'netstat', '-s', '-p', 'tcp')).stats.tcpstat;
  assert.ok(bst.tcps_rcvbyte >= CONNS * TXNS * SIZE, JSON.stringify(bst));
  assert.ok(bst.tcps_accepts >= CONNS);

  for (const d of [a.d, b.d]) {
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.err);
  }
});
