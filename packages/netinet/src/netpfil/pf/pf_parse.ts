/**
 * pf.conf, the subset this pf takes (sbin/pfctl/parse.y's grammar and order):
 *
 *   set timeout NAME N | set timeout { NAME N, ... }     (pf.conf(5) timeouts, seconds)
 *   set limit states N
 *   pass|block [drop] [in|out] [log] [quick] [on IF] [inet|inet6] [proto P | proto { P ... }]
 *        (all | [from [HOST] [port PORT]] [to [HOST] [port PORT]])
 *        [flags F/S | flags any] [keep state | no state]
 *
 * HOST is `any`, an address, a prefix (a/n), `!`HOST or a `{ }` list; PORT is `N`, a
 * service name, `op N` (= != < <= > >=), `a:b` (inclusive), `a><b`, `a<>b`, or a list.
 * Lists expand into one rule per combination, as pfctl loads them. `pass` keeps state
 * with `flags S/SA` unless told otherwise (pf ≥ 4.1). Comments run from `#`; a line
 * ending in `\` continues. Anything else is EINVAL naming the line and the reason,
 * before any rule is loaded.
 */
import { parseIPv4, parseIPv6 } from '@mcstack/wire';
import { SysError } from '../../kern/errno.js';
import { TH_ACK, TH_SYN } from '../../tcp/var.js';
import {
  PF_DROP,
  PF_FLAG_LETTERS,
  PF_IN,
  PF_INOUT,
  PF_OP_EQ,
  PF_OP_GE,
  PF_OP_GT,
  PF_OP_IRG,
  PF_OP_LE,
  PF_OP_LT,
  PF_OP_NE,
  PF_OP_RRG,
  PF_OP_XRG,
  PF_OUT,
  PF_PASS,
  PF_TIMEOUT_DEFAULTS,
  PFSTATE_HIWAT,
  type PfRule,
  type PfRuleAddr,
  type PfRuleset,
  type PfTimeoutName,
} from './pfvar.js';

/** A rejected pf.conf: EINVAL with the line number and the reason. */
export class PfParseError extends SysError {
  readonly line: number;
  readonly reason: string;
  constructor(line: number, reason: string) {
    super('EINVAL', `line ${line}: ${reason}`, 'pfctl');
    this.name = 'PfParseError';
    this.line = line;
    this.reason = reason;
  }
}

/** Protocol names pf.conf takes (/etc/protocols). */
export const PF_PROTOS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmp6: 58, 'ipv6-icmp': 58 };
/** The service names a port may be given as (/etc/services, the common ones). */
const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  http: 80,
  www: 80,
  pop3: 110,
  ntp: 123,
  imap: 143,
  bgp: 179,
  https: 443,
};

interface PortSpec {
  op: number;
  port1: number;
  port2: number;
}
interface HostSpec {
  any: boolean;
  af: 0 | 4 | 6;
  addr: Uint8Array;
  plen: number;
  neg: boolean;
}

const TOKEN = /\{|\}|,|!=|<=|>=|<>|><|=|<|>|!|[^\s{},!<>=]+/g;

class Line {
  private i = 0;
  constructor(
    readonly no: number,
    private readonly toks: string[],
  ) {}
  peek(): string | undefined {
    return this.toks[this.i];
  }
  next(what: string): string {
    const t = this.toks[this.i++];
    if (t === undefined) this.fail(`${what} expected at end of line`);
    return t;
  }
  accept(t: string): boolean {
    if (this.toks[this.i] !== t) return false;
    this.i++;
    return true;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  fail(reason: string): never {
    throw new PfParseError(this.no, reason);
  }
  /** `{ a, b c }` or one item, each read by `item`. */
  list<T>(item: () => T): T[] {
    if (!this.accept('{')) return [item()];
    const out: T[] = [];
    while (!this.accept('}')) {
      if (this.done()) this.fail("'}' expected");
      if (this.accept(',')) continue;
      out.push(item());
    }
    if (out.length === 0) this.fail('empty list');
    return out;
  }
}

/** Parse pf.conf text into a ruleset (rules numbered from 0, timeouts and limits filled). */
export function parsePfConf(text: string): PfRuleset {
  const rs: PfRuleset = { rules: [], timeouts: { ...PF_TIMEOUT_DEFAULTS }, limitStates: PFSTATE_HIWAT };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const no = n + 1;
    let src = lines[n]!;
    // A trailing backslash joins the next line (the statement keeps the first line's number).
    while (src.endsWith('\\') && n + 1 < lines.length) src = `${src.slice(0, -1)} ${lines[++n]!}`;
    const hash = src.indexOf('#');
    if (hash >= 0) src = src.slice(0, hash);
    const toks = src.match(TOKEN) ?? [];
    if (toks.length === 0) continue;
    const l = new Line(no, toks);
    const head = l.next('statement');
    if (head === 'set') parseSet(l, rs);
    else if (head === 'pass' || head === 'block') parseRule(l, head, rs);
    else l.fail(`unknown statement '${head}'`);
  }
  return rs;
}

function number(l: Line, what: string, max: number): number {
  const t = l.next(what);
  if (!/^\d+$/.test(t) || Number(t) > max) l.fail(`${what} '${t}' is not a number from 0 to ${max}`);
  return Number(t);
}

function parseSet(l: Line, rs: PfRuleset): void {
  const what = l.next("'timeout' or 'limit'");
  if (what === 'timeout') {
    for (const [name, v] of l.list(() => {
      const name = l.next('timeout name');
      if (!(name in PF_TIMEOUT_DEFAULTS)) l.fail(`unknown timeout '${name}'`);
      return [name as PfTimeoutName, number(l, `timeout ${name}`, 0x7fffffff)] as const;
    })) {
      if (name === 'interval' && v === 0) l.fail('timeout interval must be at least 1 second');
      rs.timeouts[name] = v;
    }
  } else if (what === 'limit') {
    const name = l.next('limit name');
    if (name !== 'states') l.fail(`unknown limit '${name}' (this pf keeps only states)`);
    const v = number(l, 'limit states', 0x7fffffff);
    if (v === 0) l.fail('limit states must be at least 1');
    rs.limitStates = v;
  } else l.fail(`unknown option 'set ${what}'`);
  if (!l.done()) l.fail(`unexpected '${l.peek()}'`);
}

function parseHost(l: Line): HostSpec {
  const neg = l.accept('!');
  const t = l.next('address');
  if (t === 'any') {
    if (neg) l.fail("'! any' matches nothing");
    return { any: true, af: 0, addr: new Uint8Array(0), plen: 0, neg: false };
  }
  const slash = t.indexOf('/');
  const a = slash < 0 ? t : t.slice(0, slash);
  const v6 = a.includes(':');
  const addr = v6 ? parseIPv6(a) : parseIPv4(a);
  if (addr === null) l.fail(`'${t}' is not an address or a keyword here`);
  const max = v6 ? 128 : 32;
  let plen = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d+$/.test(p) || Number(p) > max) l.fail(`invalid prefix length '/${p}' for ${v6 ? 'inet6' : 'inet'}`);
    plen = Number(p);
  }
  return { any: false, af: v6 ? 6 : 4, addr, plen, neg };
}

function portNumber(l: Line, t: string): number {
  if (/^\d+$/.test(t)) {
    if (Number(t) > 65535) l.fail(`illegal port value ${t}`);
    return Number(t);
  }
  const s = SERVICES[t];
  if (s === undefined) l.fail(`unknown port '${t}'`);
  return s;
}

const UNARY_OPS: Readonly<Record<string, number>> = {
  '=': PF_OP_EQ,
  '!=': PF_OP_NE,
  '<': PF_OP_LT,
  '<=': PF_OP_LE,
  '>': PF_OP_GT,
  '>=': PF_OP_GE,
};

function parsePort(l: Line): PortSpec {
  const t = l.next('port');
  const unary = UNARY_OPS[t];
  if (unary !== undefined) return { op: unary, port1: portNumber(l, l.next('port')), port2: 0 };
  const colon = t.indexOf(':');
  if (colon >= 0) {
    const a = portNumber(l, t.slice(0, colon));
    const b = portNumber(l, t.slice(colon + 1));
    if (a > b) l.fail(`port range ${t} runs backwards`);
    return { op: PF_OP_RRG, port1: a, port2: b };
  }
  const p1 = portNumber(l, t);
  const bin = l.peek();
  if (bin === '><' || bin === '<>') {
    l.next('');
    const p2 = portNumber(l, l.next('port'));
    return { op: bin === '><' ? PF_OP_IRG : PF_OP_XRG, port1: p1, port2: p2 };
  }
  return { op: PF_OP_EQ, port1: p1, port2: 0 };
}

function parseFlags(l: Line, t: string): [number, number] {
  if (t === 'any') return [0, 0];
  const slash = t.indexOf('/');
  const bits = (s: string): number => {
    let v = 0;
    for (const c of s) {
      const i = PF_FLAG_LETTERS.indexOf(c);
      if (i < 0) l.fail(`unknown flag '${c}' in '${t}'`);
      v |= 1 << i;
    }
    return v;
  };
  const f = bits(slash < 0 ? t : t.slice(0, slash));
  const mask = slash < 0 ? 0xff : bits(t.slice(slash + 1));
  if (mask === 0) l.fail(`empty flag mask in '${t}'`);
  if ((f & mask) !== f) l.fail(`flags ${t}: the flags must be inside the mask`);
  return [f, mask];
}

const NO_PORT: PortSpec = { op: 0, port1: 0, port2: 0 };

function parseRule(l: Line, action: string, rs: PfRuleset): void {
  const act = action === 'pass' ? PF_PASS : PF_DROP;
  if (act === PF_DROP && (l.peek() === 'return' || l.peek() === 'return-rst' || l.peek() === 'return-icmp'))
    l.fail(`'block ${l.peek()}' is not supported (only drop)`);
  if (act === PF_DROP) l.accept('drop');
  let direction = PF_INOUT;
  if (l.accept('in')) direction = PF_IN;
  else if (l.accept('out')) direction = PF_OUT;
  const log = l.accept('log');
  const quick = l.accept('quick');
  let ifname: string | null = null;
  if (l.accept('on')) {
    ifname = l.next('interface name');
    if (!/^[a-z][a-z0-9_.]*$/i.test(ifname)) l.fail(`'${ifname}' is not an interface name`);
  }
  let af: 0 | 4 | 6 = 0;
  if (l.accept('inet')) af = 4;
  else if (l.accept('inet6')) af = 6;
  let protos: number[] = [0];
  if (l.accept('proto')) {
    protos = l.list(() => {
      const t = l.next('protocol');
      const p = /^\d+$/.test(t) ? Number(t) : PF_PROTOS[t];
      if (p === undefined || p > 255) l.fail(`unknown protocol '${t}'`);
      return p;
    });
  }
  let srcHosts: HostSpec[] = [ANY];
  let dstHosts: HostSpec[] = [ANY];
  let srcPorts: PortSpec[] = [NO_PORT];
  let dstPorts: PortSpec[] = [NO_PORT];
  if (!l.accept('all')) {
    // The host may be left out before a port (`to port 22` is `to any port 22`).
    if (l.accept('from')) {
      if (l.peek() !== 'port') srcHosts = l.list(() => parseHost(l));
      if (l.accept('port')) srcPorts = l.list(() => parsePort(l));
    }
    if (l.accept('to')) {
      if (l.peek() !== 'port') dstHosts = l.list(() => parseHost(l));
      if (l.accept('port')) dstPorts = l.list(() => parsePort(l));
    }
  }
  const hasPorts = srcPorts[0] !== NO_PORT || dstPorts[0] !== NO_PORT;
  if (hasPorts && protos.some((p) => p !== 6 && p !== 17)) l.fail('port only applies to tcp/udp');
  let flags = -1;
  let flagset = 0;
  let keepState = act === PF_PASS;
  let stateGiven = false;
  while (!l.done()) {
    const t = l.next('option');
    if (t === 'flags') {
      if (flags >= 0) l.fail('flags given twice');
      [flags, flagset] = parseFlags(l, l.next('flags'));
      if (protos.some((p) => p !== 6 && p !== 0)) l.fail('flags only apply to tcp');
    } else if (t === 'keep' || t === 'no') {
      if (l.next("'state'") !== 'state') l.fail(`'${t} state' expected`);
      if (stateGiven) l.fail('state option given twice');
      stateGiven = true;
      keepState = t === 'keep';
      if (keepState && act === PF_DROP) l.fail('keep state on block rules does not make sense');
    } else l.fail(`unexpected '${t}'`);
  }
  // pf ≥ 4.1: a stateful pass rule for TCP creates its state on the first SYN only.
  if (flags < 0) {
    if (keepState && protos.some((p) => p === 0 || p === 6)) {
      flags = TH_SYN;
      flagset = TH_SYN | TH_ACK;
    } else {
      flags = 0;
      flagset = 0;
    }
  }
  for (const proto of protos)
    for (const s of srcHosts)
      for (const sp of srcPorts)
        for (const d of dstHosts)
          for (const dp of dstPorts) {
            let raf = af;
            for (const h of [s, d]) {
              if (h.any) continue;
              if (raf !== 0 && raf !== h.af) l.fail('address family mismatch');
              raf = h.af;
            }
            if ((proto === 1 && raf === 6) || (proto === 58 && raf === 4))
              l.fail(`protocol ${proto === 1 ? 'icmp' : 'icmp6'} does not go with ${raf === 4 ? 'inet' : 'inet6'}`);
            const rule: PfRule = {
              nr: rs.rules.length,
              line: l.no,
              action: act,
              direction,
              quick,
              log,
              ifname,
              af: raf,
              proto,
              src: ruleAddr(s, sp),
              dst: ruleAddr(d, dp),
              flags: proto === 0 || proto === 6 ? flags : 0,
              flagset: proto === 0 || proto === 6 ? flagset : 0,
              keepState,
            };
            rs.rules.push(rule);
          }
}

const ANY: HostSpec = { any: true, af: 0, addr: new Uint8Array(0), plen: 0, neg: false };

function ruleAddr(h: HostSpec, p: PortSpec): PfRuleAddr {
  const addr = new Uint8Array(h.addr);
  // Keep only the prefix (pf masks the address at load: 10.0.0.1/8 is 10.0.0.0/8).
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.min(8, Math.max(0, h.plen - i * 8));
    addr[i]! &= (0xff00 >> keep) & 0xff;
  }
  return { any: h.any, addr, plen: h.plen, neg: h.neg, op: p.op, port1: p.port1, port2: p.port2 };
}
