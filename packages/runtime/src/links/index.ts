export * from './udptunnel.js';
export * from './tap.js';
export * from './realtime.js';
export * from './pcapreplay.js';
export * from './tapmq.js';
export { tcpSegCut, type SegmentSink } from './tsocut.js';
export { vtnetRxCsum, vtnetRxGsoSize, vtnetTxOffload } from './vtnet.js';
export { tunOffloadsFor } from './queueport.js';
export { type QueueStats, queueStats, queueStatsSab } from './queuestats.js';
