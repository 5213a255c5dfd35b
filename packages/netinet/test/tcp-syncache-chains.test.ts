/**
 * The SYN cache's buckets chain colliding 4-tuples. With every tuple forced into one bucket,
 * embryonic connections from many ports complete, are reset or time out independently:
 * each finds its own entry, and removal from the middle of a chain leaves the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from './tcp-harness.js';
import { SOL_SOCKET, SO_LINGER } from '../src/kern/uipc_socket.js';

test('syncache: one bucket for every tuple — handshakes complete, drops and timeouts leave the others', () => {
  const p = makePair();
  const sc = p.b.tcp.syncache as unknown as { hashOf: () => number; size: number };
  sc.hashOf = () => 7;
  const lfd = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(lfd, { addr: '10.0.0.2', port: 80 }), 0);
  assert.equal(p.b.listen(lfd, 128), 0);
  // The client's handshake ACKs for every third connection are lost: those stay embryonic.
  const N = 30;
  const fds: number[] = [];
  let synacks = 0;
  p.drop = (from, frame) => {
    // a -> b: drop the pure ACK completing the handshake of every port that is a multiple of 3.
    if (from !== 'a') {
      if ((frame[20 + 13]! & 0x12) === 0x12) synacks++;
      return false;
    }
    const sport = (frame[20]! << 8) | frame[21]!;
    const flags = frame[20 + 13]!;
    return flags === 0x10 && sport % 3 === 0 && frame.length === 20 + 32;
  };
  for (let i = 0; i < N; i++) {
    const fd = p.a.socket('inet', 'stream');
    assert.equal(p.a.bind(fd, { addr: '10.0.0.1', port: 40000 + i }), 0);
    p.a.connect(fd, { addr: '10.0.0.2', port: 80 });
    fds.push(fd);
  }
  p.run(p.now + 200_000);
  const embryonic = fds.filter((_, i) => (40000 + i) % 3 === 0).length;
  assert.equal(sc.size, embryonic, 'the entries whose ACK was lost are still cached, the rest expanded');
  let accepted = 0;
  while (p.b.accept(lfd) >= 0) accepted++;
  assert.equal(accepted, N - embryonic);
  // An RST for one embryonic connection in the middle of the chain takes out that entry only.
  const victim = fds.findIndex((_, i) => (40000 + i) % 3 === 0 && i > 10);
  p.drop = null;
  assert.equal(p.a.setsockopt(fds[victim]!, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 }), 0); // close sends RST
  p.a.close(fds[victim]!);
  p.run(p.now + 1000);
  assert.equal(sc.size, embryonic - 1);
  // The rest time out of the cache (SYN|ACK retransmissions exhausted) or complete when the
  // client retransmits: either way none is left and nothing else was touched.
  p.run(p.now + 120_000_000);
  assert.equal(sc.size, 0);
  assert.ok(synacks >= N);
});
