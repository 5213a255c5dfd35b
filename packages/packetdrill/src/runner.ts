/**
 * Runs a packetdrill script against a stack on a virtual clock (packetdrill's run.c,
 * run_packet.c, run_system_call.c): the stack is the local host, the script the remote.
 *
 * Time. Every event has a script time (absolute, `+relative` to the previous event,
 * a `a~b` range, or `*` any). Before an inbound packet, a system call, a command or a
 * code snippet, the clock advances to the event's time, running the stack's timers on
 * the way; an event the clock is already past by more than the tolerance failed to
 * start on time. An outbound `>` line takes the oldest packet the stack has sent and
 * not yet matched (advancing the clock up to the end of the tolerance window to let a
 * timer send it); it must have been sent within the window and match field by field.
 * A packet the stack sends that no `>` line consumes is reported as unexpected at the
 * first later event more than the tolerance after it was sent (and at the end).
 *
 * System calls. The stack's calls never block; the runner emulates blocking sockets
 * (no O_NONBLOCK): a call that would block is retried while the clock advances to the
 * stack's next timer, as the kernel would sleep. A `start...end` call (packetdrill's
 * blocking syscall) starts at `start`, lets later events run while it is blocked, and
 * must return within the tolerance of `end`.
 */
import type { EventTime, Expr, PacketEvent, Script, ScriptEvent, SyscallEvent } from './ast.js';
import { type Assertion, parseCode, runAssertions } from './code.js';
import { Flow } from './flow.js';
import { ScriptSyntaxError } from './lexer.js';
import {
  buildInboundIcmp,
  buildInboundTcp,
  decodePacket,
  describeLive,
  describeScript,
  tcpFlagBits,
  UnsupportedError,
  verifyOutbound,
  type LivePacket,
} from './packet.js';
import { parseScript } from './parser.js';
import { parseCommand, runCommand, type ShellCommand } from './shell.js';
import type { DrillStack, StackConfig } from './stack.js';
import { createEngineStack } from './engine-stack.js';
import { errnoValue, F_GETFL, F_SETFL, O_NONBLOCK, O_RDWR, symbolValue } from './symbols.js';
import { errnoName } from '@mcstack/netinet';
import { parseIP } from '@mcstack/wire';
import { TH_ACK_FLAG, TH_SYN } from '@mcstack/wire';

export type DrillStatus = 'pass' | 'fail' | 'error';

export interface DrillResult {
  file: string;
  status: DrillStatus;
  /** The script line of the first mismatch or unsupported construct. */
  line?: number;
  message?: string;
}

export interface RunOptions {
  file?: string;
  /** Seeds the stack's random source and the remote's port choice (default 1). */
  seed?: number;
  /** Builds the stack under test (default: the mcstack engine). */
  stack?: (config: StackConfig) => DrillStack;
  /** Names defined for `#ifdef` (default: FreeBSD). */
  defines?: string[];
}

/** packetdrill's defaults (config.c). */
const DEFAULT_TOLERANCE_USECS = 4000;
const DEFAULT_MTU = 1500;
const DEFAULT_PORT = 8080;
/** How far a `*` line or a blocked call may wait for the stack's timers. */
const MAX_WAIT_USECS = 3600 * 1_000_000;

class Mismatch extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

class LineUnsupported extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

interface Queued {
  pkt: LivePacket;
  time: number;
}

interface Config {
  ipVersion: 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';
  tolerance: number;
  mtu: number;
  localIp?: string;
  remoteIp?: string;
  bindPort: number;
  connectPort: number;
  /** --tcp_md5_secret: signs and checks `md5` options. */
  md5Secret?: string;
  /** --udp_encapsulation=tcp: every TCP segment inside UDP (TCP over UDP). */
  udpEncaps: boolean;
  /** --non_fatal=syscall: a system call's unexpected result is not a failure. */
  nonFatal: Set<string>;
}

function readConfig(script: Script): Config {
  const c: Config = {
    ipVersion: 'ipv4',
    tolerance: DEFAULT_TOLERANCE_USECS,
    mtu: DEFAULT_MTU,
    bindPort: DEFAULT_PORT,
    connectPort: DEFAULT_PORT,
    udpEncaps: false,
    nonFatal: new Set(),
  };
  for (const o of script.options) {
    const v = o.value ?? '';
    const int = () => {
      if (!/^\d+$/.test(v)) throw new LineUnsupported(o.line, `bad value for --${o.name}: ${JSON.stringify(v)}`);
      return Number(v);
    };
    switch (o.name) {
      case 'ip_version':
        if (v !== 'ipv4' && v !== 'ipv6' && v !== 'ipv4-mapped-ipv6')
          throw new LineUnsupported(o.line, `bad --ip_version: ${v}`);
        c.ipVersion = v;
        break;
      case 'tolerance_usecs':
        c.tolerance = int();
        break;
      case 'mtu':
        c.mtu = int();
        break;
      case 'local_ip':
        c.localIp = v;
        break;
      case 'remote_ip':
        c.remoteIp = v;
        break;
      case 'bind_port':
        c.bindPort = int();
        break;
      case 'connect_port':
        c.connectPort = int();
        break;
      case 'udp_encapsulation':
        if (v !== 'tcp') throw new LineUnsupported(o.line, `--udp_encapsulation=${v} (only tcp)`);
        c.udpEncaps = true;
        break;
      case 'non_fatal':
        for (const k of v.split(',')) {
          if (k !== 'syscall') throw new LineUnsupported(o.line, `--non_fatal=${k} (only syscall)`);
          c.nonFatal.add(k);
        }
        break;
      case 'tcp_md5_secret':
        if (v.length === 0 || v.length > 80) throw new LineUnsupported(o.line, 'bad --tcp_md5_secret');
        c.md5Secret = v;
        break;
      default:
        throw new LineUnsupported(o.line, `option --${o.name}${o.value !== undefined ? `=${o.value}` : ''}`);
    }
  }
  return c;
}

/** What each event needs at run time, prepared (and validated) before running. */
interface Prepared {
  commands: Map<ScriptEvent, ShellCommand>;
  code: Map<ScriptEvent, Assertion[]>;
}

const SYSCALLS = new Set([
  'socket',
  'bind',
  'listen',
  'accept',
  'connect',
  'read',
  'recv',
  'write',
  'send',
  'shutdown',
  'close',
  'getsockopt',
  'setsockopt',
  'fcntl',
]);

function prepare(script: Script): Prepared {
  const p: Prepared = { commands: new Map(), code: new Map() };
  for (const ev of script.events) {
    try {
      if (ev.unsupported) throw new UnsupportedError(ev.unsupported);
      const b = ev.body;
      if (b.type === 'command') p.commands.set(ev, parseCommand(b.command));
      else if (b.type === 'code') p.code.set(ev, parseCode(b.code));
      else if (b.type === 'syscall' && !SYSCALLS.has(b.name)) throw new UnsupportedError(`system call ${b.name}()`);
      else if (b.type === 'packet' && b.tcp) tcpFlagBits(b.tcp.flags);
      if (b.type === 'syscall' || b.type === 'packet') checkSymbols(b);
    } catch (e) {
      if (e instanceof UnsupportedError) throw new LineUnsupported(ev.line, e.message);
      throw e;
    }
  }
  return p;
}

function checkSymbols(b: ScriptEvent['body']): void {
  if (b.type !== 'syscall') return;
  const walk = (e: Expr): void => {
    if (e.t === 'symbol' && symbolValue(e.name) === undefined) throw new UnsupportedError(`symbol ${e.name}`);
    if (e.t === 'list') e.items.forEach(walk);
    if (e.t === 'binop') {
      walk(e.l);
      walk(e.r);
    }
    if (e.t === 'string') throw new UnsupportedError('string arguments');
  };
  b.args.forEach(walk);
  walk(b.result);
  if (b.errno !== undefined && errnoValue(b.errno) === undefined) throw new UnsupportedError(`errno ${b.errno}`);
}

/** A deterministic port in the ephemeral range for the remote end of passive flows. */
function remotePortFor(seed: number): number {
  let x = (seed ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return 49152 + ((x ^ (x >>> 16)) % 16384);
}

function formatSecs(usecs: number): string {
  return (usecs / 1e6).toFixed(6);
}

/** The outcome of one attempt at a system call: a result (>= 0 or -errno) or 'block'. */
type Attempt = () => number | 'block';

interface PendingCall {
  ev: ScriptEvent;
  call: SyscallEvent;
  attempt: Attempt;
  start: number;
  end: number;
  finish: (result: number) => void;
}

class Run {
  now = 0;
  private readonly queue: Queued[] = [];
  private readonly fds = new Map<number, number>();
  private readonly nonblocking = new Set<number>();
  private fdUnderTest: number | undefined;
  private pending: PendingCall | undefined;
  private prevTime = 0;
  private lastEventStart = 0;
  private connecting = false;
  readonly flow: Flow;
  private readonly family: 4 | 6;
  private readonly socketFamily: 4 | 6;
  private readonly bindAddr: string;
  private readonly connectAddr: string;
  private readonly localBytes: Uint8Array;
  private readonly remoteBytes: Uint8Array;

  constructor(
    private readonly script: Script,
    private readonly prepared: Prepared,
    private readonly cfg: Config,
    private readonly stack: DrillStack,
    addrs: { local: string; remote: string },
    seed: number,
  ) {
    this.family = cfg.ipVersion === 'ipv6' ? 6 : 4;
    this.socketFamily = cfg.ipVersion === 'ipv4' ? 4 : 6;
    this.bindAddr = this.socketFamily === 4 ? '0.0.0.0' : '::';
    this.connectAddr = cfg.ipVersion === 'ipv4-mapped-ipv6' ? `::ffff:${addrs.remote}` : addrs.remote;
    this.localBytes = parseIP(addrs.local)!;
    this.remoteBytes = parseIP(addrs.remote)!;
    this.flow = new Flow(this.family, this.localBytes, this.remoteBytes, cfg.bindPort, remotePortFor(seed));
    if (cfg.md5Secret !== undefined) this.flow.md5Key = new TextEncoder().encode(cfg.md5Secret);
    if (cfg.udpEncaps) this.flow.udpEncaps = { local: UDP_ENCAPS_PORT, remote: UDP_ENCAPS_PORT };
    stack.onOutput((raw) => this.output(raw));
  }

  private get tol(): number {
    return this.cfg.tolerance;
  }

  private sameAddr(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /** The stack sent a packet: keep those of the flow under test (packetdrill ignores the rest). */
  private output(raw: Uint8Array): void {
    const pkt = decodePacket(raw.slice());
    if (typeof pkt === 'string') {
      throw new Mismatch(this.currentLine, `the stack sent an unreadable packet: ${pkt}`);
    }
    const t = pkt.tcp;
    if (!t || !this.sameAddr(pkt.src, this.localBytes) || !this.sameAddr(pkt.dst, this.remoteBytes)) return;
    if (t.dstPort !== this.flow.remotePort) return;
    if (this.connecting && (t.flags & TH_SYN) !== 0 && (t.flags & TH_ACK_FLAG) === 0) {
      // find_connect_for_live_packet: the SYN of a connect() names the local port.
      this.flow.localPort = t.srcPort;
      this.connecting = false;
    }
    if (t.srcPort !== this.flow.localPort) return;
    this.queue.push({ pkt, time: this.now });
  }

  private currentLine = 0;

  run(): void {
    for (const ev of this.script.events) {
      this.currentLine = ev.line;
      this.event(ev);
    }
    // The end of the script: a blocked call must have returned, and nothing sent
    // before the last event may be left unexpected.
    if (this.pending) this.awaitPending(this.pending.end + this.tol);
    this.checkStale(this.lastEventStart, this.script.events[this.script.events.length - 1]?.line ?? 0);
  }

  private times(t: EventTime): { start: number; end: number } | undefined {
    switch (t.kind) {
      case 'absolute':
        return { start: t.usecs, end: t.usecs };
      case 'relative':
        return { start: this.prevTime + t.usecs, end: this.prevTime + t.usecs };
      case 'absolute-range':
        return { start: t.usecs, end: t.endUsecs };
      case 'relative-range':
        return { start: this.prevTime + t.usecs, end: this.prevTime + t.endUsecs };
      case 'any':
        return undefined;
    }
  }

  private event(ev: ScriptEvent): void {
    const w = this.times(ev.time);
    const b = ev.body;
    if (b.type === 'packet' && b.direction === 'outbound') {
      const at = this.outbound(ev, b, w);
      // Ranges and `*` re-anchor later relative times on what really happened.
      this.prevTime = w && ev.time.kind !== 'absolute-range' && ev.time.kind !== 'relative-range' ? w.start : at;
      this.lastEventStart = Math.max(this.lastEventStart, w ? w.start : at);
      return;
    }
    if (w) {
      this.advanceTo(w.start);
      if (this.now > w.end + this.tol) {
        throw new Mismatch(
          ev.line,
          `timing error: event expected at ${formatSecs(w.start)} s but the run got there at ${formatSecs(this.now)} s (tolerance ${this.tol} us)`,
        );
      }
    }
    this.checkStale(this.now, ev.line);
    switch (b.type) {
      case 'packet':
        this.inbound(ev, b);
        break;
      case 'syscall':
        this.syscall(ev, b, w);
        break;
      case 'command': {
        const err = runCommand(this.prepared.commands.get(ev)!, this.stack);
        this.afterStep();
        if (err) throw new Mismatch(ev.line, `command failed: ${err}`);
        break;
      }
      case 'code':
        this.code(ev);
        break;
    }
    this.prevTime = w && ev.time.kind !== 'absolute-range' && ev.time.kind !== 'relative-range' ? w.start : this.now;
    this.lastEventStart = Math.max(this.lastEventStart, this.prevTime);
  }

  /** Run the stack's timers up to `t` (never backwards). */
  private advanceTo(t: number): void {
    let guard = 0;
    for (;;) {
      const nt = this.stack.nextTimeout();
      if (nt === undefined || nt > t) break;
      if (nt > this.now) this.now = nt;
      this.stack.advance(this.now);
      this.afterStep();
      if (++guard > 10_000_000) throw new Error('the stack keeps reporting a due timer it does not run');
    }
    if (t > this.now) {
      this.now = t;
      this.stack.advance(t);
      this.afterStep();
    }
  }

  /** Move to the next timer when nothing else can happen; false when none is pending. */
  private advanceToNextTimer(limit: number): boolean {
    const nt = this.stack.nextTimeout();
    if (nt === undefined || nt > limit) return false;
    this.advanceTo(Math.max(nt, this.now));
    return true;
  }

  private checkStale(now: number, line: number): void {
    const q = this.queue[0];
    if (q && q.time < now - this.tol) {
      throw new Mismatch(
        line,
        `unexpected outbound packet sent at ${formatSecs(q.time)} s: ${describeLive(q.pkt, this.flow)}`,
      );
    }
  }

  // ---- packets ----------------------------------------------------------------------

  private outbound(ev: ScriptEvent, b: PacketEvent, w: { start: number; end: number } | undefined): number {
    const lo = w ? w.start - this.tol : -Infinity;
    const hi = w ? w.end + this.tol : this.now + MAX_WAIT_USECS;
    while (this.queue.length === 0) {
      if (!this.advanceToNextTimer(hi)) {
        const when = w ? `at ${formatSecs(w.start)} s` : 'at any time';
        throw new Mismatch(
          ev.line,
          `expected outbound packet ${when} not sent (tolerance ${this.tol} us): expected ${describeScript(b)}`,
        );
      }
    }
    const q = this.queue.shift()!;
    const seg = b.tcp;
    const live = q.pkt.tcp;
    if (seg && live && seg.seq !== null) {
      const bits = tcpFlagBits(seg.flags);
      if (bits & TH_SYN && live.flags & TH_SYN) {
        // The local ISN: from a SYN always (connect), from a SYN-ACK the first time (listen).
        if (!(bits & TH_ACK_FLAG) || !this.flow.localIsnKnown) this.flow.learnLocalIsn(seg.seq, live.seq);
      }
    }
    const err = verifyOutbound(b, q.pkt, this.flow);
    if (err) {
      throw new Mismatch(
        ev.line,
        `${err}\n  expected: ${describeScript(b)}\n  actual:   ${describeLive(q.pkt, this.flow)}`,
      );
    }
    if (q.time < lo || q.time > hi) {
      throw new Mismatch(
        ev.line,
        `timing error: outbound packet expected at ${formatSecs(w!.start)} s but sent at ${formatSecs(q.time)} s (tolerance ${this.tol} us): ${describeLive(q.pkt, this.flow)}`,
      );
    }
    return q.time;
  }

  private inbound(ev: ScriptEvent, b: PacketEvent): void {
    let raw: Uint8Array;
    try {
      raw = b.icmp ? buildInboundIcmp(b.icmp, b.ip, this.flow) : buildInboundTcp(b.tcp!, b.ip, this.flow);
    } catch (e) {
      if (e instanceof UnsupportedError) throw new LineUnsupported(ev.line, e.message);
      throw e;
    }
    this.stack.input(raw, this.now);
    this.afterStep();
  }

  // ---- system calls -----------------------------------------------------------------

  private afterStep(): void {
    const p = this.pending;
    if (!p) return;
    const r = p.attempt();
    if (r === 'block') return;
    this.pending = undefined;
    if (this.now < p.end - this.tol || this.now > p.end + this.tol) {
      throw new Mismatch(
        p.ev.line,
        `timing error: ${p.call.name}() expected to return at ${formatSecs(p.end)} s but returned at ${formatSecs(this.now)} s (tolerance ${this.tol} us)`,
      );
    }
    p.finish(r);
  }

  /** Let the clock run until the pending blocking call returns (or `limit`). */
  private awaitPending(limit: number): void {
    while (this.pending) {
      const p = this.pending;
      if (!this.advanceToNextTimer(limit)) {
        throw new Mismatch(
          p.ev.line,
          `blocking ${p.call.name}() did not return by ${formatSecs(p.end)} s (tolerance ${this.tol} us)`,
        );
      }
    }
  }

  private liveFd(scriptFd: number): number {
    return this.fds.get(scriptFd) ?? -1;
  }

  private value(e: Expr, what: string, line: number): number {
    switch (e.t) {
      case 'int':
        return e.v;
      case 'symbol':
        return symbolValue(e.name)!;
      case 'binop':
        return this.value(e.l, what, line) | this.value(e.r, what, line);
      case 'list':
        if (e.items.length === 1) return this.value(e.items[0]!, what, line);
        throw new LineUnsupported(line, `a list of ${e.items.length} values for ${what}`);
      default:
        throw new LineUnsupported(line, `${e.t === 'ellipsis' ? '...' : e.t} for ${what}`);
    }
  }

  private syscall(ev: ScriptEvent, c: SyscallEvent, w: { start: number; end: number } | undefined): void {
    // await_idle_thread: a call does not start while an earlier blocking one runs.
    if (this.pending) this.awaitPending(this.pending.end + this.tol);
    const line = ev.line;
    const arg = (i: number, what: string): Expr => {
      const a = c.args[i];
      if (a === undefined) throw new Mismatch(line, `${c.name}(): missing argument ${i + 1} (${what})`);
      return a;
    };
    const int = (i: number, what: string) => this.value(arg(i, what), what, line);
    const fdArg = () => int(0, 'fd');
    const blocking = (scriptFd: number) => !this.nonblocking.has(scriptFd);
    let attempt: Attempt;
    let onResult: (r: number) => void = () => {};
    let check: (r: number) => void = (r) => this.checkResult(ev, c, r);
    const n = c.args.length;
    switch (c.name) {
      case 'socket': {
        if (n !== 3) throw new Mismatch(line, 'socket() takes 3 arguments');
        const type = arg(1, 'type');
        const t = type.t === 'symbol' && type.name === 'SOCK_DGRAM' ? 'dgram' : 'stream';
        attempt = () => this.stack.socket(this.socketFamily, t);
        check = (r) => this.checkFdResult(ev, c, r);
        onResult = (r) => {
          if (r >= 0) {
            this.fds.set(this.expectedInt(c), r);
            this.fdUnderTest = this.expectedInt(c);
            // As packetdrill does under --udp_encapsulation: the socket's peer is over UDP.
            if (this.cfg.udpEncaps && t === 'stream') {
              const e = this.stack.setsockopt(r, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT, UDP_ENCAPS_PORT);
              if (e < 0)
                throw new Mismatch(
                  line,
                  `setsockopt(TCP_REMOTE_UDP_ENCAPS_PORT) for --udp_encapsulation: ${errnoName(-e)}`,
                );
            }
          }
        };
        break;
      }
      case 'bind': {
        const fd = fdArg();
        attempt = () => this.stack.bind(this.liveFd(fd), this.bindAddr, this.cfg.bindPort);
        break;
      }
      case 'listen': {
        const fd = fdArg();
        const backlog = int(1, 'backlog');
        attempt = () => this.stack.listen(this.liveFd(fd), backlog);
        break;
      }
      case 'accept': {
        const fd = fdArg();
        attempt = () => {
          const r = this.stack.accept(this.liveFd(fd));
          return r === -EAGAIN && blocking(fd) ? 'block' : r;
        };
        check = (r) => this.checkFdResult(ev, c, r);
        onResult = (r) => {
          if (r >= 0) {
            this.fds.set(this.expectedInt(c), r);
            this.fdUnderTest = this.expectedInt(c);
          }
        };
        break;
      }
      case 'connect': {
        const fd = fdArg();
        let started = false;
        this.flow.remotePort = this.cfg.connectPort;
        this.flow.localPort = 0;
        this.connecting = true;
        attempt = () => {
          const live = this.liveFd(fd);
          if (!started) {
            started = true;
            const r = this.stack.connect(live, this.connectAddr, this.cfg.connectPort);
            if (r !== -EINPROGRESS || !blocking(fd)) return r;
          }
          // A blocking connect sleeps until the handshake completes or fails.
          const ev2 = this.stack.poll(live);
          if ((ev2 & (POLLOUT | POLLERR | POLLHUP)) === 0) return 'block';
          const err = this.stack.getsockopt(live, SOL_SOCKET, SO_ERROR);
          return err > 0 ? -err : Math.min(err, 0);
        };
        break;
      }
      case 'read':
      case 'recv': {
        const fd = fdArg();
        const len = int(2, 'length');
        const flags = c.name === 'recv' ? int(3, 'flags') : 0;
        const buf = new Uint8Array(len);
        attempt = () => {
          const r = this.stack.recv(this.liveFd(fd), buf, flags);
          return r === -EAGAIN && blocking(fd) && (flags & MSG_DONTWAIT) === 0 ? 'block' : r;
        };
        break;
      }
      case 'write':
      case 'send': {
        const fd = fdArg();
        const len = int(2, 'length');
        const flags = c.name === 'send' ? int(3, 'flags') : 0;
        let sent = 0;
        attempt = () => {
          // A blocking send sleeps until all of it is in the send buffer.
          for (;;) {
            const r = this.stack.send(this.liveFd(fd), new Uint8Array(len - sent), flags);
            if (r === -EAGAIN && blocking(fd) && (flags & MSG_DONTWAIT) === 0) return 'block';
            if (r < 0) return sent > 0 ? sent : r;
            sent += r;
            if (sent >= len || !blocking(fd) || r === 0) return sent;
          }
        };
        break;
      }
      case 'shutdown': {
        const fd = fdArg();
        const how = int(1, 'how');
        attempt = () => this.stack.shutdown(this.liveFd(fd), how);
        break;
      }
      case 'close': {
        const fd = fdArg();
        attempt = () => this.stack.close(this.liveFd(fd));
        onResult = (r) => {
          if (r === 0) {
            this.fds.delete(fd);
            this.nonblocking.delete(fd);
          }
        };
        break;
      }
      case 'getsockopt': {
        if (n !== 5) throw new Mismatch(line, 'getsockopt() takes 5 arguments');
        const fd = fdArg();
        const level = int(1, 'level');
        const name = int(2, 'option name');
        const want = arg(3, 'option value');
        attempt = () => this.stack.getsockopt(this.liveFd(fd), level, name);
        check = (r) => {
          const expect = this.expectedInt(c);
          if (r < 0 || expect < 0) {
            this.checkResult(ev, c, r);
            return;
          }
          if (expect !== 0) throw new Mismatch(line, `getsockopt() returned 0, expected ${expect}`);
          if (want.t === 'ellipsis') return;
          const wantValue = this.value(want, 'option value', line);
          if (r !== wantValue) {
            const show = (v: number) =>
              name === SO_ERROR && level === SOL_SOCKET && v !== 0 ? `${errnoName(v)} (${v})` : `${v}`;
            throw new Mismatch(line, `getsockopt() value: expected ${show(wantValue)} vs actual ${show(r)}`);
          }
        };
        break;
      }
      case 'setsockopt': {
        if (n !== 5) throw new Mismatch(line, 'setsockopt() takes 5 arguments');
        const fd = fdArg();
        const level = int(1, 'level');
        const name = int(2, 'option name');
        const v = int(3, 'option value');
        attempt = () => this.stack.setsockopt(this.liveFd(fd), level, name, v);
        break;
      }
      case 'fcntl': {
        const fd = fdArg();
        const cmd = int(1, 'command');
        if (cmd === F_GETFL) {
          attempt = () => (this.fds.has(fd) ? O_RDWR | (this.nonblocking.has(fd) ? O_NONBLOCK : 0) : -EBADF);
        } else if (cmd === F_SETFL) {
          const flags = int(2, 'flags');
          attempt = () => {
            if (!this.fds.has(fd)) return -EBADF;
            if (flags & O_NONBLOCK) this.nonblocking.add(fd);
            else this.nonblocking.delete(fd);
            return 0;
          };
        } else {
          throw new LineUnsupported(line, `fcntl command ${cmd}`);
        }
        break;
      }
      default:
        throw new LineUnsupported(line, `system call ${c.name}()`);
    }

    const finish = (r: number) => {
      try {
        check(r);
      } catch (e) {
        if (!(e instanceof Mismatch && this.cfg.nonFatal.has('syscall'))) throw e;
      }
      onResult(r);
    };
    if (c.end) {
      const start = w ? w.start : this.now;
      const end = c.end.kind === 'absolute' ? c.end.usecs : start + c.end.usecs;
      const r = attempt();
      if (r !== 'block') {
        if (this.now < end - this.tol || this.now > end + this.tol) {
          throw new Mismatch(
            line,
            `timing error: ${c.name}() expected to return at ${formatSecs(end)} s but returned at ${formatSecs(this.now)} s (tolerance ${this.tol} us)`,
          );
        }
        finish(r);
        return;
      }
      this.pending = { ev, call: c, attempt, start, end, finish };
      return;
    }
    // A call on a blocking socket sleeps: only the stack's timers move time on.
    let r = attempt();
    const limit = this.now + MAX_WAIT_USECS;
    while (r === 'block') {
      if (!this.advanceToNextTimer(limit)) {
        throw new Mismatch(line, `${c.name}() blocks and nothing can wake it (the script would hang)`);
      }
      r = attempt();
    }
    finish(r);
  }

  private expectedInt(c: SyscallEvent): number {
    const e = c.result;
    if (e.t === 'int') return e.v;
    if (e.t === 'symbol') return symbolValue(e.name)!;
    if (e.t === 'binop') return this.value(e, 'result', 0);
    throw new LineUnsupported(0, `a ${e.t} result`);
  }

  private describeResult(r: number): string {
    return r < 0 ? `-1 ${errnoName(-r)}` : `${r}`;
  }

  /** socket()/accept(): the script's number is the descriptor it will use, any live one matches. */
  private checkFdResult(ev: ScriptEvent, c: SyscallEvent, r: number): void {
    const want = this.expectedInt(c);
    if (want >= 0 && r >= 0) return;
    this.checkResult(ev, c, r);
  }

  private checkResult(ev: ScriptEvent, c: SyscallEvent, r: number): void {
    if (c.result.t === 'ellipsis') return;
    const want = this.expectedInt(c);
    const wantText = c.errno ? `${want} ${c.errno}` : `${want}`;
    if (want < 0) {
      if (r >= 0) throw new Mismatch(ev.line, `${c.name}(): expected ${wantText} vs actual ${this.describeResult(r)}`);
      if (c.errno !== undefined && errnoValue(c.errno) !== -r) {
        throw new Mismatch(ev.line, `${c.name}(): expected errno ${c.errno} vs actual ${errnoName(-r)}`);
      }
      return;
    }
    if (r !== want)
      throw new Mismatch(ev.line, `${c.name}(): expected ${wantText} vs actual ${this.describeResult(r)}`);
  }

  private code(ev: ScriptEvent): void {
    const fd = this.fdUnderTest;
    const info = this.stack.tcpInfo(fd === undefined ? -1 : this.liveFd(fd));
    if (typeof info === 'number') {
      throw new Mismatch(ev.line, `getsockopt(TCP_INFO) on fd ${fd ?? '(none)'} failed: ${errnoName(-info)}`);
    }
    let err: string | undefined;
    try {
      err = runAssertions(this.prepared.code.get(ev)!, info);
    } catch (e) {
      if (e instanceof UnsupportedError) throw new LineUnsupported(ev.line, e.message);
      throw e;
    }
    if (err) throw new Mismatch(ev.line, `assertion failed: ${err}`);
  }
}

const EAGAIN = errnoValue('EAGAIN')!;
const IPPROTO_TCP = symbolValue('IPPROTO_TCP')!;
const TCP_REMOTE_UDP_ENCAPS_PORT = symbolValue('TCP_REMOTE_UDP_ENCAPS_PORT')!;
/**
 * The UDP port of both ends under --udp_encapsulation: the suite sets the stack's
 * net.inet.tcp.udp_tunneling_port to it; `/udp(a > b)` lines name others.
 */
const UDP_ENCAPS_PORT = 9811;
const UDP_ENCAPS_OVERHEAD = 8;
const SOL_SOCKET = symbolValue('SOL_SOCKET')!;
const SO_ERROR = symbolValue('SO_ERROR')!;
const POLLOUT = symbolValue('POLLOUT')!;
const POLLERR = symbolValue('POLLERR')!;
const POLLHUP = symbolValue('POLLHUP')!;
const EINPROGRESS = errnoValue('EINPROGRESS')!;
const EBADF = errnoValue('EBADF')!;
const MSG_DONTWAIT = symbolValue('MSG_DONTWAIT')!;

/** Local and remote addresses as packetdrill's config.c picks them. */
function addresses(cfg: Config): { local: string; remote: string; prefixLen: number } {
  const v6 = cfg.ipVersion === 'ipv6';
  const local = cfg.localIp ?? (v6 ? 'fd3d:fa7b:d17d::1' : '192.168.0.1');
  const remote = (cfg.remoteIp ?? (v6 ? '2001:db8::1' : '192.0.2.1')).replace(/\/\d+$/, '');
  return { local, remote, prefixLen: v6 ? 48 : 16 };
}

/** Parse and run one script; never throws for anything the script does. */
export function runScript(text: string, opts: RunOptions = {}): DrillResult {
  const file = opts.file ?? '<script>';
  const seed = opts.seed ?? 1;
  let script: Script;
  try {
    script = parseScript(text, opts.defines ? { defines: opts.defines } : {});
  } catch (e) {
    if (e instanceof ScriptSyntaxError)
      return { file, status: 'error', line: e.line, message: `syntax error: ${e.message}` };
    throw e;
  }
  let run: Run | undefined;
  try {
    const cfg = readConfig(script);
    const prepared = prepare(script);
    const a = addresses(cfg);
    if (parseIP(a.local) === null || parseIP(a.remote) === null) {
      return { file, status: 'error', message: `bad addresses ${a.local} / ${a.remote}` };
    }
    const make = opts.stack ?? createEngineStack;
    const stack = make({
      family: cfg.ipVersion === 'ipv6' ? 6 : 4,
      localIp: a.local,
      remoteIp: a.remote,
      prefixLen: a.prefixLen,
      // Under --udp_encapsulation the tun carries the UDP header on top of the MTU the
      // scripts' sizes assume: the stack takes udp_tunneling_overhead (8) off the MSS it
      // derives, so a 1500-byte path still offers and sends 1460 (the suite's numbers).
      mtu: cfg.udpEncaps ? cfg.mtu + UDP_ENCAPS_OVERHEAD : cfg.mtu,
      seed,
    });
    run = new Run(script, prepared, cfg, stack, a, seed);
    run.run();
    return { file, status: 'pass' };
  } catch (e) {
    if (e instanceof Mismatch) return { file, status: 'fail', line: e.line, message: e.message };
    if (e instanceof LineUnsupported)
      return { file, status: 'error', line: e.line || undefined, message: `unsupported: ${e.message}` };
    if (e instanceof UnsupportedError) return { file, status: 'error', message: `unsupported: ${e.message}` };
    const err = e as Error;
    return { file, status: 'error', message: `runner error: ${err.stack ?? String(e)}` };
  }
}
