/**
 * @mcstack/api: sockets for applications. `mcnet(stack)` is a node:net-like module bound to
 * a runtime Stack (createServer, connect, Socket as a stream.Duplex).
 */
export {};
