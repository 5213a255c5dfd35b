/**
 * One socket in every group worker: a Server's listeners, a dgram socket's binds. FreeBSD's
 * pcbgroups keep a wildcard socket in every group (in_pcbgroup.c) because RSS may bring its
 * traffic to any of them; here the main thread asks each worker to open its own and adds up
 * their answers. Port 0: one worker gets a port from the coordinator, then the others are
 * asked for that port.
 */
import type { Channel } from './channel.js';

/** answer()'s result while some asked worker has yet to answer. */
export const PENDING = -1;

export class GroupBind {
  /** Workers that answered, and the first error among them. */
  private answered = new Set<Channel>();
  private err = 0;
  private portZero = false;

  /** `ask(ch, port)`: send worker `ch` the record that opens its socket on `port`. */
  constructor(private readonly ask: (ch: Channel, port: number) => void) {}

  /** Ask the workers of `chans` (at least one) for `port`. */
  start(chans: readonly Channel[], port: number): void {
    this.answered = new Set();
    this.err = 0;
    this.portZero = port === 0;
    if (port === 0) this.ask(chans[0]!, 0);
    else for (const ch of chans) this.ask(ch, port);
  }

  /**
   * Worker `ch` answered `errno` (0: its socket is open; `port` is the port the first success
   * got). PENDING while others are to answer, else the first errno of all (0: open in every
   * worker). With port 0 a failure ends it at once, whether the first ask's or a later
   * one's: the caller's close goes down each ring behind the open still unanswered there.
   * Else it waits for every answer. The caller closes what the others opened.
   */
  answer(ch: Channel, errno: number, port: number, chans: readonly Channel[]): number {
    this.answered.add(ch);
    if (errno !== 0 && this.err === 0) this.err = errno;
    if (this.portZero && this.answered.size === 1 && this.err === 0 && chans.length > 1) {
      for (const c of chans) if (c !== ch) this.ask(c, port);
      return PENDING;
    }
    const expected = this.portZero && this.err !== 0 ? 1 : chans.length;
    return this.answered.size < expected ? PENDING : this.err;
  }
}
