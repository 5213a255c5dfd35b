/** echo (RFC 862 over TCP): every byte read is written back; close after EOF once all is sent. */
import { ERRNO } from '@mcstack/netinet';
import { ServerApp } from './server.js';

interface Conn {
  pend: Uint8Array | null;
  off: number;
  len: number;
}

const CHUNK = 64 * 1024;

export class EchoApp extends ServerApp {
  private readonly conns = new Map<number, Conn>();
  private readonly buf = new Uint8Array(CHUNK);

  protected opened(fd: number): void {
    this.conns.set(fd, { pend: null, off: 0, len: 0 });
  }

  protected forget(fd: number): void {
    this.conns.delete(fd);
  }

  protected service(fd: number): boolean {
    const c = this.conns.get(fd);
    if (c === undefined) return false;
    const e = this.ctx.engine;
    if (c.len > 0) {
      const w = e.send(fd, c.pend!, c.off, c.len);
      if (w === -ERRNO.EAGAIN) return false;
      if (w < 0) {
        this.finish(fd, w);
        return false;
      }
      c.off += w;
      c.len -= w;
      this.st.bytesOut += w;
      if (c.len > 0) return false; // the POLLOUT upcall lists it again
    }
    for (let i = 0; i < 8; i++) {
      const r = e.recv(fd, this.buf, 0, CHUNK);
      // EOF is read only once nothing is pending (that returned above): it closes at once.
      if (!this.received(fd, r)) return false;
      let w = e.send(fd, this.buf, 0, r);
      if (w === -ERRNO.EAGAIN) w = 0;
      if (w < 0) {
        this.finish(fd, w);
        return false;
      }
      this.st.bytesOut += w;
      if (w < r) {
        c.pend ??= new Uint8Array(CHUNK);
        c.pend.set(this.buf.subarray(w, r));
        c.off = 0;
        c.len = r - w;
        return false;
      }
    }
    return true;
  }
}
