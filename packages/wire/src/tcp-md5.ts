/**
 * The TCP MD5 signature option (RFC 2385 §2.0), used by TCP_MD5SIG. The digest
 * covers, in order: the pseudo-header (IPv4: src, dst, zero, protocol, segment
 * length; IPv6: src, dst, 32-bit length, three zero bytes, next header, as
 * FreeBSD tcp_signature_compute does), the 20-byte fixed TCP header with a zero
 * checksum and its real data offset (options excluded), the payload, then the key.
 */
import { Md5 } from './md5.js';
import { TCP_HDR_LEN, TH_SUM, TCP_SIGLEN } from './tcp.js';
import { TcpOptionScan, TOF_SIGNATURE } from './tcp.js';

const scratch = new Uint8Array(40);
/** One MD5 context for every digest (a stack's thread signs one segment at a time): nothing allocated per segment. */
const md5 = new Md5();

/**
 * The 16-byte digest of the segment at [tcpOff, tcpOff+tcpLen) whose IP header
 * (version 4 or 6) starts at `ipOff`. The options (and the signature field) are
 * not part of the input, so the digest can be computed before or after it is stored.
 */
export function tcpMd5Digest(
  buf: Uint8Array,
  ipOff: number,
  tcpOff: number,
  tcpLen: number,
  key: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(TCP_SIGLEN);
  const v6 = buf[ipOff]! >>> 4 === 6;
  if (v6) tcpMd5DigestAddrs(buf, ipOff + 8, buf, ipOff + 24, true, buf, tcpOff, tcpLen, key, out, 0);
  else tcpMd5DigestAddrs(buf, ipOff + 12, buf, ipOff + 16, false, buf, tcpOff, tcpLen, key, out, 0);
  return out;
}

/**
 * The same digest for a segment whose IP header is not built yet (a stack signs before
 * ip_output): the addresses (4 or 16 bytes) come from `src`/`dst` at their offsets, and
 * the 16 bytes are written to `out` at `outOff` — typically the option's own field.
 */
export function tcpMd5DigestAddrs(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  v6: boolean,
  buf: Uint8Array,
  tcpOff: number,
  tcpLen: number,
  key: Uint8Array,
  out: Uint8Array,
  outOff: number,
): void {
  const h = md5.init();
  if (v6) {
    scratch.set(src.subarray(srcOff, srcOff + 16), 0);
    scratch.set(dst.subarray(dstOff, dstOff + 16), 16);
    scratch[32] = tcpLen >>> 24;
    scratch[33] = tcpLen >>> 16;
    scratch[34] = tcpLen >>> 8;
    scratch[35] = tcpLen;
    scratch[36] = 0;
    scratch[37] = 0;
    scratch[38] = 0;
    scratch[39] = 6;
    h.update(scratch, 0, 40);
  } else {
    scratch.set(src.subarray(srcOff, srcOff + 4), 0);
    scratch.set(dst.subarray(dstOff, dstOff + 4), 4);
    scratch[8] = 0;
    scratch[9] = 6;
    scratch[10] = tcpLen >>> 8;
    scratch[11] = tcpLen;
    h.update(scratch, 0, 12);
  }
  scratch.set(buf.subarray(tcpOff, tcpOff + TCP_HDR_LEN), 0);
  scratch[TH_SUM] = 0;
  scratch[TH_SUM + 1] = 0;
  h.update(scratch, 0, TCP_HDR_LEN);
  const hlen = (buf[tcpOff + 12]! >>> 4) << 2;
  h.update(buf, tcpOff + hlen, tcpLen - hlen);
  h.update(key);
  h.final(out, outOff);
}

const scan = new TcpOptionScan();

/**
 * RFC 2385 §3.0 check of a received segment: true when it carries a signature
 * option equal to the digest under `key`; false when absent or different.
 */
export function tcpMd5Verify(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number, key: Uint8Array): boolean {
  const hlen = (buf[tcpOff + 12]! >>> 4) << 2;
  const syn = (buf[tcpOff + 13]! & 0x02) !== 0;
  if ((scan.scan(buf, tcpOff + TCP_HDR_LEN, tcpOff + hlen, syn) & TOF_SIGNATURE) === 0) return false;
  const d = tcpMd5Digest(buf, ipOff, tcpOff, tcpLen, key);
  const at = scan.signatureOffset;
  let diff = 0;
  for (let i = 0; i < TCP_SIGLEN; i++) diff |= d[i]! ^ buf[at + i]!;
  return diff === 0;
}
