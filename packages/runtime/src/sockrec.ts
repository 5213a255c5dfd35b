/**
 * The socket-record format: what the main-thread socket API (@mcstack/api) and its
 * group-worker half (worker/sockapp.ts) write to each other over one pair of FrameRings
 * per worker (docs/architecture.md, "Rings for the data plane": no postMessage per packet):
 *
 *   down  main → worker   orders and data to send     (main produces, worker consumes)
 *   up    worker → main   events and data received    (worker produces, main consumes)
 *
 * Each slot is one record. The slot's metadata row (16 Int32, ring.ts) is read as a
 * record header instead of frame metadata: REC_LEN (= META_LEN) payload bytes, REC_OP,
 * REC_SOCK (a socket or listener id), REC_ARG, REC_ARG2, REC_ARG3. Payloads are socket data,
 * or an address as text for the rare control records.
 *
 * Both ends import this one module; neither side defines any of it again.
 */
import type { TcpExport } from '@mcstack/netinet';
import { FrameRing, META_LEN, META_WORDS } from './ring.js';

/** The module URL of the worker half (an AppSpec's `module`: the group worker imports it). */
export const SOCKAPP_MODULE = new URL('./worker/sockapp.js', import.meta.url).href;

/* ------------------------------------------------------------------ the record format */

/** Payload bytes of the record (the ring's META_LEN word). */
export const REC_LEN = META_LEN;
export const REC_OP = 1;
export const REC_SOCK = 2;
export const REC_ARG = 3;
export const REC_ARG2 = 4;
export const REC_ARG3 = 5;
export const REC_ARG4 = 6;

/* main → worker */
/** Listen (every family the stack has): sock = listener id, arg = port, arg2 = backlog, arg3 = FIB (SO_SETFIB). */
export const OP_LISTEN = 1;
/** Stop listening: sock = listener id. */
export const OP_UNLISTEN = 2;
/** Active open: sock = new socket id, arg = port, arg2 = local port to bind (0: any), arg3 = FIB; payload = host text. */
export const OP_CONNECT = 3;
/** Data to send: sock, payload. */
export const OP_DATA = 4;
/** shutdown(SHUT_WR) once the pending data is sent: sock. */
export const OP_SHUT = 5;
/** Close: sock, arg = 1 to abort (RST, SO_LINGER 0), 0 to close once pending data is sent. */
export const OP_CLOSE = 6;
/** Stop / restart reading (the main-thread stream's buffer is full / drained): sock. */
export const OP_PAUSE = 7;
export const OP_RESUME = 8;
/** Socket option: sock, arg = SOPT_*, arg2 = value, arg3 = an extra value (keepalive idle s). */
export const OP_SETOPT = 9;

/* worker → main */
/** Listen result: sock = listener id, arg = 0 or errno; payload = "addr port" bound. */
export const OP_LISTENING = 20;
/** New connection: sock = new id, arg = listener id; payload = "laddr lport faddr fport". */
export const OP_ACCEPT = 21;
/** Active open done: sock; payload = "laddr lport faddr fport". */
export const OP_CONNECTED = 22;
/* OP_DATA (4): data received: sock, payload. */
/** The peer sent FIN (recv returned 0): sock. */
export const OP_END = 23;
/** The connection failed: sock, arg = errno (positive). The id is gone on the worker side. */
export const OP_ERROR = 24;
/** Bytes of OP_DATA the engine's send buffer took since the last report: sock, arg = bytes. */
export const OP_WRITTEN = 25;
/**
 * OP_WRITTEN is sent once this many bytes were taken since the last report, not sooner.
 * The main side holds a write's callback only while more than its window is in flight
 * (queued, pending in the worker, or taken and unreported); with that window at least
 * twice this step, a held writer always has a report coming: what is unreported stays
 * below the step, so the rest (more than a step) is queued or pending, and is reported
 * as the engine takes it.
 */
export const WRITTEN_REPORT_BYTES = 64 * 1024;
/** The listener of an OP_UNLISTEN is gone (no SYN reaches it any more): sock = listener id. */
export const OP_UNLISTENED = 26;
/**
 * The connection left this worker in a live handoff (to or from the TOE card): sock, arg =
 * bytes of OP_DATA the engine took since the last OP_WRITTEN. The
 * last record of its id on this ring; what follows for it comes on the new owner's ring.
 */
export const OP_MOVED = 31;

/*
 * UDP (the node:dgram-like API). A dgram socket has one negative id for every worker: it
 * is bound in each group, as a wildcard socket is in every pcbgroup. A datagram record's
 * payload is the address as text in its first UDP_ADDR_BYTES bytes (REC_ARG3 = its length),
 * the data after them.
 */
/** Payload offset of a datagram's data (the address text before it fits: 45 bytes at most). */
export const UDP_ADDR_BYTES = 48;
/** main → worker. Bind: sock, arg = port, arg2 = family (4|6), arg3 = UDPF_*; payload = local address text ('' any). */
export const OP_UDP_BIND = 10;
/** A datagram: sock, arg = port, arg2 = family, arg3 = address length, arg4 = send id (0: no answer unless it fails). */
export const OP_UDP_SEND = 11;
/** Close the worker's socket of this id: sock. */
export const OP_UDP_CLOSE = 12;
/** Socket option: sock, arg = UOPT_*, arg2 = value. */
export const OP_UDP_SETOPT = 13;
/** worker → main. Bind result: sock, arg = 0 or errno, arg2/arg3 = the socket's SO_RCVBUF/SO_SNDBUF; payload = "addr port". */
export const OP_UDP_BOUND = 27;
/** A datagram received: sock, arg = source port, arg2 = family, arg3 = address length. */
export const OP_UDP_MSG = 28;
/** A send done: sock, arg = 0 or errno, arg2 = send id, arg3 = bytes sent. */
export const OP_UDP_SENT = 29;

/** The worker's socket of OP_UDP_CLOSE is closed and its share of the port given back: sock. */
export const OP_UDP_CLOSED = 30;

/** OP_UDP_BIND flags: SO_REUSEADDR|SO_REUSEPORT (node's reuseAddr), IPV6_V6ONLY; the socket's FIB (SO_SETFIB) from bit UDPF_FIB_SHIFT. */
export const UDPF_REUSEADDR = 1;
export const UDPF_V6ONLY = 2;
export const UDPF_FIB_SHIFT = 8;
/** OP_UDP_SETOPT options. */
export const UOPT_BROADCAST = 1;
export const UOPT_TTL = 2;
export const UOPT_RCVBUF = 3;
export const UOPT_SNDBUF = 4;
export const UOPT_TOS = 5;

/**
 * A main-thread socket's connection in a live handoff (worker/sockapp.ts handoffOut →
 * handoffIn): the engine's export and what the worker half held for it. Plain data: it
 * crosses threads by structured clone.
 */
export interface SockHandoff {
  x: TcpExport;
  /** Data the main thread sent that the old engine's send buffer had not taken yet. */
  pending: Uint8Array | null;
  /** OP_END was sent already: the new owner does not report the FIN again. */
  eof: boolean;
  /** The main thread asked the worker to stop reading. */
  paused: boolean;
  /** shutdown(SHUT_WR) waits for the pending data. */
  shut: boolean;
}

export const SOPT_NODELAY = 1;
export const SOPT_KEEPALIVE = 2;
/** TCP_NOPUSH (the TOE's host half forwards an in-worker app's; value 0 pushes what it held). */
export const SOPT_NOPUSH = 3;
/** The in-worker app behind the socket (sockstat's COMMAND on the card): payload = its name. */
export const SOPT_APP = 4;

/** Ring geometry of the socket rings (options of both sides must agree; the SAB carries it). */
export const SOCK_RING_SLOTS = 512;
export const SOCK_RING_SLOT_SIZE = 16384;

/** Options the main thread passes to the app (structured-cloned: the SABs are shared). */
export interface SockAppOptions {
  /** Per worker index: the main → worker ring. */
  down: SharedArrayBuffer[];
  /** Per worker index: the worker → main ring. */
  up: SharedArrayBuffer[];
}

/** A new ring for one direction of one worker. */
export function sockRing(): FrameRing {
  return FrameRing.create({ slots: SOCK_RING_SLOTS, slotSize: SOCK_RING_SLOT_SIZE });
}

const textEnc = new TextEncoder();
const textDec = new TextDecoder();

/** Text of a control record's payload. */
export function recText(ring: FrameRing, s: number): string {
  return textDec.decode(ring.views[s]!.subarray(0, ring.meta[s * META_WORDS + REC_LEN]!));
}

/**
 * Write one record into a reserved-and-committed slot `s` (header words and an optional
 * payload that must fit the slot).
 */
export function putRecord(
  ring: FrameRing,
  s: number,
  op: number,
  sock: number,
  arg = 0,
  arg2 = 0,
  arg3 = 0,
  payload?: Uint8Array | string,
): void {
  const b = s * META_WORDS;
  const m = ring.meta;
  let len = 0;
  if (typeof payload === 'string') {
    len = textEnc.encodeInto(payload, ring.views[s]!).written;
  } else if (payload !== undefined) {
    ring.views[s]!.set(payload);
    len = payload.length;
  }
  m[b + REC_LEN] = len;
  m[b + REC_OP] = op;
  m[b + REC_SOCK] = sock;
  m[b + REC_ARG] = arg;
  m[b + REC_ARG2] = arg2;
  m[b + REC_ARG3] = arg3;
}
