/** discard (RFC 863 over TCP): read and drop everything; close at EOF. */
import { ERRNO } from '@mcstack/netinet';
import { ServerApp } from './server.js';

const CHUNK = 64 * 1024;

export class DiscardApp extends ServerApp {
  private readonly buf = new Uint8Array(CHUNK);
  protected opened(): void {}
  protected forget(): void {}

  protected service(fd: number): boolean {
    const e = this.ctx.engine;
    for (let i = 0; i < 16; i++) {
      const r = e.recv(fd, this.buf, 0, CHUNK);
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
    }
    return true;
  }
}
