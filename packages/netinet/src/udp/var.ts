/**
 * UDP statistics and tunables (netinet/udp_var.h). Counter names are FreeBSD's
 * `struct udpstat` fields, as `netstat -s -p udp` prints them.
 */
export class UdpStat {
  udps_ipackets = 0; // total input packets
  udps_hdrops = 0; // packet shorter than header
  udps_badsum = 0; // checksum error
  udps_nosum = 0; // no checksum
  udps_badlen = 0; // data length larger than packet
  udps_noport = 0; // no socket on port
  udps_noportbcast = 0; // of above, arrived as broadcast
  udps_fullsock = 0; // not delivered, input socket full
  udpps_pcbcachemiss = 0;
  udpps_pcbhashmiss = 0; // input packets missing pcb hash (wildcard lookups)
  udps_opackets = 0; // total output packets
  udps_fastout = 0;
  udps_noportmcast = 0; // no socket on port, arrived as multicast
  udps_filtermcast = 0;
}

/** net.inet.udp.* */
export interface UdpTunables {
  /** Compute UDP checksums on IPv4 output (RFC 768 allows none; IPv6 always, RFC 8200 §8.1). */
  checksum: number;
  /** Largest datagram a socket may send (udp_sendspace), the default SO_SNDBUF. */
  maxdgram: number;
  /** Default SO_RCVBUF: 40 datagrams of 1 KiB with an IPv6 address each. */
  recvspace: number;
  /** Drop datagrams to closed ports without an ICMP port unreachable. */
  blackhole: number;
  /** Log datagrams to closed ports (log(9), the engine's msgbuf). */
  log_in_vain: number;
}

export function defaultUdpTunables(): UdpTunables {
  return { checksum: 1, maxdgram: 9216, recvspace: 40 * (1024 + 28), blackhole: 0, log_in_vain: 0 };
}

export const UDP_HDR_LEN = 8;
