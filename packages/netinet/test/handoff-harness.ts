/**
 * Live connection handoff on the simulated link (tcp/export.ts): a peer (the client) on
 * one end of the wire; on the other, several engines with the same MAC and addresses —
 * the queues of one NIC, or a host and its TOE card — of which the one the wire points
 * at (`active`) takes the frames. A move exports the connection from the active engine,
 * passes it through a structured clone with its buffers transferred (as postMessage
 * does) and imports it into the next; the wire is re-pointed at once.
 *
 * Frames still in flight towards the old owner at the move are redirected to the new
 * one (a link that matches connections at delivery, as the card does), or with
 * `dropInflight` lost for the link's worst-case delay (a link that had queued them for
 * the old owner).
 */
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { Simulator, type SimEngine } from '../src/sim/simulator.js';
import type { FaultConfig } from '../src/sim/wire.js';
import { exportTransferList, type TcpExport, type TcpImportOptions } from '../src/tcp/export.js';

const MAC_C = Uint8Array.of(2, 0, 0, 0, 0, 0x0c);
const MAC_S = Uint8Array.of(2, 0, 0, 0, 0, 0x05);
const TH_RST = 0x04;

export interface Mig {
  sim: Simulator;
  client: Engine;
  servers: Engine[];
  /** The engine the wire's server end feeds now. */
  active: Engine;
  /** Each server engine's clock minus the wire's (engines on different time bases). */
  skew: Map<Engine, number>;
  rsts: number;
  /** TSvals of the TCP segments the server end sent, in order. */
  serverTs: number[];
  /** Frames to the server end lost because they were in flight to a previous owner. */
  inflightDropped: number;
  /** Until this wire time, frames arriving at the server end are dropped (dropInflight). */
  dropUntil: number;
  ca: string;
  sa: string;
}

/** Offset of the TCP header in an Ethernet frame (IPv4/IPv6 without extension headers), or -1. */
export function tcpOff(f: Uint8Array): number {
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0800 && f[23] === 6) return 14 + ((f[14]! & 0xf) << 2);
  if (type === 0x86dd && f[20] === 6) return 14 + 40;
  return -1;
}

/** The TSval of a TCP segment's timestamp option (RFC 7323 §3), or -1. */
export function tsval(f: Uint8Array, th: number): number {
  const end = th + ((f[th + 12]! >>> 4) << 2);
  for (let o = th + 20; o < end; ) {
    const kind = f[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (kind === 8) return ((f[o + 2]! << 24) | (f[o + 3]! << 16) | (f[o + 4]! << 8) | f[o + 5]!) >>> 0;
    o += Math.max(2, f[o + 1]!);
  }
  return -1;
}

/** The client and `nservers` server engines on one simulated wire with `faults`. */
export function setup(
  seed: number,
  family: 'inet' | 'inet6',
  nservers: number,
  faults: FaultConfig,
  skews: number[] = [],
): Mig {
  const sim = new Simulator(seed);
  const port = {}; // the wire's server end
  const m = {} as Mig;
  const [ca, sa, plen] = family === 'inet' ? ['10.0.0.1', '10.0.0.2', 24] : ['fd00::1', 'fd00::2', 64];
  m.sim = sim;
  m.ca = ca;
  m.sa = sa;
  m.rsts = 0;
  m.serverTs = [];
  m.inflightDropped = 0;
  m.dropUntil = -1;
  m.client = new Engine({ seed: seed * 2 + 1, output: (ifp, frame) => sim.transmit(ifp, frame) });
  const ifc = m.client.ifattach({ name: 'em0', type: 'ether', lladdr: MAC_C, mtu: 1500 });
  m.client.addAddr(ifc, `${ca}/${plen}`);
  m.client.setUp(ifc);
  m.servers = [];
  m.skew = new Map();
  for (let i = 0; i < nservers; i++) {
    const e: Engine = new Engine({
      seed: seed * 2 + 2 + i,
      now: skews[i] ?? 0,
      // Only the engine the wire points at is on the wire.
      output: (_ifp, frame) => {
        if (m.active === e) sim.transmit(port, frame);
      },
    });
    const ifs = e.ifattach({ name: 'em0', type: 'ether', lladdr: MAC_S, mtu: 1500 });
    e.addAddr(ifs, `${sa}/${plen}`);
    e.setUp(ifs);
    m.servers.push(e);
    m.skew.set(e, skews[i] ?? 0);
  }
  m.active = m.servers[0]!;
  const stand: SimEngine = {
    input: (_ifp, frame, now) => {
      if (now < m.dropUntil && tcpOff(frame) >= 0) {
        m.inflightDropped++;
        return;
      }
      m.active.input('em0', frame, now + m.skew.get(m.active)!);
    },
    advance: (now) => m.active.advance(now + m.skew.get(m.active)!),
    nextTimeout: () => m.active.nextTimeout() - m.skew.get(m.active)!,
  };
  sim.connect({ engine: m.client, ifp: ifc }, { engine: stand, ifp: port }, faults);
  const countRst = (f: Uint8Array) => {
    const th = tcpOff(f);
    if (th >= 0 && (f[th + 13]! & TH_RST) !== 0) m.rsts++;
    return th;
  };
  sim.tap(ifc, countRst);
  sim.tap(port, (f) => {
    const th = countRst(f);
    const ts = th >= 0 ? tsval(f, th) : -1;
    if (ts >= 0) m.serverTs.push(ts);
  });
  return m;
}

/**
 * Export from the active server, across a structured clone with transfer (as postMessage),
 * import into `to`. `dropInflightUs`: frames reaching the server end in the next that many
 * µs were on their way to the old owner and are lost.
 */
export function migrate(
  m: Mig,
  fd: number,
  to: Engine,
  dropInflightUs = 0,
  opts?: TcpImportOptions,
): { fd: number; x: TcpExport } {
  const from = m.active;
  const x = from.exportConnection(fd, m.sim.now + m.skew.get(from)!);
  assert.equal(typeof x, 'object', `export failed: ${String(x)}`);
  const ex = x as TcpExport;
  const moved = structuredClone(ex, { transfer: exportTransferList(ex) });
  assert.equal(ex.socket.snd.data.byteLength, 0, 'buffers were transferred, not copied');
  // Nothing of the connection is left where it was.
  const c = from.census();
  assert.deepEqual(
    { pcbs: c.pcbs, tcbs: c.tcbs, fds: c.fds, syncache: c.syncache },
    { pcbs: 0, tcbs: 0, fds: 0, syncache: 0 },
  );
  assert.equal(from.pcblist().records.length, 0);
  m.active = to;
  if (dropInflightUs > 0) m.dropUntil = m.sim.now + dropInflightUs;
  const nfd = to.importConnection(moved, m.sim.now + m.skew.get(to)!, opts);
  assert.ok(nfd >= 0, `import failed: ${nfd}`);
  // Every timer runs on with the time it had left.
  const rec = to.pcblist().records.find((r) => r.timers !== null);
  const t = rec?.timers;
  assert.ok(t, 'the importer lists the connection');
  const left = [t.tt_delack, t.tt_rexmt, t.tt_persist, t.tt_keep, t.tt_2msl];
  // To the nanosecond the export keeps (clocks in fractional µs lose ulps when rebased).
  const same = left.every((v, i) => {
    const w = moved.timers[i];
    return v === null || w === null || w === undefined ? v === w : Math.abs(v - w) < 1e-3;
  });
  assert.ok(same, `timers moved: ${JSON.stringify(left)} for ${JSON.stringify(moved.timers)}`);
  return { fd: nfd, x: moved };
}

/** Zones whose items belong to connections: none may stay in use after they close. */
const CONN_ZONES = ['socket', 'tcp_inpcb', 'tcpreass', 'syncache'];

/** Run every engine's timers out; then no engine holds anything of the connection. */
export function settle(m: Mig): void {
  // TIME_WAIT, ARP/ND entries run out; then every engine must be empty.
  m.sim.run(
    m.sim.now + 25 * 3600_000_000,
    () => m.client.nextTimeout() === Infinity && m.active.nextTimeout() === Infinity,
  );
  for (const e of [m.client, ...m.servers]) {
    // Engines off the wire run out their own timers (ARP/ND entries re-arm once or twice).
    const end = m.sim.now + (m.skew.get(e) ?? 0) + 25 * 3600_000_000;
    e.advance(end);
    for (let i = 0; i < 8 && e.nextTimeout() <= end + 3 * 24 * 3600_000_000; i++) e.advance(e.nextTimeout());
    assert.deepEqual(e.census(), { pcbs: 0, tcbs: 0, callouts: 0, fds: 0, syncache: 0 });
    const used = e.uma
      .stats()
      .filter((z) => CONN_ZONES.includes(z.name))
      .map((z) => [z.name, z.used]);
    assert.equal(used.length, CONN_ZONES.length, 'every connection zone is reported');
    assert.deepEqual(
      used.filter(([, n]) => n !== 0),
      [],
      'zone items still in use',
    );
  }
}

/**
 * A connection from the client to the first server on `port`, accepted there; the
 * listener is closed. `before(lfd, cfd)` sets options on both sockets before the handshake.
 */
export function connectPair(
  m: Mig,
  family: 'inet' | 'inet6',
  port: number,
  before?: (lfd: number, cfd: number) => void,
): { cfd: number; sfd: number } {
  const s = m.servers[0]!;
  const lfd = s.socket(family, 'stream');
  const cfd = m.client.socket(family, 'stream');
  before?.(lfd, cfd);
  assert.equal(s.bind(lfd, { addr: m.sa, port }), 0);
  assert.equal(s.listen(lfd, 8), 0);
  m.client.connect(cfd, { addr: m.sa, port });
  let sfd = -1;
  m.sim.run(m.sim.now + 1_000_000, () => (sfd = s.accept(lfd)) >= 0);
  assert.ok(sfd >= 0, 'accepted');
  assert.equal(s.close(lfd), 0);
  return { cfd, sfd };
}
