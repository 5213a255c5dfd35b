/**
 * The security-association database (FreeBSD netipsec/key.c), as far as TCP-MD5 uses
 * it: SAs of type tcp-md5 (RFC 2385), each a source and destination address, an SPI
 * and a key. TCP looks a key up by the segment's addresses (key_allocsa_tcpmd5: the
 * outbound SA is local → remote, the inbound one remote → local). setkey(8) fills it
 * (tools/setkey.ts); the engine holds one per stack as FreeBSD holds one per vnet.
 */
import { formatIP, parseIP } from '@mcstack/wire';
import { ERRNO } from '../kern/errno.js';

/** The longest key FreeBSD's tcp-md5 accepts (TCP_KEYLEN_MAX, tcp.h). */
export const TCP_KEYLEN_MAX = 80;

export interface SecAssoc {
  /** 4 (IPv4) or 16 (IPv6) bytes. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly spi: number;
  readonly key: Uint8Array;
}

/** An SA as `setkey -D` and the control plane show it. */
export interface SecAssocRecord {
  src: string;
  dst: string;
  spi: number;
  /** The key in hexadecimal. */
  key: string;
}

function same(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

export class KeyDb {
  private sas: SecAssoc[] = [];

  get size(): number {
    return this.sas.length;
  }

  /** key_add: -EINVAL for a bad address pair, SPI or key; -EEXIST when the SA is there. */
  add(src: string, dst: string, spi: number, key: Uint8Array): number {
    const s = parseIP(src);
    const d = parseIP(dst);
    if (s === null || d === null || s.length !== d.length) return -ERRNO.EINVAL;
    // SPIs 0-255 are reserved (RFC 4303 §2.1), as key_add checks.
    if (!Number.isInteger(spi) || spi < 256 || spi > 0xffffffff) return -ERRNO.EINVAL;
    if (key.length === 0 || key.length > TCP_KEYLEN_MAX) return -ERRNO.EINVAL;
    if (this.find(s, d, spi) >= 0) return -ERRNO.EEXIST;
    this.sas.push({ src: s, dst: d, spi, key: key.slice() });
    return 0;
  }

  /** key_delete: -ENOENT when no such SA. */
  delete(src: string, dst: string, spi: number): number {
    const s = parseIP(src);
    const d = parseIP(dst);
    if (s === null || d === null) return -ERRNO.EINVAL;
    const i = this.find(s, d, spi);
    if (i < 0) return -ERRNO.ENOENT;
    this.sas.splice(i, 1);
    return 0;
  }

  /** key_flush (setkey -F). */
  flush(): void {
    this.sas = [];
  }

  /** key_dump (setkey -D). */
  dump(): SecAssocRecord[] {
    return this.sas.map((sa) => ({
      src: formatIP(sa.src),
      dst: formatIP(sa.dst),
      spi: sa.spi,
      key: Buffer.from(sa.key).toString('hex'),
    }));
  }

  /**
   * key_allocsa_tcpmd5: the key for segments from the `alen`-byte address at
   * src[srcOff] to dst[dstOff], or null. Reads in place: nothing is allocated.
   */
  lookup(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, alen: number): Uint8Array | null {
    const sas = this.sas;
    for (let i = 0; i < sas.length; i++) {
      const sa = sas[i]!;
      if (sa.src.length === alen && same(sa.src, src, srcOff) && same(sa.dst, dst, dstOff)) return sa.key;
    }
    return null;
  }

  private find(s: Uint8Array, d: Uint8Array, spi: number): number {
    return this.sas.findIndex(
      (sa) => sa.spi === spi && sa.src.length === s.length && same(sa.src, s, 0) && same(sa.dst, d, 0),
    );
  }
}
