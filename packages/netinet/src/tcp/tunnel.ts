/**
 * TCP over UDP (FreeBSD tcp_subr.c: tcp_over_udp_start, tcp_recv_udp_tunneled_packet;
 * tcp_output.c and tcp_respond's UDP header): with net.inet.tcp.udp_tunneling_port set,
 * UDP datagrams to that port carry TCP segments, and a connection whose peer is reached
 * that way (TCP_REMOTE_UDP_ENCAPS_PORT before connect, or a SYN that came tunneled)
 * sends every segment inside UDP from the tunneling port to the peer's port. The UDP
 * checksum covers the segment; the TCP checksum is zero and not checked. The receiving
 * side is tcp_input's (input.ts tcpTunnelInput).
 */
import { set16 } from '@mcstack/wire';
import type { Tcp } from './subr.js';
// output.ts imports this module too: only a function is shared, used at call time.
import { pseudoSum } from './output.js';

const UDP_HDR_LEN = 8;
const IPPROTO_UDP = 17;

/**
 * Put the UDP header in front of the segment at [th, th+tlen) (the headroom before th is
 * free): from the tunneling port to `port`, the UDP pseudo-header sum in uh_sum for the
 * delayed checksum, th_sum zero. Returns where the datagram starts.
 */
export function tcpTunnelEncap(
  tcp: Tcp,
  buf: Uint8Array,
  th: number,
  tlen: number,
  port: number,
  laddr: Uint8Array,
  faddr: Uint8Array,
  v4: boolean,
): number {
  const uh = th - UDP_HDR_LEN;
  const ulen = tlen + UDP_HDR_LEN;
  set16(buf, uh, tcp.t.udp_tunneling_port);
  set16(buf, uh + 2, port);
  set16(buf, uh + 4, ulen);
  set16(buf, uh + 6, pseudoSum(laddr, faddr, v4, ulen, IPPROTO_UDP));
  set16(buf, th + 16, 0);
  return uh;
}
