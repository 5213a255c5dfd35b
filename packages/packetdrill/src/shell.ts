/**
 * Backtick shell commands. The suite configures the stack with `sysctl -w`, checks
 * connection states with sockstat pipelines, drops TIME_WAIT connections with
 * tcpdrop and installs TCP-MD5 keys with setkey (after loading the tcpmd5 module,
 * which the engine has built in); those are carried out against the stack under
 * test (the sysctl tree, its TCP connection list, its SA database), exactly as the
 * pipeline would answer on FreeBSD.
 * Any other command is unsupported: nothing here runs a real shell.
 */
import { UnsupportedError } from './packet.js';
import { SOCKSTAT_STATES } from './symbols.js';
import type { DrillStack } from './stack.js';

export type ShellCommand =
  | { kind: 'sysctl'; settings: [string, string][] }
  | {
      kind: 'sockstat';
      family?: 4 | 6;
      port?: number;
      /** Every `grep PATTERN` (substring filters) before the count. */
      filters: string[];
      /** `grep -c STATE`: count matching lines. */
      countPattern: string;
      /** The final `grep N`: the count's text must contain this. */
      expect: string;
    }
  | { kind: 'tcpdrop'; state: number }
  /** `echo '...' | setkey -c` (the statements) or `setkey -F` (flush;). */
  | { kind: 'setkey'; text: string };

/** `kldstat -q -m tcpmd5 || kldload tcpmd5;` before setkey: the module is always there. */
const KLDLOAD_TCPMD5 = /^kldstat\s+-q\s+-m\s+tcpmd5\s*\|\|\s*kldload\s+tcpmd5\s*;\s*/;
const SETKEY_C = /^echo\s+'([^']*)'\s*\|\s*setkey\s+-c$/;

/** Parse a command; throws UnsupportedError for anything the runner cannot carry out. */
export function parseCommand(text: string): ShellCommand {
  const cmd = text.trim();
  const sk = SETKEY_C.exec(cmd.replace(KLDLOAD_TCPMD5, ''));
  if (sk) return { kind: 'setkey', text: sk[1]! };
  if (/^setkey\s+-F$/.test(cmd)) return { kind: 'setkey', text: 'flush;' };
  const stages = cmd.split('|').map((s) => s.trim().split(/\s+/));
  const first = stages[0]!;
  if (first[0] === 'sysctl' && stages.length === 1) {
    const args = first.slice(1);
    if (args[0] !== '-w') args.unshift('-w');
    const settings: [string, string][] = [];
    for (const a of args.slice(1)) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new UnsupportedError(`shell command \`${cmd}\` (sysctl without name=value)`);
      settings.push([a.slice(0, eq), a.slice(eq + 1)]);
    }
    if (settings.length === 0) throw new UnsupportedError(`shell command \`${cmd}\``);
    return { kind: 'sysctl', settings };
  }
  if (first[0] === 'sockstat' && stages.length >= 3) {
    let family: 4 | 6 | undefined;
    let port: number | undefined;
    let tcp = false;
    for (let i = 1; i < first.length; i++) {
      const a = first[i]!;
      if (a === '-4') family = 4;
      else if (a === '-6') family = 6;
      else if (a === '-s' || a === '-N' || a === '-q' || a === '-n') continue;
      else if (a === '-P') {
        tcp = first[++i] === 'tcp';
        if (!tcp) break;
      } else if (a === '-p') {
        port = Number(first[++i]);
        if (!Number.isInteger(port)) break;
      } else throw new UnsupportedError(`shell command \`${cmd}\` (sockstat option ${a})`);
    }
    if (!tcp || !first.includes('-s'))
      throw new UnsupportedError(`shell command \`${cmd}\` (only sockstat -P tcp -s is emulated)`);
    const filters: string[] = [];
    let countPattern: string | undefined;
    let expect: string | undefined;
    for (const st of stages.slice(1)) {
      if (st[0] !== 'grep') throw new UnsupportedError(`shell command \`${cmd}\` (${st[0]} in a pipeline)`);
      if (st.length === 2 && countPattern === undefined) filters.push(st[1]!);
      else if (st.length === 3 && st[1] === '-c' && countPattern === undefined) countPattern = st[2]!;
      else if (st.length === 2 && countPattern !== undefined && expect === undefined) expect = st[1]!;
      else throw new UnsupportedError(`shell command \`${cmd}\` (grep ${st.slice(1).join(' ')})`);
    }
    if (countPattern === undefined || expect === undefined) {
      throw new UnsupportedError(`shell command \`${cmd}\` (only '... | grep -c STATE | grep N' is emulated)`);
    }
    return { kind: 'sockstat', family, port, filters, countPattern, expect };
  }
  if (first[0] === 'tcpdrop' && stages.length === 1 && first.length === 3 && first[1] === '-s') {
    const state = (SOCKSTAT_STATES as readonly string[]).indexOf(first[2]!);
    if (state < 0) throw new UnsupportedError(`shell command \`${cmd}\` (unknown state ${first[2]})`);
    return { kind: 'tcpdrop', state };
  }
  throw new UnsupportedError(`shell command \`${cmd}\``);
}

/**
 * Carry out a command; returns undefined on success (exit status 0) or why it failed
 * (packetdrill fails the script on a non-zero exit status).
 */
export function runCommand(c: ShellCommand, stack: DrillStack): string | undefined {
  switch (c.kind) {
    case 'sysctl':
      for (const [name, value] of c.settings) {
        try {
          stack.sysctl(name, value);
        } catch (e) {
          const err = e as { code?: string; message?: string };
          return `sysctl ${name}=${value}: ${err.code ?? ''} ${err.message ?? String(e)}`.trim();
        }
      }
      return undefined;
    case 'sockstat': {
      // sockstat -s prints one line per connection, the state in its last column and
      // the owning command ("packetdrill") first, or "??" when no descriptor is left
      // (syncache entries, connections closed into TIME_WAIT).
      let count = 0;
      for (const p of stack.pcbList()) {
        if (c.family !== undefined && p.family !== c.family) continue;
        if (c.port !== undefined && p.localPort !== c.port && p.remotePort !== c.port) continue;
        const stateName = SOCKSTAT_STATES[p.state] ?? `${p.state}`;
        const owner = p.hasFd ? 'packetdrill' : '??';
        const line = `${owner} tcp${p.family} *:${p.localPort} *:${p.remotePort} ${stateName}`;
        if (!c.filters.every((f) => line.includes(f))) continue;
        if (line.includes(c.countPattern)) count++;
      }
      if (!String(count).includes(c.expect)) {
        return `sockstat: ${count} connection(s) matching ${c.countPattern}, expected ${c.expect}`;
      }
      return undefined;
    }
    case 'tcpdrop':
      stack.dropState(c.state);
      return undefined;
    case 'setkey':
      try {
        stack.setkey(c.text);
      } catch (e) {
        const err = e as { code?: string; message?: string };
        return `setkey: ${err.code ?? ''} ${err.message ?? String(e)}`.trim();
      }
      return undefined;
  }
}
