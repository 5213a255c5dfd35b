/**
 * A stateless TCP request/response server on raw IPv4 frames: the synthetic peer's logic,
 * sans-I/O (a frame in, reply frames out through a callback), so the scaling study can
 * measure one stack against a peer far cheaper than a second stack.
 *
 * Stateless as a SYN-cookie server is: the initial sequence number is a keyed hash of the
 * 4-tuple (RFC 6528's F(), SipHash-2-4 as FreeBSD's tcp_keyed_hash), so every reply is
 * computed from the segment it answers and nothing is kept per connection:
 *
 *   SYN                   -> SYN|ACK, seq ISS, ack SEG.SEQ+1, options mirroring the SYN's
 *   ACK with data         -> ACK|PSH with the data echoed, seq SEG.ACK, ack SEG.SEQ+SEG.LEN
 *                            (|FIN, ack +1, when the data came with FIN)
 *   FIN|ACK (no data)     -> FIN|ACK, seq SEG.ACK (what the client has of ours), ack SEG.SEQ+1
 *   ACK alone, RST        -> nothing (the handshake's third ACK, the ACK of our FIN)
 *   to another port       -> RST as from a CLOSED port (RFC 9293 3.10.7.1)
 *
 * An echo starts at SEG.ACK because the client has every reply before it sends the next
 * request (crr's one transaction, rr's ping-pong). Retransmissions are answered the same
 * way again, so the peer survives loss. What it cannot do statelessly it refuses with a
 * count and a RST: a request past one segment (its start would need the client's ISN),
 * data acking nothing we sent.
 * Checksums are verified unless the frame's metadata says the "card" did (CSUM_DATA_VALID /
 * CSUM_IP_CHECKED); replies carry complete checksums. No allocation per frame.
 */
import { SipHash24 } from '@mcstack/netinet';
import {
  verifyTcpChecksum4,
  fillTcpChecksum4,
  TH_FIN,
  TH_SYN,
  TH_RST,
  TH_PUSH,
  TH_ACK_FLAG as TH_ACK,
  TCPOPT_NOP,
  TCPOPT_MAXSEG,
  TCPOPT_WINDOW,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TcpOptionScan,
  TOF_TS,
  TOF_SACKPERM,
  TOF_SCALE,
} from '@mcstack/wire';
import { ETHER_HDR_LEN, ETHERTYPE_IP } from '@mcstack/wire';
import { IPPROTO_TCP } from '@mcstack/wire';
import { internetChecksum } from '@mcstack/wire';
import { get16, get32, set32 as put32 } from '@mcstack/wire';
import { seqGt } from '@mcstack/wire';
import { CSUM_DATA_VALID, CSUM_IP_CHECKED, CSUM_IP_VALID } from '@mcstack/netinet';

const ETH = ETHER_HDR_LEN;
/** Our MSS (an Ethernet MTU's worth) and receive window (unscaled: we send shift 0). */
const PEER_MSS = 1460;
const PEER_WINDOW = 65535;
const MAX_FRAME = 2048;

/** What the responder counted (netstat -s words where they exist). */
export interface ResponderStats {
  /** Frames given to input(). */
  ipackets: number;
  /** Frames sent. */
  opackets: number;
  /** SYNs answered with SYN|ACK (retransmitted SYNs included). */
  syns: number;
  /** Requests answered (data segments echoed). */
  requests: number;
  /** FINs answered with FIN|ACK. */
  fins: number;
  /** Resets sent: to a closed port, to an unexpected ACK, to an unsupported request. */
  rstsOut: number;
  /** Resets received. */
  rstsIn: number;
  /** Frames with a bad IP header or TCP checksum (tcps_rcvbadsum, ips_badsum). */
  badsum: number;
  /** Frames too short or inconsistent to parse (ips_badlen, tcps_rcvbadoff). */
  malformed: number;
  /** Frames not for us: other ethertypes, protocols or addresses, fragments. */
  ignored: number;
  /** Requests larger than one segment, or data acking nothing we sent. */
  unsupported: number;
}

export interface ResponderOptions {
  /** Our IPv4 address. */
  addr: Uint8Array;
  /** Our MAC. */
  mac: Uint8Array;
  /** The port served. */
  port: number;
  /** Key of the ISN hash (16 bytes). */
  key: Uint8Array;
}

/** The scratch tuple for the ISN hash: fport, lport, faddr, laddr (tcp_keyed_hash's order). */
const tuple = new Uint8Array(12);

export class StatelessResponder {
  readonly stats: ResponderStats = {
    ipackets: 0,
    opackets: 0,
    syns: 0,
    requests: 0,
    fins: 0,
    rstsOut: 0,
    rstsIn: 0,
    badsum: 0,
    malformed: 0,
    ignored: 0,
    unsupported: 0,
  };
  private readonly addr: Uint8Array;
  private readonly mac: Uint8Array;
  private readonly port: number;
  private readonly isn: SipHash24;
  private readonly out: Uint8Array = new Uint8Array(MAX_FRAME);
  /** Views of `out` by length, so a reply is handed over without allocating one. */
  private readonly views: Uint8Array[] = [];
  private ipId = 0;
  /** Options of the segment being answered. */
  private readonly opt = new TcpOptionScan();

  constructor(
    o: ResponderOptions,
    private readonly send: (frame: Uint8Array) => void,
  ) {
    if (o.addr.length !== 4) throw new RangeError('the responder serves IPv4 only');
    this.addr = o.addr;
    this.mac = o.mac;
    this.port = o.port;
    this.isn = new SipHash24(o.key);
  }

  /**
   * One received Ethernet frame; `csumFlags` the receive metadata (what the card verified);
   * `nowMs` the clock our timestamps come from. Replies go out through `send` before this returns.
   */
  input(f: Uint8Array, len: number, csumFlags: number, nowMs: number): void {
    const s = this.stats;
    s.ipackets++;
    if (len < ETH + 20) {
      s.malformed++;
      return;
    }
    if (get16(f, 12) !== ETHERTYPE_IP) {
      s.ignored++;
      return;
    }
    const ip = ETH;
    const vhl = f[ip]!;
    const hl = (vhl & 0x0f) * 4;
    const total = get16(f, ip + 2);
    if (vhl >> 4 !== 4 || hl < 20 || total < hl + 20 || ip + total > len) {
      s.malformed++;
      return;
    }
    if (
      f[ip + 9] !== IPPROTO_TCP ||
      f[ip + 16] !== this.addr[0] ||
      f[ip + 17] !== this.addr[1] ||
      f[ip + 18] !== this.addr[2] ||
      f[ip + 19] !== this.addr[3]
    ) {
      s.ignored++;
      return;
    }
    // A fragment (MF or an offset): reassembly is more than a responder does.
    if ((get16(f, ip + 6) & 0x3fff) !== 0) {
      s.ignored++;
      return;
    }
    if (
      (csumFlags & (CSUM_IP_CHECKED | CSUM_IP_VALID)) !== (CSUM_IP_CHECKED | CSUM_IP_VALID) &&
      internetChecksum(f, ip, hl) !== 0
    ) {
      s.badsum++;
      return;
    }
    const th = ip + hl;
    const tlen = total - hl;
    const off = (f[th + 12]! >> 4) * 4;
    if (off < 20 || off > tlen) {
      s.malformed++;
      return;
    }
    if ((csumFlags & CSUM_DATA_VALID) === 0 && !verifyTcpChecksum4(f, ip, th, tlen)) {
      s.badsum++;
      return;
    }
    const flags = f[th + 13]!;
    // tcp_dooptions: a malformed option ends the scan, as in FreeBSD; what came before counts.
    this.opt.scan(f, th + 20, th + off, (flags & TH_SYN) !== 0);
    const sport = get16(f, th);
    const dport = get16(f, th + 2);
    const seq = get32(f, th + 4);
    const ack = get32(f, th + 8);
    const dlen = tlen - off;
    if ((flags & TH_RST) !== 0) {
      s.rstsIn++;
      return;
    }
    const seglen = dlen + ((flags & TH_SYN) !== 0 ? 1 : 0) + ((flags & TH_FIN) !== 0 ? 1 : 0);
    if (dport !== this.port) {
      // RFC 9293 3.10.7.1 (CLOSED): <SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
      if ((flags & TH_ACK) !== 0) this.reply(f, ack, 0, TH_RST, 0, 0, nowMs, false);
      else this.reply(f, 0, (seq + seglen) >>> 0, TH_RST | TH_ACK, 0, 0, nowMs, false);
      s.rstsOut++;
      return;
    }
    const iss = this.iss(f, ip, sport, dport);
    if ((flags & TH_SYN) !== 0) {
      if ((flags & TH_ACK) !== 0) {
        this.reply(f, ack, 0, TH_RST, 0, 0, nowMs, false);
        s.rstsOut++;
        return;
      }
      this.reply(f, iss, (seq + 1) >>> 0, TH_SYN | TH_ACK, 0, 0, nowMs, true);
      s.syns++;
      return;
    }
    // RFC 9293 3.10.7.4: a segment without ACK is dropped.
    if ((flags & TH_ACK) === 0) {
      s.ignored++;
      return;
    }
    if (dlen > 0) {
      // The client has every reply before it sends its next request (crr and rr ping-pong
      // alike), so what it acks is where our echo starts. An ack at or before ISS acks
      // nothing we sent; a request past one segment would need its start (the client's ISN).
      if (!seqGt(ack, iss) || dlen > PEER_MSS) {
        this.reply(f, ack, 0, TH_RST, 0, 0, nowMs, false);
        s.unsupported++;
        s.rstsOut++;
        return;
      }
      const fin = (flags & TH_FIN) !== 0 ? 1 : 0;
      this.reply(
        f,
        ack,
        (seq + dlen + fin) >>> 0,
        TH_ACK | TH_PUSH | (fin !== 0 ? TH_FIN : 0),
        th + off,
        dlen,
        nowMs,
        false,
      );
      s.requests++;
      return;
    }
    if ((flags & TH_FIN) !== 0) {
      this.reply(f, ack, (seq + 1) >>> 0, TH_FIN | TH_ACK, 0, 0, nowMs, false);
      s.fins++;
    }
  }

  private iss(f: Uint8Array, ip: number, sport: number, dport: number): number {
    tuple[0] = sport >>> 8;
    tuple[1] = sport;
    tuple[2] = dport >>> 8;
    tuple[3] = dport;
    for (let i = 0; i < 4; i++) {
      tuple[4 + i] = f[ip + 12 + i]!;
      tuple[8 + i] = f[ip + 16 + i]!;
    }
    return this.isn.hash32(tuple, 0, 12);
  }

  /**
   * Build and send the reply to frame `f`: addresses and ports swapped, the given sequence
   * numbers and flags, `dlen` bytes of `f` from `data` as payload, options as the
   * connection has them (the SYN|ACK's mirror the SYN's).
   */
  private reply(
    f: Uint8Array,
    seq: number,
    ack: number,
    flags: number,
    data: number,
    dlen: number,
    nowMs: number,
    synAck: boolean,
  ): void {
    const o = this.out;
    o.set(f.subarray(6, 12), 0);
    o.set(this.mac, 6);
    o[12] = ETHERTYPE_IP >> 8;
    o[13] = ETHERTYPE_IP & 0xff;
    // Both frames' IP headers start at ETH; ours has no options.
    const ip = ETH;
    const fth = ip + (f[ip]! & 0x0f) * 4;
    const th = ip + 20;
    let p = th + 20;
    const opt = this.opt;
    const ts = (opt.flags & TOF_TS) !== 0;
    if ((flags & TH_RST) === 0) {
      if (synAck) {
        o[p++] = TCPOPT_MAXSEG;
        o[p++] = 4;
        o[p++] = PEER_MSS >> 8;
        o[p++] = PEER_MSS & 0xff;
        if ((opt.flags & TOF_SCALE) !== 0) {
          o[p++] = TCPOPT_NOP;
          o[p++] = TCPOPT_WINDOW;
          o[p++] = 3;
          o[p++] = 0;
        }
        if ((opt.flags & TOF_SACKPERM) !== 0) {
          if (!ts) {
            o[p++] = TCPOPT_NOP;
            o[p++] = TCPOPT_NOP;
          }
          o[p++] = TCPOPT_SACK_PERMITTED;
          o[p++] = 2;
        } else if (ts) {
          o[p++] = TCPOPT_NOP;
          o[p++] = TCPOPT_NOP;
        }
      } else if (ts) {
        o[p++] = TCPOPT_NOP;
        o[p++] = TCPOPT_NOP;
      }
      // RFC 7323 3.2: once negotiated, every segment but a RST carries TSval and TSecr.
      if (ts) {
        o[p++] = TCPOPT_TIMESTAMP;
        o[p++] = 10;
        put32(o, p, nowMs >>> 0);
        put32(o, p + 4, opt.tsVal);
        p += 8;
      }
    }
    const hlen = p - th;
    for (let i = 0; i < dlen; i++) o[p + i] = f[data + i]!;
    const tlen = hlen + dlen;
    const total = 20 + tlen;
    // IPv4 header: DF, TTL 64, addresses swapped.
    o[ip] = 0x45;
    o[ip + 1] = 0;
    o[ip + 2] = total >> 8;
    o[ip + 3] = total & 0xff;
    this.ipId = (this.ipId + 1) & 0xffff;
    o[ip + 4] = this.ipId >> 8;
    o[ip + 5] = this.ipId & 0xff;
    o[ip + 6] = 0x40;
    o[ip + 7] = 0;
    o[ip + 8] = 64;
    o[ip + 9] = IPPROTO_TCP;
    o[ip + 10] = 0;
    o[ip + 11] = 0;
    for (let i = 0; i < 4; i++) {
      o[ip + 12 + i] = f[ip + 16 + i]!;
      o[ip + 16 + i] = f[ip + 12 + i]!;
    }
    const sum = internetChecksum(o, ip, 20);
    o[ip + 10] = sum >> 8;
    o[ip + 11] = sum & 0xff;
    // TCP header: ports swapped.
    o[th] = f[fth + 2]!;
    o[th + 1] = f[fth + 3]!;
    o[th + 2] = f[fth]!;
    o[th + 3] = f[fth + 1]!;
    put32(o, th + 4, seq);
    put32(o, th + 8, ack);
    o[th + 12] = (hlen / 4) << 4;
    o[th + 13] = flags;
    const win = (flags & TH_RST) !== 0 ? 0 : PEER_WINDOW;
    o[th + 14] = win >> 8;
    o[th + 15] = win & 0xff;
    o[th + 16] = 0;
    o[th + 17] = 0;
    o[th + 18] = 0;
    o[th + 19] = 0;
    fillTcpChecksum4(o, ip, th, tlen);
    const n = ETH + total;
    const v = (this.views[n] ??= o.subarray(0, n));
    this.stats.opackets++;
    this.send(v);
  }
}
