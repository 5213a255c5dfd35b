// A capture of an RDMA exchange (MPA startup, RDMA Write, Read Request and Response,
// Send with Invalidate, a Terminate for a Write to the invalidated STag) decoded by
// tshark's iWARP dissectors (iwarp_mpa, a heuristic on TCP, and iwarp_ddp_rdmap):
// no malformed frame, no expert warning, every FPDU's CRC found good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePcap, LINKTYPE_RAW, type CapturedPacket } from '@mcstack/wire';
import { makeRdmaPair, connectPair } from './iwarp-harness.js';
import {
  IBV_SEND_SIGNALED,
  IBV_WR_RDMA_READ,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND_WITH_INV,
  IBV_WC_SUCCESS,
  IBV_WC_REM_ACCESS_ERR,
} from '../src/ofed/ib_verbs.js';

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const noTshark =
  tshark.error || tshark.status !== 0
    ? 'tshark is not installed (apt-get install -y tshark; .ci/run installs it in CI)'
    : false;

/** What would make the capture wrong: see tools-capture.test.ts; a lossless exchange has no TCP warnings either. */
const BAD = '_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == 0 || tcp.checksum.status == 0';
const CHECK = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];

function exchange(markers: boolean): { pcap: Uint8Array; fpdus: number } {
  const r = makeRdmaPair(5);
  const frames: CapturedPacket[] = [];
  r.p.drop = (_from, f) => {
    const t = r.p.now;
    frames.push({ tsSec: Math.floor(t / 1e6), tsNsec: (t % 1e6) * 1000, origLen: f.length, data: f.slice() });
    return false;
  };
  connectPair(r, { markers, privateData: new TextEncoder().encode('iwarp capture') }, { markers });
  const { a, b } = r;
  const src = r.mr(a, 8000);
  const sink = r.mr(a, 8000);
  const dst = r.mr(b, 8000);
  const rm = r.mr(b, 8000);
  src.buf.fill(0x41);
  dst.buf.fill(0x42);
  const S = IBV_SEND_SIGNALED;
  b.qp.postRecv({ wr_id: 1, sg_list: [{ addr: rm.iova, length: 8000, lkey: rm.lkey }] });
  const post = (wr: Parameters<typeof a.qp.postSend>[0]) => assert.equal(a.qp.postSend(wr), 0);
  post({
    wr_id: 1,
    opcode: IBV_WR_RDMA_WRITE,
    send_flags: S,
    sg_list: [{ addr: src.iova, length: 3000, lkey: src.lkey }],
    remote_addr: dst.iova,
    rkey: dst.rkey,
  });
  post({
    wr_id: 2,
    opcode: IBV_WR_RDMA_READ,
    send_flags: S,
    sg_list: [{ addr: sink.iova, length: 5000, lkey: sink.lkey }],
    remote_addr: dst.iova,
    rkey: dst.rkey,
  });
  post({
    wr_id: 3,
    opcode: IBV_WR_SEND_WITH_INV,
    send_flags: S,
    invalidate_rkey: dst.rkey,
    sg_list: [{ addr: src.iova, length: 100, lkey: src.lkey }],
  });
  r.run(300_000);
  post({
    wr_id: 4,
    opcode: IBV_WR_RDMA_WRITE,
    send_flags: S,
    sg_list: [{ addr: src.iova, length: 10, lkey: src.lkey }],
    remote_addr: dst.iova,
    rkey: dst.rkey,
  });
  r.run(2_000_000);
  assert.deepEqual(
    a.scq.poll().map((w) => [w.wr_id, w.status]),
    [
      [1, IBV_WC_SUCCESS],
      [2, IBV_WC_SUCCESS],
      [3, IBV_WC_SUCCESS],
      [4, IBV_WC_REM_ACCESS_ERR],
    ],
  );
  return {
    pcap: writePcap({ linkType: LINKTYPE_RAW, nanosecond: true }, frames),
    fpdus: a.dev.stats.txFpdus + b.dev.stats.txFpdus,
  };
}

function tsharkOut(file: string, args: string[]): string {
  return execFileSync('tshark', ['-r', file, ...CHECK, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

for (const markers of [false, true]) {
  test(`tshark decodes an RDMA exchange (markers ${markers}) without a malformed frame or a bad CRC`, {
    skip: noTshark,
  }, () => {
    const { pcap, fpdus } = exchange(markers);
    const dir = mkdtempSync(join(tmpdir(), 'mcstack-iwarp-'));
    try {
      const file = join(dir, 'rdma.pcap');
      writeFileSync(file, pcap);
      const bad = tsharkOut(file, ['-Y', BAD]);
      assert.equal(bad, '', `tshark flagged:\n${bad}`);
      const rr = tsharkOut(file, [
        '-Y',
        'iwarp_mpa.req || iwarp_mpa.rep',
        '-T',
        'fields',
        '-e',
        'iwarp_mpa.marker_flag',
      ])
        .trim()
        .split('\n');
      assert.equal(rr.length, 2, 'the MPA Request and Reply');
      const ops = tsharkOut(file, ['-Y', 'iwarp_rdma', '-T', 'fields', '-e', 'iwarp_rdma.opcode']).trim().split('\n');
      assert.equal(ops.length, fpdus, 'every FPDU decoded as DDP/RDMAP');
      // Write, Read Request, Read Response, Send with Invalidate, Terminate.
      assert.deepEqual([...new Set(ops)].sort(), ['0x00', '0x01', '0x02', '0x04', '0x07']);
      const good = tsharkOut(file, ['-V'])
        .split('\n')
        .filter((l) => l.includes('(Good CRC32)')).length;
      assert.equal(good, fpdus, 'every FPDU CRC verified good by tshark');
      const mk = tsharkOut(file, ['-Y', 'iwarp_mpa.marker_fpduptr', '-T', 'fields', '-e', 'frame.number']).trim();
      assert.equal(mk !== '', markers, 'markers present exactly when negotiated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
