/** Address text of a stack's options: MAC addresses, IP addresses and address/prefix pairs. */
import { SysError } from '@mcstack/netinet';
import { parseIP } from '@mcstack/wire';

/** An address in text, as bytes; EINVAL when it is not one. */
export function ipBytes(text: string): Uint8Array {
  const a = parseIP(text);
  if (a === null) throw new SysError('EINVAL', `bad IP address ${text}`);
  return a;
}

/** Check an "address/prefix" interface address; EINVAL when it is not one. */
export function checkCidr(c: string): void {
  const [a, p] = c.split('/');
  const bytes = ipBytes(a!);
  const plen = Number(p);
  if (!Number.isInteger(plen) || plen < 0 || plen > bytes.length * 8) throw new SysError('EINVAL', `bad address ${c}`);
}

export function parseMac(m: string | Uint8Array): Uint8Array {
  if (m instanceof Uint8Array) {
    if (m.length !== 6) throw new SysError('EINVAL', 'a MAC address is 6 bytes');
    return Uint8Array.from(m);
  }
  const parts = m.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)))
    throw new SysError('EINVAL', `bad MAC address ${m}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(m: Uint8Array): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
