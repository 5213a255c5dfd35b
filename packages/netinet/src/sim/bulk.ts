/**
 * A bulk TCP transfer between two engines over a virtual wire: the scenario of
 * the tier-3 tests (seeded faults, byte-exact delivery checked by hash, clean
 * close, nothing left behind) and of `mcstack bench engine` (no faults, goodput).
 *
 * The applications are poll-driven: after every simulator event the client writes
 * what its send buffer takes and the server reads what has arrived, as a
 * non-blocking event loop would. The client shuts down its sending side when done;
 * the server closes on EOF; the client closes when it sees the server's FIN.
 */
import { createHash, type Hash } from 'node:crypto';
import { Engine } from '../engine.js';
import { SeededRandom } from '../kern/random.js';
import { SHUT_WR } from '../kern/uipc_socket.js';
import { ERRNO } from '../kern/errno.js';
import { Simulator } from './simulator.js';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TSO, IFCAP_LRO, type Ifnet } from '../net/if.js';
import type { FaultConfig, WireStats } from './wire.js';
import type { Tcpstat } from '../tcp/var.js';

export interface BulkOptions {
  seed: number;
  /** Bytes the client sends. */
  bytes: number;
  family?: 'inet' | 'inet6';
  faults?: FaultConfig;
  mtu?: number;
  /** Interface checksum offload (TXCSUM/RXCSUM on both ends); off = software checksums. */
  csumOffload?: boolean;
  /** TSO4/TSO6 on both ends (needs csumOffload, as a driver needs TXCSUM for TSO). */
  tso?: boolean;
  /** LRO on both ends' receive side. */
  lro?: boolean;
  /** Hash both ends' data with SHA-256 (tests); off for the benchmark's goodput. */
  verify?: boolean;
  /** Give up after this much virtual time (µs). */
  timeLimitUs?: number;
  /** Sysctl settings applied to both engines before the transfer. */
  sysctl?: Record<string, number | string>;
  /** Application read/write chunk (bytes). */
  chunk?: number;
  /**
   * Sees every frame on the wire as sent (client's when `fromClient`), valid during the
   * call, with both interfaces (a test may `ifconfig` them mid-transfer).
   */
  tap?: (fromClient: boolean, frame: Uint8Array, now: number, ifs: BulkInterfaces) => void;
  /** The sender's driver refuses this frame (if_transmit's ENOBUFS: its queue full); it never reaches the wire. */
  refuse?: (fromClient: boolean, frame: Uint8Array, now: number) => boolean;
}

/** Both ends' interfaces and engines, for a tap that reconfigures them mid-transfer. */
export interface BulkInterfaces {
  client: Ifnet;
  server: Ifnet;
  clientEngine: Engine;
  serverEngine: Engine;
}

export interface BulkResult {
  ok: boolean;
  /** Why it is not ok (the first failed check). */
  reason?: string;
  seed: number;
  sent: number;
  received: number;
  sentHash?: string;
  receivedHash?: string;
  /** Virtual time from connect to the last byte read, and to the end of the run. */
  transferUs: number;
  endUs: number;
  wire: { clientToServer: WireStats; serverToClient: WireStats };
  leftover: { client: ReturnType<Engine['census']>; server: ReturnType<Engine['census']> };
  tcpstat: { client: Tcpstat; server: Tcpstat };
  /** TSO segments the client's card cut, and the server card's LRO counters. */
  offload: { tsoWrs: number; lro: { lro_queued: number; lro_flushed: number; lro_bad_csum: number } };
}

const MAC_A = Uint8Array.of(0x02, 0, 0, 0, 0, 0x0a);
const MAC_B = Uint8Array.of(0x02, 0, 0, 0, 0, 0x0b);
const PORT = 5001;

export function runBulk(o: BulkOptions): BulkResult {
  const family = o.family ?? 'inet';
  const verify = o.verify ?? true;
  const chunk = o.chunk ?? 64 * 1024;
  const sim = new Simulator(o.seed);
  const refuse = o.refuse;
  const mk = (seed: number, fromClient: boolean) =>
    new Engine({
      seed,
      output: (ifp, frame, meta) => {
        if (refuse?.(fromClient, frame, sim.now) === true) return -ERRNO.ENOBUFS;
        sim.transmit(ifp, frame, meta);
        return 0;
      },
    });
  const client = mk(o.seed * 2 + 1, true);
  const server = mk(o.seed * 2 + 2, false);
  const capabilities = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TSO | IFCAP_LRO;
  const capenable =
    (o.csumOffload ? IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 : 0) |
    (o.csumOffload && o.tso ? IFCAP_TSO : 0) |
    (o.lro ? IFCAP_LRO : 0);
  const em0 = (lladdr: Uint8Array) => ({
    name: 'em0',
    type: 'ether' as const,
    lladdr,
    mtu: o.mtu ?? 1500,
    capabilities,
    capenable,
  });
  const ifc = client.ifattach(em0(MAC_A));
  const ifs = server.ifattach(em0(MAC_B));
  const [ca, sa] = family === 'inet' ? ['10.0.0.1', '10.0.0.2'] : ['fd00::1', 'fd00::2'];
  const plen = family === 'inet' ? 24 : 64;
  client.addAddr(ifc, `${ca}/${plen}`);
  client.setUp(ifc);
  server.addAddr(ifs, `${sa}/${plen}`);
  server.setUp(ifs);
  for (const e of [client, server]) for (const [k, v] of Object.entries(o.sysctl ?? {})) e.sysctl.set(k, v);
  const wire = sim.connect({ engine: client, ifp: ifc }, { engine: server, ifp: ifs }, o.faults ?? {});
  const tap = o.tap;
  if (tap) {
    const both: BulkInterfaces = { client: ifc, server: ifs, clientEngine: client, serverEngine: server };
    sim.tap(ifc, (f, now) => tap(true, f, now, both));
    sim.tap(ifs, (f, now) => tap(false, f, now, both));
  }

  // The data: a seeded pattern of a length coprime to common segment sizes.
  const pattern = new SeededRandom(o.seed ^ 0x5eed).fill(new Uint8Array(65521));
  const hs: Hash | null = verify ? createHash('sha256') : null;
  const hr: Hash | null = verify ? createHash('sha256') : null;
  const rbuf = new Uint8Array(chunk);

  const lfd = server.socket(family, 'stream');
  check(server.bind(lfd, { addr: sa, port: PORT }), 'bind');
  check(server.listen(lfd, 16), 'listen');
  const cfd = client.socket(family, 'stream');
  const c = client.connect(cfd, { addr: sa, port: PORT });
  if (c !== -ERRNO.EINPROGRESS && c < 0) throw new Error(`connect: ${c}`);

  let sent = 0;
  let received = 0;
  let sfd = -1;
  let clientShut = false;
  let serverClosed = false;
  let clientClosed = false;
  let lastByteUs = 0;
  let failure: string | undefined;

  const pump = (): boolean => {
    // Client: fill the send buffer, then half-close.
    while (sent < o.bytes) {
      const at = sent % pattern.length;
      const n = Math.min(chunk, o.bytes - sent, pattern.length - at);
      const w = client.send(cfd, pattern, at, n);
      if (w === -ERRNO.EAGAIN || w === -ERRNO.ENOTCONN) break;
      if (w < 0) {
        failure = `client send: errno ${-w}`;
        return true;
      }
      if (w === 0) break;
      hs?.update(pattern.subarray(at, at + w));
      sent += w;
    }
    if (sent === o.bytes && !clientShut) {
      const r = client.shutdown(cfd, SHUT_WR);
      if (r === 0) clientShut = true;
      else if (r !== -ERRNO.ENOTCONN) {
        failure = `client shutdown: errno ${-r}`;
        return true;
      }
    }
    // Server: accept once, read everything, close on EOF.
    if (sfd < 0) {
      const a = server.accept(lfd);
      if (a >= 0) {
        sfd = a;
        server.close(lfd);
      } else if (a !== -ERRNO.EAGAIN) {
        failure = `accept: errno ${-a}`;
        return true;
      }
    }
    if (sfd >= 0 && !serverClosed) {
      for (;;) {
        const r = server.recv(sfd, rbuf, 0, rbuf.length);
        if (r > 0) {
          hr?.update(rbuf.subarray(0, r));
          received += r;
          lastByteUs = sim.now;
          continue;
        }
        if (r === 0) {
          server.close(sfd);
          serverClosed = true;
        } else if (r !== -ERRNO.EAGAIN) {
          failure = `server recv: errno ${-r}`;
          return true;
        }
        break;
      }
    }
    // Client: wait for the server's FIN, then close.
    if (clientShut && !clientClosed) {
      const r = client.recv(cfd, rbuf, 0, rbuf.length);
      if (r === 0) {
        client.close(cfd);
        clientClosed = true;
      } else if (r > 0) {
        failure = 'client received data it never asked for';
        return true;
      } else if (r !== -ERRNO.EAGAIN) {
        failure = `client recv: errno ${-r}`;
        return true;
      }
    }
    return failure !== undefined || (serverClosed && clientClosed);
  };

  const limit = o.timeLimitUs ?? 3_600_000_000;
  sim.run(limit, pump);
  // Let TIME_WAIT (2MSL), the ARP entries (net.link.ether.inet.max_age, 20 min)
  // and the stale ND entries (net.inet6.ip6.nd6_gctimer, 1 day) run out: after
  // that nothing may be left behind. Idle virtual time costs nothing.
  if (failure === undefined)
    sim.run(sim.now + 25 * 3600_000_000, () => client.nextTimeout() === Infinity && server.nextTimeout() === Infinity);

  const result: BulkResult = {
    ok: true,
    seed: o.seed,
    sent,
    received,
    sentHash: hs?.digest('hex'),
    receivedHash: hr?.digest('hex'),
    transferUs: lastByteUs,
    endUs: sim.now,
    wire: { clientToServer: wire.ab.stats, serverToClient: wire.ba.stats },
    leftover: { client: client.census(), server: server.census() },
    tcpstat: { client: { ...client.tcp.stat }, server: { ...server.tcp.stat } },
    offload: { tsoWrs: sim.tsoWrs, lro: { ...sim.lroStats(ifs) } },
  };
  const fail = (why: string) => {
    if (result.ok) {
      result.ok = false;
      result.reason = why;
    }
  };
  if (failure) fail(failure);
  if (!serverClosed || !clientClosed)
    fail(`transfer did not finish within ${limit} µs (sent ${sent}, received ${received})`);
  if (received !== o.bytes) fail(`received ${received} of ${o.bytes} bytes`);
  if (verify && result.sentHash !== result.receivedHash) fail('data differs (hash mismatch)');
  for (const [who, c] of Object.entries(result.leftover)) {
    if (c.pcbs || c.tcbs || c.callouts || c.fds || c.syncache) fail(`${who} left ${JSON.stringify(c)}`);
  }
  return result;
}

function check(r: number, what: string): void {
  if (r < 0) throw new Error(`${what}: errno ${-r}`);
}
