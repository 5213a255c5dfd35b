// A native queue's transmit of the engine's 64 KiB TSO segment (links/queueport.ts), to
// /dev/null so only the user-space side and the system call's entry are timed: the frame
// copied behind its virtio-net header and written, against one writev(2) of the header
// and the frame where the engine built it (native/iovec.ts).
// Nothing is registered where koffi's native library cannot be loaded.
import { native } from '@mcstack/runtime';
import type { MicroTask } from './index.js';

const HDR = 10;
const FRAME = 14 + 20 + 32 + 65000;

function build(): MicroTask[] {
  if (!native.nativeStatus().ok || !native.IoVecs.supported) return [];
  const { libc } = native;
  const fd = libc.open('/dev/null', libc.O_WRONLY | libc.O_CLOEXEC);
  // The engine's output buffer: the frame at a headroom, as tcp_output leaves it.
  const outbuf = new Uint8Array(128 + 60 + 65536);
  const frame = outbuf.subarray(94, 94 + FRAME);
  const txBuf = new Uint8Array(HDR + FRAME);
  const txFrame = txBuf.subarray(HDR);
  const iov = new native.IoVecs(2);
  return [
    {
      name: 'native queue tx 64 KiB: copy behind the header + write(2)',
      unitsPerOp: FRAME,
      unit: 'B',
      fn: () => {
        txFrame.set(frame);
        libc.write(fd, txBuf, HDR + FRAME);
      },
    },
    {
      name: 'native queue tx 64 KiB: writev(2) of header and frame',
      unitsPerOp: FRAME,
      unit: 'B',
      fn: () => {
        iov.set(0, txBuf, 0, HDR);
        iov.set(1, frame, 0, FRAME);
        iov.writev(fd, 2);
      },
    },
  ];
}

export const tasks: MicroTask[] = build();
