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

test(`${N} connections closed and past 2MSL: the heap returns to within 5% of where it started`, () => {
  const child = fileURLToPath(new URL('./tcp-churn-heap-child.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', child, String(N)], { encoding: 'utf8' });
  const r = JSON.parse(out) as { before: number; after: number; pcbs: number; callouts: number; zone: number };
  console.log(`heap ${r.before} -> ${r.after} bytes (${(((r.after - r.before) / r.before) * 100).toFixed(1)}%)`);
  assert.equal(r.pcbs, 0);
  assert.equal(r.callouts, 0);
  assert.equal(r.zone, 0, 'the zones gave back what the burst left');
  assert.ok(r.after <= r.before * 1.05, `${r.after} > 1.05 × ${r.before}`);
});
