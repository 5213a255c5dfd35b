/**
 * net.inet.tcp.soreceive_stream (a loader tunable): TCP reads go through soreceive_stream
 * instead of the generic path. A bulk transfer read in small pieces delivers the same bytes
 * either way, and the receiver puts the same segments on the wire: the stream path only
 * leaves out the output runs that would have sent nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Engine } from '../src/engine.js';
import { SeededRandom } from '../src/kern/random.js';
import { establish, makePair } from './tcp-harness.js';

function transfer(stream: number) {
  const p = makePair(false, 1, 50, 1500, { tunables: { 'net.inet.tcp.soreceive_stream': stream } });
  // Count the protocol's pru_rcvd runs (each one a tcp_output pass).
  const pr = p.b.sockets.lookup(p.b.socket('inet', 'stream'))!.proto;
  assert.equal(pr.soreceive !== undefined, stream === 1, 'tcp_init swaps in soreceive_stream');
  const rcvd0 = pr.rcvd.bind(pr);
  let rcvdCalls = 0;
  pr.rcvd = (so) => {
    rcvdCalls++;
    rcvd0(so);
  };
  const { c, s } = establish(p);
  const data = new SeededRandom(7).fill(new Uint8Array(2 << 20));
  const got = new Uint8Array(data.length);
  let sent = 0;
  let rcvd = 0;
  const piece = new Uint8Array(1000);
  for (let guard = 0; rcvd < data.length && guard < 1_000_000; guard++) {
    if (sent < data.length) {
      const n = p.a.send(c, data, sent, Math.min(65536, data.length - sent));
      if (n > 0) sent += n;
    }
    for (let k = 0; k < 8; k++) {
      const n = p.b.recv(s, piece);
      if (n <= 0) break;
      got.set(piece.subarray(0, n), rcvd);
      rcvd += n;
    }
    p.run(p.now + 200);
  }
  assert.equal(rcvd, data.length);
  const st = p.b.tcp.stat;
  return {
    hash: createHash('sha256').update(got).digest('hex'),
    want: createHash('sha256').update(data).digest('hex'),
    sndtotal: st.tcps_sndtotal,
    sndacks: st.tcps_sndacks,
    winup: st.tcps_sndwinup,
    rcvdCalls,
  };
}

test('soreceive_stream: the same bytes and the same segments as the generic path', (t) => {
  const g = transfer(0);
  const s = transfer(1);
  assert.equal(g.hash, g.want);
  assert.equal(s.hash, s.want);
  t.diagnostic(`pru_rcvd runs: generic ${g.rcvdCalls}, stream ${s.rcvdCalls}; segments sent ${g.sndtotal}`);
  assert.ok(s.rcvdCalls < g.rcvdCalls / 2, `pru_rcvd ran ${s.rcvdCalls} times, generic ${g.rcvdCalls}`);
  assert.deepEqual({ ...s, rcvdCalls: 0 }, { ...g, rcvdCalls: 0 });
});

test('soreceive_stream is read at start: a later write is refused', () => {
  assert.throws(
    () => new Engine().sysctl.set('net.inet.tcp.soreceive_stream', 1),
    (e: Error & { code?: string }) => e.code === 'EPERM',
  );
  const e = new Engine();
  assert.equal(e.sockets.lookup(e.socket('inet', 'stream'))!.proto.soreceive, undefined, 'generic by default');
});
