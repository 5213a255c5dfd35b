/**
 * The cost of the pfil hook points and of pf on them: bulk TCP between two engines with
 * no hook on either head (one comparison per packet), with a hook that passes everything on
 * every head of both engines, and with pf enabled on both (a ruleset of 20 rules the flow
 * never matches before `pass ... keep state`: the SYN walks them, every later segment and ACK
 * passes on its state, found through the pcb's state link on output and the table on input).
 * One op moves 256 KiB (about 180 segments and their ACKs) and reads it at the receiver.
 */
import { PFIL_IN, PFIL_OUT, PFIL_PASS, parsePfConf, type Engine, type PfilHook } from '@mcstack/netinet';
import type { MicroTask } from './index.js';
import { Bulk, CHUNK } from './bulk.js';

const passAll: PfilHook = { modname: 'pass', rulname: 'all', func: () => PFIL_PASS };

const hooks = (a: Engine, b: Engine): void => {
  for (const e of [a, b]) for (const h of [e.net.pfil4, e.net.pfil6]) h.addHook(passAll, PFIL_IN | PFIL_OUT);
};

const conf = `${Array.from({ length: 20 }, (_, i) => `block in quick proto udp from 192.0.2.${i} to any port ${1000 + i}\n`).join('')}pass proto tcp all keep state\n`;
const pf = (a: Engine, b: Engine): void => {
  for (const e of [a, b]) {
    e.pf.load(parsePfConf(conf));
    e.pf.start();
  }
};

const plain = new Bulk(40);
const hooked = new Bulk(50, hooks);
const filtered = new Bulk(60, pf);

export const tasks: MicroTask[] = [
  { name: 'pfil: tcp bulk 256KiB, no hook', unitsPerOp: CHUNK, unit: 'B', fn: () => plain.move() },
  { name: 'pfil: tcp bulk 256KiB, pass-all hook', unitsPerOp: CHUNK, unit: 'B', fn: () => hooked.move() },
  { name: 'pfil: tcp bulk 256KiB, pf keep state', unitsPerOp: CHUNK, unit: 'B', fn: () => filtered.move() },
];
