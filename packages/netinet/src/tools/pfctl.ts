/**
 * pfctl(8)'s output (sbin/pfctl/pfctl.c, pfctl_parser.c): `-s rules` as print_rule
 * writes a rule back in pf.conf form (with `-v`, each rule's counters), `-s states`
 * as print_state, `-s info` as print_status. Reports of several group workers are
 * summed first (pfSum): each worker has its own states and counters, every worker the
 * same rules.
 */
import {
  PF_DROP,
  PF_FLAG_LETTERS,
  PF_IN,
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
  PFRES_NAMES,
  type PfReport,
  type PfRule,
  type PfRuleAddr,
  type PfStateRecord,
} from '../netpfil/pf/pfvar.js';
import { formatIPv4, formatIPv6 } from '@mcstack/wire';

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp' };
const protoName = (p: number): string => PROTO_NAMES[p] ?? String(p);

/** Add each number-valued field of `from` into `into` (per-worker counters, DPCPU-style). */
function addNumbers<T extends object>(into: T, from: T | undefined): void {
  if (from === undefined) return;
  const a = into as Record<string, unknown>;
  const b = from as Record<string, unknown>;
  for (const k of Object.keys(a)) {
    const v = b[k];
    if (typeof a[k] === 'number' && typeof v === 'number' && k !== 'since') a[k] = (a[k] as number) + v;
  }
}

/** Several workers' reports as one: rules from the first, counters and states added up. */
export function pfSum(reports: readonly PfReport[]): PfReport {
  const first = reports[0];
  if (first === undefined) throw new RangeError('pfSum: no report');
  const out: PfReport = structuredClone(first);
  for (const r of reports.slice(1)) {
    out.counters.forEach((c, i) => {
      addNumbers(c, r.counters[i]);
    });
    const s = out.status;
    const o = r.status;
    s.running &&= o.running;
    addNumbers(s, o);
    o.counters.forEach((v, i) => {
      s.counters[i] = (s.counters[i] ?? 0) + v;
    });
    out.states.push(...r.states);
    out.now = Math.max(out.now, r.now);
  }
  return out;
}

function printAddr(a: PfRuleAddr, af: number): string {
  if (a.any) return 'any';
  const text = a.addr.length === 4 ? formatIPv4(a.addr) : formatIPv6(a.addr);
  const full = af === 6 || a.addr.length === 16 ? 128 : 32;
  return `${a.neg ? '! ' : ''}${text}${a.plen === full ? '' : `/${a.plen}`}`;
}

function printPort(a: PfRuleAddr): string {
  switch (a.op) {
    case PF_OP_EQ:
      return ` port = ${a.port1}`;
    case PF_OP_NE:
      return ` port != ${a.port1}`;
    case PF_OP_LT:
      return ` port < ${a.port1}`;
    case PF_OP_LE:
      return ` port <= ${a.port1}`;
    case PF_OP_GT:
      return ` port > ${a.port1}`;
    case PF_OP_GE:
      return ` port >= ${a.port1}`;
    case PF_OP_RRG:
      return ` port ${a.port1}:${a.port2}`;
    case PF_OP_IRG:
      return ` port ${a.port1} >< ${a.port2}`;
    case PF_OP_XRG:
      return ` port ${a.port1} <> ${a.port2}`;
  }
  return '';
}

function flagText(bits: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if (bits & (1 << i)) s += PF_FLAG_LETTERS[i];
  return s;
}

/** print_rule: the rule in pf.conf form. */
export function formatPfRule(r: PfRule): string {
  let s = r.action === PF_DROP ? 'block drop' : 'pass';
  if (r.direction === PF_IN) s += ' in';
  else if (r.direction === PF_OUT) s += ' out';
  if (r.log) s += ' log';
  if (r.quick) s += ' quick';
  if (r.ifname !== null) s += ` on ${r.ifname}`;
  if (r.af === 4) s += ' inet';
  else if (r.af === 6) s += ' inet6';
  if (r.proto !== 0) s += ` proto ${protoName(r.proto)}`;
  if (r.src.any && r.dst.any && r.src.op === 0 && r.dst.op === 0) s += ' all';
  else s += ` from ${printAddr(r.src, r.af)}${printPort(r.src)} to ${printAddr(r.dst, r.af)}${printPort(r.dst)}`;
  if (r.flagset !== 0) s += ` flags ${flagText(r.flags)}/${flagText(r.flagset)}`;
  if (r.keepState) s += ' keep state';
  else if (r.action !== PF_DROP) s += ' no state';
  return s;
}

/** `pfctl -s rules` (`-v`: the counters under each rule). */
export function formatPfRules(rep: PfReport, verbose = false): string {
  let out = '';
  rep.rules.forEach((r, i) => {
    out += `${formatPfRule(r)}\n`;
    const c = rep.counters[i];
    if (verbose && c !== undefined)
      out +=
        `  [ Evaluations: ${String(c.evaluations).padEnd(8)} Packets: ${String(c.packetsIn + c.packetsOut).padEnd(8)} ` +
        `Bytes: ${String(c.bytesIn + c.bytesOut).padEnd(10)} States: ${String(c.statesCur).padEnd(6)}]\n`;
  });
  return out;
}

function hostPort(addr: string, port: number, af: number, proto: number): string {
  const ports = proto === 6 || proto === 17;
  if (!ports) return addr;
  return af === 6 ? `${addr}[${port}]` : `${addr}:${port}`;
}

/** print_state: `all tcp 10.0.0.2:80 <- 10.0.0.1:54321       ESTABLISHED:ESTABLISHED`. */
export function formatPfState(s: PfStateRecord): string {
  const local = hostPort(s.addr1, s.port1, s.af, s.proto);
  const remote = hostPort(s.addr0, s.port0, s.af, s.proto);
  const out = s.direction === PF_OUT;
  // The left column is our side: the initiator for an outbound state, the responder for an inbound one.
  const states = out ? `${s.srcState}:${s.dstState}` : `${s.dstState}:${s.srcState}`;
  const flow = `${s.ifname} ${protoName(s.proto)} ${local} ${out ? '->' : '<-'} ${remote}`;
  return `${flow.padEnd(56)}   ${states}`;
}

/** `pfctl -s states`. */
export function formatPfStates(rep: PfReport): string {
  return rep.states.map((s) => `${formatPfState(s)}\n`).join('');
}

/** `pfctl -s info` (print_status): status, the state table's counters and the reason counters, with rates. */
export function formatPfInfo(rep: PfReport): string {
  const st = rep.status;
  const secs = st.running ? Math.max(0, Math.floor((rep.now - st.since) / 1e6)) : 0;
  const d = Math.floor(secs / 86400);
  const hms = new Date((secs % 86400) * 1000).toISOString().slice(11, 19);
  let out = `${`Status: ${st.running ? 'Enabled' : 'Disabled'} for ${d} days ${hms}`.padEnd(46)}Debug: Urgent\n\n`;
  const rate = (v: number): string => (secs > 0 ? `${(v / secs).toFixed(1)}/s` : '0.0/s');
  const row = (name: string, v: number, withRate = true): string =>
    `  ${name.padEnd(25)}${String(v).padStart(14)}${withRate ? rate(v).padStart(16) : ''}\n`;
  out += `${'State Table'.padEnd(27)}${'Total'.padStart(14)}${'Rate'.padStart(16)}\n`;
  // The count `set limit states` bounds: the stack's, every worker's states together.
  out += row('current entries', rep.statesInUse, false);
  out += row('searches', st.searches);
  out += row('inserts', st.inserts);
  out += row('removals', st.removals);
  out += 'Counters\n';
  PFRES_NAMES.forEach((name, i) => {
    out += row(name, st.counters[i] ?? 0);
  });
  out += 'Packets\n';
  out += row('passed in', st.passIn);
  out += row('passed out', st.passOut);
  out += row('blocked in', st.dropIn);
  out += row('blocked out', st.dropOut);
  return out;
}

/** `pfctl -s memory` (pfctl_show_limits): the limits this pf has, one `set limit` each. */
export function formatPfMemory(rep: PfReport): string {
  return `${'states'.padEnd(13)} hard limit ${String(rep.limitStates).padStart(8)}\n`;
}
