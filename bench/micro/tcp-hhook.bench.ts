/**
 * The cost of TCP's helper hook points (HHOOK_TCP_EST_IN/OUT, kern/hhook.ts): bulk TCP
 * between two engines over a function-call wire, with no helper, with a no-op helper
 * registered (its two hooks run on every segment and ACK), and with h_ertt. With no
 * helper the hook points are one comparison each; the first two rows should be alike.
 * One op moves 256 KiB (about 180 segments and their ACKs) and reads it at the receiver.
 */
import {
  HELPER_CLASS_TCP,
  HELPER_NEEDS_OSD,
  HHOOK_TCP_EST_IN,
  HHOOK_TCP_EST_OUT,
  HHOOK_TYPE_TCP,
  erttHelper,
  khelpModule,
  type Helper,
  type ModuleDef,
  type Engine,
} from '@mcstack/netinet';
import type { MicroTask } from './index.js';
import { Bulk, CHUNK } from './bulk.js';

/** A helper whose hooks do nothing: what running the hook points costs. */
const noop: Helper = {
  name: 'noop',
  flags: HELPER_NEEDS_OSD,
  classes: HELPER_CLASS_TCP,
  id: 0,
  ctor: () => ({}),
  hooks: [
    { hook_type: HHOOK_TYPE_TCP, hook_id: HHOOK_TCP_EST_IN, hook_func: () => 0 },
    { hook_type: HHOOK_TYPE_TCP, hook_id: HHOOK_TCP_EST_OUT, hook_func: () => 0 },
  ],
};

const plain = new Bulk(10);
/** `helper` attached to the two engines only (khelp's own attach), before the connection. */
const withHelper =
  (helper: ModuleDef) =>
  (a: Engine, b: Engine): void => {
    helper.load?.();
    helper.attach(a);
    helper.attach(b);
  };

const hooked = new Bulk(20, withHelper(khelpModule('noop', 'no-op helper', noop)));
const ertt = new Bulk(30, withHelper(khelpModule('h_ertt', 'h_ertt', erttHelper)));

export const tasks: MicroTask[] = [
  { name: 'tcp bulk 256KiB, no helper', unitsPerOp: CHUNK, unit: 'B', fn: () => plain.move() },
  { name: 'tcp bulk 256KiB, no-op helper', unitsPerOp: CHUNK, unit: 'B', fn: () => hooked.move() },
  { name: 'tcp bulk 256KiB, h_ertt', unitsPerOp: CHUNK, unit: 'B', fn: () => ertt.move() },
];
