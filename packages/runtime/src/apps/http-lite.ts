/**
 * http-lite: an HTTP/1.1-like request/response server for benchmarks. A request is a
 * header block ending in CRLF CRLF whose request line is `GET /<n> HTTP/1.1`; the response
 * is `HTTP/1.1 200 OK\r\nContent-Length: <n>\r\n\r\n` and n body bytes. Connections are
 * kept alive (requests may be pipelined) unless the request has `Connection: close`;
 * a malformed request gets a 400 and the connection is closed.
 */
import { ERRNO } from '@mcstack/netinet';
import { ServerApp } from './server.js';

interface Conn {
  req: Uint8Array;
  reqLen: number;
  hdr: Uint8Array | null;
  hdrOff: number;
  body: number;
  close: boolean;
}

const REQ_MAX = 8192;
const BODY = new Uint8Array(64 * 1024).fill(0x78);
const BAD = new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');

/** The response header for a body of n bytes (what clients expect byte for byte). */
export function httpLiteHeader(n: number): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`;
}

export class HttpLiteApp extends ServerApp {
  private readonly conns = new Map<number, Conn>();
  private readonly headers = new Map<number, Uint8Array>();
  private requests = 0;

  protected opened(fd: number): void {
    this.conns.set(fd, { req: new Uint8Array(REQ_MAX), reqLen: 0, hdr: null, hdrOff: 0, body: 0, close: false });
  }

  protected forget(fd: number): void {
    this.conns.delete(fd);
  }

  private header(n: number): Uint8Array {
    let h = this.headers.get(n);
    if (h === undefined) {
      h = new TextEncoder().encode(httpLiteHeader(n));
      if (this.headers.size < 1024) this.headers.set(n, h);
    }
    return h;
  }

  protected service(fd: number): boolean {
    const c = this.conns.get(fd);
    if (c === undefined) return false;
    const e = this.ctx.engine;
    for (let turn = 0; turn < 16; turn++) {
      // Finish the response in progress.
      while (c.hdr !== null && c.hdrOff < c.hdr.length) {
        const w = e.send(fd, c.hdr, c.hdrOff, c.hdr.length - c.hdrOff);
        if (w === -ERRNO.EAGAIN) return false;
        if (w < 0) {
          this.finish(fd, w);
          return false;
        }
        c.hdrOff += w;
        this.st.bytesOut += w;
      }
      while (c.body > 0) {
        const w = e.send(fd, BODY, 0, Math.min(c.body, BODY.length));
        if (w === -ERRNO.EAGAIN) return false;
        if (w < 0) {
          this.finish(fd, w);
          return false;
        }
        c.body -= w;
        this.st.bytesOut += w;
      }
      c.hdr = null;
      if (c.close) {
        this.finish(fd);
        return false;
      }
      // The next request: one already buffered (pipelined), else read more.
      if (this.nextRequest(c)) continue;
      if (c.reqLen >= REQ_MAX) {
        c.hdr = BAD;
        c.hdrOff = 0;
        c.close = true;
        continue;
      }
      const r = e.recv(fd, c.req, c.reqLen, REQ_MAX - c.reqLen);
      if (r === -ERRNO.EAGAIN) return false;
      if (r === 0) {
        this.finish(fd);
        return false;
      }
      if (r < 0) {
        this.finish(fd, r);
        return false;
      }
      this.st.bytesIn += r;
      c.reqLen += r;
    }
    return true;
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
    const m = /^GET \/(\d{1,9}) HTTP\/1\.[01]\r\n/.exec(text);
    b.copyWithin(0, end, c.reqLen);
    c.reqLen -= end;
    this.requests++;
    if (m === null) {
      c.hdr = BAD;
      c.hdrOff = 0;
      c.close = true;
      return true;
    }
    const n = Number(m[1]);
    c.hdr = this.header(n);
    c.hdrOff = 0;
    c.body = n;
    c.close = /\r\nconnection:\s*close\r\n/i.test(text);
    return true;
  }

  override stats(): Record<string, number> {
    return { ...super.stats(), requests: this.requests };
  }
}
