/**
 * Live handoff (netinet tcp/export.ts): connections moved per second between two engines
 * with the same addresses — the host and the TOE card. One op is one move: export from
 * the engine holding the connection, a structured clone with the buffers transferred (what
 * postMessage does between threads; the "no clone" row leaves it out), import into the
 * other. Idle: an established connection with nothing queued. Loaded: 64 KiB unsent or
 * unacknowledged and 64 KiB unread, the state a move mid-transfer carries.
 */
import { Engine, ERRNO, exportTransferList, type Ifnet, type TcpExport } from '@mcstack/netinet';
import type { MicroTask } from './index.js';

const QUEUED = 64 * 1024;

class Mover {
  private now = 1_000_000;
  private readonly engines: [Engine, Engine];
  private at = 0;
  private fd: number;

  constructor(seed: number, queued: number) {
    const mk = (x: number, addr: string): { e: Engine; ifp: Ifnet } => {
      const e = new Engine({ seed: seed + x, now: this.now });
      const ifp = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, x), mtu: 1500 });
      e.addAddr(ifp, `${addr}/24`);
      e.setUp(ifp, true);
      e.sysctl.set('net.inet.tcp.sendspace', 2 * QUEUED);
      e.sysctl.set('net.inet.tcp.recvspace', 2 * QUEUED);
      return { e, ifp };
    };
    const peer = mk(1, '10.0.0.1');
    const host = mk(2, '10.0.0.2');
    const card = mk(2, '10.0.0.2');
    peer.e.net.arp.addStatic(peer.ifp, 0x0a000002, Uint8Array.of(2, 0, 0, 0, 0, 2));
    host.e.net.arp.addStatic(host.ifp, 0x0a000001, Uint8Array.of(2, 0, 0, 0, 0, 1));
    card.e.net.arp.addStatic(card.ifp, 0x0a000001, Uint8Array.of(2, 0, 0, 0, 0, 1));
    this.engines = [host.e, card.e];
    const toHost: Uint8Array[] = [];
    const toPeer: Uint8Array[] = [];
    let wire = true;
    peer.e.output = (_i, f) => {
      if (wire) toHost.push(f.slice());
    };
    host.e.output = (_i, f) => {
      if (wire) toPeer.push(f.slice());
    };
    const pump = (): void => {
      while (toHost.length > 0 || toPeer.length > 0) {
        this.now += 10;
        for (const f of toHost.splice(0)) host.e.input(host.ifp, f, this.now);
        for (const f of toPeer.splice(0)) peer.e.input(peer.ifp, f, this.now);
      }
    };
    const l = host.e.socket('inet', 'stream');
    host.e.bind(l, { addr: '0.0.0.0', port: 5001 });
    host.e.listen(l, 4);
    const c = peer.e.socket('inet', 'stream');
    if (peer.e.connect(c, { addr: '10.0.0.2', port: 5001 }) !== -ERRNO.EINPROGRESS) throw new Error('connect');
    pump();
    this.fd = host.e.accept(l);
    if (this.fd < 0) throw new Error('accept');
    host.e.close(l);
    if (queued > 0) {
      // Unread at the host; then the wire goes down, so what the host sends stays unacknowledged.
      if (peer.e.send(c, new Uint8Array(queued)) !== queued) throw new Error('peer send');
      pump();
      // The last segment may wait for a delayed ACK to open the window.
      for (let i = 0; i < 10 && host.e.sockets.lookup(this.fd)?.so_rcv.sb_cc !== queued; i++) {
        this.now += 200_000;
        peer.e.advance(this.now);
        host.e.advance(this.now);
        pump();
      }
      wire = false;
      if (host.e.send(this.fd, new Uint8Array(queued)) !== queued) throw new Error('host send');
    }
    wire = false;
    const so = host.e.sockets.lookup(this.fd);
    if (so?.so_rcv.sb_cc !== queued || so.so_snd.sb_cc !== queued)
      throw new Error(`queued bytes ${so?.so_rcv.sb_cc} ${so?.so_snd.sb_cc}`);
  }

  /** One move to the other engine; `clone`: through a structured clone with transfer. */
  move(clone: boolean): void {
    const from = this.engines[this.at]!;
    const to = this.engines[1 - this.at]!;
    this.now += 1;
    const x = from.exportConnection(this.fd, this.now);
    if (typeof x === 'number') throw new Error(`export ${x}`);
    const y: TcpExport = clone ? structuredClone(x, { transfer: exportTransferList(x) }) : x;
    const fd = to.importConnection(y, this.now);
    if (fd < 0) throw new Error(`import ${fd}`);
    this.fd = fd;
    this.at = 1 - this.at;
  }
}

const idle = new Mover(100, 0);
const loaded = new Mover(200, QUEUED);
const loadedNoClone = new Mover(300, QUEUED);

export const tasks: MicroTask[] = [
  { name: 'tcp handoff, idle connection', unitsPerOp: 1, unit: 'moves', fn: () => idle.move(true) },
  { name: 'tcp handoff, 64 KiB each way queued', unitsPerOp: 1, unit: 'moves', fn: () => loaded.move(true) },
  {
    name: 'tcp handoff, 64 KiB each way queued, no clone',
    unitsPerOp: 1,
    unit: 'moves',
    fn: () => loadedNoClone.move(false),
  },
];
