/**
 * The kernel message buffer (sys/msgbuf.h, what `dmesg` prints) and log(9): messages the
 * stack logs — net.inet.tcp.log_in_vain and net.inet.udp.log_in_vain connection attempts
 * to closed ports — with their syslog priority and the engine's time, kept in a bounded
 * ring (the oldest go first, as the kernel's buffer wraps) and handed to the embedder's
 * `log` callback when there is one.
 */

/** syslog(3) priorities log(9) takes. */
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;

export interface LogMessage {
  /** Engine time (µs). */
  time: number;
  priority: number;
  text: string;
}

/** Messages kept (the kernel keeps kern.msgbufsize bytes; lines are what a reader wants). */
export const MSGBUF_LINES = 1024;

export class MsgBuf {
  private readonly lines: LogMessage[] = [];
  private head = 0;
  /** Messages dropped because the ring was full (the oldest went). */
  overwritten = 0;

  constructor(
    private readonly now: () => number,
    private readonly sink?: (priority: number, text: string) => void,
  ) {}

  /** log(9). */
  log(priority: number, text: string): void {
    const m: LogMessage = { time: this.now(), priority, text };
    if (this.lines.length < MSGBUF_LINES) this.lines.push(m);
    else {
      this.lines[this.head] = m;
      this.head = (this.head + 1) % MSGBUF_LINES;
      this.overwritten++;
    }
    this.sink?.(priority, text);
  }

  /** The kept messages, oldest first (dmesg). */
  read(): LogMessage[] {
    return [...this.lines.slice(this.head), ...this.lines.slice(0, this.head)];
  }
}
