/**
 * The packetdrill script lexer (after gtests/net/packetdrill/lexer.l): C and C++
 * comments, `%{ code }%` snippets, backtick shell commands, `--option` lines, numbers,
 * words and punctuation, each token carrying its 1-based line number.
 *
 * The NPLab dialect also wraps platform-specific lines in `#ifdef NAME` / `#ifndef` /
 * `#else` / `#endif`; `preprocess` blanks the lines of inactive branches (keeping line
 * numbers) before lexing. mcstack models FreeBSD, so `FreeBSD` is the one name defined
 * by default.
 */

export type TokenKind =
  | 'int' // 123, 0x7f (value in `num`)
  | 'float' // 0.100, .5 (value in `num`)
  | 'word' // identifiers: SOL_SOCKET, S, win, sackOK
  | 'punct' // one of < > ( ) [ ] { } , . : = + - * | ! ~ / & ;
  | 'ellipsis' // ...
  | 'code' // %{ ... }% (text in `text`, trimmed)
  | 'command' // `...` (text in `text`)
  | 'string' // "..." (text in `text`)
  | 'option' // --name or --name=value at the start of a line (name in `text`, value in `value`)
  | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  /** Numeric value of int/float tokens. */
  num: number;
  /** For options: the text after `=` (undefined for a bare `--flag`). */
  value?: string;
  /** Whitespace (or a line break) separated this token from the previous one. */
  spaceBefore: boolean;
  /** This token is the first on its line. */
  lineStart: boolean;
}

export class ScriptSyntaxError extends Error {
  readonly code = 'MCSTACK_DRILL_SYNTAX';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'ScriptSyntaxError';
  }
}

/**
 * Keep only the active branches of `#ifdef`/`#ifndef`/`#else`/`#endif` blocks; the
 * directive lines and inactive lines become empty so line numbers do not move.
 */
export function preprocess(text: string, defines: ReadonlySet<string>): string {
  const lines = text.split('\n');
  const stack: { active: boolean; parentActive: boolean; line: number }[] = [];
  let active = true;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*#\s*(ifdef|ifndef|else|endif|if|elif|define|undef|include)\b\s*(\S*)/.exec(lines[i]!);
    if (m) {
      const [, dir, name] = m;
      switch (dir) {
        case 'ifdef':
        case 'ifndef': {
          const cond = dir === 'ifdef' ? defines.has(name!) : !defines.has(name!);
          stack.push({ active, parentActive: active, line: i + 1 });
          active = active && cond;
          break;
        }
        case 'else': {
          const top = stack[stack.length - 1];
          if (!top) throw new ScriptSyntaxError(i + 1, '#else without #ifdef');
          active = top.parentActive && !active;
          break;
        }
        case 'endif': {
          const top = stack.pop();
          if (!top) throw new ScriptSyntaxError(i + 1, '#endif without #ifdef');
          active = top.parentActive;
          break;
        }
        default:
          throw new ScriptSyntaxError(i + 1, `unsupported preprocessor directive #${dir}`);
      }
      lines[i] = '';
      continue;
    }
    if (!active) lines[i] = '';
  }
  if (stack.length > 0) throw new ScriptSyntaxError(stack[stack.length - 1]!.line, '#ifdef without #endif');
  return lines.join('\n');
}

const PUNCT = new Set([
  '<',
  '>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  ':',
  '=',
  '+',
  '-',
  '*',
  '|',
  '!',
  '~',
  '/',
  '&',
  ';',
]);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isWordChar(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_');
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let space = true;
  let lineStart = true;
  const push = (kind: TokenKind, t: string, num = 0, value?: string) => {
    out.push({ kind, text: t, line, num, value, spaceBefore: space, lineStart });
    space = false;
    lineStart = false;
  };
  const countLines = (s: string) => {
    for (const ch of s) if (ch === '\n') line++;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      space = true;
      lineStart = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      space = true;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new ScriptSyntaxError(line, 'unterminated /* comment');
      countLines(text.slice(i, end + 2));
      i = end + 2;
      space = true;
      continue;
    }
    if (c === '%' && text[i + 1] === '{') {
      const end = text.indexOf('}%', i + 2);
      if (end < 0) throw new ScriptSyntaxError(line, 'unterminated %{ code }% snippet');
      const body = text.slice(i + 2, end);
      push('code', body.trim());
      countLines(body);
      i = end + 2;
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new ScriptSyntaxError(line, 'unterminated `command`');
      const body = text.slice(i + 1, end);
      push('command', body);
      countLines(body);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new ScriptSyntaxError(line, 'unterminated string');
      push('string', text.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (c === '-' && text[i + 1] === '-' && lineStart && /[a-zA-Z]/.test(text[i + 2] ?? '')) {
      // `--name=value` up to the end of the line (values such as ipv4-mapped-ipv6 or
      // packet,syscall are not single tokens).
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      let body = text.slice(i + 2, end);
      const cmt = body.indexOf('//');
      if (cmt >= 0) body = body.slice(0, cmt);
      body = body.trim();
      const eq = body.indexOf('=');
      push('option', eq < 0 ? body : body.slice(0, eq), 0, eq < 0 ? undefined : body.slice(eq + 1).trim());
      i = end;
      continue;
    }
    if (c === '.' && text[i + 1] === '.' && text[i + 2] === '.') {
      push('ellipsis', '...');
      i += 3;
      continue;
    }
    if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
      let j = i + 2;
      while (j < text.length && /[0-9a-fA-F]/.test(text[j]!)) j++;
      if (isWordChar(text[j])) throw new ScriptSyntaxError(line, `bad number ${text.slice(i, j + 1)}`);
      push('int', text.slice(i, j), parseInt(text.slice(i + 2, j), 16));
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      let j = i;
      while (isDigit(text[j])) j++;
      let isFloat = false;
      if (text[j] === '.' && isDigit(text[j + 1])) {
        isFloat = true;
        j++;
        while (isDigit(text[j])) j++;
      }
      if (isWordChar(text[j])) {
        // A word starting with a digit (rare); treat as a word.
        while (isWordChar(text[j])) j++;
        push('word', text.slice(i, j));
        i = j;
        continue;
      }
      const t = text.slice(i, j);
      push(isFloat ? 'float' : 'int', t, Number(t));
      i = j;
      continue;
    }
    if (isWordChar(c)) {
      let j = i;
      while (isWordChar(text[j])) j++;
      push('word', text.slice(i, j));
      i = j;
      continue;
    }
    if (PUNCT.has(c)) {
      push('punct', c);
      i++;
      continue;
    }
    throw new ScriptSyntaxError(line, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: 'eof', text: '', line, num: 0, spaceBefore: true, lineStart: true });
  return out;
}
