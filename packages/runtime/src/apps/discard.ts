/** discard (RFC 863 over TCP): read and drop everything; close at EOF. */
import { ServerApp } from './server.js';

const CHUNK = 64 * 1024;

export class DiscardApp extends ServerApp {
  private readonly buf = new Uint8Array(CHUNK);
  protected opened(): void {}
  protected forget(): void {}

  protected service(fd: number): boolean {
    const e = this.ctx.engine;
    for (let i = 0; i < 16; i++) {
      if (!this.received(fd, e.recv(fd, this.buf, 0, CHUNK))) return false;
    }
    return true;
  }
}
