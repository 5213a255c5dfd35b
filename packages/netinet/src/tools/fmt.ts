/**
 * The printf conversions the FreeBSD tools use, for the formatters here:
 * `%-N.Ns` is lpad/truncate, `%Nu` rpad, and netstat's plural helpers.
 */

/** `%-w.ws` (truncate when `trunc`), `%-ws` otherwise. */
export function left(s: string, w: number, trunc = true): string {
  const t = trunc && s.length > w ? s.slice(0, w) : s;
  return t.length >= w ? t : t + ' '.repeat(w - t.length);
}

/** `%w.ws` / `%wd`: right-aligned in w columns. */
export function right(s: string | number, w: number, trunc = false): string {
  let t = String(s);
  if (trunc && t.length > w) t = t.slice(0, w);
  return t.length >= w ? t : ' '.repeat(w - t.length) + t;
}

/** netstat's plural(): "s" unless exactly one. */
export const plural = (n: number): string => (n !== 1 ? 's' : '');
/** plurales(): "es" unless exactly one. */
export const plurales = (n: number): string => (n !== 1 ? 'es' : '');
/** pluralies(): "ies" / "y". */
export const pluralies = (n: number): string => (n !== 1 ? 'ies' : 'y');

/** printb (ifconfig): `name=hex<BIT,BIT>` over a [bit, name] table. */
export function printb(name: string, v: number, bits: readonly (readonly [number, string])[]): string {
  const names = bits.filter(([b]) => (v & b) !== 0).map(([, n]) => n);
  return `${name}=${(v >>> 0).toString(16)}<${names.join(',')}>`;
}
