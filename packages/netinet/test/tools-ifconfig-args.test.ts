import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIfconfigArgs, applyIfconfig, formatIfconfig } from '../src/tools/ifconfig.js';
import { snapshot } from '../src/tools/snapshot.js';
import {
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM_IPV6,
  IFCAP_TSO,
  IFCAP_TSO4,
  IFCAP_LRO,
  IFCAP_TOE,
  IFCAP_TOE4,
  IFCAP_TOE6,
  IFM_ETH_RXPAUSE,
  IFM_ETH_TXPAUSE,
} from '../src/net/if.js';
import { buildScene } from './tools-scenario.js';

test('ifconfig args: capability words, their - forms, mtu N, up/down, in order', () => {
  const r = parseIfconfigArgs([
    'cxgbe0',
    'rxcsum',
    '-txcsum',
    'rxcsum6',
    '-txcsum6',
    'tso',
    '-lro',
    'toe',
    'mtu',
    '9000',
    'down',
  ]);
  assert.equal(r.ifname, 'cxgbe0');
  assert.deepEqual(r.ops, [
    { op: 'cap', word: 'rxcsum', bits: IFCAP_RXCSUM, on: true },
    { op: 'cap', word: '-txcsum', bits: IFCAP_TXCSUM, on: false },
    { op: 'cap', word: 'rxcsum6', bits: IFCAP_RXCSUM_IPV6, on: true },
    { op: 'cap', word: '-txcsum6', bits: IFCAP_TXCSUM_IPV6, on: false },
    { op: 'cap', word: 'tso', bits: IFCAP_TSO, on: true },
    { op: 'cap', word: '-lro', bits: IFCAP_LRO, on: false },
    { op: 'cap', word: 'toe', bits: IFCAP_TOE, on: true },
    { op: 'mtu', mtu: 9000 },
    { op: 'up', up: false },
  ]);
  assert.deepEqual(parseIfconfigArgs(['em0']).ops, []);
});

test('ifconfig args: bad words are EINVAL', () => {
  const bad: string[][] = [
    [],
    [''],
    ['-toe'],
    ['em0', 'txcsum7'],
    ['em0', '--toe'],
    ['em0', 'TOE'],
    ['em0', 'mtu'],
    ['em0', 'mtu', 'big'],
    ['em0', 'mtu', '-1'],
    ['em0', 'mtu', '1500.5'],
    ['em0', 'mtu', '0x5dc'],
    ['em0', 'inet'],
    ['em0', '-'],
  ];
  for (const argv of bad) {
    assert.throws(
      () => parseIfconfigArgs(argv),
      (e: { code?: string }) => e.code === 'EINVAL',
      JSON.stringify(argv),
    );
  }
});

test('ifconfig apply: toe/-toe toggle TOE4 and TOE6; tso needs txcsum (EAGAIN); -txcsum takes TSO4 with it', () => {
  const { a } = buildScene();
  const ifp = a.ifunit('cxgbe0')!;
  assert.equal(ifp.capenable & IFCAP_TOE, 0, 'TOE is off at attach');
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'toe'])), { code: 'EOPNOTSUPP' });
  assert.ok(a.kldload('t4_tom') > 1);
  applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'toe']));
  assert.equal(ifp.capenable & IFCAP_TOE, IFCAP_TOE4 | IFCAP_TOE6);
  applyIfconfig(a, parseIfconfigArgs(['cxgbe0', '-toe', '-txcsum']));
  assert.equal(a.kldunload('t4_tom'), 0);
  assert.equal(ifp.capenable & (IFCAP_TOE | IFCAP_TXCSUM | IFCAP_TSO4), 0);
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'tso4'])), { code: 'EAGAIN' });
  applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'txcsum', 'tso4', 'mtu', '9000']));
  assert.equal(ifp.capenable & (IFCAP_TXCSUM | IFCAP_TSO4), IFCAP_TXCSUM | IFCAP_TSO4);
  assert.equal(ifp.mtu, 9000);
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'mtu', '70'])), { code: 'EINVAL' });
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe9', 'up'])), { code: 'ENXIO' });
});

test('ifconfig apply: a capability the interface lacks is masked off, as setifcap does', () => {
  const { a } = buildScene();
  const lo = a.ifunit('lo0')!;
  const before = lo.capenable;
  applyIfconfig(a, parseIfconfigArgs(['lo0', 'toe', 'lro']));
  assert.equal(lo.capenable, before);
  applyIfconfig(a, parseIfconfigArgs(['lo0', '-rxcsum6', 'down']));
  assert.equal(lo.capenable & IFCAP_RXCSUM_IPV6, 0);
  assert.equal(lo.up, false);
});

test('ifconfig mediaopt rxpause,txpause: both or none, only where the driver offers PAUSE', () => {
  const { a } = buildScene();
  const ifp = a.ifunit('cxgbe0')!;
  assert.deepEqual(parseIfconfigArgs(['cxgbe0', '-mediaopt', 'rxpause,txpause']).ops, [
    { op: 'mediaopt', bits: IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE, on: false },
  ]);
  assert.throws(() => parseIfconfigArgs(['cxgbe0', 'mediaopt']), { code: 'EINVAL' });
  assert.throws(() => parseIfconfigArgs(['cxgbe0', 'mediaopt', 'full-duplex']), { code: 'EINVAL' });
  // A driver without PAUSE refuses the option (SIOCSIFMEDIA: EINVAL).
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'mediaopt', 'rxpause,txpause'])), {
    code: 'EINVAL',
  });
  ifp.mediaoptCap = IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE;
  applyIfconfig(a, parseIfconfigArgs(['cxgbe0', 'mediaopt', 'rxpause,txpause']));
  assert.equal(ifp.mediaopt, IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE);
  assert.match(formatIfconfig([snapshot(a)], { name: 'cxgbe0' }), /media: Ethernet autoselect <rxpause,txpause>/);
  assert.throws(() => applyIfconfig(a, parseIfconfigArgs(['cxgbe0', '-mediaopt', 'txpause'])), { code: 'EINVAL' });
  applyIfconfig(a, parseIfconfigArgs(['cxgbe0', '-mediaopt', 'rxpause,txpause']));
  assert.equal(ifp.mediaopt, 0);
});
