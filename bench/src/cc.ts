/**
 * The congestion-control study (`mcstack bench cc`): N flows of each algorithm on the
 * modelled bottleneck (@mcstack/netinet/sim runCcFlows), each algorithm alone and, with
 * more than one, all of them mixed. Goodput per flow, Jain's fairness index, the
 * bottleneck's queueing-delay percentiles, retransmissions and cwnd over time. On the
 * virtual clock from a seed: a report repeats exactly.
 */
import { runCcFlows, type Aqm, type CcRunResult } from '@mcstack/netinet/sim';
import { formatColumns, sig } from './table.js';

export interface CcStudyOptions {
  algorithms: string[];
  /** Flows per algorithm. */
  flows: number;
  rateBps: number;
  rttMs: number;
  queuePkts: number;
  aqm: Aqm;
  seconds: number;
  seed: number;
  ecnK?: number;
}

export interface CcStudyRun {
  /** The algorithm run alone, or `mixed`. */
  label: string;
  result: CcRunResult;
}

export interface CcStudyReport {
  options: CcStudyOptions;
  runs: CcStudyRun[];
}

export function runCcStudy(o: CcStudyOptions): CcStudyReport {
  const base = {
    seed: o.seed,
    rateBps: o.rateBps,
    rttMs: o.rttMs,
    queuePkts: o.queuePkts,
    aqm: o.aqm,
    seconds: o.seconds,
    ...(o.ecnK !== undefined ? { ecnK: o.ecnK } : {}),
  };
  const runs: CcStudyRun[] = o.algorithms.map((alg) => ({
    label: alg,
    result: runCcFlows({ ...base, flows: new Array<string>(o.flows).fill(alg) }),
  }));
  if (o.algorithms.length > 1) {
    const mixed = o.algorithms.flatMap((alg) => new Array<string>(o.flows).fill(alg));
    runs.push({ label: 'mixed', result: runCcFlows({ ...base, flows: mixed }) });
  }
  return { options: o, runs };
}

/** The report as a table: a block per run, a row per flow, then the run's figures. */
export function formatCcStudy(r: CcStudyReport): string {
  const o = r.options;
  const out = [
    `bottleneck ${sig(o.rateBps / 1e6)} Mbit/s, RTT ${o.rttMs} ms, queue ${o.queuePkts} packets, ${o.aqm}; ` +
      `${o.flows} flow(s) per algorithm, ${o.seconds} s virtual, seed ${o.seed}`,
  ];
  for (const run of r.runs) {
    const res = run.result;
    out.push('', `${run.label}:`);
    const rows: string[][] = [['flow', 'algorithm', 'goodput Mbit/s', 'retransmits', 'cwnd (last)']];
    res.flows.forEach((f, i) => {
      rows.push([String(i), f.algorithm, sig(f.goodputBps / 1e6), String(f.retransmits), String(f.cwnd.at(-1) ?? 0)]);
    });
    out.push(...formatColumns(rows, 2).map((l) => `  ${l}`));
    const q = res.queueDelayMs;
    out.push(
      `  Jain's index ${res.jain.toFixed(3)}, utilization ${(res.utilization * 100).toFixed(1)} %, ` +
        `queueing delay p50 ${q.p50} / p95 ${q.p95} / p99 ${q.p99} ms, drops ${res.drops}, CE marks ${res.ceMarks}, ` +
        `timeouts ${res.timeouts}`,
    );
  }
  return `${out.join('\n')}\n`;
}
