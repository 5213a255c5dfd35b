/**
 * @mcstack/runtime: the stack's threads. The coordinator (Stack), group workers, frame
 * rings and links, the apps API, and what peers that plug into a Stack's link share with
 * the workers (doorbells, ring metadata, errors that cross threads, thread CPU clocks).
 * The socket-record format of @mcstack/api is the ./sockrec subpath.
 */
export * from './ring.js';
export * from './link.js';
export * from './reservations.js';
export * from './linkmatrix.js';
export * from './control.js';
export * from './stack.js';
export { CARD_MODELS, cardModel, type CardModel } from './cardmodel.js';
export * from './pcblookup.js';
export { parseMac, formatMac } from './addrs.js';
export { Doorbell, DOORBELL_BYTES } from './doorbell.js';
export { errorInfo, rebuildError } from './errinfo.js';
export { workersLive, mayPoll, mainAsleep, PollWindow, SPIN_WINDOW_US } from './cpushare.js';
export * from './threadcpu.js';
export { pipeConfig, pipeClock, type PipeSpec, type PipeStats } from './pipe.js';
export type { GroupApp, AppContext, GroupAppFactory } from './apps/app.js';
export { registerApp, lookupApp, appNames, appOptions, checkAppSpec } from './apps/registry.js';
export {
  AppOptionError,
  checkAppOptions,
  defineApp,
  CLIENT_OPTIONS,
  SERVER_OPTIONS,
  type AppOption,
  type AppOptionSchema,
  type CheckedAppFactory,
} from './apps/options.js';
export { ClientApp, shareOf, type Txn } from './apps/client.js';
export { ServerApp } from './apps/server.js';
export { parseHostPort } from './links/external.js';
export * from './links/index.js';
export * as native from './native/index.js';
export { VnetJails } from './vnet.js';
export * from './rdma.js';
export { HostEpairs } from './hostepair.js';
