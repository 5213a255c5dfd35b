// RDMA between two engines over the simulated link (RFC 5040/5041/5044 over the
// engine's TCP): Write, Read and Send byte-exact under seeded loss, completions in
// order; access violations answered with a Terminate; flush on disconnect.
// The de-framer fed a stream cut at every octet boundary is packages/wire's
// iwarp-mpa test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../src/kern/random.js';
import { ERRNO } from '../src/kern/errno.js';
import { makeRdmaPair, connectPair, type RdmaPair, type Side } from './iwarp-harness.js';
import {
  IBV_ACCESS_LOCAL_WRITE,
  IBV_ACCESS_REMOTE_READ,
  IBV_EVENT_QP_ACCESS_ERR,
  IBV_QPS_ERR,
  IBV_SEND_SIGNALED,
  IBV_WC_RDMA_READ,
  IBV_WC_RDMA_WRITE,
  IBV_WC_RECV,
  IBV_WC_REM_ACCESS_ERR,
  IBV_WC_SEND,
  IBV_WC_SUCCESS,
  IBV_WC_WITH_INV,
  IBV_WC_WR_FLUSH_ERR,
  IBV_WC_LOC_PROT_ERR,
  IBV_WR_RDMA_READ,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND,
  IBV_WR_SEND_WITH_INV,
  type IbvWc,
} from '../src/ofed/ib_verbs.js';
import {
  RDMA_CM_EVENT_DISCONNECTED,
  RDMA_CM_EVENT_ESTABLISHED,
  RDMA_CM_EVENT_REJECTED,
  RDMA_CM_EVENT_CONNECT_REQUEST,
  RDMA_CM_EVENT_CONNECT_ERROR,
  termVendorErr,
  type IwMr,
  type IwQp,
  type IwCmId,
} from '../src/dev/cxgbe/iw_cxgbe/index.js';
import {
  TERM_LAYER_RDMA,
  TERM_LAYER_DDP,
  TERM_LAYER_LLP,
  TERM_ETYPE_RDMA_REMOTE_PROTECTION,
  TERM_ETYPE_DDP_TAGGED,
  TERM_ETYPE_LLP_MPA,
  TERM_RDMA_ACCESS_RIGHTS,
  TERM_DDP_TAGGED_BASE_BOUNDS,
  TERM_DDP_TAGGED_INVALID_STAG,
  MPA_ERR_CRC,
  incrementalUpdate,
  get16,
  MPA_RR_HDR_LEN,
  MPA_REVISION,
  emitMpaRr,
  emitMpaFpdu,
  mpaWireLen,
  set32,
  rdmapControl,
  RDMAP_RDMA_READ_REQUEST,
  RDMAP_QN_READ_REQUEST,
  RDMAP_RRQ_LEN,
  DDP_FLAG_L,
  DDP_VERSION,
  DDP_UNTAGGED_HDR_LEN,
  TERM_RDMA_TO_WRAP,
} from '@mcstack/wire';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function drainCq(s: Side, which: 'scq' | 'rcq', into: IbvWc[]): void {
  for (const wc of s[which].poll()) into.push(wc);
}

function fill(mr: IwMr, seed: number): void {
  new SeededRandom(seed).fill(mr.buf as Uint8Array);
}

function closeBoth(r: RdmaPair): void {
  if (r.a.id) r.a.dev.disconnect(r.a.id);
  r.run(5_000_000, () => [r.a, r.b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  for (const s of [r.a, r.b])
    assert.ok(
      s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED),
      'both sides see DISCONNECTED',
    );
  r.p.run(r.p.now + 200_000_000); // TIME_WAIT
  assert.deepEqual(r.p.a.census(), { pcbs: 0, tcbs: 0, callouts: 0, fds: 0, syncache: 0 });
  assert.deepEqual(r.p.b.census(), { pcbs: 0, tcbs: 0, callouts: 0, fds: 0, syncache: 0 });
}

for (const [markers, seed, v6] of [
  [false, 1, false],
  [false, 2, false],
  [true, 1, false],
  [true, 2, false],
  [true, 3, true],
] as const) {
  test(`Write, Read and Send under 3% loss, byte-exact, in order (markers ${markers}, seed ${seed}${v6 ? ', IPv6' : ''})`, () => {
    const r = makeRdmaPair(seed, 3, v6);
    const { a, b } = r;
    connectPair(r, { markers, privateData: enc('hello from A') }, { markers, privateData: enc('welcome') });
    const req = b.events.find((e) => e.event === RDMA_CM_EVENT_CONNECT_REQUEST);
    assert.equal(dec(req!.privateData), 'hello from A', `seed ${seed}`);
    assert.equal(dec(a.events.find((e) => e.event === RDMA_CM_EVENT_ESTABLISHED)!.privateData), 'welcome');

    const N = 300_000;
    const aSrc = r.mr(a, N);
    const bDst = r.mr(b, N);
    const bSrc = r.mr(b, N);
    const aSink = r.mr(a, N);
    fill(aSrc, seed * 10 + 1);
    fill(bSrc, seed * 10 + 2);
    // Receives for the Sends: messages of 0 .. 9000 bytes, two SGEs each.
    const bRecv = r.mr(b, 64 * 10_000);
    const sizes = [0, 1, 3, 1000, 1455, 4096, 9000, 17, 2];
    for (let i = 0; i < sizes.length; i++) {
      const base = bRecv.iova + i * 10_000;
      assert.equal(
        b.qp.postRecv({
          wr_id: 100 + i,
          sg_list: [
            { addr: base, length: 5000, lkey: bRecv.lkey },
            { addr: base + 5000, length: 5000, lkey: bRecv.lkey },
          ],
        }),
        0,
      );
    }
    const S = IBV_SEND_SIGNALED;
    // Write in three pieces, a Read, then the Sends.
    for (let k = 0; k < 3; k++) {
      const off = k * 100_000;
      assert.equal(
        a.qp.postSend({
          wr_id: k + 1,
          opcode: IBV_WR_RDMA_WRITE,
          send_flags: S,
          sg_list: [{ addr: aSrc.iova + off, length: 100_000, lkey: aSrc.lkey }],
          remote_addr: bDst.iova + off,
          rkey: bDst.rkey,
        }),
        0,
      );
    }
    assert.equal(
      a.qp.postSend({
        wr_id: 4,
        opcode: IBV_WR_RDMA_READ,
        send_flags: S,
        sg_list: [{ addr: aSink.iova, length: N, lkey: aSink.lkey }],
        remote_addr: bSrc.iova,
        rkey: bSrc.rkey,
      }),
      0,
    );
    for (let i = 0; i < sizes.length; i++) {
      assert.equal(
        a.qp.postSend({
          wr_id: 10 + i,
          opcode: IBV_WR_SEND,
          send_flags: S,
          sg_list: [{ addr: aSrc.iova + i * 100, length: sizes[i]!, lkey: aSrc.lkey }],
        }),
        0,
      );
    }
    const sc: IbvWc[] = [];
    const rc: IbvWc[] = [];
    r.run(60_000_000, () => {
      drainCq(a, 'scq', sc);
      drainCq(b, 'rcq', rc);
      return sc.length === 4 + sizes.length && rc.length === sizes.length;
    });
    assert.ok(r.p.a.tcp.stat.tcps_sndrexmitpack + r.p.b.tcp.stat.tcps_sndrexmitpack > 0, 'loss was recovered');
    assert.deepEqual(
      sc.map((w) => [w.wr_id, w.status]),
      [1, 2, 3, 4, ...sizes.map((_, i) => 10 + i)].map((id) => [id, IBV_WC_SUCCESS]),
      `send completions in posting order (seed ${seed})`,
    );
    assert.deepEqual(
      sc.map((w) => w.opcode),
      [IBV_WC_RDMA_WRITE, IBV_WC_RDMA_WRITE, IBV_WC_RDMA_WRITE, IBV_WC_RDMA_READ, ...sizes.map(() => IBV_WC_SEND)],
    );
    assert.equal(sc[3]!.byte_len, N);
    assert.ok(Buffer.from(bDst.buf).equals(Buffer.from(aSrc.buf)), 'RDMA Write placed byte-exact');
    assert.ok(Buffer.from(aSink.buf).equals(Buffer.from(bSrc.buf)), 'RDMA Read placed byte-exact');
    assert.deepEqual(
      rc.map((w) => [w.wr_id, w.status, w.opcode, w.byte_len]),
      sizes.map((n, i) => [100 + i, IBV_WC_SUCCESS, IBV_WC_RECV, n]),
    );
    for (let i = 0; i < sizes.length; i++) {
      const got = bRecv.buf.subarray(i * 10_000, i * 10_000 + sizes[i]!);
      const want = aSrc.buf.subarray(i * 100, i * 100 + sizes[i]!);
      assert.ok(Buffer.from(got).equals(Buffer.from(want)), `send ${i} byte-exact`);
    }
    assert.equal(a.dev.stats.txTerminates + b.dev.stats.txTerminates, 0);
    closeBoth(r);
  });
}

/** Post one Write from a to b's `dst` (rkey, address), run until a's completion. */
function badWrite(r: RdmaPair, dst: { rkey: number; addr: number }, len: number): IbvWc {
  const src = r.mr(r.a, 8192);
  assert.equal(
    r.a.qp.postSend({
      wr_id: 77,
      opcode: IBV_WR_RDMA_WRITE,
      send_flags: IBV_SEND_SIGNALED,
      sg_list: [{ addr: src.iova, length: len, lkey: src.lkey }],
      remote_addr: dst.addr,
      rkey: dst.rkey,
    }),
    0,
  );
  const sc: IbvWc[] = [];
  r.run(5_000_000, () => {
    drainCq(r.a, 'scq', sc);
    return sc.length > 0;
  });
  assert.equal(sc.length, 1);
  return sc[0]!;
}

test('a Write without remote-write access: Terminate, REM_ACCESS_ERR, recvs flushed, both torn down; another QP goes on', () => {
  const r = makeRdmaPair(11);
  connectPair(r);
  // A second connection between the same devices, which must not be affected.
  const { b } = r;
  const other = makeOtherQp(r);
  const ro = r.mr(b, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
  const recvMr = r.mr(b, 4096);
  b.qp.postRecv({ wr_id: 500, sg_list: [{ addr: recvMr.iova, length: 4096, lkey: recvMr.lkey }] });
  const wc = badWrite(r, { rkey: ro.rkey, addr: ro.iova }, 100);
  assert.equal(wc.wr_id, 77);
  assert.equal(wc.status, IBV_WC_REM_ACCESS_ERR);
  assert.equal(
    wc.vendor_err,
    termVendorErr(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, TERM_RDMA_ACCESS_RIGHTS),
  );
  assert.equal(b.dev.stats.txTerminates, 1);
  assert.equal(r.a.dev.stats.rxTerminates, 1);
  assert.ok(
    ro.buf.every((x) => x === 0),
    'nothing placed',
  );
  assert.equal(b.qp.state, IBV_QPS_ERR);
  assert.equal(r.a.qp.state, IBV_QPS_ERR);
  assert.equal(b.qp.events[0]?.event_type, IBV_EVENT_QP_ACCESS_ERR);
  const rc = b.rcq.poll();
  assert.deepEqual(
    rc.map((w) => [w.wr_id, w.status]),
    [[500, IBV_WC_WR_FLUSH_ERR]],
  );
  r.run(3_000_000, () => [r.a, b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  for (const s of [r.a, b]) assert.ok(s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED));
  other.check();
});

/** A second QP pair on the same devices: a Send that must still work after the first pair failed. */
function makeOtherQp(r: RdmaPair): { check(): void } {
  const ad = r.a.dev;
  const bd = r.b.dev;
  const apd = ad.allocPd();
  const bpd = bd.allocPd();
  const acq = ad.createCq(64) as import('../src/dev/cxgbe/iw_cxgbe/index.js').IwCq;
  const bcq = bd.createCq(64) as import('../src/dev/cxgbe/iw_cxgbe/index.js').IwCq;
  const aqp = ad.createQp(apd, { sendCq: acq, recvCq: acq }) as import('../src/dev/cxgbe/iw_cxgbe/index.js').IwQp;
  const bqp = bd.createQp(bpd, { sendCq: bcq, recvCq: bcq }) as import('../src/dev/cxgbe/iw_cxgbe/index.js').IwQp;
  let up = 0;
  bd.listen({ addr: '0.0.0.0', port: 4792 }, 4, (ev) => {
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) bd.accept(ev.id, bqp);
  });
  ad.connect(aqp, { addr: '10.0.0.2', port: 4792 }, {}, (ev) => {
    if (ev.event === RDMA_CM_EVENT_ESTABLISHED) up++;
  });
  r.run(1_000_000, () => up > 0);
  assert.equal(up, 1);
  return {
    check() {
      const am = ad.regMr(apd, new Uint8Array(64).fill(9), IBV_ACCESS_LOCAL_WRITE) as IwMr;
      const bm = bd.regMr(bpd, new Uint8Array(64), IBV_ACCESS_LOCAL_WRITE) as IwMr;
      bqp.postRecv({ wr_id: 1, sg_list: [{ addr: 0, length: 64, lkey: bm.lkey }] });
      aqp.postSend({
        wr_id: 2,
        opcode: IBV_WR_SEND,
        send_flags: IBV_SEND_SIGNALED,
        sg_list: [{ addr: 0, length: 64, lkey: am.lkey }],
      });
      let got: IbvWc[] = [];
      r.run(2_000_000, () => {
        got = got.concat(bcq.poll());
        return got.length > 0;
      });
      assert.deepEqual(
        got.map((w) => [w.wr_id, w.status, w.byte_len]),
        [[1, IBV_WC_SUCCESS, 64]],
      );
      assert.ok(bm.buf.every((x) => x === 9));
    },
  };
}

test('a Write beyond the region and to an unknown STag: DDP tagged-buffer Terminates', () => {
  for (const [mk, code] of [
    ['bounds', TERM_DDP_TAGGED_BASE_BOUNDS],
    ['stag', TERM_DDP_TAGGED_INVALID_STAG],
  ] as const) {
    const r = makeRdmaPair(12);
    connectPair(r);
    const dst = r.mr(r.b, 4096);
    const wc =
      mk === 'bounds'
        ? badWrite(r, { rkey: dst.rkey, addr: dst.iova + 4000 }, 200)
        : badWrite(r, { rkey: dst.rkey ^ 0x100, addr: dst.iova }, 10);
    assert.equal(wc.status, IBV_WC_REM_ACCESS_ERR, mk);
    assert.equal(wc.vendor_err, termVendorErr(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, code), mk);
    assert.ok(
      dst.buf.every((x) => x === 0),
      `${mk}: nothing placed`,
    );
  }
});

test('a Read of a region without remote-read access completes with REM_ACCESS_ERR', () => {
  const r = makeRdmaPair(13);
  connectPair(r);
  const src = r.mr(r.b, 4096, IBV_ACCESS_LOCAL_WRITE);
  const sink = r.mr(r.a, 4096);
  const S = IBV_SEND_SIGNALED;
  r.a.qp.postSend({
    wr_id: 1,
    opcode: IBV_WR_RDMA_READ,
    send_flags: S,
    sg_list: [{ addr: sink.iova, length: 4096, lkey: sink.lkey }],
    remote_addr: src.iova,
    rkey: src.rkey,
  });
  r.a.qp.postSend({ wr_id: 2, opcode: IBV_WR_SEND, send_flags: S, sg_list: [] });
  const sc: IbvWc[] = [];
  r.run(3_000_000, () => {
    drainCq(r.a, 'scq', sc);
    return sc.length === 2;
  });
  assert.deepEqual(
    sc.map((w) => [w.wr_id, w.status]),
    [
      [1, IBV_WC_REM_ACCESS_ERR],
      [2, IBV_WC_WR_FLUSH_ERR],
    ],
  );
  assert.equal(
    sc[0]!.vendor_err,
    termVendorErr(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, TERM_RDMA_ACCESS_RIGHTS),
  );
});

test('a bad MPA CRC on the wire: Terminate (LLP, MPA CRC error) and teardown', () => {
  const r = makeRdmaPair(14);
  connectPair(r);
  const recvMr = r.mr(r.b, 4096);
  r.b.qp.postRecv({ wr_id: 9, sg_list: [{ addr: recvMr.iova, length: 4096, lkey: recvMr.lkey }] });
  // Flip two octets of the next data segment a sends, keeping the TCP checksum right (RFC 1624).
  let hit = 0;
  r.p.drop = (from, f) => {
    if (from !== 'a' || hit) return false;
    const ihl = (f[0]! & 0x0f) * 4;
    const doff = (f[ihl + 12]! >>> 4) * 4;
    const p = ihl + doff;
    if (f.length < p + 40) return false;
    const w = p + 20;
    const old = get16(f, w);
    const nw = old ^ 0x5a5a;
    f[w] = nw >>> 8;
    f[w + 1] = nw & 0xff;
    const ck = get16(f, ihl + 16);
    const c2 = incrementalUpdate(ck, old, nw);
    f[ihl + 16] = c2 >>> 8;
    f[ihl + 17] = c2 & 0xff;
    hit++;
    return false;
  };
  const src = r.mr(r.a, 4096);
  r.a.qp.postSend({
    wr_id: 5,
    opcode: IBV_WR_SEND,
    send_flags: IBV_SEND_SIGNALED,
    sg_list: [{ addr: src.iova, length: 1000, lkey: src.lkey }],
  });
  const sc: IbvWc[] = [];
  r.run(3_000_000, () => {
    drainCq(r.a, 'scq', sc);
    return sc.length > 0;
  });
  assert.equal(hit, 1);
  assert.equal(r.b.dev.stats.crcErrors, 1);
  assert.equal(r.b.dev.stats.txTerminates, 1);
  assert.equal(r.b.qp.events[0]?.vendor_err, termVendorErr(TERM_LAYER_LLP, TERM_ETYPE_LLP_MPA, MPA_ERR_CRC));
  assert.deepEqual(
    r.b.rcq.poll().map((w) => [w.wr_id, w.status]),
    [[9, IBV_WC_WR_FLUSH_ERR]],
  );
  assert.equal(sc[0]!.wr_id, 5);
  assert.notEqual(sc[0]!.status, IBV_WC_SUCCESS);
  r.run(3_000_000, () => [r.a, r.b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  for (const s of [r.a, r.b]) assert.ok(s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED));
});

test('Send with Invalidate invalidates the peer STag; a later Write to it is a Terminate', () => {
  const r = makeRdmaPair(15);
  connectPair(r);
  const target = r.mr(r.b, 1024);
  const recvMr = r.mr(r.b, 1024);
  const src = r.mr(r.a, 1024);
  r.b.qp.postRecv({ wr_id: 1, sg_list: [{ addr: recvMr.iova, length: 1024, lkey: recvMr.lkey }] });
  r.a.qp.postSend({
    wr_id: 2,
    opcode: IBV_WR_SEND_WITH_INV,
    send_flags: IBV_SEND_SIGNALED,
    invalidate_rkey: target.rkey,
    sg_list: [{ addr: src.iova, length: 10, lkey: src.lkey }],
  });
  const rc: IbvWc[] = [];
  const sc: IbvWc[] = [];
  r.run(2_000_000, () => {
    drainCq(r.b, 'rcq', rc);
    drainCq(r.a, 'scq', sc);
    return rc.length > 0 && sc.length > 0;
  });
  assert.equal(rc[0]!.status, IBV_WC_SUCCESS);
  assert.equal(rc[0]!.wc_flags & IBV_WC_WITH_INV, IBV_WC_WITH_INV);
  assert.equal(rc[0]!.invalidated_rkey, target.rkey);
  assert.equal(target.valid, false);
  assert.deepEqual(
    sc.map((w) => [w.wr_id, w.status]),
    [[2, IBV_WC_SUCCESS]],
  );
  const wc = badWrite(r, { rkey: target.rkey, addr: target.iova }, 8);
  assert.equal(wc.status, IBV_WC_REM_ACCESS_ERR);
  assert.equal(wc.vendor_err, termVendorErr(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, TERM_DDP_TAGGED_INVALID_STAG));
});

test('disconnect with work outstanding flushes it (IBV_WC_WR_FLUSH_ERR) on both sides, in order', () => {
  const r = makeRdmaPair(16);
  connectPair(r);
  const src = r.mr(r.a, 1 << 20);
  const dst = r.mr(r.b, 1 << 20);
  const rmr = r.mr(r.b, 4096);
  for (let i = 0; i < 4; i++)
    r.b.qp.postRecv({ wr_id: 200 + i, sg_list: [{ addr: rmr.iova, length: 4096, lkey: rmr.lkey }] });
  for (let i = 0; i < 6; i++) {
    r.a.qp.postSend({
      wr_id: i,
      opcode: i % 2 ? IBV_WR_SEND : IBV_WR_RDMA_WRITE,
      sg_list: [{ addr: src.iova, length: i % 2 ? 100 : 1 << 20, lkey: src.lkey }],
      remote_addr: dst.iova,
      rkey: dst.rkey,
    });
  }
  assert.equal(r.a.dev.disconnect(r.a.id!), 0);
  const sc = r.a.scq.poll();
  assert.deepEqual(
    sc.map((w) => [w.wr_id, w.status]),
    [0, 1, 2, 3, 4, 5].map((i) => [i, IBV_WC_WR_FLUSH_ERR]),
  );
  // Work posted after the disconnect is flushed at once.
  r.a.qp.postSend({ wr_id: 9, opcode: IBV_WR_SEND, sg_list: [] });
  assert.deepEqual(
    r.a.scq.poll().map((w) => [w.wr_id, w.status]),
    [[9, IBV_WC_WR_FLUSH_ERR]],
  );
  r.run(3_000_000, () => [r.a, r.b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  assert.deepEqual(
    r.b.rcq.poll().map((w) => [w.wr_id, w.status]),
    [200, 201, 202, 203].map((i) => [i, IBV_WC_WR_FLUSH_ERR]),
  );
  r.p.run(r.p.now + 200_000_000);
  assert.equal(r.p.a.census().fds, 0);
  assert.equal(r.p.b.census().fds, 0);
});

test('reject carries its private data back to the initiator; nothing is left open', () => {
  const r = makeRdmaPair(17);
  const { a, b } = r;
  b.dev.listen({ addr: '0.0.0.0', port: 4791 }, 4, (ev) => {
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) b.dev.reject(ev.id, enc('go away'));
  });
  a.dev.connect(a.qp, { addr: '10.0.0.2', port: 4791 }, { privateData: enc('hi') }, (ev) => a.events.push(ev));
  r.run(1_000_000, () => a.events.length > 0);
  assert.equal(a.events[0]?.event, RDMA_CM_EVENT_REJECTED);
  assert.equal(dec(a.events[0]?.privateData ?? new Uint8Array(0)), 'go away');
  r.run(1_000_000);
  assert.equal(r.p.a.census().fds, 0);
  assert.equal(b.dev.stats.mpaRejects, 1);
});

test('the MPA timer: a startup with no Request or no Reply in 60 s is dropped (CONNECT_ERROR ETIMEDOUT)', () => {
  const r = makeRdmaPair(18);
  const { a, b } = r;
  // A plain TCP client that never sends its MPA Request to b's RDMA listener.
  b.dev.listen({ addr: '0.0.0.0', port: 4791 }, 4, (ev) => b.events.push(ev));
  const c = r.p.a.socket('inet', 'stream');
  r.p.a.connect(c, { addr: '10.0.0.2', port: 4791 });
  // A plain TCP server that accepts a's RDMA connect and never replies.
  const l = r.p.b.socket('inet', 'stream');
  r.p.b.bind(l, { addr: '0.0.0.0', port: 5000 });
  r.p.b.listen(l, 4);
  a.dev.connect(a.qp, { addr: '10.0.0.2', port: 5000 }, {}, (ev) => a.events.push(ev));
  r.run(1_000_000);
  assert.equal(b.events.length + a.events.length, 0, 'nothing yet');
  r.p.run(r.p.now + 60_000_000);
  r.run(1_000_000);
  assert.equal(b.dev.stats.mpaTimeouts, 1);
  assert.equal(b.events.length, 0, 'a passive startup that never began is not the application’s');
  assert.equal(r.p.a.recv(c, new Uint8Array(64)), 0, 'the silent client sees the close');
  assert.deepEqual(
    a.events.map((e) => [e.event, e.status]),
    [[RDMA_CM_EVENT_CONNECT_ERROR, -ERRNO.ETIMEDOUT]],
  );
  assert.equal(a.dev.stats.mpaTimeouts, 1);
});

test('a send SGE outside its MR: LOC_PROT_ERR, the QP in ERROR, work before and after flushed, peer Terminated; another QP goes on', () => {
  const r = makeRdmaPair(17);
  connectPair(r);
  const other = makeOtherQp(r);
  const src = r.mr(r.a, 4096);
  const dst = r.mr(r.b, 1 << 20);
  const big = r.mr(r.a, 1 << 20);
  const rmr = r.mr(r.b, 4096);
  r.b.qp.postRecv({ wr_id: 300, sg_list: [{ addr: rmr.iova, length: 4096, lkey: rmr.lkey }] });
  // Outstanding: a Write larger than the window, so it cannot have completed.
  r.a.qp.postSend({
    wr_id: 1,
    opcode: IBV_WR_RDMA_WRITE,
    sg_list: [{ addr: big.iova, length: 1 << 20, lkey: big.lkey }],
    remote_addr: dst.iova,
    rkey: dst.rkey,
  });
  // Past the end of its region: accepted by the post, completed with the error.
  const bad = { wr_id: 2, opcode: IBV_WR_SEND, sg_list: [{ addr: src.iova + 4000, length: 200, lkey: src.lkey }] };
  assert.equal(r.a.qp.postSend(bad), 0);
  assert.equal(r.a.qp.state, IBV_QPS_ERR);
  assert.equal(r.a.qp.postSend({ wr_id: 3, opcode: IBV_WR_SEND, sg_list: [] }), 0);
  assert.deepEqual(
    r.a.scq.poll().map((w) => [w.wr_id, w.status]),
    [
      [1, IBV_WC_WR_FLUSH_ERR],
      [2, IBV_WC_LOC_PROT_ERR],
      [3, IBV_WC_WR_FLUSH_ERR],
    ],
  );
  r.run(3_000_000, () => [r.a, r.b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  for (const s of [r.a, r.b]) assert.ok(s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED));
  // The peer learns why: a Terminate (RDMAP local catastrophic error), its QP in ERROR, its recv flushed.
  assert.equal(r.a.dev.stats.txTerminates, 1);
  assert.equal(r.b.dev.stats.rxTerminates, 1);
  assert.equal(r.b.qp.state, IBV_QPS_ERR);
  assert.deepEqual(
    r.b.rcq.poll().map((w) => [w.wr_id, w.status]),
    [[300, IBV_WC_WR_FLUSH_ERR]],
  );
  other.check();
  r.p.run(r.p.now + 200_000_000);
  assert.equal(r.p.a.census().fds, 1); // the other QP's connection
  // A bad recv on a QP not yet connected puts it in ERROR too, and a QP in ERROR
  // cannot be connected (ERROR goes only to RESET).
  const qp = r.a.dev.createQp(r.a.pd, { sendCq: r.a.scq, recvCq: r.a.rcq }) as IwQp;
  assert.equal(qp.postRecv({ wr_id: 5, sg_list: [{ addr: 0, length: 8, lkey: src.lkey ^ 0x100 }] }), 0);
  assert.equal(qp.state, IBV_QPS_ERR);
  assert.deepEqual(
    r.a.rcq.poll().map((w) => [w.wr_id, w.status]),
    [[5, IBV_WC_LOC_PROT_ERR]],
  );
  assert.equal(
    r.a.dev.connect(qp, { addr: '10.0.0.2', port: 4791 }, {}, () => {}),
    -ERRNO.EINVAL,
  );
});

test('a recv SGE without local-write access: LOC_PROT_ERR on the recv CQ, earlier recvs flushed, the QP in ERROR', () => {
  const r = makeRdmaPair(18);
  connectPair(r);
  const rmr = r.mr(r.b, 4096);
  const ro = r.mr(r.b, 4096, IBV_ACCESS_REMOTE_READ);
  r.b.qp.postRecv({ wr_id: 400, sg_list: [{ addr: rmr.iova, length: 4096, lkey: rmr.lkey }] });
  assert.equal(r.b.qp.postRecv({ wr_id: 401, sg_list: [{ addr: ro.iova, length: 64, lkey: ro.lkey }] }), 0);
  assert.equal(r.b.qp.state, IBV_QPS_ERR);
  assert.deepEqual(
    r.b.rcq.poll().map((w) => [w.wr_id, w.status]),
    [
      [400, IBV_WC_WR_FLUSH_ERR],
      [401, IBV_WC_LOC_PROT_ERR],
    ],
  );
  assert.equal(r.b.qp.events.length, 0, 'reported by its completion, not an asynchronous event');
  r.run(3_000_000, () => [r.a, r.b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  assert.equal(r.a.qp.state, IBV_QPS_ERR);
  // A malformed request is still refused at post time.
  assert.equal(
    r.b.qp.postRecv({ wr_id: 402, sg_list: [{ addr: rmr.iova, length: -1, lkey: rmr.lkey }] }),
    -ERRNO.EINVAL,
  );
});

test('work requests are copied at post: the caller reuses one WR and its SGEs for every post', () => {
  const r = makeRdmaPair(19);
  connectPair(r);
  const src = r.mr(r.a, 4096);
  for (let i = 0; i < src.buf.length; i++) src.buf[i] = i & 0xff;
  const rmr = r.mr(r.b, 8 * 256);
  const sge = { addr: 0, length: 0, lkey: 0 };
  const rwr = { wr_id: 0, sg_list: [sge] };
  for (let i = 0; i < 8; i++) {
    sge.addr = rmr.iova + i * 256;
    sge.length = 256;
    sge.lkey = rmr.lkey;
    rwr.wr_id = 100 + i;
    assert.equal(r.b.qp.postRecv(rwr), 0);
  }
  const swr = { wr_id: 0, opcode: IBV_WR_SEND, send_flags: IBV_SEND_SIGNALED, sg_list: [sge] };
  for (let i = 0; i < 8; i++) {
    sge.addr = src.iova + i * 10;
    sge.length = 10 + i;
    sge.lkey = src.lkey;
    swr.wr_id = i;
    assert.equal(r.a.qp.postSend(swr), 0);
  }
  sge.length = 0; // a change after the last post reaches none of them
  const sc: IbvWc[] = [];
  const rc: IbvWc[] = [];
  r.run(2_000_000, () => {
    drainCq(r.a, 'scq', sc);
    drainCq(r.b, 'rcq', rc);
    return sc.length === 8 && rc.length === 8;
  });
  assert.deepEqual(
    sc.map((w) => [w.wr_id, w.status, w.byte_len]),
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, IBV_WC_SUCCESS, 10 + i]),
  );
  assert.deepEqual(
    rc.map((w) => [w.wr_id, w.status, w.byte_len]),
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [100 + i, IBV_WC_SUCCESS, 10 + i]),
  );
  for (let i = 0; i < 8; i++) {
    const got = rmr.buf.subarray(i * 256, i * 256 + 10 + i);
    assert.deepEqual([...got], [...src.buf.subarray(i * 10, i * 10 + 10 + i)], `send ${i}`);
  }
});

test('a QP that goes to ERROR while it connects stays there: the stream closes once up, both sides see DISCONNECTED', () => {
  const r = makeRdmaPair(20);
  const { a, b } = r;
  const l = b.dev.listen({ addr: '0.0.0.0', port: 4791 }, 8, (ev) => {
    b.events.push(ev);
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) assert.equal(b.dev.accept(ev.id, b.qp, {}), 0);
  });
  assert.ok(typeof l !== 'number');
  const id = a.dev.connect(a.qp, { addr: '10.0.0.2', port: 4791 }, {}, (ev) => a.events.push(ev));
  assert.ok(typeof id !== 'number');
  const mr = r.mr(a, 64, IBV_ACCESS_REMOTE_READ); // no local write: a receive into it is a protection error
  assert.equal(a.qp.postRecv({ wr_id: 1, sg_list: [{ addr: mr.iova, length: 64, lkey: mr.lkey }] }), 0);
  assert.equal(a.qp.state, IBV_QPS_ERR);
  r.run(3_000_000, () => [a, b].every((s) => s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED)));
  for (const s of [a, b]) assert.ok(s.events.some((e) => e.event === RDMA_CM_EVENT_DISCONNECTED));
  assert.equal(a.qp.state, IBV_QPS_ERR);
  assert.equal(b.qp.state, IBV_QPS_ERR);
  b.dev.destroyId(l as IwCmId);
  r.p.run(r.p.now + 200_000_000);
  assert.equal(r.p.a.census().fds, 0);
  assert.equal(r.p.b.census().fds, 0);
});

test('MSNs wrap at 2^32: a Terminate naming the Read after the wrap completes that Read', () => {
  const r = makeRdmaPair(21);
  connectPair(r);
  // Both ends one Read Request short of the wrap (RFC 5041 §5.1: MSN is modulo 2^32).
  (r.a.qp as unknown as { msnReadTx: number }).msnReadTx = 0xffffffff;
  (r.b.qp as unknown as { msnReadRx: number }).msnReadRx = 0xffffffff;
  const sink = r.mr(r.a, 4096);
  const ok = r.mr(r.b, 4096);
  const noRead = r.mr(r.b, 4096, IBV_ACCESS_LOCAL_WRITE);
  for (const [id, mr] of [
    [1, ok],
    [2, noRead], // MSN 0 after the wrap; no remote-read access: a Terminate naming it
  ] as const)
    r.a.qp.postSend({
      wr_id: id,
      opcode: IBV_WR_RDMA_READ,
      send_flags: IBV_SEND_SIGNALED,
      sg_list: [{ addr: sink.iova, length: 100, lkey: sink.lkey }],
      remote_addr: mr.iova,
      rkey: mr.rkey,
    });
  const sc: IbvWc[] = [];
  r.run(2_000_000, () => {
    drainCq(r.a, 'scq', sc);
    return sc.length === 2;
  });
  assert.deepEqual(
    sc.map((w) => [w.wr_id, w.status]),
    [
      [1, IBV_WC_WR_FLUSH_ERR], // its Response was not yet sent when the peer answered the next with a Terminate
      [2, IBV_WC_REM_ACCESS_ERR],
    ],
  );
});

test('a rejected peer that never closes is closed on after the MPA timer: no socket left behind', () => {
  const r = makeRdmaPair(22);
  const { b } = r;
  b.dev.listen({ addr: '0.0.0.0', port: 4791 }, 4, (ev) => {
    b.events.push(ev);
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) assert.equal(b.dev.reject(ev.id, enc('no')), 0);
  });
  // A plain TCP client that sends an MPA Request, reads the reject and keeps its end open.
  const c = r.p.a.socket('inet', 'stream');
  r.p.a.connect(c, { addr: '10.0.0.2', port: 4791 });
  r.run(100_000);
  const req = new Uint8Array(MPA_RR_HDR_LEN);
  emitMpaRr(
    {
      kind: 'request',
      markers: false,
      crc: true,
      reject: false,
      revision: MPA_REVISION,
      privateData: new Uint8Array(0),
    },
    req,
  );
  assert.equal(r.p.a.send(c, req), req.length);
  r.run(1_000_000, () => b.events.length > 0);
  assert.equal(b.events[0]?.event, RDMA_CM_EVENT_CONNECT_REQUEST);
  const fdsBefore = r.p.b.census().fds; // the listener and the rejected connection
  r.p.run(r.p.now + 61_000_000);
  r.run(1_000_000);
  assert.equal(r.p.b.census().fds, fdsBefore - 1, 'the rejected connection is closed');
  r.p.a.close(c);
});

test('a Read Request whose sink Tagged Offset would wrap past 2^64: a Terminate (TO wrap), nothing sent back', () => {
  const r = makeRdmaPair(23);
  connectPair(r);
  const src = r.mr(r.b, 4096);
  // The Read Request a faulty requester would send, written straight into a's TCP stream.
  const h = DDP_UNTAGGED_HDR_LEN;
  const u = new Uint8Array(h + RDMAP_RRQ_LEN);
  u[0] = DDP_FLAG_L | DDP_VERSION;
  u[1] = rdmapControl(RDMAP_RDMA_READ_REQUEST);
  set32(u, 6, RDMAP_QN_READ_REQUEST);
  set32(u, 10, 1); // MSN: the first Read Request
  set32(u, h, 0x1234); // sink STag
  set32(u, h + 4, 0xffffffff); // sink TO: 2^64 - 0x100
  set32(u, h + 8, 0xffffff00);
  set32(u, h + 12, 0x200); // size
  set32(u, h + 16, src.rkey);
  set32(u, h + 20, 0);
  set32(u, h + 24, src.iova);
  const f = { markers: false, crc: true };
  const wire = new Uint8Array(mpaWireLen(u.length, 0, f));
  emitMpaFpdu(u, f, 0, wire, 0);
  assert.equal(r.p.a.send(r.a.qp.fd, wire), wire.length);
  r.run(1_000_000, () => r.b.qp.events.length > 0);
  assert.equal(r.b.dev.stats.txTerminates, 1);
  assert.equal(r.b.dev.stats.txReadRespBytes, 0);
  assert.equal(
    r.b.qp.events[0]?.vendor_err,
    termVendorErr(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, TERM_RDMA_TO_WRAP),
  );
  assert.equal(r.b.qp.state, IBV_QPS_ERR);
});
