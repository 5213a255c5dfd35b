/**
 * The attack probes (src/hardening/attacks.ts) at a small scale: legitimate connects complete
 * through a SYN flood (syncookies carry some of them), and blind RST/SYN/data segments reset
 * and inject nothing while each kind draws at most net.inet.tcp.ack_war_cnt challenge ACKs
 * per ack_war_timewindow, and at least one (RFC 5961 answers them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeBlind, probeSynFlood } from '../src/hardening/attacks.js';
import { established, forge } from '../src/hardening/forge.js';

test('SYN flood: 20000 forged SYNs, 100 legitimate connects all complete, some through cookies', () => {
  const r = probeSynFlood(3, 20000, 100);
  assert.equal(r.forgedSyns, 20000);
  assert.equal(r.completed, 100, JSON.stringify(r));
  assert.equal(r.successRate, 100);
  assert.ok(r.cookiesReceived > 0, `no connect came back through a cookie: ${JSON.stringify(r)}`);
  // Repeatable from the seed.
  assert.deepEqual(probeSynFlood(3, 20000, 100), r);
});

test('blind RST/SYN/data: no reset, no injection, challenge ACKs within the ack-war limit', () => {
  const r = probeBlind(3, 3000);
  assert.equal(r.resets, 0);
  assert.equal(r.injectedBytes, 0);
  assert.ok(r.survived, 'the attacked connection carries a transfer afterwards');
  for (const k of ['rst', 'syn', 'data'] as const) {
    assert.equal(r[k].segments, 1000);
    assert.equal(r[k].inWindow, 500);
    // 1000 segments 50 µs apart fit one 1 s window: ack_war_cnt (5) ACKs at most, and one at least.
    assert.ok(r[k].challengeAcks >= 1 && r[k].challengeAcks <= 5, `${k}: ${JSON.stringify(r[k])}`);
  }
});

test('the forger is sound: a data segment with the right sequence and acknowledgment numbers is read', () => {
  // What the blind probe's attacker lacks; without this, "nothing injected" could be a bad checksum.
  const { p, last, server } = established(3);
  p.b.e.input(p.b.ifp, forge(last, { flags: 0x18, payload: 32, fill: 0xee }), p.now);
  const buf = new Uint8Array(64);
  assert.equal(p.b.e.recv(server, buf), 32);
  assert.ok(buf.subarray(0, 32).every((b) => b === 0xee));
});
