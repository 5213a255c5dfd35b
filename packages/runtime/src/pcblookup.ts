/**
 * in_pcblookup across threads (the change notes' lookup API, Stack.pcblookup): the
 * INPLOOKUP_* flags both ends check, and the RSS hash that names the group owning a
 * 4-tuple, computed as the link computes it for the connection's received segments
 * (Toeplitz over the return tuple: source = faddr, destination = laddr; rss_getbucket
 * takes the low bits, the indirection table names the worker).
 */
import { INPLOOKUP_MASK, INPLOOKUP_RLOCKPCB, INPLOOKUP_WLOCKPCB } from '@mcstack/netinet';
import { SysError } from '@mcstack/netinet';
import { IPPROTO_TCP } from '@mcstack/wire';
import { rssHashType, hashTypeHasPorts, M_HASHTYPE_NONE, type Toeplitz } from '@mcstack/rss';
import { parseIP } from '@mcstack/wire';
import type { PcbTuple } from './control.js';

export {
  INPLOOKUP_WILDCARD,
  INPLOOKUP_RLOCKPCB,
  INPLOOKUP_WLOCKPCB,
  INPLOOKUP_MASK,
} from '@mcstack/netinet';

/**
 * Whether `flags` ask for the result locked (INPLOOKUP_RLOCKPCB or INPLOOKUP_WLOCKPCB).
 * EINVAL for bits outside INPLOOKUP_MASK or both lock flags at once. Unlike the engine's
 * in_pcblookup, no lock flag is allowed: the caller then gets a description of the pcb
 * taken under the group lock, released before it returns.
 */
export function lookupLocks(flags: number): boolean {
  if (!Number.isInteger(flags) || flags < 0 || flags > INPLOOKUP_MASK || (flags & ~INPLOOKUP_MASK) !== 0) {
    throw new SysError(
      'EINVAL',
      `in_pcblookup flags ${String(flags)}: only INPLOOKUP_WILDCARD, INPLOOKUP_RLOCKPCB, INPLOOKUP_WLOCKPCB`,
      'pcblookup',
    );
  }
  const lk = flags & (INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB);
  if (lk === (INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB)) {
    throw new SysError(
      'EINVAL',
      'in_pcblookup flags: at most one of INPLOOKUP_RLOCKPCB, INPLOOKUP_WLOCKPCB',
      'pcblookup',
    );
  }
  return lk !== 0;
}

/** A 4-tuple parsed: addresses as 4 bytes (IPv4, v4-mapped included) or 16 (IPv6). */
export interface ParsedTuple {
  faddr: Uint8Array;
  fport: number;
  laddr: Uint8Array;
  lport: number;
}

/** EINVAL for an address that does not parse, mixed families, or a port outside 0..65535. */
export function parseTuple(t: PcbTuple): ParsedTuple {
  if (t === null || typeof t !== 'object')
    throw new SysError('EINVAL', 'pcblookup needs { faddr, fport, laddr, lport }', 'pcblookup');
  const faddr = addrBytes(t.faddr);
  const laddr = addrBytes(t.laddr);
  if (faddr.length !== laddr.length)
    throw new SysError('EINVAL', `mixed families ${t.faddr} / ${t.laddr}`, 'pcblookup');
  for (const p of [t.fport, t.lport]) {
    if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new SysError('EINVAL', `bad port ${String(p)}`, 'pcblookup');
  }
  return { faddr, fport: t.fport, laddr, lport: t.lport };
}

/** The RSS hash of the tuple's received TCP segments (0 when the hash config hashes none). */
export function tupleHash(tz: Toeplitz, t: ParsedTuple): number {
  const v4 = t.faddr.length === 4;
  const type = rssHashType(v4 ? 4 : 6, IPPROTO_TCP);
  if (type === M_HASHTYPE_NONE) return 0;
  const ports = hashTypeHasPorts(type);
  if (v4) {
    const f = u32(t.faddr);
    const l = u32(t.laddr);
    return ports ? tz.hashIPv4Ports(f, l, t.fport, t.lport) : tz.hashIPv4(f, l);
  }
  return ports ? tz.hashIPv6Ports(t.faddr, 0, t.laddr, 0, t.fport, t.lport) : tz.hashIPv6(t.faddr, 0, t.laddr, 0);
}

function addrBytes(text: unknown): Uint8Array {
  const a = typeof text === 'string' ? parseIP(text) : null;
  if (a === null) throw new SysError('EINVAL', `bad IP address ${String(text)}`, 'pcblookup');
  // ::ffff:a.b.c.d is an IPv4 connection (the ia46 layout): hashed as the link hashes IPv4.
  if (a.length === 16 && a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff)
    return a.slice(12);
  return a;
}

function u32(a: Uint8Array): number {
  return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
}
