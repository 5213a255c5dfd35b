/**
 * The daemon's control socket under hostile input, sent raw to a daemon served in this
 * process (so what it does to the daemon's globals is visible here): comlink-shaped
 * messages that used to throw inside the daemon, a SET that used to pollute
 * Object.prototype, unknown and inherited method names, bad arguments, and a line far
 * longer than any request. Each gets an error reply with a stable code; the daemon goes on
 * serving the tools.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@mcstack/cli';
import { serve, checkConfig, type Daemon } from '@mcstack/cli/daemon';

const dir = mkdtempSync(join(tmpdir(), 'mcstack-control-'));
const sock = join(dir, 'ctl.sock');
let d: Daemon;

before(async () => {
  d = await serve(checkConfig({ name: 'ctl', workers: 1, addrs: ['10.0.0.1/24'] }, 'inline'), { socket: sock });
});

after(async () => {
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One raw connection: write lines, read reply lines (JSON), see it close. */
class Raw {
  readonly s: net.Socket;
  private buf = '';
  private lines: unknown[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  readonly done: Promise<void>;
  constructor() {
    this.s = net.connect(sock);
    this.s.setEncoding('utf8');
    this.s.on('data', (c: string) => {
      this.buf += c;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.buf.slice(0, nl)));
        this.buf = this.buf.slice(nl + 1);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.s.on('error', () => {});
    this.done = new Promise((r) =>
      this.s.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w();
        r();
      }),
    );
  }
  async reply(ms = 20000): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('closed without a reply');
      if (Date.now() > end) throw new Error('no reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.lines.shift() as Record<string, unknown>;
  }
  async ask(line: string): Promise<Record<string, unknown>> {
    this.s.write(`${line}\n`);
    return this.reply();
  }
}

async function ifconfigWorks(): Promise<void> {
  let out = '';
  const code = await main(['ifconfig', 'cxgbe0', '--socket', sock], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      out += t;
    },
  });
  assert.equal(code, 0, out);
  assert.match(out, /^cxgbe0: flags=/);
}

function errorOf(r: Record<string, unknown>): { code: string; message: string } {
  assert.ok(r.error !== undefined && r.result === undefined, JSON.stringify(r));
  return r.error as { code: string; message: string };
}

test('comlink-shaped messages that crashed the daemon get an error reply; the daemon serves on', async () => {
  const hostile = [
    '{"id":"c1","type":"APPLY","path":["info"],"argumentList":5}',
    '{"id":"h1","type":"APPLY","path":["info"],"argumentList":[{"type":"HANDLER","name":"throw","value":{"isError":false,"value":1}}]}',
    '{"id":"p9","type":"SET","path":["constructor","assign"],"value":{"type":"RAW","value":0}}',
  ];
  for (const line of hostile) {
    const c = new Raw();
    const r = await c.ask(line);
    assert.equal(r.id, JSON.parse(line).id);
    assert.equal(errorOf(r).code, 'MCSTACK_BAD_REQUEST', line);
    c.s.destroy();
    await ifconfigWorks();
  }
  assert.equal(typeof Object.assign, 'function');
});

test("a SET on constructor.prototype does not reach the daemon's Object.prototype", async () => {
  const c = new Raw();
  const set = await c.ask(
    '{"id":"p1","type":"SET","path":["constructor","prototype","polluted"],"value":{"type":"RAW","value":"yes"}}',
  );
  assert.equal(errorOf(set).code, 'MCSTACK_BAD_REQUEST');
  c.s.destroy();
  // A later connection reads it back (as it could before) and calls by name.
  const later = new Raw();
  const get = await later.ask('{"id":"p2","type":"GET","path":["polluted"]}');
  assert.equal(errorOf(get).code, 'MCSTACK_BAD_REQUEST');
  const viaProto = await later.ask('{"id":"p3","type":"GET","path":["constructor","prototype","polluted"]}');
  assert.equal(errorOf(viaProto).code, 'MCSTACK_BAD_REQUEST');
  later.s.destroy();
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  await ifconfigWorks();
});

test('only the methods of the table are called, with checked arguments', async () => {
  const c = new Raw();
  const ok = await c.ask('{"id":1,"method":"info","params":[]}');
  assert.equal(ok.id, 1);
  assert.equal((ok.result as { pid: number }).pid, process.pid);
  const bad: [string, string][] = [
    ['not json', 'MCSTACK_BAD_REQUEST'],
    ['[1,2]', 'MCSTACK_BAD_REQUEST'],
    ['{"id":2}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":{"x":1},"method":"info"}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":3,"method":"constructor"}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":4,"method":"__proto__"}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":5,"method":"toString"}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":6,"method":"hasOwnProperty","params":["info"]}', 'MCSTACK_BAD_REQUEST'],
    ['{"id":7,"method":"info","params":5}', 'EINVAL'],
    ['{"id":8,"method":"info","params":[1]}', 'EINVAL'],
    ['{"id":9,"method":"sysctl","params":[{"toString":1}]}', 'EINVAL'],
    ['{"id":10,"method":"ifconfig","params":["cxgbe0"]}', 'EINVAL'],
    ['{"id":11,"method":"ifconfig","params":[["cxgbe0",{"a":1}]]}', 'EINVAL'],
    ['{"id":12,"method":"captureStart","params":["cxgbe0",-1]}', 'EINVAL'],
    ['{"id":13,"method":"captureStart","params":["cxgbe0",1.5]}', 'EINVAL'],
    ['{"id":14,"method":"captureStart","params":["cxgbe0",10,1000000000000]}', 'EINVAL'],
    ['{"id":15,"method":"captureStart","params":["cxgbe0",10,0]}', 'EINVAL'],
    ['{"id":16,"method":"captureStart","params":[["cxgbe0"]]}', 'EINVAL'],
    ['{"id":17,"method":"captureStop","params":["1"]}', 'EINVAL'],
    ['{"id":18,"method":"captureCount","params":[1]}', 'ENOENT'],
    ['{"id":19,"method":"setkey","params":[7]}', 'EINVAL'],
    ['{"id":20,"method":"setkey","params":["add 1.1.1.1 2.2.2.2 tcp 0x1000 -A tcp-md5 \\"k\\""]}', 'EINVAL'],
    ['{"id":21,"method":"setkey","params":["delete 1.1.1.1 2.2.2.2 tcp 0x1000;"]}', 'ENOENT'],
  ];
  for (const [line, code] of bad) {
    const r = await c.ask(line);
    assert.equal(errorOf(r).code, code, `${line}: ${JSON.stringify(r)}`);
  }
  // The protocol's own shape: a get and a set by name, an error from a worker with its code.
  const get = await c.ask('{"id":"g","method":"sysctl","params":["net.inet.tcp.msl"]}');
  assert.equal((get.result as { name: string }).name, 'net.inet.tcp.msl');
  const unknown = await c.ask('{"id":"u","method":"sysctl","params":["net.inet.tcp.nope"]}');
  assert.equal(errorOf(unknown).code, 'ENOENT');
  c.s.destroy();
  await ifconfigWorks();
});

test('a line longer than the limit gets an error reply and the connection closed; the daemon serves on', {
  timeout: 60000,
}, async () => {
  const c = new Raw();
  c.s.write(`{"id":"big","method":"sysctl","params":["${'x'.repeat(8 << 20)}"]}\n`);
  const r = await c.reply(50000);
  assert.equal(errorOf(r).code, 'EMSGSIZE');
  await c.done;
  await ifconfigWorks();
  // Lines split anywhere (even inside a UTF-8 sequence) still parse.
  const s = new Raw();
  const line = Buffer.from('{"id":"é","method":"info"}\n');
  for (let i = 0; i < line.length; i++) s.s.write(line.subarray(i, i + 1));
  const split = await s.reply();
  assert.equal(split.id, 'é');
  assert.equal((split.result as { name: string }).name, 'ctl');
  s.s.destroy();
});
