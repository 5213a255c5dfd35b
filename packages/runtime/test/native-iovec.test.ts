/**
 * IoVecs (native/iovec.ts): iovecs laid out in bytes with the buffers' addresses. The
 * kernel must gather exactly the bytes each entry names — views at offsets of plain and
 * shared buffers, more buffers than the address cache keeps, a buffer coming back after
 * it was evicted — in entry order. Written to a file here and read back.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@mcstack/netinet';
import { nativeStatus, libc, IoVecs } from '../src/native/index.js';

const status = nativeStatus();
const skip = !status.ok
  ? status.reason
  : !IoVecs.supported
    ? `struct iovec is not laid out here on ${process.arch}`
    : undefined;

it('writev of IoVecs entries gathers each named range, across more buffers than the cache holds', (t) => {
  if (skip) return t.skip(skip);
  const seed = 0x10fec;
  const rnd = new SeededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), 'mcs-iov-'));
  const path = join(dir, 'out');
  const fd = libc.open(path, libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC, 0o600);
  const expected: number[] = [];
  try {
    const bufs = [
      ...Array.from({ length: 5 }, () => new Uint8Array(4096)),
      new Uint8Array(new SharedArrayBuffer(4096)),
    ];
    for (const buf of bufs) rnd.fill(buf);
    const iov = new IoVecs(3);
    for (let round = 0; round < 40; round++) {
      let n = 0;
      for (let i = 0; i < 3; i++) {
        const buf = bufs[rnd.below(bufs.length)]!;
        const view = buf.subarray(rnd.below(512));
        const off = rnd.below(512);
        const len = 1 + rnd.below(1024);
        iov.set(i, view, off, len);
        for (const x of view.subarray(off, off + len)) expected.push(x);
        n += len;
      }
      assert.equal(iov.writev(fd, 3), n, `seed ${seed} round ${round}`);
    }
  } finally {
    libc.close(fd);
  }
  try {
    assert.deepEqual([...readFileSync(path)], expected, `seed ${seed}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
