/**
 * @mcstack/bench: the studies over the library. The scaling study (runScaling, its report
 * and table), the synthetic peer it measures against, the TAP bench and the network
 * namespaces it (and the TAP interop tests) run Linux in, the HTTP bench (wrk against
 * http-lite, node:http over mcstack and node:http on Linux) and its node:http server. The plot is the ./plot subpath:
 * it loads vega, which only a plot needs.
 */
export * from './result.js';
export { runScaling, runPoint, studyPlan, type ScalingOptions, type PlanStep } from './scaling.js';
export { formatReport, formatWorkload, formatColumns, sig } from './table.js';
export { SyntheticPeer, type SyntheticPeerOptions, type SyntheticPeerStats } from './synpeer/index.js';
export { runTapBench, formatTapBench, type TapBenchRow, type TapBenchReport } from './tap.js';
export {
  runHttpBench,
  formatHttpBench,
  httpBenchUnavailable,
  startMcstackHttp,
  type McstackHttp,
  httpTargets,
  parseWrk,
  pointSeconds,
  HTTP_SERVERS,
  type HttpServerName,
  type HttpBenchPoint,
  type HttpBenchReport,
  type HttpBenchTarget,
  type HttpBenchOptions,
} from './http.js';
export { sizedBody, HTTP_SERVER_JS } from './http-server.js';
export { Netns, netnsUnavailable, vethPair, PEER_PY } from './netns.js';
