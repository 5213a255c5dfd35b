/**
 * sockstat(1) in FreeBSD's format (usr.bin/sockstat/sockstat.c display() and
 * displaysock()): USER COMMAND PID FD PROTO LOCAL ADDRESS FOREIGN ADDRESS, with
 * `addr:port` addresses (`*:*` when unspecified) and `tcp4`/`udp6`/`toe4`...
 * COMMAND is the application and its worker (`echo/w1`), PID this process.
 * Sockets without a descriptor (TIME_WAIT, completed but not yet accepted) come
 * last with `?` in the first four columns, as FreeBSD prints sockets no file holds.
 */
import { INP_IPV4, INP_IPV6 } from '../netinet/in_pcb.js';
import type { ConnectionSnapshot, StackSnapshot } from './snapshot.js';
import { left, right } from './fmt.js';

export interface SockstatOptions {
  /** -4 / -6: only these families (both when neither is set). */
  inet4?: boolean;
  inet6?: boolean;
  /** -c connected sockets, -l listening (bound, unconnected) ones; both when neither is set. */
  connected?: boolean;
  listening?: boolean;
}

function printaddr(addr: string, port: number): string {
  const a = addr === '0.0.0.0' || addr === '::' ? '*' : addr;
  return `${a}:${port === 0 ? '*' : port}`;
}

/** Pad `line` with spaces up to column `col` (at least one space when `atLeastOne`). */
function padTo(line: string, col: number, atLeastOne = false): string {
  if (atLeastOne) line += ' ';
  return line.length >= col ? line : line + ' '.repeat(col - line.length);
}

function displaysock(c: ConnectionSnapshot, line: string): string {
  line = padTo(line, 30);
  line += c.toe ? 'toe' : c.proto;
  if (c.vflag & INP_IPV4) line += '4';
  if (c.vflag & INP_IPV6) line += '6';
  if (c.vflag & (INP_IPV4 | INP_IPV6)) line += ' ';
  line = padTo(line, 37);
  line += printaddr(c.laddr, c.lport);
  line = padTo(line, 59, true);
  line += printaddr(c.faddr, c.fport);
  return `${line}\n`;
}

export function formatSockstat(snaps: readonly StackSnapshot[], o: SockstatOptions = {}): string {
  const fam = (o.inet4 ? INP_IPV4 : 0) | (o.inet6 ? INP_IPV6 : 0) || INP_IPV4 | INP_IPV6;
  const both = !o.connected && !o.listening;
  const conn = both || o.connected === true;
  const listen = both || o.listening === true;
  const withFd: string[] = [];
  const without: string[] = [];
  for (const s of snaps) {
    const byFd = s.connections.filter((c) => c.fd !== null).sort((a, b) => a.fd! - b.fd!);
    const noFd = s.connections.filter((c) => c.fd === null);
    for (const c of [...byFd, ...noFd]) {
      if ((c.vflag & fam) === 0) continue;
      if ((c.fport === 0 && !listen) || (c.fport !== 0 && !conn)) continue;
      if (c.fd === null) {
        without.push(displaysock(c, `${left('?', 8)} ${left('?', 10)} ${left('?', 5)} ${left('?', 3)}`));
        continue;
      }
      let line = padTo(c.user, 9, true);
      line += `${c.app}/${c.worker}`.slice(0, 10);
      line = padTo(line, 20, true);
      line += right(c.pid, 5);
      line = padTo(line, 26, true);
      line += left(String(c.fd), 3, false);
      withFd.push(displaysock(c, line));
    }
  }
  const head =
    `${left('USER', 8)} ${left('COMMAND', 10)} ${left('PID', 5)} ${left('FD', 3)} ${left('PROTO', 6)} ` +
    `${left('LOCAL ADDRESS', 21)} ${left('FOREIGN ADDRESS', 21)}\n`;
  return head + withFd.join('') + without.join('');
}
