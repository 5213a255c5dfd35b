// 64-bit big-endian fields (DDP and RDMAP Tagged Offsets) as bigint; internal to iwarp/.
import { get32, set32 } from '../bytes.js';
import { WireEmitError } from '../errors.js';

export function get64(b: Uint8Array, o: number): bigint {
  return (BigInt(get32(b, o)) << 32n) | BigInt(get32(b, o + 4));
}

export function set64(b: Uint8Array, o: number, v: bigint): void {
  if (v < 0n || v > 0xffffffffffffffffn) throw new WireEmitError('iwarp: 64-bit field out of range');
  set32(b, o, Number(v >> 32n));
  set32(b, o + 4, Number(v & 0xffffffffn));
}
