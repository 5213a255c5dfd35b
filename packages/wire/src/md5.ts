/**
 * MD5 (RFC 1321) over byte ranges, with its state and block buffer allocated once, so a
 * stack signing every segment of a TCP-MD5 connection (RFC 2385) allocates nothing per
 * segment — node:crypto's createHash makes a Hash and a digest Buffer each time. The
 * rounds follow RFC 1321 §3.4 (FreeBSD's sys/kern/md5c.c is the same algorithm).
 *
 *   const h = new Md5();
 *   h.init(); h.update(buf, off, len); ...; h.final(out, outOff);   // 16 bytes at outOff
 */

export class Md5 {
  private readonly state = new Int32Array(4);
  /** The block being filled. */
  private readonly block = new Uint8Array(64);
  private fill = 0;
  /** Bytes hashed so far (a double: exact to 2^53). */
  private length = 0;

  constructor() {
    this.init();
  }

  /** Start a new digest (RFC 1321 §3.3's initial A, B, C, D). */
  init(): this {
    const st = this.state;
    st[0] = 0x67452301;
    st[1] = 0xefcdab89 | 0;
    st[2] = 0x98badcfe | 0;
    st[3] = 0x10325476;
    this.fill = 0;
    this.length = 0;
    return this;
  }

  /** Hash `len` bytes of `buf` from `off`. */
  update(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.length += len;
    const block = this.block;
    let i = off;
    const end = off + len;
    if (this.fill > 0) {
      while (this.fill < 64 && i < end) block[this.fill++] = buf[i++]!;
      if (this.fill < 64) return this;
      this.transform(block, 0);
      this.fill = 0;
    }
    for (; i + 64 <= end; i += 64) this.transform(buf, i);
    while (i < end) block[this.fill++] = buf[i++]!;
    return this;
  }

  /** Pad (RFC 1321 §3.1-3.2), write the 16-byte digest to `out` at `outOff`, and start over. */
  final(out: Uint8Array, outOff = 0): void {
    const bits = this.length * 8;
    const block = this.block;
    block[this.fill++] = 0x80;
    if (this.fill > 56) {
      block.fill(0, this.fill, 64);
      this.transform(block, 0);
      this.fill = 0;
    }
    block.fill(0, this.fill, 56);
    const lo = bits >>> 0;
    const hi = Math.floor(bits / 2 ** 32) >>> 0;
    for (let k = 0; k < 4; k++) {
      block[56 + k] = (lo >>> (8 * k)) & 0xff;
      block[60 + k] = (hi >>> (8 * k)) & 0xff;
    }
    this.transform(block, 0);
    const st = this.state;
    for (let k = 0; k < 4; k++) {
      const w = st[k]!;
      out[outOff + 4 * k] = w & 0xff;
      out[outOff + 4 * k + 1] = (w >>> 8) & 0xff;
      out[outOff + 4 * k + 2] = (w >>> 16) & 0xff;
      out[outOff + 4 * k + 3] = (w >>> 24) & 0xff;
    }
    this.init();
  }

  /** One 64-byte block at `buf[off]` (RFC 1321 §3.4). */
  private transform(buf: Uint8Array, off: number): void {
    const x0 = buf[off + 0]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
    const x1 = buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24);
    const x2 = buf[off + 8]! | (buf[off + 9]! << 8) | (buf[off + 10]! << 16) | (buf[off + 11]! << 24);
    const x3 = buf[off + 12]! | (buf[off + 13]! << 8) | (buf[off + 14]! << 16) | (buf[off + 15]! << 24);
    const x4 = buf[off + 16]! | (buf[off + 17]! << 8) | (buf[off + 18]! << 16) | (buf[off + 19]! << 24);
    const x5 = buf[off + 20]! | (buf[off + 21]! << 8) | (buf[off + 22]! << 16) | (buf[off + 23]! << 24);
    const x6 = buf[off + 24]! | (buf[off + 25]! << 8) | (buf[off + 26]! << 16) | (buf[off + 27]! << 24);
    const x7 = buf[off + 28]! | (buf[off + 29]! << 8) | (buf[off + 30]! << 16) | (buf[off + 31]! << 24);
    const x8 = buf[off + 32]! | (buf[off + 33]! << 8) | (buf[off + 34]! << 16) | (buf[off + 35]! << 24);
    const x9 = buf[off + 36]! | (buf[off + 37]! << 8) | (buf[off + 38]! << 16) | (buf[off + 39]! << 24);
    const x10 = buf[off + 40]! | (buf[off + 41]! << 8) | (buf[off + 42]! << 16) | (buf[off + 43]! << 24);
    const x11 = buf[off + 44]! | (buf[off + 45]! << 8) | (buf[off + 46]! << 16) | (buf[off + 47]! << 24);
    const x12 = buf[off + 48]! | (buf[off + 49]! << 8) | (buf[off + 50]! << 16) | (buf[off + 51]! << 24);
    const x13 = buf[off + 52]! | (buf[off + 53]! << 8) | (buf[off + 54]! << 16) | (buf[off + 55]! << 24);
    const x14 = buf[off + 56]! | (buf[off + 57]! << 8) | (buf[off + 58]! << 16) | (buf[off + 59]! << 24);
    const x15 = buf[off + 60]! | (buf[off + 61]! << 8) | (buf[off + 62]! << 16) | (buf[off + 63]! << 24);
    let t: number;
    const st = this.state;
    let a = st[0]!;
    let b = st[1]!;
    let c = st[2]!;
    let d = st[3]!;
    // The 64 steps unrolled (RFC 1321 §3.4): constants inline, no table reads.
    t = (a + ((b & c) | (~b & d)) + -680876936 + x0) | 0;
    a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + ((a & b) | (~a & c)) + -389564586 + x1) | 0;
    d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + ((d & a) | (~d & b)) + 606105819 + x2) | 0;
    c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + ((c & d) | (~c & a)) + -1044525330 + x3) | 0;
    b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + ((b & c) | (~b & d)) + -176418897 + x4) | 0;
    a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + ((a & b) | (~a & c)) + 1200080426 + x5) | 0;
    d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + ((d & a) | (~d & b)) + -1473231341 + x6) | 0;
    c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + ((c & d) | (~c & a)) + -45705983 + x7) | 0;
    b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + ((b & c) | (~b & d)) + 1770035416 + x8) | 0;
    a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + ((a & b) | (~a & c)) + -1958414417 + x9) | 0;
    d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + ((d & a) | (~d & b)) + -42063 + x10) | 0;
    c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + ((c & d) | (~c & a)) + -1990404162 + x11) | 0;
    b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + ((b & c) | (~b & d)) + 1804603682 + x12) | 0;
    a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + ((a & b) | (~a & c)) + -40341101 + x13) | 0;
    d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + ((d & a) | (~d & b)) + -1502002290 + x14) | 0;
    c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + ((c & d) | (~c & a)) + 1236535329 + x15) | 0;
    b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + ((d & b) | (~d & c)) + -165796510 + x1) | 0;
    a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + ((c & a) | (~c & b)) + -1069501632 + x6) | 0;
    d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + ((b & d) | (~b & a)) + 643717713 + x11) | 0;
    c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + ((a & c) | (~a & d)) + -373897302 + x0) | 0;
    b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + ((d & b) | (~d & c)) + -701558691 + x5) | 0;
    a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + ((c & a) | (~c & b)) + 38016083 + x10) | 0;
    d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + ((b & d) | (~b & a)) + -660478335 + x15) | 0;
    c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + ((a & c) | (~a & d)) + -405537848 + x4) | 0;
    b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + ((d & b) | (~d & c)) + 568446438 + x9) | 0;
    a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + ((c & a) | (~c & b)) + -1019803690 + x14) | 0;
    d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + ((b & d) | (~b & a)) + -187363961 + x3) | 0;
    c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + ((a & c) | (~a & d)) + 1163531501 + x8) | 0;
    b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + ((d & b) | (~d & c)) + -1444681467 + x13) | 0;
    a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + ((c & a) | (~c & b)) + -51403784 + x2) | 0;
    d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + ((b & d) | (~b & a)) + 1735328473 + x7) | 0;
    c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + ((a & c) | (~a & d)) + -1926607734 + x12) | 0;
    b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + (b ^ c ^ d) + -378558 + x5) | 0;
    a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + -2022574463 + x8) | 0;
    d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + 1839030562 + x11) | 0;
    c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + -35309556 + x14) | 0;
    b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + -1530992060 + x1) | 0;
    a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + 1272893353 + x4) | 0;
    d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + -155497632 + x7) | 0;
    c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + -1094730640 + x10) | 0;
    b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + 681279174 + x13) | 0;
    a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + -358537222 + x0) | 0;
    d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + -722521979 + x3) | 0;
    c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + 76029189 + x6) | 0;
    b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + -640364487 + x9) | 0;
    a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + -421815835 + x12) | 0;
    d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + 530742520 + x15) | 0;
    c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + -995338651 + x2) | 0;
    b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (c ^ (b | ~d)) + -198630844 + x0) | 0;
    a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + 1126891415 + x7) | 0;
    d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + -1416354905 + x14) | 0;
    c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + -57434055 + x5) | 0;
    b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + 1700485571 + x12) | 0;
    a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + -1894986606 + x3) | 0;
    d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + -1051523 + x10) | 0;
    c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + -2054922799 + x1) | 0;
    b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + 1873313359 + x8) | 0;
    a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + -30611744 + x15) | 0;
    d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + -1560198380 + x6) | 0;
    c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + 1309151649 + x13) | 0;
    b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + -145523070 + x4) | 0;
    a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + -1120210379 + x11) | 0;
    d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + 718787259 + x2) | 0;
    c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + -343485551 + x9) | 0;
    b = (c + ((t << 21) | (t >>> 11))) | 0;
    st[0] = (st[0]! + a) | 0;
    st[1] = (st[1]! + b) | 0;
    st[2] = (st[2]! + c) | 0;
    st[3] = (st[3]! + d) | 0;
  }
}
