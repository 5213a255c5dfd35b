/**
 * The one place a TCP connection changes state (RFC 9293 §3.3.2's diagram): it
 * keeps tcpstat's per-state gauge (tcps_states, as `netstat -s` shows) and the
 * socket's view (soisconnected on reaching ESTABLISHED) consistent.
 */
import type { Tcpstat, Tcpcb } from './var.js';
import { TCPS_ESTABLISHED, TCPS_SYN_RECEIVED } from './var.js';

export function setState(stat: Tcpstat, tp: Tcpcb, state: number): void {
  const old = tp.t_state;
  if (old === state) return;
  stat.tcps_states[old]!--;
  stat.tcps_states[state]!++;
  tp.t_state = state;
  // RFC 9293 §3.10.7.3/4: the connection is open for the user from ESTABLISHED on.
  if (state === TCPS_ESTABLISHED && (old === TCPS_SYN_RECEIVED || old < TCPS_ESTABLISHED)) {
    tp.inp.inp_socket?.isConnected();
  }
}
