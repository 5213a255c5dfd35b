/**
 * @mcstack/bench: the studies over the library. The scaling study (runScaling, its report
 * and table), the synthetic peer it measures against, the TAP bench and the network
 * namespaces it (and the TAP interop tests) run Linux in. The plot is the ./plot subpath:
 * it loads vega, which only a plot needs.
 */
export * from './result.js';
export { runScaling, runPoint, studyPlan, type ScalingOptions, type PlanStep } from './scaling.js';
export { formatReport, formatWorkload, formatColumns, sig } from './table.js';
export { SyntheticPeer, type SyntheticPeerOptions, type SyntheticPeerStats } from './synpeer/index.js';
export {
  runApiBench,
  formatApiBench,
  type ApiBenchOptions,
  type ApiBenchReport,
  type ApiBenchRow,
  type ApiWorkload,
} from './api.js';
export { runTapBench, formatTapBench, type TapBenchRow, type TapBenchReport } from './tap.js';
export { Netns, netnsUnavailable, vethPair, PEER_PY } from './netns.js';
