/**
 * IPv4 and IPv6 address text <-> bytes (RFC 4291 §2.2 text forms, RFC 5952 output).
 * Parsers return null on bad text; callers turn that into their own typed error.
 */

/** Dotted-quad to 4 bytes, or null. Only the strict a.b.c.d form (no octal, no short forms). */
export function parseIPv4(text: string, out = new Uint8Array(4), off = 0): Uint8Array | null {
  // Four decimal octets, 1-3 digits each, no leading zeros, by character: a connect or bind
  // parses its address, so no split, regex or substring per call.
  const n = text.length;
  let p = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (p >= n || text.charCodeAt(p) !== 0x2e) return null;
      p++;
    }
    const start = p;
    let v = 0;
    while (p < n) {
      const c = text.charCodeAt(p) - 0x30;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      p++;
    }
    const len = p - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && text.charCodeAt(start) === 0x30)) return null;
    out[off + i] = v;
  }
  return p === n ? out : null;
}

/** RFC 4291 §2.2 text (with `::` and an embedded dotted quad) to 16 bytes, or null. */
export function parseIPv6(text: string, out = new Uint8Array(16), off = 0): Uint8Array | null {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? text.slice(0, dbl) : text;
  const tail = dbl >= 0 ? text.slice(dbl + 2) : '';
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const words: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        words.push(parseInt(p, 16));
      }
    }
    return words;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return null;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return null;
  const words = new Array<number>(8).fill(0);
  h.forEach((w, i) => {
    words[i] = w;
  });
  t.forEach((w, i) => {
    words[8 - t.length + i] = w;
  });
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = words[i]! >>> 8;
    out[off + 2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** 4 or 16 address bytes from text, or null. */
export function parseIP(text: string): Uint8Array | null {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

export function formatIPv4(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 canonical text: lower case, longest run (≥ 2) of zero words as `::`. */
export function formatIPv6(buf: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // RFC 5952 §5: IPv4-mapped addresses keep their dotted quad.
  if (bestStart === 0 && bestLen === 5 && w[5] === 0xffff) {
    return `::ffff:${formatIPv4(buf, off + 12)}`;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

export function formatIP(buf: Uint8Array, off = 0, len = buf.length - off): string {
  return len === 4 ? formatIPv4(buf, off) : formatIPv6(buf, off);
}
