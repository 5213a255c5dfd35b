/**
 * @mcstack/bench: the studies over the library. The scaling study (runScaling, its report
 * and table), the synthetic peer it measures against, the TAP bench and the network
 * namespaces it (and the TAP interop tests) run Linux in, the HTTP bench (wrk against
 * http-lite, node:http over mcstack and node:http on Linux) and its node:http server. The plot is the ./plot subpath:
 * it loads vega, which only a plot needs.
 */
export * from './result.js';
export { studyV8Flags, applyV8Flags, processConcurrentRecompilation, NO_CONCURRENT_RECOMPILATION } from './v8flags.js';
export {
  runScaling,
  runPoint,
  studyPlan,
  studyPoints,
  formatStudyPlan,
  type ScalingOptions,
  type PlanStep,
  type StudyPoint,
} from './scaling.js';
export { formatReport, formatWorkload, formatAA, formatColumns, sig } from './table.js';
export { SyntheticPeer, type SyntheticPeerOptions, type SyntheticPeerStats } from './synpeer/index.js';
export {
  runCcLinux,
  formatCcLinux,
  ccLinuxUnavailable,
  type CcLinuxOptions,
  type CcLinuxReport,
  type CcLinuxRun,
} from './cc-linux.js';
export { runCcStudy, formatCcStudy, type CcStudyOptions, type CcStudyReport, type CcStudyRun } from './cc.js';
export {
  runApiBench,
  formatApiBench,
  API_WORKLOADS,
  type ApiBenchOptions,
  type ApiBenchReport,
  type ApiBenchRow,
  type ApiWorkload,
} from './api.js';
export { runTapBench, formatTapBench, type TapBenchRow, type TapBenchReport } from './tap.js';
export {
  runToeBench,
  formatToeBench,
  type ToeBenchOptions,
  type ToeBenchReport,
  type ToeBenchRow,
  type ToeMode,
  type ToeTarget,
} from './toe.js';
export {
  runHttpBench,
  formatHttpBench,
  httpBenchUnavailable,
  startMcstackHttp,
  type McstackHttp,
  procCpuUs,
  parseWrk,
  pointSeconds,
  type HttpBenchReport,
  type HttpBenchOptions,
} from './http.js';
export {
  HTTP_SERVERS,
  httpTargets,
  summarizeHttp,
  type HttpServerName,
  type HttpBenchPoint,
  type HttpPointSummary,
  type HttpBenchTarget,
} from './http-summary.js';
export { sizedBody, HTTP_SERVER_JS } from './http-server.js';
export { Netns, netnsUnavailable, vethPair, PEER_PY } from './netns.js';
export {
  loadPinner,
  assignCpus,
  usableCpus,
  allowedFromProc,
  type Pinner,
  type Pinning,
} from './affinity.js';
export * from './stats/index.js';
export {
  runRounds,
  ratioRow,
  estimate,
  roundPoints,
  orderOf,
  formatOrder,
  formatEstimate,
  formatRatio,
  roundsLine,
  type Rounds,
  type RoundsOptions,
  type RatioRow,
  type Estimate,
  type RoundPoint,
} from './rounds.js';
export { studySamples, figuresOf, type StudyFile } from './studyfile.js';
export { runConns, type ConnsResult } from './conns.js';
export { fuzz, census, type FuzzResult } from './hardening/fuzz.js';
export { runHardening, type HardeningReport } from './hardening/probes.js';
export {
  runRdmaBench,
  formatRdmaBench,
  type RdmaBenchOptions,
  type RdmaBenchReport,
  type RdmaBenchRow,
  type RdmaWorkload,
} from './rdma.js';
