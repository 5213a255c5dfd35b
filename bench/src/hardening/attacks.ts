/**
 * Two attacks an off-path host can make, each repeatable from a seed:
 *
 *   SYN flood   N forged SYNs from addresses that answer nothing, M legitimate connects
 *               among them: the share of legitimate connects that complete (through the
 *               syncache or, once it overflows, syncookies — tcp_syncache.c).
 *   blind       RST, SYN and data segments on the 4-tuple of an established connection with
 *               guessed sequence numbers, half inside the receive window: resets and
 *               injections achieved, and the challenge ACKs each attack segment drew
 *               (RFC 5961 §3, §4, §5; tcp_input.c; limited by tcp_ack_war_check).
 */
import { ERRNO, TCPS_ESTABLISHED as ESTABLISHED } from '@mcstack/netinet';
import { TH_ACK_FLAG as TH_ACK, TH_PUSH, TH_RST, TH_SYN } from '@mcstack/wire';
import { ETH, established, forge } from './forge.js';
import { etherPair } from './pair.js';

/** A seeded linear congruential stream (the probes' only randomness). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
}

export interface SynFloodProbe {
  forgedSyns: number;
  legitimate: number;
  /** Legitimate connects established at both ends and accepted by the server. */
  completed: number;
  /** completed / legitimate, in percent. */
  successRate: number;
  /** Server counters: SYN-ACKs carrying a cookie, cookies that came back valid, syncache overflows. */
  cookiesSent: number;
  cookiesReceived: number;
  cacheOverflows: number;
  bucketOverflows: number;
}

/**
 * `forged` SYNs to B:80 from 10.0.0.3–254 and random ports (B's answers to them go nowhere)
 * with `legitimate` connects from A spread evenly among them, 100 µs of virtual time a round.
 */
export function probeSynFlood(seed: number, forged: number, legitimate: number): SynFloodProbe {
  const p = etherPair(seed);
  const rnd = lcg(seed ^ 0x5f3759df);
  const l = p.b.e.socket('inet', 'stream');
  p.b.e.bind(l, { addr: '0.0.0.0', port: 80 });
  p.b.e.listen(l, 128);
  // A template SYN from A (and ARP resolved both ways) before the flood.
  let syn: Uint8Array | null = null;
  p.tap = (from, f) => {
    if (from === 'a' && f[ETH + 9] === 6 && syn === null) syn = f.slice();
  };
  const warm = p.a.e.socket('inet', 'stream');
  p.a.e.connect(warm, { addr: '10.0.0.2', port: 80 });
  for (let t = 0; t < 10; t++) p.pump();
  p.tap = null;
  const tpl = syn as Uint8Array | null;
  if (tpl === null) throw new Error('no SYN seen');
  for (let fd = p.b.e.accept(l); fd >= 0; fd = p.b.e.accept(l)) p.b.e.close(fd);
  p.a.e.close(warm);
  for (let t = 0; t < 10; t++) p.pump();
  // The forged sources do not exist: what B sends them (IPv4 to any host but A) is lost.
  p.b.e.output = (_ifp, f) => {
    const v4 = f[12] === 0x08 && f[13] === 0x00;
    if (!v4 || (f[ETH + 16] === 10 && f[ETH + 17] === 0 && f[ETH + 18] === 0 && f[ETH + 19] === 1))
      p.a.q.push(f.slice());
  };
  const st = p.b.e.tcp.stat;
  const before = {
    sent: st.tcps_sc_sendcookie,
    recv: st.tcps_sc_recvcookie,
    over: st.tcps_sc_cacheoverflow,
    bucket: st.tcps_sc_bucketoverflow,
  };
  const clients: number[] = [];
  let accepted = 0;
  const acceptAll = () => {
    for (let fd = p.b.e.accept(l); fd >= 0; fd = p.b.e.accept(l)) accepted++;
  };
  const per = Math.max(1, Math.floor(forged / legitimate));
  let sent = 0;
  for (let i = 0; i < legitimate; i++) {
    for (let k = 0; k < per && sent < forged; k++, sent++) {
      const r = rnd();
      const src = (10 << 24) | (3 + (r % 252));
      p.b.e.input(p.b.ifp, forge(tpl, { src, sport: 1024 + (rnd() % 64_000), seq: rnd() }), p.now);
    }
    const fd = p.a.e.socket('inet', 'stream');
    if (p.a.e.connect(fd, { addr: '10.0.0.2', port: 80 }) === -ERRNO.EINPROGRESS) clients.push(fd);
    p.pump(100);
    acceptAll();
  }
  for (; sent < forged; sent++) {
    const src = (10 << 24) | (3 + (rnd() % 252));
    p.b.e.input(p.b.ifp, forge(tpl, { src, sport: 1024 + (rnd() % 64_000), seq: rnd() }), p.now);
  }
  // Time for SYN-ACKs lost with the flood to be retransmitted (the connect's SYN too).
  for (let t = 0; t < 30_000 && accepted < clients.length; t++) {
    p.pump(1000);
    acceptAll();
  }
  let up = 0;
  for (const tp of p.a.e.tcp.tcbs) if (tp.t_state === ESTABLISHED && tp.inp.inp_fport === 80) up++;
  const completed = Math.min(up, accepted);
  return {
    forgedSyns: sent,
    legitimate,
    completed,
    successRate: (100 * completed) / legitimate,
    cookiesSent: st.tcps_sc_sendcookie - before.sent,
    cookiesReceived: st.tcps_sc_recvcookie - before.recv,
    cacheOverflows: st.tcps_sc_cacheoverflow - before.over,
    bucketOverflows: st.tcps_sc_bucketoverflow - before.bucket,
  };
}

export interface BlindAttack {
  segments: number;
  /** Segments whose sequence number fell inside B's receive window. */
  inWindow: number;
  /** Challenge ACKs B sent while this kind ran, per attack segment. */
  challengeAcks: number;
  challengeAcksPerSegment: number;
}

export interface BlindProbe {
  rst: BlindAttack;
  syn: BlindAttack;
  data: BlindAttack;
  /** The connection was reset (B's or A's end left ESTABLISHED). */
  resets: number;
  /** Bytes of forged payload B's application read. */
  injectedBytes: number;
  /** A transfer on the attacked connection afterwards arrived byte-exact. */
  survived: boolean;
}

/**
 * `n` segments in all, a third each of RST, SYN and data (ACK set, 32 bytes of 0xee), sent to
 * B on the established connection's 4-tuple with random sequence (and acknowledgment)
 * numbers, every other one inside B's receive window but never at rcv_nxt exactly (a guess
 * of the exact RST sequence is the 1 in 2^32 RFC 5961 leaves), 50 µs apart.
 */
export function probeBlind(seed: number, n: number): BlindProbe {
  const { p, last, client, server } = established(seed);
  const rnd = lcg(seed ^ 0x2545f491);
  let tp = null;
  for (const t of p.b.e.tcp.tcbs) if (t.inp.inp_lport === 80) tp = t;
  if (tp === null || server < 0) throw new Error('no established connection');
  const server_tp = tp;
  let fromB = 0;
  p.tap = (from, f) => {
    if (from === 'b' && f[ETH + 9] === 6) fromB++;
  };
  const buf = new Uint8Array(65536);
  let injectedBytes = 0;
  const kinds: [keyof Pick<BlindProbe, 'rst' | 'syn' | 'data'>, number, number][] = [
    ['rst', TH_RST, 0],
    ['syn', TH_SYN, 0],
    ['data', TH_ACK | TH_PUSH, 32],
  ];
  const out = {} as Record<'rst' | 'syn' | 'data', BlindAttack>;
  for (const [name, flags, payload] of kinds) {
    const a: BlindAttack = { segments: 0, inWindow: 0, challengeAcks: 0, challengeAcksPerSegment: 0 };
    const b0 = fromB;
    for (let i = 0; i < Math.floor(n / 3); i++) {
      const nxt = server_tp.rcv_nxt;
      const wnd = Math.max(2, server_tp.rcv_wnd);
      const inside = (i & 1) === 0;
      const seq = inside ? (nxt + 1 + (rnd() % (wnd - 1))) >>> 0 : (nxt + wnd + (rnd() % 0x7fff0000)) >>> 0;
      p.b.e.input(p.b.ifp, forge(last, { flags, seq, ack: rnd(), payload, fill: 0xee }), p.now);
      a.segments++;
      if (inside) a.inWindow++;
      for (let r = p.b.e.recv(server, buf); r > 0; r = p.b.e.recv(server, buf)) injectedBytes += r;
      p.pump(50);
    }
    a.challengeAcks = fromB - b0;
    // Each kind starts with a fresh ack_war_timewindow: the limit of one does not hide the next's.
    for (let t = 0; t < 20; t++) p.pump(100_000);
    a.challengeAcksPerSegment = a.challengeAcks / a.segments;
    out[name] = a;
  }
  p.tap = null;
  let resets = 0;
  for (const e of [p.a.e, p.b.e]) {
    let up = false;
    for (const t of e.tcp.tcbs) if (t.t_state === ESTABLISHED) up = true;
    if (!up) resets++;
  }
  // The connection still carries data both ways' worth of checking: 64 KiB A → B.
  const data = new Uint8Array(65536);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 5) & 0xff;
  let sent = 0;
  let got = 0;
  let ok = true;
  for (let t = 0; t < 5000 && got < data.length; t++) {
    if (sent < data.length) {
      const w = p.a.e.send(client, data, sent, data.length - sent);
      if (w > 0) sent += w;
    }
    for (let r = p.b.e.recv(server, buf); r > 0; r = p.b.e.recv(server, buf)) {
      for (let i = 0; i < r; i++) if (buf[i] !== data[got + i]) ok = false;
      got += r;
    }
    p.pump();
  }
  return { ...out, resets, injectedBytes, survived: ok && got === data.length };
}
