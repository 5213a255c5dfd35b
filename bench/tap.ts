/**
 * The TAP figure (bench/src/tap.ts; also `mcstack bench tap`).
 * Needs root, /dev/net/tun, socat, ip, python3, koffi.
 *
 *   npx tsc -b && node bench/dist/tap.js [--bytes N] [--repeats N] [--seed N] [--no-socat] [--json]
 */
import { runTapBench, formatTapBench } from '@mcstack/bench';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
try {
  const r = await runTapBench({
    bytes: arg('bytes', 64 << 20),
    repeats: arg('repeats', 5),
    seed: arg('seed', 1),
    socat: !process.argv.includes('--no-socat'),
  });
  console.log(process.argv.includes('--json') ? JSON.stringify(r, null, 2) : formatTapBench(r));
} catch (e) {
  console.log(`bench tap: ${(e as Error).message}`);
}
