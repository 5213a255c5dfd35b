/**
 * pfil heads: hook order as net/pfil.c links them (first in on input, last out on
 * output; PFIL_APPEND the other way), drop and consume counted, EEXIST/ENOENT/EINVAL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRNO } from '../src/kern/errno.js';
import {
  PFIL_APPEND,
  PFIL_CONSUMED,
  PFIL_DROPPED,
  PFIL_IN,
  PFIL_OUT,
  PFIL_PASS,
  type PfilHook,
  type PfilReturn,
} from '../src/net/pfil.js';
import { makePair } from './tcp-harness.js';

for (const v6 of [false, true]) {
  test(`pfil ${v6 ? 'inet6' : 'inet'}: order, drop and consume on input and output`, () => {
    const p = makePair(v6, 2);
    const head = v6 ? p.b.net.pfil6 : p.b.net.pfil4;
    const seen: string[] = [];
    let verdict: Record<string, PfilReturn> = {};
    const mk = (name: string): PfilHook => ({
      modname: name,
      rulname: 'test',
      func: (buf, off, _len, pkt) => {
        assert.equal(buf[off]! >>> 4, v6 ? 6 : 4, 'the hook sees the IP header');
        seen.push(`${name}${pkt.dir === PFIL_IN ? '<' : '>'}`);
        return verdict[name] ?? PFIL_PASS;
      },
    });
    const h1 = mk('one');
    const h2 = mk('two');
    const h3 = mk('three');
    assert.equal(head.addHook(h1, PFIL_IN | PFIL_OUT), 0);
    assert.equal(head.addHook(h2, PFIL_IN | PFIL_OUT), 0);
    assert.equal(head.addHook(h3, PFIL_IN | PFIL_OUT | PFIL_APPEND), 0);
    assert.equal(head.addHook(h1, PFIL_IN), -ERRNO.EEXIST);
    assert.equal(head.addHook(mk('x'), PFIL_APPEND), -ERRNO.EINVAL);
    assert.deepEqual(
      head.hooks(PFIL_IN).map((h) => h.modname),
      ['two', 'one', 'three'],
    );
    assert.deepEqual(
      head.hooks(PFIL_OUT).map((h) => h.modname),
      ['three', 'one', 'two'],
    );
    const u = p.b.socket(v6 ? 'inet6' : 'inet', 'dgram');
    assert.equal(p.b.bind(u, { addr: v6 ? '::' : '0.0.0.0', port: 7 }), 0);
    const c = p.a.socket(v6 ? 'inet6' : 'inet', 'dgram');
    const to = { addr: v6 ? '2001:db8::2' : '10.0.0.2', port: 7 };
    const buf = new Uint8Array(64);
    const from = { addr: '', port: 0 };
    p.a.sendto(c, new Uint8Array([1]), to);
    p.run(p.now + 1000);
    assert.deepEqual(seen, ['two<', 'one<', 'three<']);
    assert.equal(p.b.recvfrom(u, buf, from), 1);
    // A drop ends the chain: the later hooks and UDP never see the datagram.
    seen.length = 0;
    verdict = { one: PFIL_DROPPED };
    p.a.sendto(c, new Uint8Array([2]), to);
    p.run(p.now + 1000);
    assert.deepEqual(seen, ['two<', 'one<']);
    assert.equal(p.b.recvfrom(u, buf, from), -ERRNO.EAGAIN);
    // Output: a drop is EACCES to the sender; a consume is sent as far as it knows.
    seen.length = 0;
    verdict = { one: PFIL_DROPPED };
    assert.equal(p.b.sendto(u, new Uint8Array([3]), { addr: to.addr.replace(/2$/, '1'), port: 9 }), -ERRNO.EACCES);
    assert.deepEqual(seen, ['three>', 'one>']);
    seen.length = 0;
    verdict = { three: PFIL_CONSUMED };
    const sent = p.b.sendto(u, new Uint8Array([4]), { addr: to.addr.replace(/2$/, '1'), port: 9 });
    assert.equal(sent, 1);
    assert.deepEqual(seen, ['three>'], 'a consumed packet goes no further');
    // Removed, the head costs nothing again.
    for (const h of [h1, h2, h3]) assert.equal(head.removeHook(h), 0);
    assert.equal(head.removeHook(h1), -ERRNO.ENOENT);
    assert.equal(head.nIn + head.nOut, 0);
    seen.length = 0;
    p.a.sendto(c, new Uint8Array([5]), to);
    p.run(p.now + 1000);
    assert.equal(p.b.recvfrom(u, buf, from), 1);
    assert.deepEqual(seen, []);
  });
}
