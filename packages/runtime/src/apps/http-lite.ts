/**
 * http-lite: a small HTTP/1.1 server (RFC 9112) for benchmarks and first tries. `GET /`
 * answers a page saying what it is and what it serves; `GET /<n>` answers n bytes of 'x';
 * HEAD answers the same headers without the body; another path is a 404, another method a
 * 405, a request it cannot parse a 400 (and the connection closes). Connections persist
 * (RFC 9112 §9.3: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
 * `Connection: keep-alive`) and requests may be pipelined.
 *
 * Writes are what nginx does against the Nagle/delayed-ACK stall: TCP_NODELAY on each
 * connection, header and body in one writev (one segment where they fit), and a body that
 * takes several writes sent under TCP_NOPUSH, cleared after its last byte so the tail
 * leaves at once instead of as a short segment after every write.
 */
import { ERRNO, IPPROTO_TCP, TCP_NODELAY, TCP_NOPUSH } from '@mcstack/netinet';
import { ServerApp } from './server.js';

/** A response in progress: header, then a fixed body or `xs` bytes of 'x'. */
interface Conn {
  req: Uint8Array;
  reqLen: number;
  hdr: Uint8Array | null;
  hdrOff: number;
  fixed: Uint8Array | null;
  fixedOff: number;
  xs: number;
  corked: boolean;
  close: boolean;
}

const REQ_MAX = 8192;
const BODY = new Uint8Array(64 * 1024).fill(0x78);
const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();
const SERVER = 'Server: mcstack-http-lite\r\n';

/** What `GET /` answers. */
export const HTTP_LITE_INDEX = `mcstack http-lite: a small HTTP/1.1 server running inside mcstack's
group workers (userspace TCP/IP modeled on FreeBSD's stack).

  GET /       this page
  GET /<n>    n bytes of 'x' (0 <= n <= 999999999), e.g. /0, /128, /16384, /1048576
  HEAD        either, headers only

Connections persist (HTTP/1.1 keep-alive) and requests may be pipelined.
Try:  curl -v http://ADDR/128    wrk -c 50 -d 5 http://ADDR/0
`;
const INDEX = enc.encode(HTTP_LITE_INDEX);
const NOT_FOUND = enc.encode('Not found. GET / lists the paths this server serves.\n');
const NOT_ALLOWED = enc.encode('Only GET and HEAD are served here.\n');
const BAD = enc.encode('Bad request.\n');

/** A response header (the status line, Server, Content-Type for fixed pages, Content-Length). */
function header(status: string, length: number, type: string | null, extra = ''): string {
  const ct = type === null ? '' : `Content-Type: ${type}\r\n`;
  return `HTTP/1.1 ${status}\r\n${SERVER}${ct}Content-Length: ${length}\r\n${extra}\r\n`;
}

/** The header of a `GET /<n>` answer on a persistent connection (what clients count on byte for byte). */
export function httpLiteHeader(n: number): string {
  return header('200 OK', n, null);
}

const REQUEST_LINE = /^([A-Z]+) (\/[^ ?#]*)(?:[?#][^ ]*)? HTTP\/1\.([01])\r\n/;
const CONNECTION = /\r\nconnection:[ \t]*([^\r]*)\r\n/i;

export class HttpLiteApp extends ServerApp {
  private readonly conns = new Map<number, Conn>();
  private readonly sized = new Map<number, Uint8Array>();
  private readonly iov: Uint8Array[] = [EMPTY, EMPTY];
  private readonly iovLen: number[] = [0, 0];
  private requests = 0;
  private notFound = 0;

  protected opened(fd: number): void {
    // nginx's tcp_nodelay for keep-alive connections: a response's last short segment
    // never waits for the ACK of the one before (which Linux and FreeBSD delay).
    this.ctx.engine.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    this.conns.set(fd, {
      req: new Uint8Array(REQ_MAX),
      reqLen: 0,
      hdr: null,
      hdrOff: 0,
      fixed: null,
      fixedOff: 0,
      xs: 0,
      corked: false,
      close: false,
    });
  }

  protected forget(fd: number): void {
    this.conns.delete(fd);
  }

  /** The header of a `/<n>` answer on a persistent connection, cached for the sizes in use. */
  private forSize(n: number): Uint8Array {
    let h = this.sized.get(n);
    if (h === undefined) {
      h = enc.encode(httpLiteHeader(n));
      if (this.sized.size < 1024) this.sized.set(n, h);
    }
    return h;
  }

  protected service(fd: number): boolean {
    const c = this.conns.get(fd);
    if (c === undefined) return false;
    const e = this.ctx.engine;
    for (let turn = 0; turn < 16; turn++) {
      if (c.hdr !== null) {
        const w = this.write(fd, c);
        if (w === -ERRNO.EAGAIN) return false;
        if (w < 0) {
          this.finish(fd, w);
          return false;
        }
        if (c.hdr !== null) return false; // short write: POLLOUT lists it again
        if (c.close) {
          this.finish(fd);
          return false;
        }
      }
      // The next request: one already buffered (pipelined), else read more.
      if (this.nextRequest(c)) continue;
      if (c.reqLen >= REQ_MAX) {
        this.respond(c, '400 Bad Request', BAD, true);
        continue;
      }
      const r = e.recv(fd, c.req, c.reqLen, REQ_MAX - c.reqLen);
      if (!this.received(fd, r)) return false;
      c.reqLen += r;
    }
    return true;
  }

  /**
   * Write what the response has left, header and body in one writev; a body of several
   * writes goes under TCP_NOPUSH, cleared once its last byte is queued. Bytes or -errno.
   */
  private write(fd: number, c: Conn): number {
    const e = this.ctx.engine;
    let total = 0;
    for (;;) {
      const hdr = c.hdr!;
      const iov = this.iov;
      const lens = this.iovLen;
      let n = 0;
      if (c.hdrOff < hdr.length) {
        iov[n] = c.hdrOff === 0 ? hdr : hdr.subarray(c.hdrOff);
        lens[n] = hdr.length - c.hdrOff;
        n++;
      }
      if (c.fixed !== null && c.fixedOff < c.fixed.length) {
        iov[n] = c.fixedOff === 0 ? c.fixed : c.fixed.subarray(c.fixedOff);
        lens[n] = c.fixed.length - c.fixedOff;
        n++;
      } else if (c.fixed === null && c.xs > 0) {
        iov[n] = BODY;
        lens[n] = Math.min(c.xs, BODY.length);
        n++;
      }
      if (n === 0) break;
      if (c.xs > BODY.length && !c.corked) {
        e.setsockopt(fd, IPPROTO_TCP, TCP_NOPUSH, 1);
        c.corked = true;
      }
      const w = n === 1 ? e.send(fd, iov[0]!, 0, lens[0]) : e.sendv(fd, iov, lens);
      if (w < 0) return total > 0 && w === -ERRNO.EAGAIN ? total : w;
      total += w;
      this.st.bytesOut += w;
      let left = w;
      const h = Math.min(left, hdr.length - c.hdrOff);
      c.hdrOff += h;
      left -= h;
      if (c.fixed !== null) c.fixedOff += left;
      else c.xs -= left;
    }
    c.hdr = null;
    c.fixed = null;
    if (c.corked) {
      c.corked = false;
      e.setsockopt(fd, IPPROTO_TCP, TCP_NOPUSH, 0);
    }
    return total;
  }

  /** Queue a response with a fixed body (no body for HEAD). */
  private respond(c: Conn, status: string, body: Uint8Array, close: boolean, head = false, extra = ''): void {
    const conn = close ? 'Connection: close\r\n' : '';
    c.hdr = enc.encode(header(status, body.length, 'text/plain; charset=utf-8', conn + extra));
    c.hdrOff = 0;
    c.fixed = head ? null : body;
    c.fixedOff = 0;
    c.xs = 0;
    c.close = close;
  }

  /** Parse one complete request from the buffer into a pending response. */
  private nextRequest(c: Conn): boolean {
    const b = c.req;
    let end = -1;
    for (let i = 3; i < c.reqLen; i++) {
      if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) {
        end = i + 1;
        break;
      }
    }
    if (end < 0) return false;
    const text = Buffer.from(b.buffer, b.byteOffset, end).toString('latin1');
    b.copyWithin(0, end, c.reqLen);
    c.reqLen -= end;
    this.requests++;
    const m = REQUEST_LINE.exec(text);
    if (m === null) {
      this.respond(c, '400 Bad Request', BAD, true);
      return true;
    }
    const method = m[1]!;
    const path = m[2]!;
    // RFC 9112 §9.3: persistence by version and the Connection header's tokens.
    const tokens = (CONNECTION.exec(text)?.[1] ?? '').toLowerCase();
    const close = m[3] === '1' ? /\bclose\b/.test(tokens) : !/\bkeep-alive\b/.test(tokens);
    const keep = m[3] === '0' && !close ? 'Connection: keep-alive\r\n' : '';
    if (method !== 'GET' && method !== 'HEAD') {
      // A body we do not read would desynchronise the stream: answer and close.
      this.respond(c, '405 Method Not Allowed', NOT_ALLOWED, true, false, 'Allow: GET, HEAD\r\n');
      return true;
    }
    const head = method === 'HEAD';
    if (path === '/') {
      this.respond(c, '200 OK', INDEX, close, head, keep);
      return true;
    }
    const sized = /^\/(\d{1,9})$/.exec(path);
    if (sized === null) {
      this.notFound++;
      this.respond(c, '404 Not Found', NOT_FOUND, close, head, keep);
      return true;
    }
    const n = Number(sized[1]);
    c.hdr =
      close || keep !== ''
        ? enc.encode(header('200 OK', n, null, close ? 'Connection: close\r\n' : keep))
        : this.forSize(n);
    c.hdrOff = 0;
    c.fixed = null;
    c.xs = head ? 0 : n;
    c.close = close;
    return true;
  }

  override stats(): Record<string, number> {
    return { ...super.stats(), requests: this.requests, notFound: this.notFound };
  }
}
