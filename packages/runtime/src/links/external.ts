/**
 * A multi-worker Stack's `cxgbe0` attached to the outside through a single-queue link (a
 * UDP tunnel to another host's mcstack, or a TAP device bridged by socat): the software
 * RSS of docs/architecture.md ("RSS at the link"), run on the main thread.
 *
 *   wire → dgram 'message' (main thread) → RssDispatcher with the stack's indirection table
 *        → RX ring of the owning worker (published once per poll phase, its doorbell rung)
 *   worker i's engine output → LinkTx → TX ring i (worker → main) → rings the main thread's
 *        doorbell → the main thread, asleep in Atomics.waitAsync, drains every TX ring
 *        (finishing checksums left to the "card") → dgram send
 *
 * Why the main thread sends rather than each worker on its own dgram socket: a worker
 * spends its idle time blocked in Atomics.wait, where its own event loop (and so a
 * socket's send completions and errors) does not run; one socket owned by the thread that
 * already reads it keeps the link single-queue like the device it stands for, and keeps
 * the datagrams of one flow in order. No postMessage per packet either way: frames move
 * on SharedArrayBuffer rings only, wakeups are futex words.
 *
 * Frames a single queue cannot place (ARP and other non-IP, link multicast/broadcast,
 * IPv6 neighbour discovery) are copied to every worker with FLOW_TAG_FLOOD, as the
 * in-memory link matrix does: every worker carries the same addresses and resolves its
 * neighbours itself (a real peer has no static entry in it). Each worker's engine sends
 * its own ARP requests; the replies reach all of them.
 */
import type { IndirectionTable } from '@mcstack/rss';
import { SysError } from '@mcstack/netinet';
import { finishChecksums } from '@mcstack/netinet';
import { CSUM_IP_CHECKED, CSUM_DATA_VALID } from '@mcstack/netinet';
import { ETHER_HDR_LEN } from '@mcstack/wire';
import { parseIP } from '@mcstack/wire';
import { FrameRing, RingConsumer, META_WORDS, META_LEN, META_CSUM_FLAGS } from '../ring.js';
import { RssDispatcher } from '../link.js';
import { FLOW_TAG_FLOOD, LINK_RING_SLOTS, LINK_SLOT_SIZE } from '../linkmatrix.js';
import { Doorbell } from '../doorbell.js';
import { UdpTunnel, type FrameLink } from './udptunnel.js';
import { TapLink } from './tap.js';
import type { LinkSpec } from '../control.js';

/** Frames taken from one TX ring per drain pass. */
const TX_BATCH = 64;

/** An external link's counters (if_data names where one fits). */
export interface ExternalLinkStats {
  /** Frames read from the wire and given to a worker (a flooded frame counts once). */
  ipackets: number;
  /** Frames copied to every worker (ARP, multicast, ND). */
  floods: number;
  /** Frames dropped because a worker's RX ring was full. */
  iqdrops: number;
  /** Frames the workers sent that went out on the wire. */
  opackets: number;
  /** Of those, frames whose checksums the "card" (this thread) filled in. */
  ocsum: number;
  /** Frames the wire side refused (too long: TSO frames, or the link closed). */
  oqdrops: number;
}

/** `host:port` (IPv6 in brackets) with a numeric address; EINVAL otherwise. */
export function parseHostPort(s: string, what: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const port = Number(m?.[2]);
  if (m === null || parseIP(m[1]!) === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SysError('EINVAL', `${what}: not a numeric host:port ([v6]:port): ${JSON.stringify(s)}`, 'links');
  }
  return { address: m[1]!, port };
}

/** Check a link spec (EINVAL with the reason). */
export function checkLinkSpec(l: LinkSpec): void {
  if (l.type === 'udp-tunnel') {
    const r = parseHostPort(l.remote, 'remote');
    if (r.port === 0) throw new SysError('EINVAL', 'remote: port 0', 'links');
    if (l.local !== undefined) parseHostPort(l.local, 'local');
  } else if (l.type === 'tap') {
    if (l.queues !== undefined && l.queues !== 'single' && l.queues !== 'per-worker')
      throw new SysError('EINVAL', `tap queues ${JSON.stringify(l.queues)} ('single' or 'per-worker')`, 'links');
    if (l.name !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(l.name))
      throw new SysError('EINVAL', `tap name ${JSON.stringify(l.name)}`, 'links');
    for (const a of l.addrs ?? []) {
      const [ip, plen] = a.split('/');
      if (parseIP(ip ?? '') === null || !/^\d+$/.test(plen ?? ''))
        throw new SysError('EINVAL', `tap address ${JSON.stringify(a)}`, 'links');
    }
  } else if (l.type === 'af_packet') {
    if (typeof l.ifname !== 'string' || !/^[A-Za-z0-9_.@-]{1,15}$/.test(l.ifname))
      throw new SysError('EINVAL', `af_packet ifname ${JSON.stringify(l.ifname)}`, 'links');
    if (l.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(l.netns))
      throw new SysError('EINVAL', `af_packet netns ${JSON.stringify(l.netns)}`, 'links');
  } else {
    throw new SysError(
      'EINVAL',
      `unknown link type ${JSON.stringify((l as { type: unknown }).type)} (udp-tunnel, tap, af_packet)`,
      'links',
    );
  }
}

export class ExternalLink {
  readonly spec: LinkSpec;
  /** Main thread → worker j (the dispatcher produces, worker j consumes). */
  readonly rx: readonly FrameRing[];
  /** Worker i → main thread. */
  readonly tx: readonly FrameRing[];
  /** The main thread's doorbell, rung by the workers' LinkTx after they publish. */
  readonly bell = new Doorbell();
  /**
   * The one-bucket "indirection table" a worker's LinkTx reads: every frame to ring 0 of
   * its single destination (this thread).
   */
  readonly oneQueue = new SharedArrayBuffer(2);
  private readonly c: ExternalLinkStats = { ipackets: 0, floods: 0, iqdrops: 0, opackets: 0, ocsum: 0, oqdrops: 0 };
  private readonly rss: RssDispatcher;
  private readonly txc: RingConsumer[];
  private readonly mtu: number;
  private workerBells: Doorbell[] = [];
  private wire: FrameLink | null = null;
  private flushPending = false;
  private closed = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(spec: LinkSpec, table: IndirectionTable, mtu: number, slots = LINK_RING_SLOTS) {
    checkLinkSpec(spec);
    this.spec = spec;
    this.mtu = mtu;
    const ring = { slots, slotSize: LINK_SLOT_SIZE };
    this.rx = Array.from({ length: table.workers }, () => FrameRing.create(ring));
    this.tx = Array.from({ length: table.workers }, () => FrameRing.create(ring));
    this.txc = this.tx.map((r) => new RingConsumer(r));
    this.rss = new RssDispatcher(table, this.rx);
  }

  get stats(): ExternalLinkStats {
    let d = 0;
    for (const x of this.rss.drops) d += x;
    return { ...this.c, iqdrops: d };
  }

  /** The wire side, once open (UdpTunnel or TapLink). */
  get link(): FrameLink | null {
    return this.wire;
  }

  /** The local address of the tunnel's socket (udp-tunnel; for TAP, socat's peer socket). */
  address(): { address: string; port: number } | null {
    const w = this.wire;
    if (w === null) return null;
    return (w instanceof TapLink ? w.tunnel : (w as UdpTunnel)).address();
  }

  /** Open the socket (or TAP device and socat) and start moving frames to and from the rings. */
  async open(workerBells: readonly SharedArrayBuffer[]): Promise<void> {
    this.workerBells = workerBells.map((b) => new Doorbell(b));
    const s = this.spec;
    if (s.type === 'udp-tunnel') {
      const local = s.local === undefined ? undefined : parseHostPort(s.local, 'local');
      this.wire = await UdpTunnel.open({
        name: s.name,
        remote: parseHostPort(s.remote, 'remote'),
        local,
        mtu: this.mtu,
      });
    } else if (s.type === 'tap') {
      this.wire = await TapLink.open({ name: s.name, netns: s.netns, addrs: s.addrs, mtu: this.mtu });
    } else {
      throw new SysError('EINVAL', 'an af_packet link has a queue per worker (links/afpacket.ts)', 'links');
    }
    this.wire.onframe = this.receive;
    this.loop = this.txLoop();
  }

  private readonly receive = (frame: Uint8Array): void => {
    const w = this.rss.dispatchOrFlood(frame, 0, frame.length, FLOW_TAG_FLOOD);
    if (w === -1) return; // counted by the dispatcher
    this.c.ipackets++;
    if (w === -2) this.c.floods++;
    // Every datagram of this poll phase goes out in one publish per ring.
    if (!this.flushPending) {
      this.flushPending = true;
      setImmediate(this.flushRx);
    }
  };

  private readonly flushRx = (): void => {
    this.flushPending = false;
    const rx = this.rss.rx;
    for (let w = 0; w < rx.length; w++) if (rx[w]!.publish() > 0) this.workerBells[w]?.ring();
  };

  private readonly txReady = (): boolean => {
    for (const c of this.txc) if (c.peek(1) > 0) return true;
    return false;
  };

  /** Drain every TX ring once onto the wire; frames taken. */
  private drainTx(): number {
    const wire = this.wire!;
    let total = 0;
    for (const c of this.txc) {
      const n = c.peek(TX_BATCH);
      if (n === 0) continue;
      const ring = c.ring;
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const b = s * META_WORDS;
        const view = ring.views[s]!.subarray(0, ring.meta[b + META_LEN]!);
        const flags = ring.meta[b + META_CSUM_FLAGS]!;
        if (flags !== 0) {
          // The worker's engine left its checksums to the card (TXCSUM): the wire gets them filled in.
          finishChecksums(view, ETHER_HDR_LEN, (flags & CSUM_IP_CHECKED) !== 0, (flags & CSUM_DATA_VALID) !== 0);
          this.c.ocsum++;
        }
        if (wire.transmit(view)) this.c.opackets++;
        else this.c.oqdrops++;
      }
      c.release(n);
      total += n;
    }
    return total;
  }

  private async txLoop(): Promise<void> {
    while (!this.closed) {
      if (this.drainTx() > 0) {
        // Let the poll phase run (received datagrams, send completions) between batches.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      await this.bell.sleepAsync(1000, this.txReady);
      this.bell.takeCtl();
    }
  }

  /** Stop the drain loop (after the workers stopped: their last frames go out) and close the wire. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.wire !== null) this.drainTx();
    this.closed = true;
    this.bell.signal();
    await this.loop;
    await this.wire?.close();
  }
}
