/**
 * Bulk TCP between two engines over a function-call wire (Ethernet with static ARP, 1 MiB
 * socket buffers), for the micro-benchmarks that price a hook on the packet path: one
 * `move()` sends CHUNK bytes (about 180 segments and their ACKs) and reads them at the
 * receiver. `prepare` sets both engines up before the connection (a helper, a filter).
 */
import { Engine, ERRNO, type Ifnet } from '@mcstack/netinet';

export const CHUNK = 256 * 1024;

interface Host {
  e: Engine;
  cx: Ifnet;
  q: Uint8Array[];
}

export class Bulk {
  private now = 1_000_000;
  private readonly a: Host;
  private readonly b: Host;
  private readonly c: number;
  private readonly s: number;
  private readonly data = new Uint8Array(CHUNK);
  private readonly buf = new Uint8Array(65536);

  constructor(seed: number, prepare?: (a: Engine, b: Engine) => void) {
    const mk = (x: number): Host => {
      const e = new Engine({ seed: seed + x, now: this.now });
      const cx = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, x), mtu: 1500 });
      e.addAddr(cx, `10.0.0.${x}/24`);
      e.setUp(cx, true);
      e.net.arp.addStatic(cx, 0x0a000000 | (3 - x), Uint8Array.of(2, 0, 0, 0, 0, 3 - x));
      e.sysctl.set('net.inet.tcp.sendspace', 1 << 20);
      e.sysctl.set('net.inet.tcp.recvspace', 1 << 20);
      return { e, cx, q: [] };
    };
    this.a = mk(1);
    this.b = mk(2);
    const { a, b } = this;
    prepare?.(a.e, b.e);
    a.e.output = (_i, f) => {
      b.q.push(f.slice());
    };
    b.e.output = (_i, f) => {
      a.q.push(f.slice());
    };
    const l = b.e.socket('inet', 'stream');
    b.e.bind(l, { addr: '0.0.0.0', port: 5001 });
    b.e.listen(l, 4);
    this.c = a.e.socket('inet', 'stream');
    if (a.e.connect(this.c, { addr: '10.0.0.2', port: 5001 }) !== -ERRNO.EINPROGRESS) throw new Error('connect');
    this.pump();
    this.s = b.e.accept(l);
    if (this.s < 0) throw new Error('accept');
  }

  private pump(): void {
    const { a, b } = this;
    while (a.q.length > 0 || b.q.length > 0) {
      this.now += 10;
      for (const f of b.q.splice(0)) b.e.input(b.cx, f, this.now);
      for (const f of a.q.splice(0)) a.e.input(a.cx, f, this.now);
    }
  }

  /** Send CHUNK bytes and read them at the other end. */
  move(): void {
    let sent = 0;
    let got = 0;
    while (got < CHUNK) {
      if (sent < CHUNK) {
        const w = this.a.e.send(this.c, this.data, sent, CHUNK - sent);
        if (w > 0) sent += w;
      }
      this.pump();
      for (let r = this.b.e.recv(this.s, this.buf); r > 0; r = this.b.e.recv(this.s, this.buf)) got += r;
      if (sent === CHUNK && got < CHUNK) {
        this.now += 200_000;
        this.a.e.advance(this.now);
        this.b.e.advance(this.now);
      }
    }
  }
}
