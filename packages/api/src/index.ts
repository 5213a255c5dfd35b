/**
 * @mcstack/api: sockets for applications. `mcnet(stack)` is a node:net-like module bound to
 * a runtime Stack created with `withNet(options)`: createServer, connect/createConnection,
 * Server, and Socket (a net.Socket), errors as node:net's; `mcdgram(stack)` is node:dgram's
 * counterpart (createSocket, a dgram Socket).
 */
export { mcnet, withNet, sockAppSpec, McNet, SOCKAPP_NAME, type NetHost, type ConnectFunction } from './net.js';
export {
  Socket,
  socketError,
  WRITE_WINDOW,
  type SocketOptions,
  type SocketConnectOptions,
  type AddressInfo,
  type SocketError,
  type LookupFunction,
} from './socket.js';
export { nodeError, systemError, type NodeSystemError } from './errors.js';
export { Server, type ServerOptions, type ListenOptions } from './server.js';
export { Channel } from './channel.js';
export { mainPollStats, type MainPollStats } from './mainpoll.js';
export {
  mcdgram,
  McDgram,
  Socket as DgramSocket,
  type SocketType as DgramSocketType,
  type SocketOptions as DgramSocketOptions,
  type RemoteInfo,
  type BindOptions as DgramBindOptions,
} from './dgram.js';
export type { NetCore } from './netcore.js';
