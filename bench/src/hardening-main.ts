/**
 * `node --expose-gc hardening-main.js SEED [FUZZ_FRAMES] [CHURN]`: runHardening in a process
 * of its own (a full GC for the churn probe), the report as one JSON line (what `mcstack
 * bench hardening` runs).
 */
import { runHardening } from './hardening/probes.js';

const seed = Number(process.argv[2] ?? 1);
const fuzzFrames = Number(process.argv[3] ?? 200_000);
const churn = Number(process.argv[4] ?? 100_000);
process.stdout.write(`${JSON.stringify(runHardening(seed, { fuzzFrames, churn }))}\n`);
