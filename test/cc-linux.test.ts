/**
 * `mcstack bench cc --linux` for real (bench/src/cc-linux.ts): the kernel's CUBIC and
 * mcstack's CUBIC through one tc tbf bottleneck, the RTT from mcstack's pipe. Asserted
 * only what a loaded machine cannot break: both flows moved data, together no more than
 * the tbf lets through (its rate over the window, plus its burst and queue), and the
 * modelled run of the same mix is there. Skips, saying why, without root, namespaces,
 * TAP, tc or the kernel's cubic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ccLinuxUnavailable, runCcLinux } from '@mcstack/bench';

const skip = await ccLinuxUnavailable(['cubic']);
const RATE = 10e6;
const QUEUE = 30;

test("Linux's CUBIC and mcstack's share a tbf bottleneck: both move data, together within its rate", {
  skip: skip ? `needs root, TAP, namespaces and tc: ${skip}` : false,
  timeout: 120_000,
}, async () => {
  const seconds = 3;
  const r = await runCcLinux({
    linux: ['cubic'],
    rateBps: RATE,
    rttMs: 20,
    queuePkts: QUEUE,
    seconds,
    warmupSeconds: 1,
    seed: 1,
  });
  const x = r.runs[0]!;
  assert.ok(x.linuxBytes > 0 && x.mcstackBytes > 0, JSON.stringify(x));
  // Payload under the tbf's byte rate over the window, with its burst and queue as slack
  // (the window is timed on this side, so allow 10 %).
  const cap = ((RATE / 8) * seconds * 1.1 + QUEUE * 1514 + 8192) * (1448 / 1514);
  assert.ok(x.linuxBytes + x.mcstackBytes <= cap, `${x.linuxBytes + x.mcstackBytes} B through a ${cap} B cap`);
  assert.ok(x.modelled !== null && x.modelled.linuxShare > 0 && x.modelled.linuxShare < 1);
});
