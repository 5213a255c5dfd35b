/**
 * Loadable modules (kern/kern_linker.ts): loaded once per thread and attached to every
 * engine, the module's sysctls only while it is loaded, kldunload refused while a
 * connection uses it, and TCP_CONGESTION switching a live connection's algorithm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { ERRNO, type SysError } from '../src/kern/errno.js';
import { linker, type ModuleHost } from '../src/kern/kern_linker.js';
import { ccModule } from '../src/tcp/cc/cc_module.js';
import { newreno } from '../src/tcp/cc/newreno.js';
import { TCP_CONGESTION } from '../src/tcp/usrreq.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { establish, makePair, transfer } from './tcp-harness.js';

const sysctlCode = (e: Engine, name: string): string | null => {
  try {
    e.sysctl.get(name);
    return null;
  } catch (x) {
    return (x as SysError).code;
  }
};

test('a module loaded while several engines exist is initialised once and attached to each, later ones too', () => {
  let loads = 0;
  let unloads = 0;
  const attached: ModuleHost[] = [];
  const mod = ccModule({
    file: 'cc_testonce',
    description: 'counts its initialisations',
    defaults: { knob: 7 },
    sysctls: [{ oid: 'net.inet.tcp.cc.testonce.knob', key: 'knob', description: 'a knob', min: 0 }],
    algo: (tcp, t) => {
      attached.push({ tcp, sysctl: null as never, net: null as never });
      return { ...newreno(t), name: 'testonce' };
    },
    load: () => {
      loads++;
    },
    unload: () => {
      unloads++;
    },
  });
  assert.equal(linker.register(mod), 0);
  assert.equal(linker.register(mod), -ERRNO.EEXIST);
  const engines = [new Engine({ seed: 1 }), new Engine({ seed: 2 }), new Engine({ seed: 3 })];
  for (const e of engines) assert.equal(sysctlCode(e, 'net.inet.tcp.cc.testonce.knob'), 'ENOENT');
  const id = engines[1]!.kldload('cc_testonce');
  assert.ok(id > 1);
  assert.equal(engines[0]!.kldload('cc_testonce'), -ERRNO.EEXIST);
  const late = new Engine({ seed: 4 });
  const all = [...engines, late];
  assert.equal(loads, 1, 'MOD_LOAD runs once per process');
  for (const e of all) {
    assert.ok(
      attached.some((h) => h.tcp === e.tcp),
      'attached to every engine',
    );
    assert.match(e.sysctl.get('net.inet.tcp.cc.available') as string, /\btestonce\b/);
    assert.equal(e.sysctl.get('net.inet.tcp.cc.testonce.knob'), 7);
  }
  // Each engine has its own tunables (a vnet's), as FreeBSD's VNET sysctls.
  engines[0]!.sysctl.set('net.inet.tcp.cc.testonce.knob', 3);
  assert.equal(engines[2]!.sysctl.get('net.inet.tcp.cc.testonce.knob'), 7);
  assert.ok(engines[0]!.kldstat().some((f) => f.name === 'cc_testonce' && f.id === id));
  assert.equal(late.kldunload('cc_testonce'), 0);
  assert.equal(unloads, 1);
  for (const e of all) {
    assert.equal(sysctlCode(e, 'net.inet.tcp.cc.testonce.knob'), 'ENOENT');
    assert.doesNotMatch(e.sysctl.get('net.inet.tcp.cc.available') as string, /testonce/);
  }
  assert.equal(late.kldunload('cc_testonce'), -ERRNO.ENOENT);
  assert.equal(late.kldload('no_such_module'), -ERRNO.ENOENT);
});

test('cc modules: algorithm and sysctls with FreeBSD names and defaults exist only while loaded', () => {
  const e = new Engine({ seed: 9 });
  assert.equal(e.sysctl.get('net.inet.tcp.cc.available'), 'newreno');
  assert.throws(() => e.sysctl.set('net.inet.tcp.cc.algorithm', 'cubic'), { code: 'ENOENT' });
  for (const f of ['cc_cubic', 'cc_htcp', 'cc_dctcp']) assert.ok(e.kldload(f) > 1, f);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.available'), 'newreno, cubic, htcp, dctcp');
  const defaults: Record<string, number> = {
    'net.inet.tcp.cc.hystartplusplus.minrtt_thresh': 4000,
    'net.inet.tcp.cc.hystartplusplus.maxrtt_thresh': 16000,
    'net.inet.tcp.cc.hystartplusplus.n_rttsamples': 8,
    'net.inet.tcp.cc.hystartplusplus.css_growth_div': 4,
    'net.inet.tcp.cc.hystartplusplus.css_rounds': 5,
    'net.inet.tcp.cc.htcp.adaptive_backoff': 0,
    'net.inet.tcp.cc.htcp.rtt_scaling': 0,
    'net.inet.tcp.cc.dctcp.alpha': 0,
    'net.inet.tcp.cc.dctcp.shift_g': 4,
    'net.inet.tcp.cc.dctcp.slowstart': 0,
    'net.inet.tcp.cc.dctcp.ect1': 0,
  };
  for (const [k, v] of Object.entries(defaults)) assert.equal(e.sysctl.get(k), v, k);
  assert.throws(() => e.sysctl.set('net.inet.tcp.cc.dctcp.alpha', 1025), { code: 'EINVAL' });
  e.sysctl.set('net.inet.tcp.cc.algorithm', 'cubic');
  // The default algorithm cannot go (cc_deregister_algo).
  assert.equal(e.kldunload('cc_cubic'), -ERRNO.EBUSY);
  e.sysctl.set('net.inet.tcp.cc.algorithm', 'newreno');
  for (const f of ['cc_cubic', 'cc_htcp', 'cc_dctcp']) assert.equal(e.kldunload(f), 0, f);
  for (const k of Object.keys(defaults)) assert.equal(sysctlCode(e, k), 'ENOENT', k);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.available'), 'newreno');
});

test('TCP_CONGESTION switches a live connection; kldunload is EBUSY while it uses the module', () => {
  const p = makePair(false, 21, 5000);
  assert.ok(p.a.kldload('cc_cubic') > 1);
  const { c, s } = establish(p, 5001);
  assert.equal(p.a.getsockopt(c, IPPROTO_TCP, TCP_CONGESTION), 'newreno');
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, 'vegas'), -ERRNO.ENOENT);
  transfer(p, c, s, 200_000);
  const before = p.a.tcp.stat.tcps_cc_changes;
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, 'cubic'), 0);
  assert.equal(p.a.getsockopt(c, IPPROTO_TCP, TCP_CONGESTION), 'cubic');
  assert.equal(p.a.tcp.stat.tcps_cc_changes, before + 1);
  const tp = [...p.a.tcp.tcbs].find((t) => t.cc.name === 'cubic')!;
  assert.equal(tp.ccv.cubic, 1, "cubic's cb_init ran on the live connection");
  assert.equal(p.a.kldunload('cc_cubic'), -ERRNO.EBUSY);
  // The connection keeps moving data under CUBIC, its epoch running on the engine clock.
  transfer(p, c, s, 400_000);
  assert.ok(tp.ccv.t_epoch! > 0 && tp.ccv.t_epoch! <= p.a.now);
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, 'newreno'), 0);
  assert.deepEqual(tp.ccv, {}, "cubic's cb_destroy ran");
  assert.equal(p.a.kldunload('cc_cubic'), 0);
  transfer(p, c, s, 100_000);
  p.a.close(c);
  p.b.close(s);
});

test('the delay-based modules pull in h_ertt (MODULE_DEPEND), which stays while they are loaded', () => {
  const e = new Engine({ seed: 31 });
  const id = e.kldload('cc_vegas');
  assert.ok(id > 1);
  const names = () => e.kldstat().map((f) => `${f.name}:${f.refs}`);
  assert.deepEqual(names(), ['kernel:1', 'h_ertt:2', 'cc_vegas:1']);
  assert.ok(e.kldload('cc_cdg') > 1);
  assert.deepEqual(names(), ['kernel:1', 'h_ertt:3', 'cc_vegas:1', 'cc_cdg:1']);
  assert.equal(e.kldunload('h_ertt'), -ERRNO.EBUSY);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.vegas.alpha'), 1);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.vegas.beta'), 3);
  // cc_vegas.c's handlers: 0 < alpha ≤ beta.
  assert.throws(() => e.sysctl.set('net.inet.tcp.cc.vegas.alpha', 4), { code: 'EINVAL' });
  assert.throws(() => e.sysctl.set('net.inet.tcp.cc.vegas.beta', 0), { code: 'EINVAL' });
  e.sysctl.set('net.inet.tcp.cc.vegas.beta', 6);
  e.sysctl.set('net.inet.tcp.cc.vegas.alpha', 4);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.cdg.version'), '0.1');
  assert.equal(e.sysctl.get('net.inet.tcp.cc.cdg.beta_delay'), 70);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.cdg.exp_backoff_scale'), 3);
  assert.ok(e.kldload('cc_hd') > 1 && e.kldload('cc_chd') > 1);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.hd.queue_threshold'), 20);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.chd.pmax'), 50);
  assert.equal(e.sysctl.get('net.inet.tcp.cc.available'), 'newreno, vegas, cdg, hd, chd');
  for (const f of ['cc_vegas', 'cc_cdg', 'cc_hd', 'cc_chd', 'h_ertt']) assert.equal(e.kldunload(f), 0, f);
  assert.deepEqual(names(), ['kernel:1']);
});
