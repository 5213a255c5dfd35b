/**
 * `mcstack bench hardening`: the hardening probes as one report, repeatable from a seed
 * (@mcstack/bench hardening/probes.ts, in a child with --expose-gc): frames fuzzed and
 * exceptions, challenge ACKs per forged SYN, the ACK war one forged segment starts, the
 * SYN-flood success rate, blind RST/SYN/data attacks (resets, injections, challenge ACKs),
 * IPv6 reassembly under a fragment flood and its bounds, and the heap after churn.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HardeningReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';

export const benchHardening = defineCommand<HardeningReport>({
  path: ['bench', 'hardening'],
  summary:
    'the hardening probes from a seed: fuzzing, challenge ACKs, ACK war, SYN flood, blind attacks, fragment flood, heap after churn',
  options: [
    { name: 'seed', type: 'int', arg: 'S', min: 0, help: 'seed of every probe (default 1)' },
    { name: 'frames', type: 'int', arg: 'N', min: 1, help: 'frames to fuzz (default 200000)' },
    { name: 'churn', type: 'int', arg: 'N', min: 1, max: 1_000_000, help: 'connections to churn (default 100000)' },
  ],
  run(args) {
    const seed = args.int('seed') ?? 1;
    const script = fileURLToPath(import.meta.resolve('@mcstack/bench/hardening-main'));
    const out = execFileSync(
      process.execPath,
      [
        '--expose-gc',
        script,
        String(seed),
        String(args.int('frames') ?? 200_000),
        String(args.int('churn') ?? 100_000),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    return JSON.parse(out) as HardeningReport;
  },
  human: (r) => {
    const f = r.fuzz;
    const c = r.challengeAcks;
    const w = r.ackWar;
    const g = r.frag6Flood;
    const s = r.synFlood;
    const b = r.blind;
    const kind = (k: 'rst' | 'syn' | 'data') =>
      `${k} ${b[k].segments} (${b[k].inWindow} in window): ${b[k].challengeAcks} challenge ACKs (${b[k].challengeAcksPerSegment.toExponential(2)} per segment)`;
    const h = r.churn;
    return [
      `hardening probes, seed ${r.seed}`,
      `fuzz            ${f.frames} mutated frames from a corpus of ${f.corpus}: ${f.exceptions} exceptions; transfer afterwards inet ${f.transferAfter.inet ? 'ok' : 'FAILED'}, inet6 ${f.transferAfter.inet6 ? 'ok' : 'FAILED'}`,
      `challenge ACKs  ${c.challengeAcks} for ${c.forgedSyns} forged SYNs in ${c.virtualSeconds} s (${c.perAttackSegment.toExponential(2)} per attack segment)`,
      `ACK war         one forged in-window segment: ${w.aToB} segments A->B, ${w.bToA} B->A in ${w.virtualSeconds} s`,
      `SYN flood       ${s.completed}/${s.legitimate} legitimate connects completed (${s.successRate.toFixed(1)}%) among ${s.forgedSyns} forged SYNs; ${s.cookiesSent} cookies sent, ${s.cookiesReceived} returned; ${s.bucketOverflows} bucket, ${s.cacheOverflows} cache overflows`,
      `blind attacks   ${kind('rst')}; ${kind('syn')}; ${kind('data')}`,
      `                ${b.resets} connections reset, ${b.injectedBytes} bytes injected, transfer afterwards ${b.survived ? 'ok' : 'FAILED'}`,
      `frag6 flood     ${g.delivered}/${g.legitimate} legitimate datagrams delivered beside ${g.floodFragments} flood fragments; queues ≤ ${g.maxQueues} (limit ${g.limits.maxfragpackets}), fragments ≤ ${g.maxFragments} (limit ${g.limits.maxfrags}), ${g.fragoverflow} overflows`,
      `churn           ${h.connections} connections closed and past 2MSL: heap ${h.heapBefore} -> ${h.heapAfter} bytes (${(h.growth * 100).toFixed(1)}%), ${h.pcbsLeft} pcbs left${h.gc ? '' : ' (no GC: figures approximate)'}`,
    ].join('\n');
  },
});
