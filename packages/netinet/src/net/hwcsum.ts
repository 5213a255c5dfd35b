/**
 * What a NIC's transmit checksum offload writes on the wire: the IPv4 header
 * checksum and the TCP/UDP checksum of a frame whose stack left them to the card
 * (CSUM_IP, CSUM_DELAY_DATA(_IPV6)). Links that model a card use it where the
 * bytes must be real: a capture, or a receiver that verifies in software.
 */
import { internetChecksum } from '@mcstack/wire';
import { l4Checksum4, l4Checksum6 } from '@mcstack/wire';
import { ETHER_TYPE, ETHERTYPE_IP, ETHERTYPE_IPV6 } from '@mcstack/wire';
import { IP_LEN, IP_SUM, IP_OFF, IP_P, IP_MF, IP_OFFMASK, IPPROTO_TCP, IPPROTO_UDP } from '@mcstack/wire';

/**
 * Write the IPv4 header checksum (`ip`) and the TCP/UDP checksum (`l4`) of the
 * datagram at buf[l3...] as a NIC's transmit offload does. IPv4 fragments other
 * than complete datagrams and IPv6 packets with extension headers before the
 * transport are left alone (no offload applies to them). Returns whether it wrote.
 */
export function finishChecksums(buf: Uint8Array, l3: number, ip: boolean, l4: boolean): boolean {
  if (!ip && !l4) return false;
  if (l3 > 0) {
    if (buf.length < l3 + 1) return false;
    const et = (buf[ETHER_TYPE]! << 8) | buf[ETHER_TYPE + 1]!;
    if (et !== ETHERTYPE_IP && et !== ETHERTYPE_IPV6) return false;
  }
  const v = buf[l3]! >>> 4;
  if (v === 4) {
    const hl = (buf[l3]! & 0x0f) << 2;
    if (hl < 20 || buf.length < l3 + hl) return false;
    const total = (buf[l3 + IP_LEN]! << 8) | buf[l3 + IP_LEN + 1]!;
    if (ip) {
      buf[l3 + IP_SUM] = 0;
      buf[l3 + IP_SUM + 1] = 0;
      const c = internetChecksum(buf, l3, hl);
      buf[l3 + IP_SUM] = c >>> 8;
      buf[l3 + IP_SUM + 1] = c & 0xff;
    }
    const off = (buf[l3 + IP_OFF]! << 8) | buf[l3 + IP_OFF + 1]!;
    if (!l4 || (off & (IP_MF | IP_OFFMASK)) !== 0 || total > buf.length - l3) return ip;
    return writeL4(buf, l3, l3 + hl, total - hl, buf[l3 + IP_P]!, 4);
  }
  if (v === 6) {
    if (!l4 || buf.length < l3 + 40) return false;
    const plen = (buf[l3 + 4]! << 8) | buf[l3 + 5]!;
    if (plen > buf.length - l3 - 40) return false;
    return writeL4(buf, l3, l3 + 40, plen, buf[l3 + 6]!, 6);
  }
  return false;
}

function writeL4(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number, af: 4 | 6): boolean {
  const at = proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : -1;
  if (at < 0 || l4Len < at + 2) return false;
  let c =
    af === 4 ? l4Checksum4(buf, ipOff, l4Off, l4Len, proto, at) : l4Checksum6(buf, ipOff, l4Off, l4Len, proto, at);
  if (proto === IPPROTO_UDP && c === 0) c = 0xffff; // RFC 768: zero means "no checksum"
  buf[l4Off + at] = c >>> 8;
  buf[l4Off + at + 1] = c & 0xff;
  return true;
}
