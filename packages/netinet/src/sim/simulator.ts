/**
 * A discrete-event simulator on the virtual clock: engines joined by virtual
 * wires. It moves time to the next frame arrival or engine timer, whichever is
 * first, so a run is exact and replays from its seed, and a long transfer takes
 * as long as the work, not as long as the simulated time.
 *
 * Engines hand frames to `transmit` (pass it as their output callback); a frame
 * is only valid during that call, so it is copied into a pooled buffer: the wire
 * is the only place a frame is copied, as a NIC's DMA would.
 */
import { SeededRandom } from '../kern/random.js';
import { EventQueue } from './events.js';
import { WireDirection, type FaultConfig } from './wire.js';
import { frameMarkCe } from './bottleneck.js';
import { ETHER_HDR_LEN } from '@mcstack/wire';
import { CSUM_IP, CSUM_DELAY_DATA, CSUM_DELAY_DATA_IPV6, CSUM_TSO, type FrameMeta, newFrameMeta } from '../net/mbuf.js';
import { IFCAP_LRO } from '../net/if.js';
import { finishChecksums } from '../net/hwcsum.js';
import { newTsoFrame, tcpTsoParse, tcpTsoSegment } from '../tcp/tso.js';
import { LroCtrl } from '../tcp/lro.js';

/** What the simulator needs of an engine (the netinet Engine fits). */
export interface SimEngine<I = unknown> {
  input(ifp: I, frame: Uint8Array, now: number, meta?: FrameMeta | null): void;
  advance(now: number): void;
  nextTimeout(): number;
}

interface Port {
  engine: SimEngine;
  ifp: unknown;
  peer: Port | null;
  dir: WireDirection | null;
  /** Taps see every frame this port sends (captures, tests). */
  tap: ((frame: Uint8Array, now: number) => void) | null;
  /** Free frame buffers for frames this port receives (one direction's sizes repeat). */
  free: Delivery[];
  /** The receiving card's LRO, used while the interface has IFCAP_LRO enabled. */
  lro: LroCtrl;
}

/** A frame in flight: a pooled buffer and the view of its current length. */
interface Delivery {
  port: Port;
  buf: Uint8Array;
  view: Uint8Array;
}

const POOLED = 2048;
/** Pooled buffers are carved from slabs, so a few ArrayBuffers back every frame (as a NIC's ring). */
const SLAB_FRAMES = 512;

export class Simulator {
  now = 0;
  readonly random: SeededRandom;
  private readonly queue = new EventQueue<Delivery>();
  private readonly ports = new Map<unknown, Port>();
  private readonly engines: SimEngine[] = [];
  /** The port that sent last (engines send in bursts): saves a Map lookup per frame. */
  private lastIfp: unknown = null;
  private lastPort: Port | null = null;
  private slab: ArrayBuffer = new ArrayBuffer(0);
  private slabUsed = SLAB_FRAMES;
  private readonly arrivals = new Float64Array(2);
  private readonly corruptAt = new Int32Array(1);
  /** Frames sent on an interface that is not connected to any wire. */
  unconnected = 0;
  /** TSO segments the sending "card" cut (cxgbe's tso_wrs), and ones it could not parse. */
  tsoWrs = 0;
  tsoErrors = 0;
  private readonly tso = newTsoFrame();
  /** One frame's worth of scratch for a TSO piece or a checksum the card fills. */
  private readonly scratch = new Uint8Array(65536 + 64);
  private readonly rxMeta = newFrameMeta();
  /** Deliveries LRO still references: recycled after the batch's flush. */
  private readonly held: Delivery[] = [];

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  addEngine(engine: SimEngine): void {
    if (!this.engines.includes(engine)) this.engines.push(engine);
  }

  /**
   * Join two interfaces with a wire. `faults` applies to both directions, or give
   * a pair for a→b and b→a. Returns the two directions (for their stats).
   */
  connect(
    a: { engine: SimEngine; ifp: unknown },
    b: { engine: SimEngine; ifp: unknown },
    faults: FaultConfig | [FaultConfig, FaultConfig] = {},
  ): { ab: WireDirection; ba: WireDirection } {
    const [fab, fba] = Array.isArray(faults) ? faults : [faults, faults];
    const pa: Port = {
      engine: a.engine,
      ifp: a.ifp,
      peer: null,
      dir: new WireDirection(fab, this.random),
      tap: null,
      free: [],
      lro: this.lroFor(a),
    };
    const pb: Port = {
      engine: b.engine,
      ifp: b.ifp,
      peer: pa,
      dir: new WireDirection(fba, this.random),
      tap: null,
      free: [],
      lro: this.lroFor(b),
    };
    pa.peer = pb;
    this.ports.set(a.ifp, pa);
    this.ports.set(b.ifp, pb);
    this.lastIfp = null;
    this.lastPort = null;
    this.addEngine(a.engine);
    this.addEngine(b.engine);
    return { ab: pa.dir!, ba: pb.dir! };
  }

  /** Watch what `ifp` sends. */
  tap(ifp: unknown, fn: (frame: Uint8Array, now: number) => void): void {
    const p = this.ports.get(ifp);
    if (!p) throw new Error('sim: tap on an unconnected interface');
    p.tap = fn;
  }

  private lroFor(end: { engine: SimEngine; ifp: unknown }): LroCtrl {
    return new LroCtrl((frame, meta) => end.engine.input(end.ifp, frame, this.now, meta));
  }

  /** LRO counters of the card behind `ifp` (lro_queued, lro_flushed, lro_bad_csum). */
  lroStats(ifp: unknown): LroCtrl['stats'] {
    const p = this.ports.get(ifp);
    if (!p) throw new Error('sim: lroStats on an unconnected interface');
    return p.lro.stats;
  }

  /**
   * The output callback for engines: `ifp` sends `frame` now. The sending card does
   * what `meta` leaves to it, as a NIC on a wire: it cuts a CSUM_TSO segment
   * (tcp/tso.ts) and fills checksums left to it (CSUM_IP, CSUM_DELAY_DATA*), so the
   * wire carries real bytes and the receiver verifies them.
   */
  readonly transmit = (ifp: unknown, frame: Uint8Array, meta?: FrameMeta | null): void => {
    const cf = meta ? meta.csumFlags : 0;
    if ((cf & CSUM_TSO) !== 0 && meta!.tsoSegsz > 0) {
      const t = this.tso;
      const n = tcpTsoParse(frame, frame.length, ETHER_HDR_LEN, meta!.tsoSegsz, t);
      if (n === 0) {
        this.tsoErrors++;
        return;
      }
      this.tsoWrs++;
      for (let i = 0; i < n; i++)
        this.wire(ifp, this.scratch.subarray(0, tcpTsoSegment(frame, t, i, this.scratch, true)));
      return;
    }
    if ((cf & (CSUM_IP | CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0 && frame.length <= this.scratch.length) {
      const f = this.scratch.subarray(0, frame.length);
      f.set(frame);
      finishChecksums(f, ETHER_HDR_LEN, (cf & CSUM_IP) !== 0, (cf & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0);
      this.wire(ifp, f);
      return;
    }
    this.wire(ifp, frame);
  };

  private wire(ifp: unknown, frame: Uint8Array): void {
    let port = this.lastPort;
    if (ifp !== this.lastIfp || port === null) {
      port = this.ports.get(ifp) ?? null;
      this.lastIfp = ifp;
      this.lastPort = port;
    }
    if (!port?.peer || !port.dir) {
      this.unconnected++;
      return;
    }
    if (port.tap !== null) port.tap(frame, this.now);
    const len = frame.length;
    const n = port.dir.fate(this.now, len, this.arrivals, this.corruptAt, frame);
    const ce = n > 0 && port.dir.ce;
    const to = port.peer;
    for (let i = 0; i < n; i++) {
      let d: Delivery;
      if (len <= POOLED) {
        d = to.free.pop() ?? { port: to, buf: this.newPooled(), view: EMPTY };
        if (d.view.length !== len) d.view = d.buf.subarray(0, len);
      } else {
        d = { port: to, buf: new Uint8Array(len), view: EMPTY };
        d.view = d.buf;
      }
      // The wire's one copy (the DMA into the receiver's buffer).
      d.buf.set(frame);
      const at = this.corruptAt[0]!;
      if (i === 0 && at >= 0) d.buf[at] = d.buf[at]! ^ 0xff;
      if (ce) frameMarkCe(d.buf);
      this.queue.push(this.arrivals[i]!, d);
    }
  }

  private newPooled(): Uint8Array {
    if (this.slabUsed === SLAB_FRAMES) {
      this.slab = new ArrayBuffer(POOLED * SLAB_FRAMES);
      this.slabUsed = 0;
    }
    return new Uint8Array(this.slab, POOLED * this.slabUsed++, POOLED);
  }

  /** The time of the next event (frame arrival or engine timer), or Infinity. */
  nextEvent(): number {
    let t = this.queue.peekTime();
    for (const e of this.engines) {
      const to = e.nextTimeout();
      if (to < t) t = to;
    }
    return t;
  }

  /**
   * Run events until `done()` holds (checked after each event) or the clock would
   * pass `until`. Returns whether `done()` held. The clock stops at the last event
   * run (or at `until` when it ran out of events before it).
   */
  run(until: number, done: () => boolean = () => false): boolean {
    if (done()) return true;
    for (;;) {
      const t = this.nextEvent();
      if (t > until) {
        if (until !== Infinity && until > this.now) this.now = until;
        for (const e of this.engines) e.advance(this.now);
        return done();
      }
      if (t > this.now) this.now = t;
      for (const e of this.engines) if (e.nextTimeout() <= this.now) e.advance(this.now);
      // The frames arriving at one instant are one receive batch (LRO merges within it).
      const held = this.held;
      while (this.queue.peekTime() <= this.now) {
        const d = this.queue.pop()!;
        const p = d.port;
        if (lroOn(p.ifp)) {
          const m = this.rxMeta;
          m.csumFlags = 0;
          m.csumData = 0;
          p.lro.rx(d.view, m);
          held.push(d);
          continue;
        }
        p.engine.input(p.ifp, d.view, this.now);
        if (d.buf.length === POOLED) p.free.push(d);
      }
      if (held.length > 0) {
        for (const p of this.ports.values()) p.lro.flush();
        for (let i = 0; i < held.length; i++) {
          const d = held[i]!;
          if (d.buf.length === POOLED) d.port.free.push(d);
        }
        held.length = 0;
      }
      if (done()) return true;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Does the receiving interface have IFCAP_LRO enabled (`ifconfig lro`)? */
function lroOn(ifp: unknown): boolean {
  if (typeof ifp !== 'object' || ifp === null) return false;
  return (((ifp as { capenable?: number }).capenable ?? 0) & IFCAP_LRO) !== 0;
}
