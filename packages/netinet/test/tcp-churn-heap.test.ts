/**
 * Closed connections give their memory back: N connections between two engines opened,
 * closed from both ends and past 2MSL leave the heap within 5% of where it started, measured
 * after a full GC in a child run with --expose-gc (tcp-churn-heap-child.ts). The bench
 * (`mcstack bench hardening`) runs it at 100,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const N = 50_000;

test(`${N} connections closed and past 2MSL: at most 32 bytes of heap each stay behind`, () => {
  const child = fileURLToPath(new URL('./tcp-churn-heap-child.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', child, String(N)], { encoding: 'utf8' });
  const r = JSON.parse(out) as { before: number; after: number; pcbs: number; callouts: number; zone: number };
  console.log(`heap ${r.before} -> ${r.after} bytes (${(((r.after - r.before) / r.before) * 100).toFixed(1)}%)`);
  assert.equal(r.pcbs, 0);
  assert.equal(r.callouts, 0);
  assert.equal(r.zone, 0, 'the zones gave back what the burst left');
  // What a closed connection may leave behind: V8's compiled code and feedback from the
  // first churn land in `after` too (0.2-0.7 MB against an 8 MB start, 2-8% of it, by run),
  // so the bound is per connection: the pinned pcbs this guards against kept 1,660 bytes
  // each. The 5% at 100,000 connections is `mcstack bench hardening`'s churn figure.
  const perConn = (r.after - r.before) / N;
  assert.ok(perConn <= 32, `${perConn.toFixed(1)} bytes per closed connection stay on the heap`);
});
