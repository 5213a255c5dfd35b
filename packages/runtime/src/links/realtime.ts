/**
 * A real-time loop for one sans-I/O Engine on the main thread: frames from real links
 * go into `engine.input(ifp, frame, now)` with the wall clock's time, the engine's
 * callouts run on a Node timer armed for `engine.nextTimeout()`, and what the engine
 * outputs goes out on the link attached to that interface. The single-threaded
 * counterpart of a group worker, for interop tests, tools and the TAP benchmark.
 *
 * Work is batched as the event loop batches it: every frame that arrives in one poll
 * phase is input at once, then a single check-phase pass (setImmediate) runs the due
 * callouts, the poll hooks (the applications: like the pump of sim/bulk.ts, they make
 * what progress they can with non-blocking calls) and re-arms the timer.
 */
import { performance } from 'node:perf_hooks';
import type { Engine } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';
import type { FrameLink } from './udptunnel.js';

export interface RealtimeStats {
  /** Frames from links into the engine. */
  iframes: number;
  /** Frames that arrived while the loop was stopped: dropped. */
  idrops: number;
  /** Frames the engine sent that a link took. */
  oframes: number;
  /** Frames the engine sent on an interface with no link, or that the link refused. */
  odrops: number;
  /** Passes of callouts and poll hooks. */
  passes: number;
  /** Of those, passes started by the callout timer. */
  timerPasses: number;
}

/** An application's turn: return true to ask for another pass soon (it has more to do). */
// biome-ignore lint/suspicious/noConfusingVoidType: hooks that never report work return nothing
export type PollHook = () => boolean | void;

export class RealtimeLoop {
  readonly engine: Engine;
  readonly stats: RealtimeStats = { iframes: 0, idrops: 0, oframes: 0, odrops: 0, passes: 0, timerPasses: 0 };
  private readonly links: (FrameLink | undefined)[] = [];
  private readonly attached: { ifp: Ifnet; link: FrameLink }[] = [];
  private readonly hooks: PollHook[] = [];
  private readonly t0: number;
  private running = false;
  private passPending = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  /**
   * The engine's clock becomes the wall clock: µs since the loop was made, plus the
   * engine's time then (engine time never goes backwards).
   */
  constructor(engine: Engine) {
    this.engine = engine;
    this.t0 = performance.now() - engine.now / 1000;
    engine.output = (ifp, frame) => {
      const link = this.links[ifp.index];
      if (link?.transmit(frame)) this.stats.oframes++;
      else this.stats.odrops++;
    };
  }

  /** Wall-clock time on the engine's scale, µs. */
  nowUs(): number {
    return Math.floor((performance.now() - this.t0) * 1000);
  }

  /** Carry `ifp`'s frames on `link` (one link per interface). */
  attach(ifp: Ifnet | string, link: FrameLink): void {
    const i = typeof ifp === 'string' ? this.engine.ifunit(ifp) : ifp;
    if (!i) throw new TypeError(`no interface ${String(ifp)}`);
    this.links[i.index] = link;
    this.attached.push({ ifp: i, link });
    link.onframe = (frame) => {
      if (!this.running) {
        this.stats.idrops++;
        return;
      }
      this.stats.iframes++;
      this.engine.input(i, frame, this.nowUs());
      this.schedule();
    };
  }

  /** Run `hook` after every batch of frames and every callout pass. */
  onPoll(hook: PollHook): () => void {
    this.hooks.push(hook);
    return () => {
      const k = this.hooks.indexOf(hook);
      if (k >= 0) this.hooks.splice(k, 1);
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Ask for a pass soon (an application did something outside a poll hook). */
  kick(): void {
    if (this.running) this.schedule();
  }

  /** Stop: no more input, timers or hooks. The links stay open (close them yourself). */
  stop(): void {
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.timerAt = Infinity;
  }

  /** Stop and close every attached link. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.attached.map((a) => a.link.close()));
  }

  private schedule(): void {
    if (this.passPending) return;
    this.passPending = true;
    setImmediate(this.pass);
  }

  private readonly pass = (): void => {
    this.passPending = false;
    this.runPass();
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    this.stats.timerPasses++;
    this.runPass();
  };

  private runPass(): void {
    if (!this.running) return;
    this.stats.passes++;
    this.engine.advance(this.nowUs());
    let again = false;
    for (let k = 0; k < this.hooks.length; k++) if (this.hooks[k]!() === true) again = true;
    if (again) this.schedule();
    this.arm();
  }

  /** Point the timer at the engine's earliest callout (Node timers have ms resolution). */
  private arm(): void {
    const next = this.engine.nextTimeout();
    if (next === this.timerAt) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.timerAt = next;
    if (next === Infinity) return;
    const ms = Math.max(0, Math.ceil((next - this.nowUs()) / 1000));
    this.timer = setTimeout(this.onTimer, ms);
  }
}
