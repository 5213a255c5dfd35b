/**
 * setkey(8) for TCP-MD5 security associations: the `-c` language's statements
 *
 *   add SRC DST tcp SPI -A tcp-md5 "key" ;      (or a 0x... hexadecimal key)
 *   delete SRC DST tcp SPI ;
 *   flush ;
 *   dump ;
 *
 * parsed into operations a control plane can carry (keys in hex), applied to an
 * engine's SA database (netipsec/key.ts), and `setkey -D` output. Anything else is
 * EINVAL with the statement's line, before any operation is applied.
 */
import { parseIP } from '@mcstack/wire';
import { SysError, errnoName } from '../kern/errno.js';
import { type KeyDb, type SecAssocRecord, TCP_KEYLEN_MAX } from '../netipsec/key.js';

export type SetkeyOp =
  | { op: 'add'; src: string; dst: string; spi: number; key: string }
  | { op: 'delete'; src: string; dst: string; spi: number }
  | { op: 'flush' }
  | { op: 'dump' };

function fail(line: number, why: string): never {
  throw new SysError('EINVAL', `line ${line}: ${why}`, 'setkey');
}

interface Tok {
  text: string;
  quoted: boolean;
  line: number;
}

/** Statements: tokens up to each ';' (quoted strings kept whole, `#` comments dropped). */
function statements(text: string): Tok[][] {
  const out: Tok[][] = [];
  let cur: Tok[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';') {
      out.push(cur);
      cur = [];
      i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) fail(line, 'unterminated string');
      cur.push({ text: text.slice(i + 1, end), quoted: true, line });
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;"#]/.test(text[j]!)) j++;
      cur.push({ text: text.slice(i, j), quoted: false, line });
      i = j;
    }
  }
  if (cur.length > 0) fail(cur[0]!.line, "statement without ';'");
  return out;
}

function addr(t: Tok | undefined, line: number, what: string): string {
  if (t === undefined || t.quoted || parseIP(t.text) === null) fail(line, `${what} must be an IP address`);
  return t.text;
}

function spiOf(t: Tok | undefined, line: number): number {
  const v = t === undefined || t.quoted ? Number.NaN : Number(t.text);
  if (!Number.isInteger(v) || v < 256 || v > 0xffffffff)
    fail(line, 'the SPI must be an integer from 256 to 0xffffffff');
  return v;
}

function keyHex(t: Tok | undefined, line: number): string {
  if (t === undefined) fail(line, 'a key is required');
  let hex: string;
  if (t.quoted) hex = Buffer.from(t.text, 'utf8').toString('hex');
  else if (/^0x([0-9a-fA-F]{2})+$/.test(t.text)) hex = t.text.slice(2).toLowerCase();
  else fail(line, 'the key must be a "string" or 0x followed by hexadecimal bytes');
  if (hex.length === 0 || hex.length / 2 > TCP_KEYLEN_MAX) fail(line, `the key must be 1 to ${TCP_KEYLEN_MAX} bytes`);
  return hex;
}

/** Parse `setkey -c` input. Throws SysError EINVAL naming the line. */
export function parseSetkey(text: string): SetkeyOp[] {
  const ops: SetkeyOp[] = [];
  for (const st of statements(text)) {
    if (st.length === 0) continue;
    const w = st[0]!;
    const line = w.line;
    const words = st.map((t) => (t.quoted ? null : t.text));
    switch (w.text) {
      case 'flush':
      case 'dump':
        if (st.length !== 1) fail(line, `${w.text} takes no arguments (only the tcp-md5 SA type exists)`);
        ops.push({ op: w.text });
        break;
      case 'add':
      case 'delete': {
        const src = addr(st[1], line, 'the source');
        const dst = addr(st[2], line, 'the destination');
        if (parseIP(src)!.length !== parseIP(dst)!.length) fail(line, 'source and destination differ in family');
        if (words[3] !== 'tcp')
          fail(line, `only the tcp protocol (TCP-MD5) is supported, not ${st[3]?.text ?? 'nothing'}`);
        const spi = spiOf(st[4], line);
        if (w.text === 'delete') {
          if (st.length !== 5) fail(line, 'delete takes SRC DST tcp SPI');
          ops.push({ op: 'delete', src, dst, spi });
          break;
        }
        if (words[5] !== '-A' || words[6] !== 'tcp-md5')
          fail(line, 'add takes SRC DST tcp SPI -A tcp-md5 KEY (the only algorithm)');
        if (st.length !== 8) fail(line, 'add takes SRC DST tcp SPI -A tcp-md5 KEY');
        ops.push({ op: 'add', src, dst, spi, key: keyHex(st[7], line) });
        break;
      }
      default:
        fail(line, `unknown command ${JSON.stringify(w.text)} (add, delete, flush, dump)`);
    }
  }
  return ops;
}

/**
 * Apply operations in order; stops at the first that fails with a SysError (EEXIST,
 * ENOENT, EINVAL), as setkey stops at the first failing statement. Returns the table.
 */
export function applySetkey(db: KeyDb, ops: readonly SetkeyOp[]): SecAssocRecord[] {
  for (const o of ops) {
    if (o.op === 'flush') db.flush();
    if (o.op !== 'add' && o.op !== 'delete') continue;
    const r = o.op === 'add' ? db.add(o.src, o.dst, o.spi, Buffer.from(o.key, 'hex')) : db.delete(o.src, o.dst, o.spi);
    if (r < 0) {
      const why = o.op === 'add' ? 'the SA exists or is invalid' : 'no such SA';
      throw new SysError(errnoName(r), `${o.op} ${o.src} ${o.dst} tcp ${o.spi}: ${why}`, 'setkey');
    }
  }
  return db.dump();
}

/** `setkey -D`: each SA as FreeBSD prints it (addresses, then the tcp-md5 SA's fields). */
export function formatSetkeyDump(sas: readonly SecAssocRecord[]): string {
  if (sas.length === 0) return 'No SAD entries.\n';
  let out = '';
  for (const sa of sas) {
    const spiHex = sa.spi.toString(16).padStart(8, '0');
    const key = (sa.key.match(/.{1,8}/g) ?? []).join(' ');
    out += `${sa.src} ${sa.dst}\n`;
    out += `\ttcp mode=any spi=${sa.spi}(0x${spiHex}) reqid=0(0x00000000)\n`;
    out += `\tA: tcp-md5  ${key}\n`;
    out += '\tstate=mature\n';
  }
  return out;
}
