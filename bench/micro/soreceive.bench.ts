// net.inet.tcp.soreceive_stream: what the stream receive path saves per read. One op drains
// a full 64 KiB receive buffer of an established connection in 1000-byte reads (the
// buffer is refilled directly, the same for both paths). The generic path runs TCP's
// output routine after every read; soreceive_stream only when a window update can be due.
import { Engine } from '@mcstack/netinet';
import type { MicroTask } from './index.js';

const READS = 65;
const PIECE = 1000;

/** Two engines joined back to back, one connection, the receiver's fd and its socket. */
function setup(stream: number) {
  const tunables = { 'net.inet.tcp.soreceive_stream': stream };
  const q: { to: Engine; frame: Uint8Array }[] = [];
  const a: Engine = new Engine({ seed: 1, tunables, output: (_i, f) => q.push({ to: b, frame: f.slice() }) });
  const b: Engine = new Engine({ seed: 2, tunables, output: (_i, f) => q.push({ to: a, frame: f.slice() }) });
  for (const [e, n] of [
    [a, 1],
    [b, 2],
  ] as const) {
    e.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
    e.addAddr('tun0', `10.0.0.${n}/24`);
    e.setUp('tun0', true);
  }
  const lfd = b.socket('inet', 'stream');
  b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  b.listen(lfd, 8);
  const c = a.socket('inet', 'stream');
  a.connect(c, { addr: '10.0.0.2', port: 80 });
  for (let now = 1; q.length > 0; now++) {
    const f = q.shift()!;
    f.to.input('tun0', f.frame, now);
  }
  const fd = b.accept(lfd);
  const so = b.sockets.lookup(fd)!;
  return { b, fd, so, q };
}

const fill = new Uint8Array(READS * PIECE);
const piece = new Uint8Array(PIECE);

function task(stream: number): MicroTask {
  const { b, fd, so, q } = setup(stream);
  return {
    name: `soreceive ${stream ? 'stream' : 'generic'} (1000-byte reads)`,
    unitsPerOp: READS,
    unit: 'read',
    fn: () => {
      so.so_rcv.append(fill, 0, fill.length, so.layer.sbzone, true);
      for (let i = 0; i < READS; i++) b.recv(fd, piece);
      q.length = 0;
    },
  };
}

export const tasks: MicroTask[] = [task(0), task(1)];
