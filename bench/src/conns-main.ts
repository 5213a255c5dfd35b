/**
 * `node --expose-gc --max-old-space-size=M conns-main.js N [seed]`: runConns in a process of
 * its own, its heap sized for N, the result as one JSON line (what `mcstack bench conns` runs).
 */
import { runConns } from './conns.js';

const n = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
process.stdout.write(`${JSON.stringify(runConns(n, seed))}\n`);
