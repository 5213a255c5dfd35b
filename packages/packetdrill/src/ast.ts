/**
 * The parsed form of a packetdrill script: header options and a list of timed events,
 * each with the line it came from. Times are in microseconds.
 */

/** When an event happens (packetdrill's event_time_t). */
export type EventTime =
  | { kind: 'absolute'; usecs: number }
  | { kind: 'relative'; usecs: number }
  | { kind: 'any' }
  | { kind: 'absolute-range'; usecs: number; endUsecs: number }
  | { kind: 'relative-range'; usecs: number; endUsecs: number };

/** Expressions in system call arguments and results. */
export type Expr =
  | { t: 'int'; v: number }
  | { t: 'ellipsis' }
  | { t: 'symbol'; name: string }
  | { t: 'string'; v: string }
  | { t: 'list'; items: Expr[] }
  | { t: 'binop'; op: '|'; l: Expr; r: Expr };

export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: [number, number][] }
  | { kind: 'timestamp'; val: number; ecr: number }
  /** `md5 valid` (signed with --tcp_md5_secret) or anything else (a wrong digest). */
  | { kind: 'md5'; text: string };

/** IP-level expectations or settings: `(tos 0x20)`, `(ttl 64)`, `(class 0x..)`, `[noecn]`. */
export interface IpInfo {
  /** Full TOS / traffic class byte. */
  tos?: number;
  ttl?: number;
  /** ECN codepoint check: `noecn` 0, `ect1` 1, `ect0` 2, `ce` 3, `ect01` either 1 or 2. */
  ecn?: 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';
}

export interface TcpSegmentSpec {
  /** Flag letters as written, `.` meaning ACK: 'S', 'S.', 'F.', '.', 'SEW'... */
  flags: string;
  /** null for the NPLab `...` wildcard sequence number. */
  seq: number | null;
  seqEnd: number | null;
  payloadLen: number;
  /**
   * NPLab's `!` after the range: the sequence number is absolute, not relative to the
   * local ISN (an RST answering a segment without ACK carries seq 0).
   */
  absoluteSeq?: boolean;
  /** NPLab's `/udp(src > dst)`: the segment is inside UDP with these ports. */
  udp?: { src: number; dst: number };
  ack?: number;
  win?: number;
  /** undefined: no options; 'any': `<...>` (options not checked). */
  options?: TcpOptionSpec[] | 'any';
}

export interface IcmpSpec {
  type: string;
  code?: string;
  mtu?: number;
  /** The quoted TCP sequence range `[start:end(len)]`, when given. */
  tcpSeq?: number;
  tcpPayloadLen?: number;
}

export interface PacketEvent {
  type: 'packet';
  direction: 'inbound' | 'outbound';
  ip: IpInfo;
  tcp?: TcpSegmentSpec;
  icmp?: IcmpSpec;
}

export interface SyscallEvent {
  type: 'syscall';
  name: string;
  args: Expr[];
  result: Expr;
  errno?: string;
  /** `start...end` blocking call: when the call is expected to return. */
  end?: { kind: 'absolute' | 'relative'; usecs: number };
}

export interface CommandEvent {
  type: 'command';
  command: string;
}

export interface CodeEvent {
  type: 'code';
  code: string;
}

export type EventBody = PacketEvent | SyscallEvent | CommandEvent | CodeEvent;

export interface ScriptEvent {
  line: number;
  time: EventTime;
  body: EventBody;
  /**
   * Something this runner does not implement, found while parsing (the line still
   * parsed); running the script reports `error` with this text.
   */
  unsupported?: string;
}

export interface ScriptOption {
  name: string;
  value?: string;
  line: number;
}

export interface Script {
  options: ScriptOption[];
  events: ScriptEvent[];
}
