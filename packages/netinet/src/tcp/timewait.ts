/**
 * TIME-WAIT (FreeBSD tcp_timewait.c): entering it for 2*MSL, and what a segment
 * does to a connection in it — RFC 9293 §3.10.7.4, RFC 1337 (an RST does not end
 * it) and RFC 6191 (a new SYN above the old sequence space may reopen the pair).
 */
import { seqGt } from '@mcstack/wire';
import { SS_NOFDREF } from '../kern/uipc_socket.js';
import { type Tcp, tcpClose, tcpDetachSocket, tcpHcSave } from './subr.js';
import { type Tcpcb, type TcpSeg, TCPS_TIME_WAIT, TH_FIN, TH_SYN, TH_RST, TH_ACK, TT_2MSL } from './var.js';
import { setState } from './fsm.js';
import { tcpRespondConn } from './output.js';
import { tcpTimerActivate, tcpTimerStopAll } from './timer.js';

/** tcp_twstart: enter TIME-WAIT for 2*MSL (RFC 9293 §3.10.7.4 eighth). */
export function twstart(tcp: Tcp, tp: Tcpcb): void {
  tcpHcSave(tcp, tp);
  setState(tcp.stat, tp, TCPS_TIME_WAIT);
  tcpTimerStopAll(tcp, tp);
  tp.reass.flush();
  tcpTimerActivate(tcp, tp, TT_2MSL, 2 * tcp.t.msl * 1000);
  const so = tp.inp.inp_socket;
  if (so === null) return;
  so.isDisconnected();
  // A closed socket is done with (FreeBSD frees it here and keeps only the pcb): give
  // its buffers back now rather than after 2*MSL. Nothing is left in them.
  if ((so.so_state & SS_NOFDREF) !== 0 && so.so_head === null) tcpDetachSocket(tp.inp, so);
}

/**
 * tcp_twcheck: a segment for a TIME-WAIT connection. Returns true when a new SYN
 * above the old sequence space closed it and the lookup must be repeated.
 */
export function twcheck(tcp: Tcp, tp: Tcpcb, s: TcpSeg): boolean {
  const f = s.flags;
  // RFC 1337: RSTs do not end TIME-WAIT.
  if (f & TH_RST) return false;
  if ((f & (TH_SYN | TH_ACK)) === TH_SYN && seqGt(s.seq, tp.rcv_nxt)) {
    // RFC 9293 §3.10.7.4 / RFC 6191: a new incarnation may start (a SYN without ACK only, tcp_twcheck).
    tcpClose(tcp, tp);
    return true;
  }
  if ((f & TH_ACK) === 0) return false;
  if (f & TH_FIN) {
    const seq = (s.seq + s.tlen + (f & TH_SYN ? 1 : 0)) >>> 0;
    // A retransmitted FIN restarts the 2MSL timer.
    if ((seq + 1) >>> 0 === tp.rcv_nxt) tcpTimerActivate(tcp, tp, TT_2MSL, 2 * tcp.t.msl * 1000);
  }
  if (f !== TH_ACK || s.tlen !== 0 || s.seq !== tp.rcv_nxt || s.ack !== tp.snd_nxt) {
    tcpRespondConn(tcp, tp, tp.snd_nxt, tp.rcv_nxt, TH_ACK, 0);
  }
  return false;
}
