/**
 * The protocol switch (sys/protosw.h): what an upper protocol registers with the
 * network layer to receive datagrams (pr_input) and ICMP-reported errors
 * (pr_ctlinput), plus the PRC_* codes and FreeBSD's inetctlerrmap.
 */
import type { PktInfo } from '../netinet/ip_var.js';
import { ERRNO } from '../kern/errno.js';

export const PRC_IFDOWN = 0;
export const PRC_ROUTEDEAD = 1;
export const PRC_IFUP = 2;
export const PRC_QUENCH2 = 3;
export const PRC_QUENCH = 4;
export const PRC_MSGSIZE = 5; // message size forced drop (frag needed / packet too big)
export const PRC_HOSTDEAD = 6;
export const PRC_HOSTUNREACH = 7;
export const PRC_UNREACH_NET = 8;
export const PRC_UNREACH_HOST = 9;
export const PRC_UNREACH_PROTOCOL = 10;
export const PRC_UNREACH_PORT = 11;
/* 12 was PRC_UNREACH_NEEDFRAG, now PRC_MSGSIZE */
export const PRC_UNREACH_SRCFAIL = 13;
export const PRC_REDIRECT_NET = 14;
export const PRC_REDIRECT_HOST = 15;
export const PRC_REDIRECT_TOSNET = 16;
export const PRC_REDIRECT_TOSHOST = 17;
export const PRC_TIMXCEED_INTRANS = 18;
export const PRC_TIMXCEED_REASS = 19;
export const PRC_PARAMPROB = 20;
export const PRC_UNREACH_ADMIN_PROHIB = 21;
export const PRC_NCMDS = 22;

/** inetctlerrmap (netinet/ip_input.c): the socket error each PRC_* code turns into. */
export const inetctlerrmap: readonly number[] = [
  0,
  0,
  0,
  0,
  0,
  ERRNO.EMSGSIZE,
  ERRNO.EHOSTDOWN,
  ERRNO.EHOSTUNREACH,
  ERRNO.EHOSTUNREACH,
  ERRNO.EHOSTUNREACH,
  ERRNO.ECONNREFUSED,
  ERRNO.ECONNREFUSED,
  ERRNO.EMSGSIZE,
  ERRNO.EHOSTUNREACH,
  0,
  0,
  0,
  0,
  ERRNO.EHOSTUNREACH,
  0,
  ERRNO.ENOPROTOOPT,
  ERRNO.ECONNREFUSED,
];

/**
 * An ICMP/ICMPv6 error as the protocol of the quoted datagram sees it. The quoted
 * datagram sits in `buf`: its IP header at `ipOff`, its transport header at `off`
 * with `len` bytes available (at least 8: ports and, for TCP, the sequence number).
 * Valid only during the call.
 */
export interface CtlInput {
  af: 4 | 6;
  /** ICMP type and code as received. */
  icmpType: number;
  icmpCode: number;
  /** Next-hop MTU for PRC_MSGSIZE (0 when the router did not say, RFC 1191 §4). */
  mtu: number;
  buf: Uint8Array;
  ipOff: number;
  /** Quoted IPv4 addresses (host order), 0 for IPv6. */
  src4: number;
  dst4: number;
  /** Offsets of the quoted source/destination addresses in `buf`. */
  srcOff: number;
  dstOff: number;
  off: number;
  len: number;
}

/** An empty CtlInput of family `af`, the one an ICMP input fills for every error it passes up. */
export function newCtlInput(af: 4 | 6): CtlInput {
  return {
    af,
    icmpType: 0,
    icmpCode: 0,
    mtu: 0,
    buf: new Uint8Array(0),
    ipOff: 0,
    src4: 0,
    dst4: 0,
    srcOff: 0,
    dstOff: 0,
    off: 0,
    len: 0,
  };
}

export interface ProtoSwitch {
  /**
   * pr_input: a datagram for us. `m[off, off+len)` is the transport header and
   * payload (the IP header precedes it at pi.ipOff). The buffer is only valid
   * during the call.
   */
  input(m: Uint8Array, off: number, len: number, pi: PktInfo): void;
  /** pr_ctlinput: an ICMP error (PRC_* code) about a datagram this protocol sent. */
  ctlinput?(cmd: number, ctl: CtlInput): void;
}

/** Register pr_input/pr_ctlinput for an IP protocol number, for IPv4, IPv6 or both (af 0). */
export function registerProtocol(
  v: { readonly protosw4: (ProtoSwitch | undefined)[]; readonly protosw6: (ProtoSwitch | undefined)[] },
  proto: number,
  sw: ProtoSwitch,
  af: 0 | 4 | 6 = 0,
): void {
  if (af !== 6) v.protosw4[proto] = sw;
  if (af !== 4) v.protosw6[proto] = sw;
}
