/**
 * tcp_output (FreeBSD tcp_output.c): decide whether a segment is due — data the
 * windows allow (RFC 9293 §3.8.6.2.1 SWS avoidance, RFC 896 Nagle), a window
 * update, an ACK, SYN/FIN/RST, a SACK-recovery retransmission (RFC 6675 §5) — and
 * build it into one scratch buffer after MAX_HDR bytes of headroom, options in
 * FreeBSD's order and padding (tcp_addoptions), with only the pseudo-header sum in
 * th_sum (delayed checksum). Nothing is allocated per segment.
 */
import { get32, set16, set32, TOF_TS } from '@mcstack/wire';
import { fold } from '@mcstack/wire';
import { seqGt, seqLt, seqGeq } from '@mcstack/wire';
import { type Tcp, tcpTsGetticks } from './subr.js';
import {
  type Tcpcb,
  TCPS_CLOSED,
  TCPS_SYN_SENT,
  TCPS_SYN_RECEIVED,
  TCPS_ESTABLISHED,
  tcp_outflags,
  haveRcvdFin,
  TH_FIN,
  TH_SYN,
  TH_RST,
  TH_PUSH,
  TH_ACK,
  TH_ECE,
  TH_CWR,
  TF_ACKNOW,
  TF_DELACK,
  TF_NODELAY,
  TF_NOOPT,
  TF_SENTFIN,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_RCVD_TSTMP,
  TF_SACK_PERMIT,
  TF_NEEDSYN,
  TF_NEEDFIN,
  TF_NOPUSH,
  TF_LASTIDLE,
  TF_RXWIN0SENT,
  TF_FASTRECOVERY,
  TF_FORCEDATA,
  TF_ECN_PERMIT,
  TF_ECN_SND_CWR,
  TF_ECN_SND_ECE,
  TT_DELACK,
  TT_REXMT,
  TT_PERSIST,
  TCP_MAXWIN,
  tcp_backoff,
  TCPTV_PERSMIN,
  TCPTV_PERSMAX,
  TF2_ECN_USE_ECT1,
  TF_SIGNATURE,
  TF_TSO,
} from './var.js';
import { MAX_LINKHDR } from '../net/mbuf.js';
import { TCP_SIGNATURE_ROOM, tcpSignatureAddOption, tcpSignatureSign } from './signature.js';
import { tcpTunnelEncap } from './tunnel.js';
import { INP_IPV4 } from '../netinet/in_pcb.js';
import { cleanDsackBlocks } from './sack.js';
import { ERRNO } from '../kern/errno.js';
import { SB_AUTOSIZE } from '../kern/sockbuf.js';
import { type Socket, sbMaxAdj } from '../kern/uipc_socket.js';
import { tcpTimerActivate, tcpTimerActive } from './timer.js';
import { HHOOK_TCP_EST_OUT, hhookRunTcpEstOut } from './tcp_hhook.js';
import { tcpMssUpdate } from './input.js';

/** Where the TCP header starts in the scratch buffer (≥ MAX_HDR of the IP layer). */
export const TCP_OUT_OFF = 128;

const TCPOPT_NOP = 1;
const TCPOPT_EOL = 0;

/** TCPT_RANGESET with FreeBSD's slop: value + rexmit_slop, clamped to [min, max]. */
export function rangeset(tcp: Tcp, value: number, min: number, max: number): number {
  let tv = value + tcp.t.rexmit_slop * 1000;
  if (tv < min) tv = min;
  if (tv > max) tv = max;
  return tv;
}

/** TCP_REXMTVAL: srtt + 4 * rttvar (RFC 6298 §2.3), at least t_rttmin. */
export function rexmtval(tp: Tcpcb): number {
  return Math.max(tp.t_rttmin, tp.t_srtt + 4 * tp.t_rttvar);
}

/** tcp_setpersist: arm the persist timer with backoff (RFC 9293 §3.8.6.1). */
export function tcpSetpersist(tcp: Tcp, tp: Tcpcb): void {
  const t = tp.t_srtt + 4 * tp.t_rttvar || tcp.t.rexmit_initial * 1000;
  let tt = t * tcp_backoff[Math.min(tp.t_rxtshift, tcp_backoff.length - 1)]!;
  if (tt < TCPTV_PERSMIN) tt = TCPTV_PERSMIN;
  if (tt > TCPTV_PERSMAX) tt = TCPTV_PERSMAX;
  tcpTimerActivate(tcp, tp, TT_PERSIST, tt);
  if (tp.t_rxtshift < 12) tp.t_rxtshift++;
}

/** The space for data a segment leaves after its options (tcp_maxseg). */
export function tcpMaxseg(tp: Tcpcb): number {
  let optlen = 0;
  if ((tp.t_flags & TF_NOOPT) === 0) {
    if ((tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) optlen += 12;
    if (tp.t_flags & TF_SACK_PERMIT && tp.rcv_numsacks > 0) optlen += 4 + Math.min(tp.rcv_numsacks, 4) * 8;
  }
  if (tp.t_flags & TF_SIGNATURE) optlen += TCP_SIGNATURE_ROOM;
  return tp.t_maxseg - Math.min(optlen, 40);
}

/**
 * tcp_sndbuf_autoscale: grow the send buffer one step (net.inet.tcp.sendbuf_inc, up to
 * sendbuf_max) when the peer's window is larger than the buffer (with a 5/4 fudge), the
 * buffer is 7/8 full, and the send window covers what is queued but unsent — so a bulk
 * sender's buffer follows the bandwidth-delay product instead of capping it.
 */
function sndbufAutoscale(tcp: Tcp, tp: Tcpcb, so: Socket, sendwin: number): void {
  const sb = so.so_snd;
  const t = tcp.t;
  if (!t.sendbuf_auto || (sb.sb_flags & SB_AUTOSIZE) === 0) return;
  const lowat = t.sendbuf_auto_lowat ? sb.sb_lowat : 0;
  const used = sb.sb_cc;
  if (
    Math.floor(tp.snd_wnd / 4) * 5 >= sb.sb_hiwat - lowat &&
    used >= Math.floor(sb.sb_hiwat / 8) * 7 - lowat &&
    used < t.sendbuf_max &&
    sendwin >= used - ((tp.snd_nxt - tp.snd_una) | 0)
  ) {
    // Past sb_max_adj the reserve fails: then stop autosizing this buffer.
    if (!sb.reserveMax(Math.min(sb.sb_hiwat + t.sendbuf_inc, t.sendbuf_max), sbMaxAdj(tcp.t.maxsockbuf)))
      sb.sb_flags &= ~SB_AUTOSIZE;
  }
}

export function tcpOutput(tcp: Tcp, tp: Tcpcb): number {
  const inp = tp.inp;
  const so = inp.inp_socket;
  const now = tcp.now();
  const _t = tcp.t;
  let error = 0;

  // RFC 5681 §4.1: restart the window after an idle period longer than the RTO.
  const idle = (tp.t_flags & TF_LASTIDLE) !== 0 || tp.snd_max === tp.snd_una;
  if (idle && now - tp.t_rcvtime >= tp.t_rxtcur && tp.t_state >= TCPS_ESTABLISHED) tp.cc.after_idle?.(tp);
  tp.t_flags &= ~TF_LASTIDLE;
  if (idle && (tp.t_flags & TF_MORETOCOME_BIT) !== 0) tp.t_flags |= TF_LASTIDLE;

  for (let loops = 0; loops < 4096; loops++) {
    let sendalot = false;
    let off = (tp.snd_nxt - tp.snd_una) | 0;
    let sendwin = Math.min(tp.snd_wnd, tp.snd_cwnd);
    if (so !== null) sndbufAutoscale(tcp, tp, so, sendwin);
    let flags = tcp_outflags[tp.t_state]!;
    const sbcc = so !== null ? so.so_snd.sb_cc : 0;
    let len = 0;
    let sackRxmit = -1;
    let sackRxmitSeq = 0;

    // RFC 6675 §5 (4): in SACK recovery, retransmit from the next hole first.
    if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && (tp.t_flags & TF_FASTRECOVERY) !== 0 && tp.sackHoles() > 0) {
      const h = tp.sack.output();
      if (h >= 0) {
        // FreeBSD's tcp_output: what cwnd allows beyond the bytes already retransmitted
        // (tcp_input grows cwnd per duplicate ACK while the pipe is under ssthresh).
        const cwin = Math.min(tp.snd_wnd, tp.snd_cwnd) - tp.sack.sack_bytes_rexmit;
        if (cwin > 0) {
          const rx = tp.sack.rxmit[h]!;
          len = Math.min(cwin, (tp.sack.end[h]! - rx) >>> 0, tp.t_maxseg);
          off = (rx - tp.snd_una) | 0;
          if (len > 0 && off >= 0) {
            sackRxmit = h;
            sackRxmitSeq = rx;
            sendalot = true;
          } else {
            len = 0;
          }
        }
      }
    }

    if (tp.t_flags & TF_NEEDFIN) flags |= TH_FIN;
    if (tp.t_flags & TF_NEEDSYN) flags |= TH_SYN;

    // Persist probe: force one byte (or the FIN) into a zero window (RFC 9293 §3.8.6.1).
    if ((tp.t_flags & TF_FORCEDATA) !== 0) {
      if (sendwin === 0) {
        if (off < sbcc) flags &= ~TH_FIN;
        sendwin = 1;
      } else {
        tcpTimerActivate(tcp, tp, TT_PERSIST, 0);
        tp.t_rxtshift = 0;
      }
    }

    if (sackRxmit < 0) {
      if (
        (tp.t_flags & TF_FASTRECOVERY) !== 0 &&
        (tp.t_flags & TF_SACK_PERMIT) !== 0 &&
        tp.sack.sack_bytes_rexmit > 0
      ) {
        // New data in a SACK recovery episode once the scoreboard is retransmitted: the
        // receive window, and of cwnd what the retransmissions and the new data sent
        // since recovery began have not used (FreeBSD's tcp_output).
        len = Math.min(sbcc, tp.snd_wnd) - off;
        if (len > 0) {
          const cwin = tp.snd_cwnd - ((tp.snd_nxt - tp.sack_newdata) | 0) - tp.sack.sack_bytes_rexmit;
          len = Math.min(len, Math.max(0, cwin));
        }
      } else {
        len = Math.min(sbcc, sendwin) - off;
      }
    }

    // A SYN is not sent again once acknowledged; no data rides with our SYN (no TFO).
    if ((flags & TH_SYN) !== 0 && seqGt(tp.snd_nxt, tp.snd_una)) {
      if (tp.t_state !== TCPS_SYN_RECEIVED) flags &= ~TH_SYN;
      off--;
      len++;
    }
    if ((flags & TH_SYN) !== 0) {
      len = 0;
      flags &= ~TH_FIN;
    }

    if (len <= 0) {
      // Zero window or nothing left: pull snd_nxt back and probe (tcp_output's "len < 0").
      len = 0;
      // Not for a SYN (len is 0 there, not < 0 as in tcp_output): the SYN's backoff and
      // t_rxtshift must survive its retransmissions (ecn.maxretries, SYN backoff).
      if (sendwin === 0 && sackRxmit < 0 && (flags & TH_SYN) === 0) {
        tcpTimerActivate(tcp, tp, TT_REXMT, 0);
        tp.t_rxtshift = 0;
        tp.snd_nxt = tp.snd_una;
        if (!tcpTimerActive(tp, TT_PERSIST)) tcpSetpersist(tcp, tp);
      }
    }

    // Room for data after the options this segment will carry.
    const maxseg = tcpMaxseg(tp);
    let tsoSegsz = 0;
    if (len > maxseg) {
      // TSO only in a pure bulk send (tcp_output.c): every piece the interface cuts
      // carries the same header but for the sequence number, so nothing that varies
      // per segment may ride along: no TCP-MD5, SACK blocks or SACK retransmission,
      // no SYN, no UDP encapsulation. TSO is never taken from if_hwassist (TF_TSO).
      if (
        (tp.t_flags & TF_TSO) !== 0 &&
        tp.t_tsomax > 0 &&
        tcp.t.tso !== 0 &&
        tp.t_port === 0 &&
        (tp.t_flags & TF_SIGNATURE) === 0 &&
        tp.rcv_numsacks === 0 &&
        sackRxmit < 0 &&
        (flags & TH_SYN) === 0
      ) {
        const v4 = (tp.inp.inp_vflag & INP_IPV4) !== 0;
        // Limit the burst to if_hw_tsomax, headers and max_linkhdr included.
        const hdrlen = (v4 ? 20 : 40) + 20 + (tp.t_maxseg - maxseg);
        const maxLen = tp.t_tsomax - hdrlen - MAX_LINKHDR;
        if (len > maxLen) {
          len = maxLen;
          sendalot = true;
        }
        // No fractional last piece unless this empties the send buffer.
        if (off + len < sbcc) {
          const moff = len % maxseg;
          if (moff !== 0) {
            len -= moff;
            sendalot = true;
          }
        }
        // A short last piece only where Nagle (RFC 896) would send that short segment,
        // so the pieces are the segments TSO off would send.
        const tail = len % maxseg;
        if (tail !== 0 && !shortSegmentGoes(tp, idle, tail, off + len - tail, sbcc, tp.snd_nxt + len - tail)) {
          len -= tail;
          sendalot = true;
        }
        if (len <= maxseg) {
          len = maxseg;
          sendalot = true;
        } else {
          // A FIN may ride on the burst: every cutter here (tcp/tso.ts, virtio GSO) puts it
          // on the last piece only, as TSO off would send it.
          tsoSegsz = maxseg;
        }
      } else {
        len = maxseg;
        sendalot = true;
      }
    }
    if (sackRxmit >= 0) {
      if (seqLt((sackRxmitSeq + len) >>> 0, (tp.snd_una + sbcc) >>> 0)) flags &= ~TH_FIN;
    } else if (seqLt((tp.snd_nxt + len) >>> 0, (tp.snd_una + sbcc) >>> 0)) {
      flags &= ~TH_FIN;
    }

    const recwin = rcvWindow(tp, so);

    let send = false;
    if (len > 0) {
      if (len >= maxseg) send = true;
      else if (shortSegmentGoes(tp, idle, len, off, sbcc, tp.snd_nxt)) send = true;
      else if (sackRxmit >= 0) send = true;
    }
    if (!send && windowUpdateDue(tp, so, recwin)) send = true;
    if (!send && (tp.t_flags & TF_ACKNOW) !== 0) send = true;
    if (!send && ((flags & TH_RST) !== 0 || ((flags & TH_SYN) !== 0 && (tp.t_flags & TF_NEEDSYN) === 0))) send = true;
    if (!send && (flags & TH_FIN) !== 0 && ((tp.t_flags & TF_SENTFIN) === 0 || tp.snd_nxt === tp.snd_una)) send = true;
    if (!send && (tp.t_flags & TF_FASTRECOVERY) !== 0 && (tp.t_flags & TF_SACK_PERMIT) !== 0 && sackRxmit >= 0)
      send = true;

    if (!send) {
      // Nothing to send: with data pending and no timer running, start the persist timer.
      if (sbcc > 0 && !tcpTimerActive(tp, TT_REXMT) && !tcpTimerActive(tp, TT_PERSIST)) {
        if (tp.snd_max !== tp.snd_una) {
          // Data in flight (e.g. recovery waiting for the window): RFC 6298 §5.1 keeps the RTO running.
          tcpTimerActivate(tcp, tp, TT_REXMT, tp.t_rxtcur);
        } else {
          tp.t_rxtshift = 0;
          tcpSetpersist(tcp, tp);
        }
      }
      return 0;
    }

    error = sendSegment(tcp, tp, flags, off, len, recwin, sackRxmit, sackRxmitSeq, now, tsoSegsz);
    if (error < 0) return error;
    if (!sendalot || tp.t_state === TCPS_CLOSED) break;
  }
  return error;
}

/**
 * May a segment shorter than the MSS, of `len` bytes at `off` in the send buffer and
 * sequence `seq`, go now? RFC 896 Nagle: only when idle or TCP_NODELAY and it is all
 * that is left (not under TCP_NOPUSH); or as a persist probe, at half the largest
 * window the peer offered (RFC 9293 §3.8.6.2.1), or as a retransmission.
 */
function shortSegmentGoes(tp: Tcpcb, idle: boolean, len: number, off: number, sbcc: number, seq: number): boolean {
  if ((idle || (tp.t_flags & TF_NODELAY) !== 0) && len + off >= sbcc && (tp.t_flags & TF_NOPUSH) === 0) return true;
  if ((tp.t_flags & TF_FORCEDATA) !== 0) return true;
  if (tp.max_sndwnd > 0 && len >= tp.max_sndwnd / 2) return true;
  return seqLt(seq >>> 0, tp.snd_max);
}

/** Internal marker: caller says more output follows (TF_MORETOCOME). */
const TF_MORETOCOME_BIT = 0x00010000;

function sendSegment(
  tcp: Tcp,
  tp: Tcpcb,
  flags: number,
  off: number,
  len: number,
  recwin: number,
  sackRxmit: number,
  sackRxmitSeq: number,
  now: number,
  tsoSegsz: number,
): number {
  const inp = tp.inp;
  const so = inp.inp_socket;
  const st = tcp.stat;
  const t = tcp.t;
  const buf = tcp.outbuf;
  const th = TCP_OUT_OFF;
  const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
  // Receive-buffer autotuning measures from the first segment we send (tcp_output's rfbuf_ts).
  if (tp.rfbuf_ts === 0 && so !== null && (so.so_rcv.sb_flags & SB_AUTOSIZE) !== 0)
    tp.rfbuf_ts = tcpTsGetticks(tcp) || 1;

  // ---- options (tcp_addoptions order: MSS, WS, SACKOK, TS, SIG, SACK) ----
  let o = th + 20;
  let sigOff = 0;
  if ((tp.t_flags & TF_NOOPT) === 0) {
    if ((flags & TH_SYN) !== 0) {
      tp.snd_nxt = tp.iss;
      // MSS (RFC 9293 §3.7.1): what the interface toward the peer allows.
      buf[o] = 2;
      buf[o + 1] = 4;
      set16(buf, o + 2, mssOffer(tcp, tp));
      o += 4;
      if ((tp.t_flags & TF_REQ_SCALE) !== 0) {
        buf[o] = TCPOPT_NOP;
        buf[o + 1] = 3;
        buf[o + 2] = 3;
        buf[o + 3] = tp.request_r_scale;
        o += 4;
      }
      if ((tp.t_flags & TF_SACK_PERMIT) !== 0) {
        if (((o - th - 20) & 1) !== 0) buf[o++] = TCPOPT_NOP;
        buf[o] = 4;
        buf[o + 1] = 2;
        o += 2;
      }
    }
    // RFC 7323 §3.2: TS on the SYN when we ask for it, on every other segment once agreed.
    if (
      (tp.t_flags & TF_REQ_TSTMP) !== 0 &&
      (flags & TH_RST) === 0 &&
      ((flags & TH_SYN) !== 0 || (tp.t_flags & TF_RCVD_TSTMP) !== 0)
    ) {
      while (((o - th - 20) & 3) !== 2) buf[o++] = TCPOPT_NOP;
      buf[o] = 8;
      buf[o + 1] = 10;
      set32(buf, o + 2, (tcpTsGetticks(tcp) + tp.ts_offset) >>> 0);
      set32(buf, o + 6, tp.ts_recent);
      o += 10;
    }
    // RFC 2385 §2.0: every segment of a TCP_MD5SIG connection carries the signature.
    if ((tp.t_flags & TF_SIGNATURE) !== 0) {
      o = tcpSignatureAddOption(buf, th, o);
      sigOff = o - 16;
    }
    // RFC 2018 §4: SACK blocks, most recent first, as many as fit.
    if (
      (tp.t_flags & TF_SACK_PERMIT) !== 0 &&
      tp.rcv_numsacks > 0 &&
      tp.t_state >= TCPS_ESTABLISHED &&
      (flags & TH_SYN) === 0
    ) {
      while (((o - th - 20) & 3) !== 2) buf[o++] = TCPOPT_NOP;
      const room = Math.floor((40 - (o - th - 20) - 2) / 8);
      const n = Math.min(tp.rcv_numsacks, room);
      if (n > 0) {
        buf[o] = 5;
        buf[o + 1] = 2 + 8 * n;
        for (let i = 0; i < n; i++) {
          set32(buf, o + 2 + 8 * i, tp.sackblks[2 * i]!);
          set32(buf, o + 6 + 8 * i, tp.sackblks[2 * i + 1]!);
        }
        o += 2 + 8 * n;
        st.tcps_sack_send_blocks++;
      }
      // D-SACK blocks are reported once (tcp_output's tcp_clean_dsack_blocks).
      tp.rcv_numsacks = cleanDsackBlocks(tp.sackblks, tp.rcv_numsacks, tp.rcv_nxt);
    }
    if ((o - th - 20) & 3) {
      buf[o++] = TCPOPT_EOL;
      while ((o - th - 20) & 3) buf[o++] = 0;
    }
  } else if ((tp.t_flags & TF_SIGNATURE) !== 0) {
    // TCP_NOOPT drops every negotiable option, never the signature: a TCP_MD5SIG
    // connection sends nothing unsigned (FreeBSD would send it bare).
    o = tcpSignatureAddOption(buf, th, o);
    sigOff = o - 16;
  }
  const hdrlen = o - th;

  // ---- ECN (RFC 3168 §6.1.1): ECE|CWR on our SYN, ECE on a SYN-ACK that agrees ----
  let iptos = inp.inp_ip_tos & ~3;
  if ((flags & TH_SYN) !== 0 && (flags & TH_ACK) === 0 && t.ecn_enable === 1 && tp.t_state === TCPS_SYN_SENT) {
    if (tp.t_rxtshift < 1 || tp.t_rxtshift <= t.ecn_maxretries) flags |= TH_ECE | TH_CWR;
  }
  if ((flags & TH_SYN) !== 0 && (flags & TH_ACK) !== 0 && (tp.t_flags & TF_ECN_PERMIT) !== 0) flags |= TH_ECE;
  if ((tp.t_flags & TF_ECN_PERMIT) !== 0 && tp.t_state >= TCPS_ESTABLISHED) {
    // ECT(0) on new data only (RFC 3168 §6.1.5: not on retransmissions, pure ACKs).
    if (len > 0 && seqGeq(tp.snd_nxt, tp.snd_max) && sackRxmit < 0 && (flags & TH_SYN) === 0) {
      // ECT(1) when the algorithm asks for it (DCTCP's net.inet.tcp.cc.dctcp.ect1).
      if ((tp.t_flags2 & TF2_ECN_USE_ECT1) !== 0) {
        iptos |= 1;
        st.tcps_ecn_sndect1++;
      } else {
        iptos |= 2;
        st.tcps_ecn_sndect0++;
      }
      if ((tp.t_flags & TF_ECN_SND_CWR) !== 0) {
        flags |= TH_CWR;
        tp.t_flags &= ~TF_ECN_SND_CWR;
      }
    }
    if ((tp.t_flags & TF_ECN_SND_ECE) !== 0) flags |= TH_ECE;
  }

  // ---- payload ----
  let seq: number;
  if (sackRxmit >= 0) seq = sackRxmitSeq;
  else if ((flags & (TH_SYN | TH_FIN)) !== 0 || len > 0 || tp.t_state !== TCPS_CLOSED) {
    // A FIN retransmitted (or a RST) keeps snd_nxt; a pure ACK uses snd_max (persist aside).
    seq = len > 0 || (flags & (TH_SYN | TH_FIN)) !== 0 || tcpTimerActive(tp, TT_PERSIST) ? tp.snd_nxt : tp.snd_max;
  } else {
    seq = tp.snd_nxt;
  }
  if ((flags & TH_FIN) !== 0 && (tp.t_flags & TF_SENTFIN) !== 0 && tp.snd_nxt === tp.snd_max && len === 0) {
    // Retransmitting the FIN: it sits at snd_max - 1.
    seq = (tp.snd_nxt - 1) >>> 0;
    tp.snd_nxt = seq;
  }
  if (len > 0) {
    so!.so_snd.copyOut(off, buf, th + hdrlen, len);
    if ((tp.t_flags & TF_FORCEDATA) !== 0 && len === 1) st.tcps_sndprobe++;
    else if (seqLt(seq, tp.snd_max) || sackRxmit >= 0) {
      st.tcps_sndrexmitpack++;
      st.tcps_sndrexmitbyte += len;
      tp.t_sndrexmitpack++;
    } else {
      st.tcps_sndpack++;
      st.tcps_sndbyte += len;
    }
    // PUSH when this empties the send buffer (tcp_output: off + len == sbused).
    if (off + len === (so ? so.so_snd.sb_cc : 0)) flags |= TH_PUSH;
  } else if ((tp.t_flags & TF_ACKNOW) !== 0) {
    st.tcps_sndacks++;
  } else if ((flags & (TH_SYN | TH_FIN | TH_RST)) !== 0) {
    st.tcps_sndctrl++;
  } else if (seqGt(tp.snd_up, tp.snd_una)) {
    st.tcps_sndurg++;
  } else {
    // Sent for no ACK owed and no control flag: a window update (tcp_output's stats).
    st.tcps_sndwinup++;
  }

  // ---- header ----
  set16(buf, th, inp.inp_lport);
  set16(buf, th + 2, inp.inp_fport);
  set32(buf, th + 4, seq);
  const ackOn = (flags & TH_ACK) !== 0;
  set32(buf, th + 8, ackOn ? tp.rcv_nxt : 0);
  buf[th + 12] = (hdrlen >>> 2) << 4;
  buf[th + 13] = flags & 0xff;
  // RFC 7323 §2.2: the window in a SYN is never scaled.
  let win: number;
  if ((flags & TH_SYN) !== 0) win = Math.min(recwin, TCP_MAXWIN);
  else if ((flags & TH_RST) !== 0 && !ackOn) win = 0;
  else {
    // tcp_output: "avoid shrinking window with window scaling" — round up to the scale's
    // unit (roundup2(recwin, 1 << rcv_scale)), or the advertised edge could fall short of
    // rcv_adv by the truncated remainder.
    const unit = (1 << tp.rcv_scale) - 1;
    win = Math.min((recwin + unit) >>> tp.rcv_scale, TCP_MAXWIN);
  }
  if ((flags & TH_RST) !== 0) win = 0;
  set16(buf, th + 14, win);
  set16(buf, th + 18, 0);
  if (win === 0 && (flags & (TH_SYN | TH_RST)) === 0) {
    if ((tp.t_flags & TF_RXWIN0SENT) === 0) tp.t_sndzerowin++;
    tp.t_flags |= TF_RXWIN0SENT;
  } else {
    tp.t_flags &= ~TF_RXWIN0SENT;
  }
  const tlen = hdrlen + len;
  set16(buf, th + 16, pseudoSum(inp.inp_laddr, inp.inp_faddr, v4, tlen));
  // Helper hooks (tcp_output.c hhook_run_tcp_est_out): h_ertt times the segment.
  if (tcp.hhooks.heads[HHOOK_TCP_EST_OUT]!.nhooks > 0) estOut(tcp, tp, buf, th, hdrlen, seq, flags, len);

  // ---- sequence space and timers (before output: the peer may answer synchronously) ----
  if ((flags & TH_RST) === 0 && tp.t_state !== TCPS_CLOSED) {
    const startseq = seq;
    let end = (seq + len) >>> 0;
    if (sackRxmit >= 0) {
      tp.sack.sent(sackRxmit, len);
      st.tcps_sack_rexmits++;
      st.tcps_sack_rexmit_bytes += len;
    } else {
      if ((flags & (TH_SYN | TH_FIN)) !== 0) {
        if (flags & TH_SYN) end = (end + 1) >>> 0;
        if (flags & TH_FIN) {
          end = (end + 1) >>> 0;
          tp.t_flags |= TF_SENTFIN;
        }
      }
      tp.snd_nxt = end;
      if (seqGt(end, tp.snd_max)) {
        tp.snd_max = end;
        // Time this segment if nothing is being timed (RFC 6298 §3, Karn).
        if (tp.t_rtttime === 0) {
          tp.t_rtttime = now;
          tp.t_rtseq = startseq;
          st.tcps_segstimed++;
        }
      }
    }
    // RFC 6298 §5.1: run the retransmission timer while data is outstanding.
    if (!tcpTimerActive(tp, TT_REXMT) && tp.snd_nxt !== tp.snd_una && (len > 0 || (flags & (TH_SYN | TH_FIN)) !== 0)) {
      if (tcpTimerActive(tp, TT_PERSIST)) {
        tcpTimerActivate(tcp, tp, TT_PERSIST, 0);
        tp.t_rxtshift = 0;
      }
      tcpTimerActivate(tcp, tp, TT_REXMT, tp.t_rxtcur);
    }
  }

  // An ACK goes out: no delayed ACK pending any more (RFC 9293 §3.8.6.3).
  if (ackOn) {
    const adv = (tp.rcv_nxt + (win << (flags & TH_SYN ? 0 : tp.rcv_scale))) >>> 0;
    if (seqGt(adv, tp.rcv_adv)) tp.rcv_adv = adv;
    tp.last_ack_sent = tp.rcv_nxt;
    tp.t_flags &= ~(TF_ACKNOW | TF_DELACK);
    if (tcpTimerActive(tp, TT_DELACK)) tcpTimerActivate(tcp, tp, TT_DELACK, 0);
  }
  st.tcps_sndtotal++;
  tp.t_sndtime = now;

  if (!tcp.net) return -ERRNO.ENETDOWN;
  // Signed last, over the final header (tcp_output's TCPMD5_OUTPUT); without an SA the
  // segment is not sent (tcps_sig_err_buildsig), the sequence space stays as advanced.
  if (sigOff !== 0) {
    const se = tcpSignatureSign(tcp, buf, th, tlen, sigOff, inp.inp_laddr, inp.inp_faddr, v4);
    if (se < 0) return se;
  }
  const ttl = inp.inp_ip_ttl >= 0 ? inp.inp_ip_ttl : 64;
  // DF on every segment while path MTU discovery runs, except at the floor: an MSS at
  // net.inet.tcp.minmss lets the routers fragment (tcp_output.c).
  const df = tcp.t.path_mtu_discovery !== 0 && tp.t_maxseg > tcp.t.minmss;
  const uh = tp.t_port !== 0 ? tcpTunnelEncap(tcp, buf, th, tlen, tp.t_port, inp.inp_laddr, inp.inp_faddr, v4) : th;
  const fib = inp.inc_fibnum;
  const e = tcp.net.output(
    v4,
    buf,
    uh,
    th + tlen - uh,
    inp.inp_laddr,
    inp.inp_faddr,
    ttl,
    iptos,
    0,
    fib,
    df,
    uh !== th,
    tsoSegsz,
    inp,
  );
  if (e < 0) {
    // tcp_output's error path: ENOBUFS keeps the timer running, others are soft errors.
    if (e === -ERRNO.EHOSTUNREACH || e === -ERRNO.ENETDOWN || e === -ERRNO.ENETUNREACH || e === -ERRNO.EHOSTDOWN) {
      if (haveEstablishedOrRcvdSyn(tp)) {
        tp.t_softerror = -e;
        return 0;
      }
    }
    if (e === -ERRNO.ENOBUFS) {
      // The driver's transmit queue is full (if_transmit refused it): the segment was
      // never sent, so back out its sequence advance; the retransmit timer armed above
      // stays (TCP_XMIT_TIMER_ASSERT) and ACKs or the timer resume sending. cwnd goes to
      // one segment as tcp_output.c's ENOBUFS case sets it (ssthresh is kept, so slow
      // start climbs back at once).
      backOut(tp, flags, len, sackRxmit);
      tp.snd_cwnd = tp.t_maxseg;
      return 0;
    }
    if (e === -ERRNO.EMSGSIZE && tsoSegsz > 0) {
      // The interface lost TSO under us (ifconfig -tso): stop asking for it, back out
      // the sequence advance of the burst that was not sent and send it again in
      // MSS-sized segments (tcp_output.c's EMSGSIZE case and its "back out" of snd_nxt).
      tp.t_flags &= ~TF_TSO;
      backOut(tp, flags, len, sackRxmit);
      return tcpOutput(tcp, tp);
    }
    if (e === -ERRNO.EMSGSIZE) {
      // The interface or route MTU went down under us (ifconfig mtu): take the MSS down
      // to it and send again (tcp_output's EMSGSIZE case).
      const old = tp.t_maxseg;
      const mtu = tcp.net.route(v4, inp.inp_faddr, inp.inp_laddr, emsgSrc, fib);
      if (mtu > 0 && tcpMssUpdate(tcp, tp, mtu) < old) return tcpOutput(tcp, tp);
      return 0;
    }
    return e;
  }
  return 0;
}

const emsgSrc = new Uint8Array(16);

/**
 * tcp_output's error path: "we know that the packet was lost, so back out the sequence
 * number advance" — of the SACK hole's retransmit point, or of snd_nxt; not for a SYN
 * (its timer resends it) nor a window probe in persist (snd_nxt did not move).
 */
function backOut(tp: Tcpcb, flags: number, len: number, sackRxmit: number): void {
  if ((flags & TH_SYN) !== 0) return;
  if ((tp.t_flags & TF_FORCEDATA) !== 0 && tcpTimerActive(tp, TT_PERSIST)) return;
  if (sackRxmit >= 0) {
    tp.sack.unsent(sackRxmit, len);
    return;
  }
  // The FIN's sequence number too (FreeBSD backs out only len and leaves snd_nxt one past
  // the unsent data): it goes again with the data, TF_SENTFIN cleared.
  let back = len;
  if ((flags & TH_FIN) !== 0 && (tp.t_flags & TF_SENTFIN) !== 0) {
    back++;
    tp.t_flags &= ~TF_SENTFIN;
  }
  tp.snd_nxt = (tp.snd_nxt - back) >>> 0;
}

function haveEstablishedOrRcvdSyn(tp: Tcpcb): boolean {
  return tp.t_state >= TCPS_SYN_RECEIVED;
}

/** tcp_mssopt: the MSS option value (route MTU minus headers). */
function mssOffer(_tcp: Tcp, tp: Tcpcb): number {
  return tp.t_mssopt > 0 ? tp.t_mssopt : tp.t_maxseg;
}

/** The pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) for `proto` (TCP; UDP for the tunnel), folded, as in_pseudo leaves it. */
export function pseudoSum(src: Uint8Array, dst: Uint8Array, v4: boolean, tlen: number, proto = 6): number {
  let s = proto + tlen;
  const from = v4 ? 12 : 0;
  for (let i = from; i < 16; i += 2) s += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  return fold(s);
}

/**
 * tcp_respond: a bare segment (RST or ACK) built from an incoming one, for which we
 * may have no tcpcb. Addresses come in 16-byte form (local first); `tp` supplies
 * the window and the timestamp when there is one.
 */
export function tcpRespond(
  tcp: Tcp,
  tp: Tcpcb | null,
  v4: boolean,
  laddr: Uint8Array,
  faddr: Uint8Array,
  lport: number,
  fport: number,
  seq: number,
  ack: number,
  flags: number,
  tsEcr: number | null,
  port = tp !== null ? tp.t_port : 0,
  /** Without a connection, the received segment's (its interface's) FIB: M_GETFIB. */
  fib = tp !== null ? tp.inp.inc_fibnum : 0,
): void {
  const buf = tcp.outbuf;
  const th = TCP_OUT_OFF;
  let o = th + 20;
  if (
    tp !== null &&
    (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP) &&
    (tp.t_flags & TF_NOOPT) === 0 &&
    tsEcr !== null
  ) {
    buf[o++] = TCPOPT_NOP;
    buf[o++] = TCPOPT_NOP;
    buf[o] = 8;
    buf[o + 1] = 10;
    set32(buf, o + 2, (tcpTsGetticks(tcp) + tp.ts_offset) >>> 0);
    set32(buf, o + 6, tp.ts_recent);
    o += 10;
  }
  // tcp_respond: a TCP_MD5SIG connection's RSTs and ACKs are signed too (RFC 2385 §2.0).
  let sigOff = 0;
  if (tp !== null && (tp.t_flags & TF_SIGNATURE) !== 0) {
    o = tcpSignatureAddOption(buf, th, o);
    sigOff = o - 16;
  }
  const hdrlen = o - th;
  set16(buf, th, lport);
  set16(buf, th + 2, fport);
  set32(buf, th + 4, seq);
  set32(buf, th + 8, flags & TH_ACK ? ack : 0);
  buf[th + 12] = (hdrlen >>> 2) << 4;
  buf[th + 13] = flags;
  let win = 0;
  if (tp !== null && (flags & TH_RST) === 0) {
    const so = tp.inp.inp_socket;
    // A closed connection in TIME_WAIT has no socket left: it repeats the window it last
    // advertised (tcp_twstart's last_win), not a zero one.
    const space = so ? so.so_rcv.space() : Math.max(0, (tp.rcv_adv - tp.rcv_nxt) | 0);
    win = Math.min(space >>> tp.rcv_scale, TCP_MAXWIN);
  }
  set16(buf, th + 14, win);
  set16(buf, th + 18, 0);
  set16(buf, th + 16, pseudoSum(laddr, faddr, v4, hdrlen));
  if (sigOff !== 0 && tcpSignatureSign(tcp, buf, th, hdrlen, sigOff, laddr, faddr, v4) < 0) return;
  tcp.stat.tcps_sndtotal++;
  if (flags & TH_RST) tcp.stat.tcps_sndctrl++;
  else tcp.stat.tcps_sndacks++;
  const ttl = tp !== null && tp.inp.inp_ip_ttl >= 0 ? tp.inp.inp_ip_ttl : 64;
  const tos = tp !== null ? tp.inp.inp_ip_tos & ~3 : 0;
  const df = tcp.t.path_mtu_discovery !== 0;
  // Back over UDP to the port the segment came from (tcp_respond's UDP header).
  if (port !== 0) {
    const uh = tcpTunnelEncap(tcp, buf, th, hdrlen, port, laddr, faddr, v4);
    tcp.net?.output(v4, buf, uh, th + hdrlen - uh, laddr, faddr, ttl, tos, 0, fib, df, true);
    return;
  }
  tcp.net?.output(v4, buf, th, hdrlen, laddr, faddr, ttl, tos, 0, fib, df);
}

/** tcp_respond on a connection's own 4-tuple (a challenge ACK, a keepalive probe, TIME_WAIT's ACK). */
export function tcpRespondConn(tcp: Tcp, tp: Tcpcb, seq: number, ack: number, flags: number, tsEcr: number): void {
  const inp = tp.inp;
  tcpRespond(
    tcp,
    tp,
    (inp.inp_vflag & 1) !== 0,
    inp.inp_laddr,
    inp.inp_faddr,
    inp.inp_lport,
    inp.inp_fport,
    seq,
    ack,
    flags,
    tsEcr,
  );
}

export { TF_DELACK };

/** The EST_OUT hooks with the segment's timestamp option as built above. */
function estOut(
  tcp: Tcp,
  tp: Tcpcb,
  buf: Uint8Array,
  th: number,
  hdrlen: number,
  seq: number,
  flags: number,
  len: number,
): void {
  let tsval = 0;
  let tsecr = 0;
  let toFlags = 0;
  for (let o = th + 20; o < th + hdrlen; ) {
    const kind = buf[o]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      o++;
      continue;
    }
    const l = buf[o + 1]!;
    if (kind === 8 && l === 10) {
      tsval = get32(buf, o + 2);
      tsecr = get32(buf, o + 6);
      toFlags = TOF_TS;
      break;
    }
    if (l < 2) break;
    o += l;
  }
  hhookRunTcpEstOut(tcp, tp, seq, flags, toFlags, tsval, tsecr, len, 0);
}

/** The receive window to advertise (RFC 9293 §3.8.6.2.2 receiver SWS avoidance), never shrinking what was offered. */
export function rcvWindow(tp: Tcpcb, so: Socket | null): number {
  let recwin = so !== null ? so.so_rcv.space() : 0;
  if (so !== null && recwin < so.so_rcv.sb_hiwat / 4 && recwin < tp.t_maxseg) recwin = 0;
  const maxwin = TCP_MAXWIN << tp.rcv_scale; // scale ≤ 14 (RFC 7323 §2.3): no overflow
  if (seqGt(tp.rcv_adv, tp.rcv_nxt) && recwin < (tp.rcv_adv - tp.rcv_nxt) >>> 0)
    recwin = (tp.rcv_adv - tp.rcv_nxt) >>> 0;
  if (recwin > maxwin) recwin = maxwin;
  return recwin;
}

/** tcp_output's window-update test: the window opened by 2 segments and a quarter/half of the buffer. */
export function windowUpdateDue(tp: Tcpcb, so: Socket | null, recwin: number): boolean {
  if (recwin <= 0 || haveRcvdFin(tp.t_state) || so === null || tp.t_state < TCPS_ESTABLISHED) return false;
  const adv = recwin - ((tp.rcv_adv - tp.rcv_nxt) | 0);
  const hiwat = so.so_rcv.sb_hiwat;
  if ((tp.t_flags & TF_RXWIN0SENT) !== 0 && adv >= tp.t_maxseg) return true;
  if (adv >= 2 * tp.t_maxseg && (adv >= hiwat / 4 || recwin <= hiwat / 8 || hiwat <= 8 * tp.t_maxseg)) return true;
  return 2 * adv >= hiwat;
}
