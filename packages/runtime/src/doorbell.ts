/**
 * A worker's doorbell: one sleep/wake word pair shared by every ring the worker consumes
 * (its RX rings from each peer worker, its hop rings from siblings) and by the control
 * plane. A ring's own SLEEPING word serves one ring; a worker polls many, so it sleeps on
 * this instead and the rings' own words stay 0 (their producers never notify).
 *
 * Protocol (Dekker over sequentially consistent atomics, as the ring's): the consumer
 * stores SLEEPING=1, reads BELL, re-checks every ring and the CTL flag, and only then
 * Atomics.wait()s on BELL. A producer publishes its ring's TAIL, then reads SLEEPING and,
 * when set, takes it (exchange) and rings. Either the producer sees SLEEPING=1 or the
 * consumer's re-check sees the frames. `signal()` (control messages, stop) sets CTL and rings.
 *
 * A worker that owns a native queue (links/queueport.ts) sleeps in poll(2) on it instead,
 * since a thread cannot wait on a futex and a file descriptor at once: its doorbell then
 * names an eventfd (WAKEFD) in the same poll set, and a ring or signal that finds it
 * sleeping also makes that eventfd readable, so a frame from a sibling or a record from
 * the main thread ends the poll at once, not at its timeout.
 */
import { eventfdSignal } from './native/libc.js';

const D_SLEEPING = 0;
const D_BELL = 1;
const D_CTL = 2;
const D_WAKEFD = 3;
export const DOORBELL_BYTES = 64;

export class Doorbell {
  readonly sab: SharedArrayBuffer;
  readonly w: Int32Array;
  /** Times a producer woke the sleeper. */
  rings = 0;
  /** Consumer: whether the last sleep() ran to its timeout (no ring, no signal). */
  timedOut = false;

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(DOORBELL_BYTES)) {
    this.sab = sab;
    this.w = new Int32Array(sab);
  }

  /**
   * The eventfd a poll(2)-sleeping consumer waits on besides its queue (0: none). Set by
   * the thread that owns the fd before the consumer starts, cleared before it is closed.
   */
  get wakeFd(): number {
    return Atomics.load(this.w, D_WAKEFD);
  }

  set wakeFd(fd: number) {
    Atomics.store(this.w, D_WAKEFD, fd);
  }

  /** Producer side, after publishing: wake the consumer if it said it sleeps. */
  ring(): void {
    const w = this.w;
    if (Atomics.load(w, D_SLEEPING) !== 0 && Atomics.exchange(w, D_SLEEPING, 0) !== 0) {
      Atomics.add(w, D_BELL, 1);
      Atomics.notify(w, D_BELL);
      this.kick();
      this.rings++;
    }
  }

  /** Control plane: a message is waiting on the worker's port (or a stop); always wakes. */
  signal(): void {
    const w = this.w;
    Atomics.store(w, D_CTL, 1);
    const slept = Atomics.exchange(w, D_SLEEPING, 0) !== 0;
    Atomics.add(w, D_BELL, 1);
    Atomics.notify(w, D_BELL);
    if (slept) this.kick();
  }

  /** End a poll(2) sleep: the eventfd, when the consumer has one. */
  private kick(): void {
    const fd = Atomics.load(this.w, D_WAKEFD);
    if (fd !== 0) eventfdSignal(fd);
  }

  /** Consumer: whether a control message is pending (cleared by takeCtl). */
  get ctl(): boolean {
    return Atomics.load(this.w, D_CTL) !== 0;
  }

  takeCtl(): boolean {
    return Atomics.exchange(this.w, D_CTL, 0) !== 0;
  }

  /**
   * The no-lost-wakeup step before any sleep: announce it, read the bell, then re-check
   * for work. Returns the bell value to wait on, or null (announcement withdrawn) when
   * `ready()` or a pending control message says there is work already.
   */
  private announce(ready: () => boolean): number | null {
    const w = this.w;
    Atomics.store(w, D_SLEEPING, 1);
    const bell = Atomics.load(w, D_BELL);
    if (ready() || Atomics.load(w, D_CTL) !== 0) {
      Atomics.store(w, D_SLEEPING, 0);
      return null;
    }
    return bell;
  }

  /**
   * Consumer: sleep up to `timeoutMs` unless `ready()` (the re-check of every ring) says
   * there is work or a control message is pending. Worker threads only.
   */
  sleep(timeoutMs: number, ready: () => boolean): boolean {
    const w = this.w;
    const bell = this.announce(ready);
    if (bell === null) return false;
    this.timedOut = Atomics.wait(w, D_BELL, bell, timeoutMs) === 'timed-out';
    Atomics.store(w, D_SLEEPING, 0);
    return true;
  }

  /**
   * Consumer: the same protocol around another wait — `wait(ms)`, true when something
   * ended it before the timeout (poll(2) on a queue and the wakeFd).
   */
  sleepOn(timeoutMs: number, ready: () => boolean, wait: (ms: number) => boolean): boolean {
    if (this.announce(ready) === null) return false;
    this.timedOut = !wait(timeoutMs);
    Atomics.store(this.w, D_SLEEPING, 0);
    return true;
  }

  /**
   * The same for the main thread (Atomics.waitAsync: the event loop keeps running), for a
   * consumer of rings that worker threads produce (links/external.ts). Resolves true when
   * it slept (a ring, a signal or the timeout ended it), false when `ready()` said there
   * was work already.
   */
  async sleepAsync(timeoutMs: number, ready: () => boolean): Promise<boolean> {
    const w = this.w;
    const bell = this.announce(ready);
    if (bell === null) return false;
    const r = (
      Atomics as unknown as {
        waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: unknown };
      }
    ).waitAsync(w, D_BELL, bell, timeoutMs);
    if (r.async) await r.value;
    Atomics.store(w, D_SLEEPING, 0);
    return true;
  }
}
