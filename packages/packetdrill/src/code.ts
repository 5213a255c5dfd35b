/**
 * `%{ ... }%` snippets. packetdrill hands them to Python with the socket's tcp_info
 * fields as variables; the suite only writes `assert <comparison>` over `tcpi_*`
 * fields and TCPI_* constants, so this evaluates that subset: statements `assert E`
 * (separated by newlines or `;`) where E uses integers, names, `( )`, `|`, `&`,
 * `==`, `!=`, `<`, `<=`, `>`, `>=`, `not`, `and`, `or`. Anything else is unsupported.
 */
import { UnsupportedError } from './packet.js';
import { symbolValue } from './symbols.js';

type Node =
  | { t: 'num'; v: number }
  | { t: 'name'; name: string }
  | { t: 'not'; e: Node }
  | { t: 'bin'; op: string; l: Node; r: Node };

export interface Assertion {
  source: string;
  expr: Node;
}

const TOKEN = /\s*(0x[0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|[<>()|&])/y;

function lex(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m)
      throw new UnsupportedError(
        `python code ${JSON.stringify(src)}: cannot read ${JSON.stringify(src.slice(pos).trim())}`,
      );
    out.push(m[1]!);
    pos = TOKEN.lastIndex;
  }
  return out;
}

const BINARY: Record<string, number> = {
  or: 1,
  and: 2,
  '==': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '|': 5,
  '&': 6,
};

/** Parse a snippet into assertions; throws UnsupportedError for anything else. */
export function parseCode(code: string): Assertion[] {
  const out: Assertion[] = [];
  for (const raw of code.split(/[\n;]/)) {
    const stmt = raw.trim();
    if (stmt === '' || stmt.startsWith('#')) continue;
    const m = /^assert\s+(.*)$/.exec(stmt);
    if (!m)
      throw new UnsupportedError(`python statement ${JSON.stringify(stmt)} (only 'assert <comparison>' is supported)`);
    const toks = lex(m[1]!);
    let i = 0;
    const primary = (): Node => {
      const t = toks[i++];
      if (t === undefined) throw new UnsupportedError(`python code ${JSON.stringify(stmt)}: incomplete expression`);
      if (t === '(') {
        const e = expr(0);
        if (toks[i++] !== ')') throw new UnsupportedError(`python code ${JSON.stringify(stmt)}: missing ')'`);
        return e;
      }
      if (t === 'not') return { t: 'not', e: expr(3) };
      if (/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) return { t: 'num', v: Number(t) };
      if (/^[A-Za-z_]/.test(t) && BINARY[t] === undefined) {
        if (!t.startsWith('tcpi_') && symbolValue(t) === undefined) {
          throw new UnsupportedError(`python name ${t}`);
        }
        return { t: 'name', name: t };
      }
      throw new UnsupportedError(`python code ${JSON.stringify(stmt)}: unexpected ${t}`);
    };
    const expr = (minPrec: number): Node => {
      let l = primary();
      for (;;) {
        const op = toks[i];
        const prec = op === undefined ? undefined : BINARY[op];
        if (prec === undefined || prec < minPrec) return l;
        i++;
        l = { t: 'bin', op: op!, l, r: expr(prec + 1) };
      }
    };
    const e = expr(0);
    if (i !== toks.length) throw new UnsupportedError(`python code ${JSON.stringify(stmt)}: unexpected ${toks[i]}`);
    out.push({ source: stmt, expr: e });
  }
  return out;
}

/**
 * Evaluate the assertions against tcp_info (fields by their tcpi_* names); returns the
 * first failing assertion's text, or undefined when all hold.
 */
export function runAssertions(list: Assertion[], info: Readonly<Record<string, number>>): string | undefined {
  const value = (n: Node): number => {
    switch (n.t) {
      case 'num':
        return n.v;
      case 'name': {
        if (n.name.startsWith('tcpi_')) {
          const v = info[n.name];
          if (v === undefined) throw new UnsupportedError(`tcp_info field ${n.name}`);
          return v;
        }
        return symbolValue(n.name)!;
      }
      case 'not':
        return value(n.e) ? 0 : 1;
      case 'bin': {
        const l = value(n.l);
        if (n.op === 'and') return l ? value(n.r) : l;
        if (n.op === 'or') return l ? l : value(n.r);
        const r = value(n.r);
        switch (n.op) {
          case '==':
            return l === r ? 1 : 0;
          case '!=':
            return l !== r ? 1 : 0;
          case '<':
            return l < r ? 1 : 0;
          case '<=':
            return l <= r ? 1 : 0;
          case '>':
            return l > r ? 1 : 0;
          case '>=':
            return l >= r ? 1 : 0;
          case '|':
            return l | r;
          case '&':
            return l & r;
        }
        throw new UnsupportedError(`python operator ${n.op}`);
      }
    }
  };
  const names = (n: Node, out: string[]): string[] => {
    if (n.t === 'name' && n.name.startsWith('tcpi_')) out.push(`${n.name} = ${info[n.name]}`);
    else if (n.t === 'not') names(n.e, out);
    else if (n.t === 'bin') {
      names(n.l, out);
      names(n.r, out);
    }
    return out;
  };
  for (const a of list) {
    if (!value(a.expr)) return `${a.source} failed (${names(a.expr, []).join(', ')})`;
  }
  return undefined;
}
