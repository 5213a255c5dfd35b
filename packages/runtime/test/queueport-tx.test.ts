/**
 * A native queue's transmit order (links/queueport.ts): segments joined into a GSO frame,
 * pure ACKs held for the ACK filter, and everything else leave in the order the engine
 * sent them — a held ACK's newer timestamp ahead of earlier data would have the peer drop
 * that data by PAWS (RFC 7323 §5). The queue writes to a file here: each write(2) is a
 * virtio-net header and a frame, read back in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newFrameMeta, CSUM_TCP, CSUM_IP, CSUM_TSO, IFCAP_TSO4, IFCAP_TXCSUM, type Ifnet } from '@mcstack/netinet';
import { QueuePort, queueStatsSab, queueStats, vtnetTxOffload, native, type LinkTx } from '@mcstack/runtime';
import { buildFrame } from './frames.js';

const HDR = 10;
const L4 = 14 + 20;
const status = native.nativeStatus();
const skip = status.ok ? false : `needs koffi's native library: ${status.reason}`;

/** An IPv4 segment of the connection 40000 -> 9: `payload` bytes at `seq`, acknowledging `ack`. */
function seg(seq: number, ack: number, payload: number): Uint8Array {
  const f = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 9, payload }).slice();
  const v = new DataView(f.buffer);
  v.setUint32(L4 + 4, seq);
  v.setUint32(L4 + 8, ack);
  f[L4 + 13] = 0x10;
  f[L4 + 14] = 0x10;
  return f;
}

/** The frames in `bytes` (what a queue wrote): [seq, ack, payload length, GSO size] each. */
function written(bytes: Uint8Array): number[][] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: number[][] = [];
  for (let o = 0; o < b.length; ) {
    const gso = b.readUInt16LE(o + 4);
    const f = o + HDR;
    const total = b.readUInt16BE(f + 14 + 2);
    out.push([b.readUInt32BE(f + L4 + 4), b.readUInt32BE(f + L4 + 8), total - 40, gso]);
    o = f + 14 + total;
  }
  return out;
}

/** A QueuePort writing to a fresh file; `fn` sends, the file's bytes and the counters come back. */
function withPort(fn: (port: QueuePort) => void): { bytes: Uint8Array; stats: ReturnType<typeof queueStats> } {
  const dir = mkdtempSync(join(tmpdir(), 'mcs-qp-'));
  const path = join(dir, 'queue');
  const fd = native.libc.open(path, native.libc.O_WRONLY | native.libc.O_CREAT | native.libc.O_TRUNC, 0o600);
  const stats = queueStatsSab(1);
  try {
    fn(
      new QueuePort({
        kind: 'tap',
        fd,
        stats,
        hdrSize: HDR,
        worker: 0,
        own: new Uint16Array(128),
        hops: { producers: [] } as unknown as LinkTx,
        ifp: { capenable: IFCAP_TSO4 | IFCAP_TXCSUM } as Ifnet,
        input: () => {},
      }),
    );
    return { bytes: new Uint8Array(readFileSync(path)), stats: queueStats(stats) };
  } finally {
    native.libc.close(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('QueuePort.tx: a large TSO frame goes by writev from where the engine built it, the same bytes as a copy', {
  skip,
}, () => {
  const tso = newFrameMeta();
  tso.csumFlags = CSUM_TSO | CSUM_TCP | CSUM_IP;
  tso.tsoSegsz = 1448;
  // Frames as the engine hands them: views at an offset of a larger buffer, rewritten for
  // each segment (two buffers, so the address cache moves between them), one below the
  // writev size.
  const bufs = [new Uint8Array(70000), new Uint8Array(70000)];
  let expected: number[] = [];
  let sent = 0;
  const { bytes, stats } = withPort((port) => {
    for (const [i, payload] of [20000, 1000, 60000, 5000, 30000].entries()) {
      const f = seg(1000 + i * 100000, 50, payload);
      const view = bufs[i % 2]!.subarray(94, 94 + f.length);
      view.set(f);
      sent += f.length;
      // What the copying path writes: the header, then the frame with its fields filled in.
      const h = new Uint8Array(HDR);
      const c = f.slice();
      vtnetTxOffload(c, c.length, tso, h, 0, HDR);
      expected = expected.concat([...h], [...c]);
      assert.equal(port.tx(view, tso), true);
    }
    port.flush();
  });
  assert.equal(bytes.length, expected.length);
  assert.deepEqual([...bytes], expected);
  assert.equal(stats.opackets, 5);
  assert.equal(stats.tso, 4, 'the 1000-byte frame fits one segment: no GSO');
  assert.equal(stats.obytes, sent);
});

test('QueuePort.tx: a GSO batch, the ACK after it and the data after that leave in the engine order', { skip }, () => {
  const data = newFrameMeta();
  data.csumFlags = CSUM_TCP | CSUM_IP;
  const bare = newFrameMeta();
  bare.csumFlags = CSUM_TCP | CSUM_IP;
  const { bytes } = withPort((port) => {
    const send = (f: Uint8Array) => assert.equal(port.tx(f, f.length > L4 + 20 ? data : bare), true);
    send(seg(1000, 50, 1000));
    send(seg(2000, 50, 1000));
    // Pure ACKs of what came back: the first of a connection the filter has not seen is
    // written as it is; the next are held, a later one replacing them.
    send(seg(3000, 60, 0));
    send(seg(3000, 70, 0));
    send(seg(3000, 80, 0));
    send(seg(3000, 80, 1000));
    port.flush();
  });
  assert.deepEqual(written(bytes), [
    [1000, 50, 2000, 1000],
    [3000, 60, 0, 0],
    [3000, 80, 0, 0],
    [3000, 80, 1000, 0],
  ]);
});
