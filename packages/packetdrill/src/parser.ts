/**
 * Recursive-descent parser for the packetdrill script language as the FreeBSD TCP test
 * suite writes it (NPLab packetdrill's parser.y, TCP/ICMP subset): options, then
 * events `time action`, where an action is a packet (`<`/`>`), a system call, a shell
 * command in backticks or a `%{ code }%` snippet.
 *
 * Syntax this runner cannot execute still parses when it is a known construct (urgent
 * pointers); the event is marked `unsupported` so running it reports `error` rather
 * than guessing.
 */
import type {
  EventTime,
  Expr,
  IcmpSpec,
  IpInfo,
  PacketEvent,
  Script,
  ScriptEvent,
  ScriptOption,
  SyscallEvent,
  TcpOptionSpec,
  TcpSegmentSpec,
} from './ast.js';
import { preprocess, ScriptSyntaxError, tokenize, type Token } from './lexer.js';

export { ScriptSyntaxError } from './lexer.js';

export interface ParseOptions {
  /** Names defined for `#ifdef` (default: `FreeBSD`). */
  defines?: Iterable<string>;
}

const SECS = 1_000_000;

export function parseScript(text: string, opts: ParseOptions = {}): Script {
  const defines = new Set(opts.defines ?? ['FreeBSD']);
  const toks = tokenize(preprocess(text, defines));
  return new Parser(toks).script();
}

class Parser {
  private pos = 0;
  private unsupported: string | undefined;

  constructor(private readonly toks: Token[]) {}

  private get tok(): Token {
    return this.toks[this.pos]!;
  }
  private kind(): Token['kind'] {
    return this.toks[this.pos]!.kind;
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)]!;
  }
  private next(): Token {
    return this.toks[this.pos++]!;
  }

  private fail(msg: string, t: Token = this.tok): never {
    throw new ScriptSyntaxError(t.line, `${msg} (at ${t.kind === 'eof' ? 'end of script' : JSON.stringify(t.text)})`);
  }

  private isPunct(p: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === p;
  }
  private isWord(w: string, t: Token = this.tok): boolean {
    return t.kind === 'word' && t.text === w;
  }

  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) this.fail(`expected '${p}'`);
    return this.next();
  }

  private expectWord(w?: string): Token {
    if (this.tok.kind !== 'word' || (w !== undefined && this.tok.text !== w))
      this.fail(w ? `expected '${w}'` : 'expected a name');
    return this.next();
  }

  private integer(what: string): number {
    let neg = false;
    if (this.isPunct('-')) {
      this.next();
      neg = true;
    }
    if (this.tok.kind !== 'int') this.fail(`expected ${what}`);
    const v = this.next().num;
    return neg ? -v : v;
  }

  script(): Script {
    const options: ScriptOption[] = [];
    while (this.tok.kind === 'option') {
      const t = this.next();
      options.push({ name: t.text, value: t.value, line: t.line });
    }
    const events: ScriptEvent[] = [];
    // packetdrill's opt_init_command: one untimed shell command before the events.
    if (this.tok.kind === 'command') {
      const t = this.next();
      events.push({ line: t.line, time: { kind: 'absolute', usecs: 0 }, body: { type: 'command', command: t.text } });
    }
    while (this.kind() !== 'eof') {
      if (this.kind() === 'option') this.fail('options must come before the first event');
      if (this.kind() === 'command' && this.peek().kind === 'eof') {
        // ... and opt_cleanup_command: one untimed shell command after them.
        const t = this.next();
        events.push({ line: t.line, time: { kind: 'relative', usecs: 0 }, body: { type: 'command', command: t.text } });
        break;
      }
      events.push(this.event());
    }
    return { options, events };
  }

  private event(): ScriptEvent {
    const line = this.tok.line;
    this.unsupported = undefined;
    const time = this.eventTime();
    const t = this.tok;
    let body: ScriptEvent['body'];
    if (this.isPunct('<') || this.isPunct('>')) body = this.packet();
    else if (t.kind === 'command') {
      this.next();
      body = { type: 'command', command: t.text };
    } else if (t.kind === 'code') {
      this.next();
      body = { type: 'code', code: t.text };
    } else if (t.kind === 'ellipsis' || (t.kind === 'word' && this.isPunct('(', this.peek()))) body = this.syscall();
    else this.fail('expected a packet, system call, `command` or %{ code }%');
    const ev: ScriptEvent = { line, time, body };
    if (this.unsupported !== undefined) ev.unsupported = this.unsupported;
    return ev;
  }

  private markUnsupported(what: string): void {
    this.unsupported ??= what;
  }

  /** A time in seconds (int or float) → microseconds. */
  private seconds(): number {
    const t = this.tok;
    if (t.kind !== 'int' && t.kind !== 'float') this.fail('expected a time');
    this.next();
    return Math.round(t.num * SECS);
  }

  private eventTime(): EventTime {
    if (this.isPunct('*')) {
      this.next();
      return { kind: 'any' };
    }
    let relative = false;
    if (this.isPunct('+')) {
      this.next();
      relative = true;
    }
    const usecs = this.seconds();
    if (this.isPunct('~')) {
      this.next();
      if (relative) {
        if (!this.isPunct('+')) this.fail("a relative range is written '+a~+b'");
        this.next();
      } else if (this.isPunct('+')) this.fail("an absolute range is written 'a~b'");
      const endUsecs = this.seconds();
      return relative ? { kind: 'relative-range', usecs, endUsecs } : { kind: 'absolute-range', usecs, endUsecs };
    }
    return relative ? { kind: 'relative', usecs } : { kind: 'absolute', usecs };
  }

  // ---- packets --------------------------------------------------------------------

  private packet(): PacketEvent {
    const direction = this.next().text === '<' ? 'inbound' : 'outbound';
    const ip: IpInfo = {};
    if (this.isPunct('[')) {
      this.next();
      const w = this.expectWord().text;
      if (w !== 'noecn' && w !== 'ect0' && w !== 'ect1' && w !== 'ce' && w !== 'ect01')
        this.fail(`unknown ECN mark [${w}]`);
      ip.ecn = w;
      this.expectPunct(']');
    }
    while (
      this.isPunct('(') &&
      this.peek().kind === 'word' &&
      /^(tos|ttl|class|hlim|flowlabel)$/.test(this.peek().text)
    ) {
      this.next();
      const what = this.next().text;
      const v = this.integer(`a ${what} value`);
      if (what === 'tos' || what === 'class') ip.tos = v;
      else if (what === 'ttl' || what === 'hlim') ip.ttl = v;
      else this.markUnsupported(`(${what} ...) IP field`);
      this.expectPunct(')');
    }
    const ev: PacketEvent = { type: 'packet', direction, ip };
    if (this.isWord('icmp')) {
      ev.icmp = this.icmp();
      return ev;
    }
    if (this.isWord('udp') || this.isWord('sctp') || this.isWord('udplite')) {
      this.fail(`${this.tok.text} packets are not supported`);
    }
    ev.tcp = this.tcpSegment();
    return ev;
  }

  private tcpFlags(): string {
    let flags = '';
    if (this.tok.kind === 'word') {
      flags = this.next().text;
      if (!/^[SFRPEWUA]+$/.test(flags)) this.fail(`bad TCP flags ${JSON.stringify(flags)}`, this.toks[this.pos - 1]);
      if (this.isPunct('.') && !this.tok.spaceBefore) {
        this.next();
        flags += '.';
      }
    } else if (this.isPunct('.')) {
      this.next();
      flags = '.';
    } else if (this.isPunct('-')) {
      this.next();
      flags = '';
    } else {
      this.fail('expected TCP flags');
    }
    return flags;
  }

  private tcpSegment(): TcpSegmentSpec {
    const flags = this.tcpFlags();
    let seq: number | null = null;
    let seqEnd: number | null = null;
    if (this.tok.kind === 'ellipsis') {
      this.next();
    } else {
      seq = this.integer('a sequence number');
      this.expectPunct(':');
      seqEnd = this.integer('an end sequence number');
    }
    this.expectPunct('(');
    const payloadLen = this.integer('a payload length');
    this.expectPunct(')');
    if (seq !== null && seqEnd !== null && (seqEnd - seq) >>> 0 !== payloadLen) {
      this.fail(`inconsistent sequence range ${seq}:${seqEnd}(${payloadLen})`, this.toks[this.pos - 1]);
    }
    let absoluteSeq = false;
    if (this.isPunct('!')) {
      this.next();
      absoluteSeq = true;
    }
    const seg: TcpSegmentSpec = { flags, seq, seqEnd, payloadLen };
    if (absoluteSeq) seg.absoluteSeq = true;
    if (this.isWord('ack')) {
      this.next();
      seg.ack = this.integer('an ACK number');
    }
    if (this.isWord('win')) {
      this.next();
      seg.win = this.integer('a window');
    }
    if (this.isWord('urg')) {
      this.next();
      this.integer('an urgent pointer');
      this.markUnsupported('urgent pointers');
    }
    if (this.isPunct('<')) seg.options = this.tcpOptions();
    if (this.isPunct('/')) {
      // NPLab UDP encapsulation of TCP: `/udp(sport > dport)`.
      this.next();
      this.expectWord('udp');
      this.expectPunct('(');
      const src = this.integer('a UDP port');
      this.expectPunct('>');
      const dst = this.integer('a UDP port');
      this.expectPunct(')');
      if (src < 0 || src > 65535 || dst < 0 || dst > 65535) this.fail('a UDP port is 0 to 65535');
      seg.udp = { src, dst };
    }
    return seg;
  }

  private tcpOptions(): TcpOptionSpec[] | 'any' {
    this.expectPunct('<');
    if (this.tok.kind === 'ellipsis') {
      this.next();
      this.expectPunct('>');
      return 'any';
    }
    const list: TcpOptionSpec[] = [];
    for (;;) {
      const w = this.expectWord().text;
      switch (w) {
        case 'nop':
          list.push({ kind: 'nop' });
          break;
        case 'eol':
          list.push({ kind: 'eol' });
          break;
        case 'sackOK':
          list.push({ kind: 'sackOK' });
          break;
        case 'mss':
          list.push({ kind: 'mss', value: this.integer('an MSS') });
          break;
        case 'wscale':
          list.push({ kind: 'wscale', value: this.integer('a window scale') });
          break;
        case 'sack': {
          const blocks: [number, number][] = [];
          while (this.tok.kind === 'int') {
            const a = this.next().num;
            this.expectPunct(':');
            blocks.push([a, this.integer('a SACK block end')]);
          }
          if (blocks.length === 0) this.fail('expected SACK blocks');
          list.push({ kind: 'sack', blocks });
          break;
        }
        case 'TS': {
          this.expectWord('val');
          const val = this.integer('a TS val');
          this.expectWord('ecr');
          list.push({ kind: 'timestamp', val, ecr: this.integer('a TS ecr') });
          break;
        }
        case 'md5': {
          const t = this.next();
          list.push({ kind: 'md5', text: t.text });
          break;
        }
        default:
          this.fail(`unknown TCP option ${w}`, this.toks[this.pos - 1]);
      }
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.expectPunct('>');
      return list;
    }
  }

  private icmp(): IcmpSpec {
    this.expectWord('icmp');
    const spec: IcmpSpec = { type: this.expectWord().text };
    if (this.tok.kind === 'word' && this.tok.text !== 'mtu') spec.code = this.next().text;
    if (this.isWord('mtu')) {
      this.next();
      spec.mtu = this.integer('an MTU');
    }
    if (this.isPunct('[')) {
      this.next();
      if (this.isWord('udp') || this.isWord('sctp') || this.isWord('udplite')) {
        this.fail(`ICMP quoting ${this.tok.text} is not supported`);
      }
      const start = this.integer('a TCP sequence number');
      this.expectPunct(':');
      const end = this.integer('an end sequence number');
      this.expectPunct('(');
      const len = this.integer('a payload length');
      this.expectPunct(')');
      if ((end - start) >>> 0 !== len) this.fail(`inconsistent sequence range ${start}:${end}(${len})`);
      spec.tcpSeq = start >>> 0;
      spec.tcpPayloadLen = len;
      this.expectPunct(']');
    }
    return spec;
  }

  // ---- system calls ---------------------------------------------------------------

  private syscall(): SyscallEvent {
    let end: SyscallEvent['end'];
    if (this.tok.kind === 'ellipsis') {
      this.next();
      let rel = false;
      if (this.isPunct('+')) {
        this.next();
        rel = true;
      }
      end = { kind: rel ? 'relative' : 'absolute', usecs: this.seconds() };
    }
    const name = this.expectWord().text;
    this.expectPunct('(');
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.expr());
        if (this.isPunct(',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expectPunct(')');
    this.expectPunct('=');
    const result = this.expr();
    const ev: SyscallEvent = { type: 'syscall', name, args, result };
    if (end) ev.end = end;
    if (this.tok.kind === 'word' && /^E[A-Z0-9]+$/.test(this.tok.text) && !this.tok.lineStart)
      ev.errno = this.next().text;
    // An optional human note in parentheses: `(Operation now in progress)`, `(flags O_RDWR)`.
    if (this.isPunct('(') && !this.tok.lineStart) {
      let depth = 0;
      do {
        if (this.tok.kind === 'eof') this.fail('unterminated note');
        if (this.isPunct('(')) depth++;
        else if (this.isPunct(')')) depth--;
        this.next();
      } while (depth > 0);
    }
    return ev;
  }

  private expr(): Expr {
    let l = this.primary();
    while (this.isPunct('|')) {
      this.next();
      l = { t: 'binop', op: '|', l, r: this.primary() };
    }
    return l;
  }

  private primary(): Expr {
    const t = this.tok;
    if (t.kind === 'ellipsis') {
      this.next();
      return { t: 'ellipsis' };
    }
    if (t.kind === 'int' || this.isPunct('-')) return { t: 'int', v: this.integer('a number') };
    if (t.kind === 'word') {
      this.next();
      return { t: 'symbol', name: t.text };
    }
    if (t.kind === 'string') {
      this.next();
      return { t: 'string', v: t.text };
    }
    if (this.isPunct('[')) {
      this.next();
      const items: Expr[] = [];
      if (!this.isPunct(']')) {
        for (;;) {
          items.push(this.expr());
          if (this.isPunct(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expectPunct(']');
      return { t: 'list', items };
    }
    if (this.isPunct('{')) this.fail('struct arguments ({...}) are not supported');
    this.fail('expected an expression');
  }
}
