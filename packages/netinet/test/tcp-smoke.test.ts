import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from './tcp-harness.js';
import { ERRNO } from '../src/kern/errno.js';

test('handshake, a little data, close', () => {
  const p = makePair();
  const l = p.b.socket('inet', 'stream');
  assert.equal(l, 3);
  assert.equal(p.b.bind(l, { addr: '0.0.0.0', port: 80 }), 0);
  assert.equal(p.b.listen(l, 5), 0);
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.equal(s, 4);
  assert.equal(p.a.send(c, new TextEncoder().encode('hello')), 5);
  p.run(2_000_000);
  const buf = new Uint8Array(100);
  assert.equal(p.b.recv(s, buf), 5);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), 'hello');
  assert.equal(p.a.close(c), 0);
  p.run(3_000_000);
  assert.equal(p.b.recv(s, buf), 0);
  assert.equal(p.b.close(s), 0);
  p.run(200_000_000);
  console.log(p.a.census(), p.b.census(), p.a.tcp.stat.tcps_sndtotal);
});
