/**
 * TCP-MD5 (RFC 2385) for TCP_MD5SIG connections, as FreeBSD's tcp_subr.c
 * (tcp_signature_compute, tcp_signature_verify) and netipsec/xform_tcp.c do it: the
 * option's place in tcp_addoptions' layout, signing an outgoing segment with the key
 * of the SA local → remote, and checking an incoming one against the SA remote → local.
 *
 * Signing happens after the header is final (the digest skips options and the
 * checksum, RFC 2385 §2.0) and before IP output, so th_sum may still hold the
 * pseudo-header sum the delayed checksum finishes.
 */
import { TCP_SIGLEN, TOF_SIGNATURE, tcpMd5DigestAddrs } from '@mcstack/wire';
import { ERRNO } from '../kern/errno.js';
import type { Tcp } from './subr.js';
import { TF_SIGNATURE, TH_RST, type TcpSeg, TCPS_SYN_SENT } from './var.js';

const TCPOPT_NOP = 1;
const TCPOPT_SIGNATURE = 19;
const TCPOLEN_SIGNATURE = 18;

/**
 * The signature option's room in a segment's data space (tcp_maxseg's
 * PADTCPOLEN(TCPOLEN_SIGNATURE)).
 */
export const TCP_SIGNATURE_ROOM = 20;

/**
 * tcp_addoptions' TOF_SIGNATURE: NOPs until the option list is 2 mod 4 long, then the
 * 18-byte option with its digest zeroed. `th` is the TCP header, `o` where the next
 * option goes; returns the new end. The digest's place is that end minus 16.
 */
export function tcpSignatureAddOption(buf: Uint8Array, th: number, o: number): number {
  while (o - th - 20 === 0 || ((o - th - 20) & 3) !== 2) buf[o++] = TCPOPT_NOP;
  buf[o] = TCPOPT_SIGNATURE;
  buf[o + 1] = TCPOLEN_SIGNATURE;
  buf.fill(0, o + 2, o + TCPOLEN_SIGNATURE);
  return o + TCPOLEN_SIGNATURE;
}

/**
 * tcp_ipsec_output: write the digest of the finished segment [th, th+tlen) at `sigOff`
 * with the key of the SA laddr → faddr (16-byte forms, IPv4 mapped). Without an SA the
 * segment must not go out: tcps_sig_err_buildsig, -ENOENT.
 */
export function tcpSignatureSign(
  tcp: Tcp,
  buf: Uint8Array,
  th: number,
  tlen: number,
  sigOff: number,
  laddr: Uint8Array,
  faddr: Uint8Array,
  v4: boolean,
): number {
  const aoff = v4 ? 12 : 0;
  const key = tcp.keydb.lookup(laddr, aoff, faddr, aoff, v4 ? 4 : 16);
  if (key === null) {
    tcp.stat.tcps_sig_err_buildsig++;
    return -ERRNO.ENOENT;
  }
  tcpMd5DigestAddrs(laddr, aoff, faddr, aoff, !v4, buf, th, tlen, key, buf, sigOff);
  return 0;
}

/**
 * tcp_signature_verify: may segment `s` (its options in tcp.opt) be processed by a
 * connection or listener with t_flags `tflags`? A TCP_MD5SIG one takes only segments
 * signed under the SA remote → local (RFC 2385 §3.0); any other takes only unsigned
 * ones. Each refusal is counted. net.inet.tcp.signature_verify_input=0 takes all.
 */
export function tcpSignatureVerify(tcp: Tcp, s: TcpSeg, tflags: number): boolean {
  if (!tcp.t.signature_verify_input) return true;
  const st = tcp.stat;
  const o = tcp.opt;
  const has = (o.flags & TOF_SIGNATURE) !== 0;
  if ((tflags & TF_SIGNATURE) === 0) {
    if (!has) return true;
    st.tcps_sig_err_sigopt++;
    st.tcps_sig_rcvbadsig++;
    return false;
  }
  if (!has) {
    st.tcps_sig_err_nosigopt++;
    st.tcps_sig_rcvbadsig++;
    return false;
  }
  const m = s.buf;
  const key = tcp.keydb.lookup(m, s.srcOff, m, s.dstOff, s.v4 ? 4 : 16);
  if (key === null) {
    st.tcps_sig_err_buildsig++;
    st.tcps_sig_rcvbadsig++;
    return false;
  }
  const tlen = s.data - s.th + s.tlen;
  tcpMd5DigestAddrs(m, s.srcOff, m, s.dstOff, !s.v4, m, s.th, tlen, key, digest, 0);
  const at = o.signatureOffset;
  let diff = 0;
  for (let i = 0; i < TCP_SIGLEN; i++) diff |= digest[i]! ^ m[at + i]!;
  if (diff !== 0) {
    st.tcps_sig_rcvbadsig++;
    return false;
  }
  st.tcps_sig_rcvgoodsig++;
  return true;
}

/**
 * tcp_input's exception (FreeBSD tcp_input.c, TCP_SIGNATURE): in SYN-SENT an RST that
 * failed the check still goes on to the state machine, which accepts it only when it
 * acknowledges our SYN.
 */
export function tcpSignatureRstPass(tp: { t_state: number }, s: TcpSeg): boolean {
  return (s.flags & TH_RST) !== 0 && tp.t_state === TCPS_SYN_SENT;
}

const digest = new Uint8Array(TCP_SIGLEN);
