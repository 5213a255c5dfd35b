/**
 * Prefix masks and matching on addresses (what net/radix.c does on sockaddr bit
 * strings): IPv4 as host-order u32, IPv6 as 16 bytes compared in place.
 */

/** Netmask of a prefix length, host order. */
export function inMask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/** Do the first `plen` bits of a and b agree? */
export function in6PrefixMatch(a: Uint8Array, ao: number, b: Uint8Array, bo: number, plen: number): boolean {
  const whole = plen >>> 3;
  for (let i = 0; i < whole; i++) if (a[ao + i] !== b[bo + i]) return false;
  const rem = plen & 7;
  if (rem === 0) return true;
  const m = (0xff00 >>> rem) & 0xff;
  return ((a[ao + whole]! ^ b[bo + whole]!) & m) === 0;
}

/** Copy `a` with bits past `plen` cleared. */
export function in6Masked(a: Uint8Array, ao: number, plen: number, out = new Uint8Array(16)): Uint8Array {
  for (let i = 0; i < 16; i++) {
    const bits = plen - i * 8;
    out[i] = bits >= 8 ? a[ao + i]! : bits <= 0 ? 0 : a[ao + i]! & ((0xff00 >>> bits) & 0xff);
  }
  return out;
}
