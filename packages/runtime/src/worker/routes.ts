/**
 * The static routes a thread's engine starts with (StackOptions.routes, and on the TOE
 * card the host's table as it stands when the card starts): `route add DST GATEWAY`
 * where GATEWAY is an address or an interface name.
 */
import { SysError, type Engine } from '@mcstack/netinet';
import type { RouteSpec } from '../control.js';

export function installRoutes(e: Engine, routes: readonly RouteSpec[]): void {
  for (const r of routes) {
    const via = e.ifunit(r.gateway) ?? r.gateway;
    const err = e.addRoute(r.dst, via, { fib: r.fib, mtu: r.mtu });
    if (err < 0) throw SysError.fromErrno(err, `route add ${r.dst} ${r.gateway}`);
  }
}
