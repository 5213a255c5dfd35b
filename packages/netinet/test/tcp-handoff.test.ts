/**
 * Live handoff (tcp/export.ts) between a host engine A and a card engine C, the peer B
 * on the other end of a lossy, reordering wire (handoff-harness.ts): bulk transfers in
 * both directions at once while the connection moves A→C→A… mid-flight, byte-exact by
 * SHA-256 at both ends, no RST, and after close nothing left on any engine. Each case
 * also moves the connection in a state worth carrying: every congestion-control module
 * (with h_ertt's measurements), SACK recovery, zero window and persist, unread data,
 * CLOSE_WAIT and FIN_WAIT_1/2, IPv6; and a property run over random move points.
 * Every run is seeded; a failure names its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Engine } from '../src/engine.js';
import type { FaultConfig } from '../src/sim/wire.js';
import { SeededRandom } from '../src/kern/random.js';
import { M_HASHTYPE_RSS_TCP_IPV4 } from '../src/net/mbuf.js';
import { ERRNO } from '../src/kern/errno.js';
import { SBS_CANTRCVMORE } from '../src/kern/sockbuf.js';
import {
  SHUT_WR,
  SOL_SOCKET,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  type SockoptValue,
} from '../src/kern/uipc_socket.js';
import { setPcbInvariants } from '../src/netinet/in_pcb.js';
import { HELPER_CLASS_TCP, HELPER_NEEDS_OSD, type Helper, khelpModule } from '../src/kern/khelp.js';
import { HHOOK_TYPE_TCP } from '../src/kern/hhook.js';
import { osdGet } from '../src/kern/osd.js';
import { HHOOK_TCP_EST_IN, HHOOK_TCP_EST_OUT } from '../src/tcp/tcp_hhook.js';
import { IPPROTO_IPV6, IPPROTO_TCP, IPV6_TCLASS, IPV6_UNICAST_HOPS } from '../src/netinet/in.js';
import {
  TCP_CONGESTION,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MD5SIG,
  TCP_NODELAY,
  TCP_NOPUSH,
  TCP_REMOTE_UDP_ENCAPS_PORT,
} from '../src/tcp/usrreq.js';
import { exportTransferList, type TcpExport } from '../src/tcp/export.js';
import { parseSetkey } from '../src/tools/setkey.js';
import {
  type Tcpcb,
  TCPS_CLOSE_WAIT,
  TCPS_ESTABLISHED,
  TCPS_FIN_WAIT_1,
  TCPS_FIN_WAIT_2,
  TF_ECN_PERMIT,
  TF_FASTRECOVERY,
  TF_SIGNATURE,
  TF_TOE,
  TT_PERSIST,
} from '../src/tcp/var.js';
import { type Mig, connectPair, migrate, settle, setup } from './handoff-harness.js';

const PORT = 5001;
const CARD_SKEW_US = 7_345_678;
const LOSSY: FaultConfig = { loss: 0.01, reorder: 0.02, reorderDelayUs: 300, delayUs: 100 };
/** The longest a frame can be on this wire (delay + reorder hold + slack), µs. */
const INFLIGHT_US = 500;

/** What a move's trigger and check see. */
interface View {
  m: Mig;
  /** The server's tcpcb on the engine holding it. */
  tp: Tcpcb;
  upSent: number;
  upRecv: number;
  downSent: number;
  downRecv: number;
  moves: number;
}

interface Move {
  when: (v: View) => boolean;
  /** Lose the frames in flight to the old owner instead of redirecting them. */
  dropInflight?: boolean;
  /** Move back at once (A→C→A at one instant): the two exports must be equal. */
  roundTrip?: boolean;
  check?: (x: TcpExport, v: View) => void;
}

interface Plan {
  seed: number;
  family: 'inet' | 'inet6';
  faults: FaultConfig;
  /** Bytes client → server and server → client, sent at the same time. */
  up: number;
  down: number;
  cc?: string;
  moves: Move[];
  /** Whether each side's application reads now (default: always). */
  clientReads?: (v: View) => boolean;
  serverReads?: (v: View) => boolean;
  /** The server starts sending only when this holds (default: at once). */
  serverSends?: (v: View) => boolean;
  /** Before connect/after accept (e.g. socket options, keys). */
  prepare?: (m: Mig, cfd: number) => void;
}

interface Outcome {
  m: Mig;
  exports: TcpExport[];
}

/** Run `p` to the end and check the transfer; returns the exports made. */
function run(p: Plan): Outcome {
  const was = setPcbInvariants(true);
  try {
    return runChecked(p);
  } catch (e) {
    (e as Error).message = `seed ${p.seed}: ${(e as Error).message}`;
    throw e;
  } finally {
    setPcbInvariants(was);
  }
}

function runChecked(p: Plan): Outcome {
  // The card keeps its own clock, 7.3 s ahead of the host's: every move rebases the timers.
  const m = setup(p.seed, p.family, 2, p.faults, [0, CARD_SKEW_US]);
  const [a, c] = m.servers as [Engine, Engine];
  const rnd = new SeededRandom(p.seed);
  const upData = rnd.fill(new Uint8Array(65521));
  const downData = rnd.fill(new Uint8Array(65519));
  const h = { upSent: createHash('sha256'), upRecv: createHash('sha256'), dnSent: createHash('sha256') };
  const dnRecv = createHash('sha256');
  const lfd = a.socket(p.family, 'stream');
  assert.equal(a.bind(lfd, { addr: m.sa, port: PORT }), 0);
  assert.equal(a.listen(lfd, 8), 0);
  const cfd = m.client.socket(p.family, 'stream');
  if (p.cc !== undefined) assert.equal(m.client.setsockopt(cfd, IPPROTO_TCP, TCP_CONGESTION, p.cc), 0);
  p.prepare?.(m, cfd);
  assert.equal(m.client.connect(cfd, { addr: m.sa, port: PORT }), -ERRNO.EINPROGRESS);
  const buf = new Uint8Array(65536);
  const v = { m, upSent: 0, upRecv: 0, downSent: 0, downRecv: 0, moves: 0 } as View;
  const exports: TcpExport[] = [];
  let sfd = -1;
  let cShut = false;
  let sShut = false;
  let sEof = false;
  let cClosed = false;
  let sClosed = false;

  /** Write what the window takes from `data`'s repeating pattern; returns the new count. */
  const pump = (e: Engine, fd: number, data: Uint8Array, sent: number, total: number, hash: typeof h.upSent) => {
    while (sent < total) {
      const at = sent % data.length;
      const w = e.send(fd, data, at, Math.min(16384, total - sent, data.length - at));
      if (w <= 0) {
        assert.ok(w === -ERRNO.EAGAIN || w === -ERRNO.ENOTCONN, `send ${w}`);
        break;
      }
      hash.update(data.subarray(at, at + w));
      sent += w;
    }
    return sent;
  };

  const step = (): boolean => {
    v.upSent = pump(m.client, cfd, upData, v.upSent, p.up, h.upSent);
    if (v.upSent === p.up && !cShut && m.client.shutdown(cfd, SHUT_WR) === 0) cShut = true;
    if (sfd < 0) {
      sfd = a.accept(lfd);
      if (sfd < 0) return false;
      assert.equal(a.close(lfd), 0);
      if (p.cc !== undefined) assert.equal(a.setsockopt(sfd, IPPROTO_TCP, TCP_CONGESTION, p.cc), 0);
    }
    if (!sClosed) {
      const tp = m.active.sockets.lookup(sfd)?.so_pcb?.inp_ppcb;
      assert.ok(tp, 'the server connection is alive');
      v.tp = tp;
      move();
      const s = m.active;
      if (p.serverSends?.(v) ?? true) v.downSent = pump(s, sfd, downData, v.downSent, p.down, h.dnSent);
      if (v.downSent === p.down && !sShut && s.shutdown(sfd, SHUT_WR) === 0) sShut = true;
      while (!sEof && (p.serverReads?.(v) ?? true)) {
        const r = s.recv(sfd, buf);
        if (r > 0) {
          h.upRecv.update(buf.subarray(0, r));
          v.upRecv += r;
          continue;
        }
        if (r === 0) sEof = true;
        else assert.equal(r, -ERRNO.EAGAIN, `server recv ${r}`);
        break;
      }
      if (sEof && sShut) {
        // A trigger that came true in this step moves the connection before it closes.
        move();
        assert.equal(m.active.close(sfd), 0);
        sClosed = true;
      }
    }
    while (!cClosed && (p.clientReads?.(v) ?? true)) {
      const r = m.client.recv(cfd, buf);
      if (r > 0) {
        dnRecv.update(buf.subarray(0, r));
        v.downRecv += r;
        continue;
      }
      if (r === 0 && cShut) {
        assert.equal(m.client.close(cfd), 0);
        cClosed = true;
      } else assert.ok(r === -ERRNO.EAGAIN || r === 0, `client recv ${r}`);
      break;
    }
    return sClosed && cClosed;
  };
  /** Every move whose trigger holds now, in order. */
  const move = (): void => {
    for (let mv = p.moves[v.moves]; mv?.when(v); mv = p.moves[v.moves]) {
      const to = m.active === a ? c : a;
      const r = migrate(m, sfd, to, mv.dropInflight ? INFLIGHT_US : 0, { toe: to === c });
      sfd = r.fd;
      if (mv.roundTrip) {
        const back = migrate(m, sfd, to === a ? c : a, 0, { toe: to !== c });
        assert.deepEqual(back.x, r.x, 'a round trip at one instant changes nothing');
        sfd = back.fd;
      }
      exports.push(r.x);
      v.moves++;
      v.tp = m.active.sockets.lookup(sfd)?.so_pcb?.inp_ppcb as Tcpcb;
      assert.equal((v.tp.t_flags & TF_TOE) !== 0, m.active === c, 'TF_TOE on the card only');
      mv.check?.(r.x, v);
    }
  };
  // Steps of at most 10 ms, so a trigger waiting on the clock is seen on an idle wire.
  const limit = 3_600_000_000;
  while (!m.sim.run(m.sim.now + 10_000, step) && m.sim.now < limit);
  assert.ok(
    sClosed && cClosed,
    `finished (up ${v.upSent}/${v.upRecv}, down ${v.downSent}/${v.downRecv}, moves ${v.moves})`,
  );
  assert.equal(v.moves, p.moves.length, 'every move was made');
  assert.equal(v.upRecv, p.up);
  assert.equal(v.downRecv, p.down);
  assert.equal(h.upRecv.digest('hex'), h.upSent.digest('hex'), 'client → server byte-exact');
  assert.equal(dnRecv.digest('hex'), h.dnSent.digest('hex'), 'server → client byte-exact');
  assert.equal(m.rsts, 0, 'no RST on the wire');
  // RFC 7323 §5.4: whichever engine sent them, the server end's TSvals never go back.
  for (let i = 1; i < m.serverTs.length; i++)
    assert.ok(((m.serverTs[i]! - m.serverTs[i - 1]!) | 0) >= 0, `TSval ${m.serverTs[i]} after ${m.serverTs[i - 1]}`);
  settle(m);
  return { m, exports };
}

/**
 * Moves when the server has read and written `frac` of all the bytes, alternating
 * redirect and loss of what was in flight.
 */
function atProgress(p: { up: number; down: number }, fracs: number[]): Move[] {
  return fracs.map((f, i) => ({
    when: (v) => v.upRecv + v.downSent >= f * (p.up + p.down),
    dropInflight: i % 2 === 1,
  }));
}

for (const family of ['inet', 'inet6'] as const) {
  test(`${family}: bulk both ways with loss and reordering, six moves A→C→A… mid-transfer`, () => {
    const up = 1536 * 1024 + 7;
    const down = 1536 * 1024 + 13;
    const { m, exports } = run({
      seed: family === 'inet' ? 1101 : 1102,
      family,
      faults: LOSSY,
      up,
      down,
      moves: atProgress({ up, down }, [0.1, 0.25, 0.4, 0.55, 0.7, 0.85]),
    });
    assert.ok(m.inflightDropped > 0, 'some moves lost frames in flight to the old owner');
    for (const x of exports) assert.equal(x.domain, family);
    assert.ok(
      exports.some((x) => x.socket.snd.data.byteLength > 0 && x.socket.rcv.data.byteLength + x.reass.length > 0),
      'moved with bytes unacknowledged one way and not yet delivered the other',
    );
    const [a, c] = m.servers as [Engine, Engine];
    assert.ok(a.tcp.stat.tcps_rcvbyte > 0 && c.tcp.stat.tcps_rcvbyte > 0, 'both engines carried data');
    assert.ok(a.tcp.stat.tcps_sndbyte > 0 && c.tcp.stat.tcps_sndbyte > 0);
  });
}

test('every congestion-control module moves with its state (and h_ertt its measurements)', (t) => {
  const probe = setup(1, 'inet', 1, {});
  for (const mod of ['h_ertt', 'cc_cubic', 'cc_htcp', 'cc_dctcp', 'cc_vegas', 'cc_hd', 'cc_chd', 'cc_cdg']) {
    const r = probe.client.kldload(mod);
    assert.ok(r > 0 || r === -ERRNO.EEXIST, `kldload ${mod}: ${r}`);
  }
  t.after(() => {
    for (const mod of ['cc_cdg', 'cc_chd', 'cc_hd', 'cc_vegas', 'cc_dctcp', 'cc_htcp', 'cc_cubic', 'h_ertt'])
      probe.client.kldunload(mod);
  });
  const ccs = ['newreno', 'cubic', 'htcp', 'dctcp', 'vegas', 'hd', 'chd', 'cdg'];
  for (const [i, cc] of ccs.entries()) {
    const up = 384 * 1024;
    const down = 512 * 1024;
    const moves = atProgress({ up, down }, [0.2, 0.45, 0.7, 0.9]);
    // One move goes there and back at one instant: the module's variables and h_ertt's
    // queue come back exactly as they left.
    moves[1]!.roundTrip = true;
    const { exports } = run({ seed: 1200 + i, family: 'inet', faults: LOSSY, up, down, cc, moves });
    for (const x of exports) {
      assert.equal(x.cc.name, cc);
      assert.deepEqual(
        x.khelp.map((k) => k.name),
        ['ertt'],
        `${cc}: h_ertt's data moved`,
      );
    }
    if (cc !== 'newreno' && cc !== 'hd')
      assert.ok(
        exports.some((x) => Object.keys(x.cc.vars).length > 0),
        `${cc}: the module's own variables moved`,
      );
    const ertt = exports[exports.length - 1]!.khelp[0]!.data;
    assert.ok((ertt.nums.minrtt ?? 0) > 0, `${cc}: h_ertt had measured`);
  }
});

test('SACK recovery in progress moves with its scoreboard and recovery point, twice', () => {
  const inRecovery: Move = {
    when: (v) => v.tp.sack.nholes > 0 && v.tp.inFastRecovery(),
    check: (x) => {
      assert.ok(x.scoreboard.nholes > 0, 'holes in the scoreboard');
      assert.ok(((x.tcpcb.t_flags as number) & TF_FASTRECOVERY) !== 0, 'in fast recovery');
    },
  };
  const { exports } = run({
    seed: 1301,
    family: 'inet',
    faults: { loss: 0.03, delayUs: 200 },
    up: 64 * 1024,
    down: 3 * 1024 * 1024,
    moves: [inRecovery, { ...inRecovery, dropInflight: true }],
  });
  assert.equal(exports.length, 2);
});

test('zero window: the sender moves with its persist timer armed, the receiver with a full buffer unread', () => {
  let clientReads = true;
  let serverReads = true;
  const persisting: Move = {
    // The client stopped reading; the server's window is shut and it probes.
    when: (v) => !clientReads && v.tp.snd_wnd === 0 && v.tp.tv[v.tp.tvo + TT_PERSIST] !== Infinity,
    // What the peer had in flight is lost: only the moved timer can start the probes.
    dropInflight: true,
    check: (x, v) => {
      assert.notEqual(x.timers[TT_PERSIST], null, 'persist timer moved');
      assert.equal(x.tcpcb.snd_wnd, 0);
      assert.ok(x.socket.snd.data.byteLength > 0, 'unsent bytes moved');
      const probes = v.m.active.tcp.stat.tcps_persisttimeo;
      assert.equal(probes, 0, 'the importer has not probed yet');
    },
  };
  const full: Move = {
    // The server stopped reading: its receive buffer is full and the client probes it.
    when: (v) => !serverReads && v.tp.rcv_wnd === 0,
    check: (x) => {
      assert.ok(x.socket.rcv.data.byteLength >= x.socket.rcv.hiwat - 1460, 'a full receive buffer moved unread');
    },
  };
  const out = run({
    seed: 1401,
    family: 'inet',
    faults: { delayUs: 100 },
    up: 1024 * 1024,
    down: 1024 * 1024,
    // Phase 1: the client does not read past 256 KiB until the card has probed twice.
    clientReads: (v) => {
      if (v.moves === 0 && v.downRecv >= 256 * 1024) clientReads = false;
      if (v.moves === 1 && v.m.active.tcp.stat.tcps_persisttimeo >= 2) clientReads = true;
      return clientReads;
    },
    // Meanwhile the card's application writes nothing: only the moved persist timer can probe.
    serverSends: (v) => v.moves !== 1 || clientReads,
    // Phase 2: the server does not read past 640 KiB until the client has probed the moved connection.
    serverReads: (v) => {
      if (v.moves === 1 && v.upRecv >= 640 * 1024) serverReads = false;
      if (v.moves === 2 && v.m.client.tcp.stat.tcps_persisttimeo >= 2) serverReads = true;
      return serverReads;
    },
    moves: [persisting, full],
    // Fixed 64 KiB receive buffers: autotuning would grow them past the transfer.
    prepare: (m) => {
      for (const e of [m.client, ...m.servers]) e.sysctl.set('net.inet.tcp.recvbuf_auto', 0);
    },
  });
  assert.ok(out.m.servers[1]!.tcp.stat.tcps_persisttimeo >= 2, 'the card probed the zero window');
});

test('CLOSE_WAIT with unread data moves, then again while answering; FIN_WAIT_1 and FIN_WAIT_2 move too', () => {
  // The peer sent its request and its FIN before the server read a byte.
  let read = false;
  run({
    seed: 1501,
    family: 'inet6',
    faults: LOSSY,
    up: 48 * 1024,
    down: 768 * 1024,
    serverReads: () => read,
    serverSends: () => read,
    moves: [
      {
        when: (v) => v.tp.t_state === TCPS_CLOSE_WAIT,
        check: (x) => {
          assert.equal(x.state, TCPS_CLOSE_WAIT);
          assert.equal(x.socket.rcv.data.byteLength, 48 * 1024, 'the whole request moved unread');
          assert.ok((x.socket.rcv.state & SBS_CANTRCVMORE) !== 0, 'with the FIN');
          read = true;
        },
      },
      {
        when: (v) => v.downSent > 256 * 1024 && v.tp.snd_max !== v.tp.snd_una,
        dropInflight: true,
        check: (x) => assert.equal(x.state, TCPS_CLOSE_WAIT),
      },
    ],
  });
  // The server answers and shuts its side while the peer still sends.
  run({
    seed: 1502,
    family: 'inet',
    faults: LOSSY,
    up: 1024 * 1024,
    down: 96 * 1024,
    moves: [
      {
        when: (v) => v.tp.t_state === TCPS_FIN_WAIT_1,
        check: (x) => assert.equal(x.state, TCPS_FIN_WAIT_1),
      },
      {
        when: (v) => v.tp.t_state === TCPS_FIN_WAIT_2 && v.upRecv < 900 * 1024,
        check: (x) => assert.equal(x.state, TCPS_FIN_WAIT_2),
      },
    ],
  });
});

test('property: any move points, any seed — byte-exact, nothing left', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.array(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      (seed, points, v6) => {
        const up = 200 * 1024;
        const down = 300 * 1024;
        const fracs = [...points].sort((x, y) => x - y);
        run({
          seed,
          family: v6 ? 'inet6' : 'inet',
          faults: LOSSY,
          up,
          down,
          moves: atProgress({ up, down }, fracs),
        });
      },
    ),
    { numRuns: 12, seed: 1601 },
  );
});

test('TCP-MD5 moves by reference: refused (ENOENT) where the SAs are missing, carried where they are', () => {
  const m = setup(1701, 'inet', 2, { delayUs: 100 });
  const [a, c] = m.servers as [Engine, Engine];
  const sas = parseSetkey(
    `add ${m.ca} ${m.sa} tcp 0x1000 -A tcp-md5 "handoff"; add ${m.sa} ${m.ca} tcp 0x1001 -A tcp-md5 "handoff";`,
  );
  m.client.setkey(sas);
  a.setkey(sas);
  const { cfd, sfd } = connectPair(m, 'inet', PORT, (lfd, cfd) => {
    assert.equal(a.setsockopt(lfd, IPPROTO_TCP, TCP_MD5SIG, 1), 0);
    assert.equal(m.client.setsockopt(cfd, IPPROTO_TCP, TCP_MD5SIG, 1), 0);
  });
  const x = a.exportConnection(sfd, m.sim.now) as TcpExport;
  assert.ok(((x.tcpcb.t_flags as number) & TF_SIGNATURE) !== 0);
  const before = c.census();
  assert.equal(c.importConnection(structuredClone(x), m.sim.now), -ERRNO.ENOENT);
  assert.deepEqual(c.census(), before, 'nothing left after the refusal');
  c.setkey(sas);
  m.active = c;
  const fd = c.importConnection(structuredClone(x, { transfer: exportTransferList(x) }), m.sim.now);
  assert.ok(fd >= 0);
  const msg = new TextEncoder().encode('signed after the move');
  assert.equal(m.client.send(cfd, msg), msg.length);
  const got = new Uint8Array(64);
  let n = -1;
  m.sim.run(m.sim.now + 1_000_000, () => (n = c.recv(fd, got)) > 0);
  assert.deepEqual(got.subarray(0, n), msg);
  assert.ok(c.tcp.stat.tcps_sig_rcvgoodsig > 0, 'the card verified the peer signature');
  assert.equal(m.client.tcp.stat.tcps_sig_rcvbadsig, 0, 'the peer found every signature good');
  assert.equal(c.getsockopt(fd, IPPROTO_TCP, TCP_MD5SIG), 1);
  assert.ok(x.state === TCPS_ESTABLISHED);
});

test('a malformed export is EINVAL and a full reassembly zone ENOBUFS, never a throw; the importer is left as it was', () => {
  const m = setup(1801, 'inet', 2, { loss: 0.05, delayUs: 100 }, [0, CARD_SKEW_US]);
  const [a, c] = m.servers as [Engine, Engine];
  const { cfd, sfd } = connectPair(m, 'inet', PORT);
  const data = new SeededRandom(1801).fill(new Uint8Array(1 << 20));
  let sent = 0;
  // Until the server holds out-of-order data.
  const ready = m.sim.run(60_000_000, () => {
    if (sent < data.length) {
      const w = m.client.send(cfd, data, sent);
      if (w > 0) sent += w;
    }
    return (a.sockets.lookup(sfd)?.so_pcb?.inp_ppcb?.reass.length ?? 0) > 0;
  });
  assert.ok(ready, 'out-of-order data queued at the server');
  const x = a.exportConnection(sfd, m.sim.now) as TcpExport;
  assert.ok(x.reass.length > 0);
  const now = m.sim.now + CARD_SKEW_US;
  const refused = (y: unknown, errno: number, why: string) => {
    const state = () => ({ census: c.census(), used: c.uma.stats().map((z) => [z.name, z.used]) });
    const before = state();
    assert.equal(c.importConnection(y as TcpExport, now), -errno, why);
    assert.deepEqual(state(), before, `${why}: nothing left`);
  };
  // A clone to damage: any field may become anything.
  const as = <T>(v: unknown): T => v as T;
  const bad: [string, (y: TcpExport) => void][] = [
    ['no pcb', (y) => Reflect.deleteProperty(y, 'pcb')],
    ['a short address', (y) => (y.pcb.laddr = new ArrayBuffer(4))],
    ['a port that is not a number', (y) => (y.pcb.lport = as<number>('80'))],
    ['no send buffer data', (y) => (y.socket.snd.data = as<ArrayBuffer>(null))],
    ['a tcpcb field of another type', (y) => (y.tcpcb.snd_una = as<number>('x'))],
    ['a scoreboard shorter than its holes', (y) => (y.scoreboard.nholes += 3)],
    ['SACK blocks of another size', (y) => (y.sackblks = new ArrayBuffer(7))],
    ['a reassembly segment of another length', (y) => (y.reass[0]!.len += 1)],
    ['khelp not a list', (y) => (y.khelp = as<TcpExport['khelp']>({}))],
    ['a timer missing', (y) => y.timers.pop()],
    ['a state out of range', (y) => (y.state = 1)],
  ];
  for (const [why, f] of bad) {
    const y = structuredClone(x);
    f(y);
    refused(y, ERRNO.EINVAL, why);
  }
  refused(null, ERRNO.EINVAL, 'null');
  // A flow RSS hashed into bucket 5 goes only to the group owning it.
  const hashed = structuredClone(x);
  hashed.pcb.flowtype = M_HASHTYPE_RSS_TCP_IPV4;
  hashed.pcb.flowid = 5;
  c.setPcbgroup({ id: 1, ngroups: 2, nbuckets: 128, buckets: [6, 7] });
  refused(hashed, ERRNO.EINVAL, 'the bucket is another group’s');
  c.setPcbgroup({ id: 0, ngroups: 1, nbuckets: 128 });
  // The card's reassembly zone has room for one segment fewer than the connection holds.
  const rz = c.tcp.reassZone;
  rz.limit = rz.used + x.reass.length - 1;
  refused(structuredClone(x), ERRNO.ENOBUFS, 'reassembly zone full');
  rz.limit = 0;
  m.active = c;
  const fd = c.importConnection(structuredClone(x), now);
  assert.ok(fd >= 0, `import ${fd}`);
  assert.equal(rz.used, x.reass.length, 'the segments took the card zone entries');
});

test('socket, IP and TCP options move; the card runs the keepalive the host armed', () => {
  const m = setup(1901, 'inet6', 2, { delayUs: 100 }, [0, CARD_SKEW_US]);
  const [a, c] = m.servers as [Engine, Engine];
  const { cfd, sfd } = connectPair(m, 'inet6', PORT);
  const opts: [number, number, SockoptValue][] = [
    [IPPROTO_TCP, TCP_NODELAY, 1],
    [IPPROTO_TCP, TCP_NOPUSH, 1],
    [IPPROTO_TCP, TCP_KEEPIDLE, 20],
    [IPPROTO_TCP, TCP_KEEPINTVL, 3],
    [IPPROTO_TCP, TCP_KEEPCNT, 4],
    [SOL_SOCKET, SO_KEEPALIVE, 1],
    [SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 7 }],
    [SOL_SOCKET, SO_SNDBUF, 100_000],
    [SOL_SOCKET, SO_RCVBUF, 90_000],
    [IPPROTO_IPV6, IPV6_TCLASS, 0x20],
    [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 33],
  ];
  for (const [level, name, value] of opts) assert.equal(a.setsockopt(sfd, level, name, value), 0, `set ${name}`);
  const got = (e: Engine, fd: number) => opts.map(([level, name]) => e.getsockopt(fd, level, name));
  const onHost = got(a, sfd);
  const sndAuto = a.sockets.lookup(sfd)?.so_snd.sb_flags;
  m.sim.run(m.sim.now + 5_000_000);
  const x = a.exportConnection(sfd, m.sim.now) as TcpExport;
  assert.ok(typeof x === 'object');
  m.active = c;
  const fd = c.importConnection(x, m.sim.now + CARD_SKEW_US, { toe: true });
  assert.ok(fd >= 0);
  assert.deepEqual(got(c, fd), onHost, 'every option as the host had it');
  assert.equal(c.sockets.lookup(fd)?.so_snd.sb_flags, sndAuto, 'SO_SNDBUF turned autotuning off, and still does');
  // 20 s idle from the last segment, then probes 3 s apart: the peer answers each one.
  m.sim.run(m.sim.now + 40_000_000);
  assert.ok(c.tcp.stat.tcps_keepprobe >= 2, `card probes ${c.tcp.stat.tcps_keepprobe}`);
  assert.equal(a.tcp.stat.tcps_keepprobe, 0);
  assert.equal(c.tcp.stat.tcps_keepdrops, 0);
  const msg = new TextEncoder().encode('alive');
  assert.equal(m.client.send(cfd, msg), msg.length);
  const buf = new Uint8Array(16);
  let n = -1;
  m.sim.run(m.sim.now + 1_000_000, () => (n = c.recv(fd, buf)) > 0);
  assert.deepEqual(buf.subarray(0, n), msg);
});

test('khelp data moves by helper name: EOPNOTSUPP for a helper that cannot export, ENOENT where the helper is missing', () => {
  /** Counts the segments a connection sent and received, carried by export. */
  const counting: Helper<{ n: number }> = {
    name: 'counting',
    flags: HELPER_NEEDS_OSD,
    classes: HELPER_CLASS_TCP,
    id: 0,
    ctor: () => ({ n: 0 }),
    dexport: (d) => ({ nums: { n: d.n }, bufs: {} }),
    dimport: (x) => (typeof x.nums.n === 'number' ? { n: x.nums.n } : undefined),
    hooks: [HHOOK_TCP_EST_IN, HHOOK_TCP_EST_OUT].map((hook_id) => ({
      hook_type: HHOOK_TYPE_TCP,
      hook_id,
      hook_func: (_t: number, _i: number, _u: unknown, _c: unknown, d: unknown) => {
        (d as { n: number }).n++;
        return 0;
      },
    })),
  };
  const pinned: Helper = { ...counting, name: 'pinned', dexport: undefined, dimport: undefined, hooks: [] };
  const countingMod = khelpModule('h_counting', 'counts segments', counting as Helper);
  const pinnedMod = khelpModule('h_pinned', 'holds its data', pinned);
  countingMod.load?.();
  pinnedMod.load?.();
  try {
    const m = setup(2001, 'inet', 2, { delayUs: 100 });
    const [a, c] = m.servers as [Engine, Engine];
    countingMod.attach(a);
    pinnedMod.attach(a);
    const { cfd, sfd } = connectPair(m, 'inet', PORT);
    assert.equal(m.client.send(cfd, new Uint8Array(3000)), 3000);
    m.sim.run(m.sim.now + 1_000_000);
    const tp = a.sockets.lookup(sfd)?.so_pcb?.inp_ppcb;
    const n = (osdGet(tp?.osd ?? [], counting.id) as { n: number } | undefined)?.n ?? 0;
    assert.ok(n > 0, 'the helper counted');
    const census = a.census();
    assert.equal(a.exportConnection(sfd, m.sim.now), -ERRNO.EOPNOTSUPP, 'a helper without dexport pins it');
    assert.deepEqual(a.census(), census, 'the connection stayed whole');
    pinnedMod.detach(a);
    const x = a.exportConnection(sfd, m.sim.now) as TcpExport;
    assert.deepEqual(x.khelp, [{ name: 'counting', data: { nums: { n }, bufs: {} } }]);
    assert.equal(c.importConnection(structuredClone(x), m.sim.now), -ERRNO.ENOENT, 'the card lacks the helper');
    countingMod.attach(c);
    const bad = structuredClone(x);
    bad.khelp[0]!.data.nums = {};
    const census2 = c.census();
    assert.equal(c.importConnection(bad, m.sim.now), -ERRNO.EINVAL, 'data not of the helper’s shape');
    assert.deepEqual(c.census(), census2);
    m.active = c;
    const fd = c.importConnection(x, m.sim.now);
    assert.ok(fd >= 0);
    const tc = c.sockets.lookup(fd)?.so_pcb?.inp_ppcb;
    assert.equal((osdGet(tc?.osd ?? [], counting.id) as { n: number }).n, n, 'the count moved');
    assert.equal(m.client.send(cfd, new Uint8Array(3000)), 3000);
    m.sim.run(m.sim.now + 1_000_000);
    assert.ok((osdGet(tc?.osd ?? [], counting.id) as { n: number }).n > n, 'and goes on counting on the card');
    c.close(fd);
    m.client.close(cfd);
    settle(m);
    countingMod.detach(a);
    countingMod.detach(c);
  } finally {
    countingMod.unload?.();
    pinnedMod.unload?.();
  }
});

test('DCTCP over an ECN-marking bottleneck: ECN state and the marked fraction move with the connection', (t) => {
  const probe = setup(1, 'inet', 1, {});
  const r = probe.client.kldload('cc_dctcp');
  assert.ok(r > 0 || r === -ERRNO.EEXIST, `kldload cc_dctcp: ${r}`);
  t.after(() => probe.client.kldunload('cc_dctcp'));
  const up = 1024 * 1024;
  const down = 1024 * 1024;
  const moves = atProgress({ up, down }, [0.3, 0.5, 0.8]);
  moves[1]!.roundTrip = true;
  const { m, exports } = run({
    seed: 2101,
    family: 'inet',
    faults: { bottleneck: { rateBps: 200e6, delayUs: 200, queuePkts: 100, ecnThresholdPkts: 8 } },
    up,
    down,
    cc: 'dctcp',
    moves,
    prepare: (mm) => {
      for (const e of [mm.client, ...mm.servers]) e.sysctl.set('net.inet.tcp.ecn.enable', 1);
    },
  });
  for (const x of exports) {
    assert.ok(((x.tcpcb.t_flags as number) & TF_ECN_PERMIT) !== 0, 'ECN negotiated and moved');
    assert.equal(x.cc.name, 'dctcp');
  }
  const [a, c] = m.servers as [Engine, Engine];
  assert.ok(a.tcp.stat.tcps_ecn_ce + c.tcp.stat.tcps_ecn_ce > 0, 'the server saw CE marks');
  assert.ok(
    exports.some((x) => (x.cc.vars.alpha ?? 1) < 1),
    'alpha had moved from its start: the module state carried is live',
  );
});

test('TCP over UDP moves only to an engine tunneling on the same port (EINVAL elsewhere), then talks through it', () => {
  const TUN = 9899;
  const m = setup(2201, 'inet', 2, { delayUs: 100 });
  const [a, c] = m.servers as [Engine, Engine];
  for (const e of [m.client, a]) e.sysctl.set('net.inet.tcp.udp_tunneling_port', TUN);
  const { cfd, sfd } = connectPair(m, 'inet', PORT, (_l, cfd) => {
    assert.equal(m.client.setsockopt(cfd, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT, TUN), 0);
  });
  assert.equal(a.getsockopt(sfd, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT), TUN, 'tunneled');
  const x = a.exportConnection(sfd, m.sim.now) as TcpExport;
  assert.equal(x.udpTunnelingPort, TUN);
  const census = c.census();
  assert.equal(c.importConnection(structuredClone(x), m.sim.now), -ERRNO.EINVAL, 'the card does not tunnel');
  c.sysctl.set('net.inet.tcp.udp_tunneling_port', TUN + 1);
  assert.equal(c.importConnection(structuredClone(x), m.sim.now), -ERRNO.EINVAL, 'the card tunnels on another port');
  assert.deepEqual(c.census(), census);
  c.sysctl.set('net.inet.tcp.udp_tunneling_port', TUN);
  m.active = c;
  const fd = c.importConnection(x, m.sim.now);
  assert.ok(fd >= 0);
  const bareTcp = m.serverTs.length;
  const msg = new TextEncoder().encode('through the tunnel');
  assert.equal(c.send(fd, msg), msg.length);
  const got = new Uint8Array(64);
  let n = -1;
  m.sim.run(m.sim.now + 1_000_000, () => (n = m.client.recv(cfd, got)) > 0);
  assert.deepEqual(got.subarray(0, n), msg);
  assert.equal(m.serverTs.length, bareTcp, 'the card sent no bare TCP: all of it inside UDP');
  assert.equal(m.rsts, 0);
});
