/**
 * t4_tom and t3_tom as kernel modules (netinet/toecore.ts): `ifconfig cxgbe0 toe` is
 * EOPNOTSUPP until the TOM is loaded; a T4 port takes TOE4 and TOE6, a T3 port TOE4 only;
 * kldunload is EBUSY while a port has TOE on or a connection is offloaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { ERRNO } from '../src/kern/errno.js';
import { IFCAP_TOE, IFCAP_TOE4, IFCAP_TOE6, IFCAP_HWCSUM } from '../src/net/if.js';
import { TF_TOE } from '../src/tcp/var.js';
import { applyIfconfig, parseIfconfigArgs } from '../src/tools/ifconfig.js';

const mac = (n: number) => new Uint8Array([2, 0, 0, 0, 0, n]);

function host(): Engine {
  const e = new Engine({ seed: 1 });
  e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: mac(1), capabilities: IFCAP_HWCSUM | IFCAP_TOE });
  e.ifattach({ name: 'cxgb0', type: 'ether', lladdr: mac(2), capabilities: IFCAP_HWCSUM | IFCAP_TOE4 });
  e.ifattach({ name: 'em0', type: 'ether', lladdr: mac(3), capabilities: IFCAP_HWCSUM | IFCAP_TOE });
  return e;
}
const ifconfig = (e: Engine, ...words: string[]) => applyIfconfig(e, parseIfconfigArgs(words));

test('toe is refused with EOPNOTSUPP until t4_tom is loaded; kldstat lists it; -toe then kldunload', () => {
  const e = host();
  assert.ok(e.kldAvailable().includes('t4_tom') && e.kldAvailable().includes('t3_tom'));
  assert.throws(() => ifconfig(e, 'cxgbe0', 'toe'), { code: 'EOPNOTSUPP' });
  const id = e.kldload('t4_tom');
  assert.ok(id > 1);
  assert.ok(e.kldstat().some((f) => f.name === 't4_tom' && f.id === id));
  ifconfig(e, 'cxgbe0', 'toe');
  const cx = e.ifunit('cxgbe0')!;
  assert.equal(cx.capenable & IFCAP_TOE, IFCAP_TOE4 | IFCAP_TOE6);
  // t4_tom serves cxgbe ports only: cxgb0 (a T3) and em0 still refuse.
  assert.throws(() => ifconfig(e, 'cxgb0', 'toe'), { code: 'EOPNOTSUPP' });
  assert.throws(() => ifconfig(e, 'em0', 'toe'), { code: 'EOPNOTSUPP' });
  assert.equal(e.kldunload('t4_tom'), -ERRNO.EBUSY, 'a port has TOE enabled');
  ifconfig(e, 'cxgbe0', '-toe');
  assert.equal(e.kldunload('t4_tom'), 0);
  assert.ok(!e.kldstat().some((f) => f.name === 't4_tom'));
  assert.throws(() => ifconfig(e, 'cxgbe0', 'toe'), { code: 'EOPNOTSUPP' });
});

test('t3_tom gives cxgb0 TOE4 only: TOE6 is EOPNOTSUPP', () => {
  const e = host();
  assert.ok(e.kldload('t3_tom') > 1);
  ifconfig(e, 'cxgb0', 'toe');
  const cx = e.ifunit('cxgb0')!;
  assert.equal(cx.capenable & IFCAP_TOE, IFCAP_TOE4);
  // Even if the port claimed TOE6, the T3's TOM cannot offload it.
  assert.equal(cx.setCapenable(cx.capenable | IFCAP_TOE6), -ERRNO.EINVAL, 'not among its capabilities');
  assert.throws(() => ifconfig(e, 'cxgbe0', 'toe'), { code: 'EOPNOTSUPP' });
  ifconfig(e, 'cxgb0', '-toe');
  assert.equal(e.kldunload('t3_tom'), 0);
});

test('a port attached after the load gets the TOM; kldunload is EBUSY while a connection is offloaded', () => {
  assert.ok(new Engine({ seed: 9 }).kldload('t4_tom') > 1);
  const e = host();
  ifconfig(e, 'cxgbe0', 'up', 'toe');
  ifconfig(e, 'cxgbe0', '-toe');
  const fd = e.socket('inet', 'stream');
  const tp = [...e.tcp.tcbs][0]!;
  assert.ok(fd >= 0 && tp !== undefined);
  tp.t_flags |= TF_TOE;
  assert.equal(e.kldunload('t4_tom'), -ERRNO.EBUSY, 'an offloaded connection');
  tp.t_flags &= ~TF_TOE;
  e.close(fd);
  assert.equal(e.kldunload('t4_tom'), 0);
});
