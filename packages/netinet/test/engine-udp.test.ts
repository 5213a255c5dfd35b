/** UDP through the Engine's syscalls: sendto/recvfrom between two engines, v4 and v6. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { ERRNO } from '../src/kern/errno.js';
import { Simulator } from '../src/sim/simulator.js';

for (const [family, a, b, plen] of [
  ['inet', '10.0.0.1', '10.0.0.2', 24],
  ['inet6', 'fd00::1', 'fd00::2', 64],
] as const) {
  test(`engine UDP ${family}: sendto/recvfrom carry data and the sender's address`, () => {
    const sim = new Simulator(7);
    const out = (ifp: unknown, f: Uint8Array) => sim.transmit(ifp, f);
    const ea = new Engine({ seed: 1, output: out });
    const eb = new Engine({ seed: 2, output: out });
    const ia = ea.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 1) });
    const ib = eb.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, 2) });
    ea.addAddr(ia, `${a}/${plen}`);
    ea.setUp(ia);
    eb.addAddr(ib, `${b}/${plen}`);
    eb.setUp(ib);
    sim.connect({ engine: ea, ifp: ia }, { engine: eb, ifp: ib }, { delayUs: 100 });

    const sb = eb.socket(family, 'dgram');
    assert.equal(eb.bind(sb, { addr: b, port: 5353 }), 0);
    const sa = ea.socket(family, 'dgram');
    const buf = new Uint8Array(2000);
    assert.equal(eb.recv(sb, buf), -ERRNO.EAGAIN);
    const payload = Uint8Array.from({ length: 1200 }, (_, i) => (i * 7) & 0xff);
    assert.equal(ea.sendto(sa, payload, { addr: b, port: 5353 }), payload.length);
    const from = { addr: '', port: 0 };
    let n = -1;
    sim.run(1_000_000, () => (n = eb.recvfrom(sb, buf, from)) >= 0);
    assert.equal(n, payload.length);
    assert.deepEqual(buf.subarray(0, n), payload);
    assert.equal(from.addr, a);
    const local = ea.getsockname(sa);
    assert.ok(typeof local === 'object' && local.port === from.port, "the reply port is the sender's bound port");
    assert.equal(eb.udp.stat.udps_ipackets, 1);
  });
}
