/**
 * iWARP on the TOE card, end to end: two stacks whose cxgbe0 are T4s with t4_tom loaded;
 * the host's verbs (@mcstack/runtime RdmaDevice) post work in shared memory, the cards run
 * RDMAP/DDP/MPA over their own TCP connections (a server TID for the listener, a TID and a
 * reservation for the active open), and the data lands in the hosts' SharedArrayBuffers.
 * The connections show as toe4 in netstat; an access violation is a Terminate; disconnect
 * flushes what is outstanding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Stack,
  RdmaDevice,
  RDMA_CM_EVENT_CONNECT_REQUEST,
  RDMA_CM_EVENT_DISCONNECTED,
  type RdmaCmEvent,
  type RdmaQp,
  type RdmaCq,
  type RdmaPd,
} from '@mcstack/runtime';
import {
  IFCAP_HWCSUM,
  IFCAP_TOE,
  IBV_ACCESS_LOCAL_WRITE,
  IBV_ACCESS_REMOTE_READ,
  IBV_ACCESS_REMOTE_WRITE,
  IBV_SEND_SIGNALED,
  IBV_WR_RDMA_READ,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND,
  IBV_WC_SUCCESS,
  IBV_WC_LOC_PROT_ERR,
  IBV_WC_WR_FLUSH_ERR,
  IBV_WC_RECV,
  type IbvWc,
} from '@mcstack/netinet';
import { formatConnections, formatSockstat } from '@mcstack/netinet/tools';
import { bounded as boundedBy } from './support/bounded.js';

const SEED = Number(process.env.SEED ?? 0x1a4b);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);
const ALL = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

/** `plr`: the wire's loss (StackOptions.plr), which the cards' own frames cross too. */
function cardStack(name: string, n: number, plr = 0): Stack {
  return Stack.create({
    plr,
    name,
    workers: 1,
    mac: `02:00:00:00:00:0${n}`,
    addrs: [`10.0.0.${n}/24`],
    seed: SEED + n,
    capabilities: IFCAP_HWCSUM | IFCAP_TOE,
    capenable: IFCAP_HWCSUM,
    modules: ['t4_tom'],
  });
}

interface End {
  dev: RdmaDevice;
  pd: RdmaPd;
  cq: RdmaCq;
  qp: RdmaQp;
  events: RdmaCmEvent[];
}

async function end(s: Stack): Promise<End> {
  const dev = await RdmaDevice.open(s);
  const pd = await dev.allocPd();
  const cq = await dev.createCq(4096);
  const qp = await dev.createQp(pd, { sendCq: cq, recvCq: cq, maxSendWr: 512, maxRecvWr: 512 });
  return { dev, pd, cq, qp, events: [] };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > 10000) assert.fail(`${what} (seed ${SEED})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function collect(cq: RdmaCq, n: number, what: string): Promise<IbvWc[]> {
  const out: IbvWc[] = [];
  const deadline = performance.now() + 15000;
  while (out.length < n) {
    if (performance.now() > deadline) assert.fail(`${what}: ${out.length}/${n} completions (seed ${SEED})`);
    await cq.wait(200);
    out.push(...cq.poll());
  }
  return out;
}

async function withPair(fn: (A: Stack, B: Stack, a: End, b: End) => Promise<void>, plr = 0): Promise<void> {
  const A = cardStack('A', 1, plr);
  const B = cardStack('B', 2, plr);
  Stack.join(A, B);
  let a: End | null = null;
  let b: End | null = null;
  try {
    await bounded(Promise.all([A.start(), B.start()]), 20000, 'stack start');
    a = await end(A);
    b = await end(B);
    const bb = b;
    await bb.dev.listen('10.0.0.2', 4791, (ev) => {
      bb.events.push(ev);
      if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) void bb.dev.accept(ev, bb.qp, { privateData: Buffer.from('ok') });
    });
    const est = await bounded(
      a.dev.connect(a.qp, '10.0.0.2', 4791, { privateData: Buffer.from('hello') }, (ev) => a?.events.push(ev)),
      10000,
      'rdma_connect',
    );
    assert.equal(Buffer.from(est.privateData).toString(), 'ok');
    assert.equal(
      Buffer.from(bb.events.find((e) => e.event === RDMA_CM_EVENT_CONNECT_REQUEST)?.privateData ?? []).toString(),
      'hello',
    );
    await fn(A, B, a, b);
  } finally {
    a?.dev.close();
    b?.dev.close();
    await Promise.all([A.stop(), B.stop()]);
  }
}

test('RDMA Write, Read and Send between two cards over a wire losing 1% of frames, posted and completed in shared memory; toe4 in netstat', async () => {
  await withPair(async (A, B, a, b) => {
    const N = 1 << 20;
    const mr = async (e: End, n: number, access = ALL) =>
      await e.dev.regMr(e.pd, new Uint8Array(new SharedArrayBuffer(n)), access);
    const aSrc = await mr(a, N);
    const aSink = await mr(a, N);
    const bDst = await mr(b, N);
    const bRecv = await mr(b, 64 * 1024);
    for (let i = 0; i < aSrc.buf.length; i++) aSrc.buf[i] = (i * 7 + 3) & 0xff;
    for (let i = 0; i < 4; i++)
      assert.equal(
        b.qp.postRecv({ wr_id: 100 + i, sg_list: [{ addr: i * 16384, length: 16384, lkey: bRecv.lkey }] }),
        0,
      );
    const S = IBV_SEND_SIGNALED;
    assert.equal(
      a.qp.postSend({
        wr_id: 1,
        opcode: IBV_WR_RDMA_WRITE,
        send_flags: S,
        sg_list: [{ addr: 0, length: N, lkey: aSrc.lkey }],
        remote_addr: 0,
        rkey: bDst.rkey,
      }),
      0,
    );
    assert.equal(
      a.qp.postSend({
        wr_id: 2,
        opcode: IBV_WR_RDMA_READ,
        send_flags: S,
        sg_list: [{ addr: 0, length: N, lkey: aSink.lkey }],
        remote_addr: 0,
        rkey: bDst.rkey,
      }),
      0,
    );
    for (let i = 0; i < 4; i++)
      assert.equal(
        a.qp.postSend({
          wr_id: 10 + i,
          opcode: IBV_WR_SEND,
          send_flags: S,
          sg_list: [{ addr: i * 1000, length: 1000 + i * 5000, lkey: aSrc.lkey }],
        }),
        0,
      );
    const sc = await collect(a.cq, 6, 'sends');
    assert.deepEqual(
      sc.map((w) => [w.wr_id, w.status]),
      [1, 2, 10, 11, 12, 13].map((i) => [i, IBV_WC_SUCCESS]),
    );
    assert.ok(Buffer.from(bDst.buf).equals(Buffer.from(aSrc.buf)), 'Write placed byte-exact in B');
    assert.ok(Buffer.from(aSink.buf).equals(Buffer.from(aSrc.buf)), 'Read placed byte-exact in A');
    const rc = await collect(b.cq, 4, 'receives');
    assert.deepEqual(
      rc.map((w) => [w.wr_id, w.status, w.opcode, w.byte_len]),
      [0, 1, 2, 3].map((i) => [100 + i, IBV_WC_SUCCESS, IBV_WC_RECV, 1000 + i * 5000]),
    );
    for (let i = 0; i < 4; i++) {
      const got = bRecv.buf.subarray(i * 16384, i * 16384 + 1000 + i * 5000);
      assert.ok(Buffer.from(got).equals(Buffer.from(aSrc.buf.subarray(i * 1000, i * 1000 + got.length))), `send ${i}`);
    }
    // The RDMA connections' TCP is on the cards: netstat -np tcp | grep toe.
    for (const [s, port] of [
      [A, '4791'],
      [B, '4791'],
    ] as const) {
      const lines = formatConnections(await s.snapshots(), { proto: 'tcp' })
        .split('\n')
        .filter((l) => l.includes('toe4') && l.includes(port) && l.includes('ESTABLISHED'));
      assert.equal(lines.length, 1, `${s.name}: ${lines.join('|')}`);
      // sockstat -46c | grep toe marks it too.
      const ss = formatSockstat(await s.snapshots(), { inet4: true, inet6: true, connected: true })
        .split('\n')
        .filter((l) => l.includes('toe') && l.includes(`:${port}`));
      assert.equal(ss.length, 1, `${s.name} sockstat: ${ss.join('|')}`);
    }
    // TIDs: A's active open one; B its listen's server TID and one for the accepted connection.
    await until('TIDs in use', () => A.toeTids?.inUse === 1 && B.toeTids?.inUse === 2);
    assert.equal(B.toeStats.offloaded, 1);
    const info = await a.dev.query();
    assert.equal(info.qps[0]?.state, 'RTS');
    assert.ok((info.counters.txWriteBytes ?? 0) >= N);
    // Disconnect: both sides see DISCONNECTED; B's receive posted since is flushed.
    assert.equal(b.qp.postRecv({ wr_id: 999, sg_list: [{ addr: 0, length: 10, lkey: bRecv.lkey }] }), 0);
    await a.dev.disconnect(est(a));
    const fl = await collect(b.cq, 1, 'flush');
    assert.deepEqual(
      fl.map((w) => [w.wr_id, w.status]),
      [[999, IBV_WC_WR_FLUSH_ERR]],
    );
    await until('DISCONNECTED on both sides', () =>
      [a, b].every((e) => e.events.some((x) => x.event === RDMA_CM_EVENT_DISCONNECTED)),
    );
    // The connections' TIDs go back (A's at TIME_WAIT); B keeps its listen's.
    await until('TIDs given back', () => A.toeTids?.inUse === 0 && B.toeTids?.inUse === 1);
    // The loss was real: the cards' TCP retransmitted (the wire dropped frames both ways).
    const rexmit = async (s: Stack) => Number((await s.cardCounters())?.tcpstat?.tcps_sndrexmitpack ?? 0);
    assert.ok((await rexmit(A)) + (await rexmit(B)) > 0, `no retransmission on a lossy wire (seed ${SEED})`);
  }, 0.01);
});

/** The cm id a's connection holds (its ESTABLISHED event). */
function est(e: End): number {
  const ev = e.events.find((x) => x.event === 9);
  assert.ok(ev, 'ESTABLISHED seen');
  return ev.cmId;
}

test('on the card: an SGE outside its region is LOC_PROT_ERR, the QP goes to ERROR and the rest flushes; the peer is Terminated', async () => {
  await withPair(async (A, B, a, b) => {
    const src = await a.dev.regMr(a.pd, new Uint8Array(new SharedArrayBuffer(4096)), ALL);
    const dst = await b.dev.regMr(b.pd, new Uint8Array(new SharedArrayBuffer(4096)), ALL);
    assert.equal(b.qp.postRecv({ wr_id: 6, sg_list: [{ addr: 0, length: 64, lkey: dst.lkey }] }), 0);
    // An SGE outside any region: the host's post returns, the card completes it with a local protection error.
    assert.equal(
      a.qp.postSend({ wr_id: 4, opcode: IBV_WR_SEND, sg_list: [{ addr: 0, length: 10, lkey: src.lkey ^ 0x100 }] }),
      0,
    );
    a.qp.postSend({
      wr_id: 5,
      opcode: IBV_WR_RDMA_WRITE,
      send_flags: IBV_SEND_SIGNALED,
      sg_list: [{ addr: 0, length: 100, lkey: src.lkey }],
      remote_addr: 0,
      rkey: dst.rkey,
    });
    const [prot, wc] = await collect(a.cq, 2, 'the bad SGE and the write after it');
    assert.deepEqual([prot?.wr_id, prot?.status], [4, IBV_WC_LOC_PROT_ERR]);
    assert.deepEqual([wc?.wr_id, wc?.status], [5, IBV_WC_WR_FLUSH_ERR]);
    assert.equal((await a.dev.query()).qps[0]?.state, 'ERR');
    // The peer's receive is flushed by the Terminate; both connections close and give their TIDs back.
    const fl = await collect(b.cq, 1, "the peer's flushed receive");
    assert.deepEqual(
      fl.map((w) => [w.wr_id, w.status]),
      [[6, IBV_WC_WR_FLUSH_ERR]],
    );
    await until('DISCONNECTED on both sides', () =>
      [a, b].every((e) => e.events.some((x) => x.event === RDMA_CM_EVENT_DISCONNECTED)),
    );
    await until('TIDs given back', () => A.toeTids?.inUse === 0 && B.toeTids?.inUse === 1);
    const info = await b.dev.query();
    assert.equal(info.counters.rxTerminates, 1);
    assert.equal(info.qps[0]?.state, 'ERR');
    assert.ok(
      dst.buf.every((x: number) => x === 0),
      'nothing written',
    );
  });
});
