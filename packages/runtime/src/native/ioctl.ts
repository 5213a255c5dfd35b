/**
 * ioctl request numbers, built as the _IOC macros of asm-generic/ioctl.h build them,
 * so tun.ts can write `_IOW('T', 202, 4)` beside the line of linux/if_tun.h it copies
 * instead of a bare 0x400454ca.
 *
 *   bits 31..30 direction, 29..16 size, 15..8 type, 7..0 number   (asm-generic)
 *
 * powerpc and mips use 3 direction bits and 13 size bits with other values
 * (arch/powerpc/include/uapi/asm/ioctl.h, arch/mips/include/uapi/asm/ioctl.h);
 * those are picked by process.arch. The results stay below 2^32 and are
 * non-negative numbers, as the `unsigned long` request of ioctl(2) wants.
 */

const OTHER_LAYOUT =
  process.arch === 'ppc64' || process.arch === 'ppc' || process.arch === 'mips' || process.arch === 'mipsel';

const SIZEBITS = OTHER_LAYOUT ? 13 : 14;
const DIR_NONE = OTHER_LAYOUT ? 1 : 0;
const DIR_WRITE = OTHER_LAYOUT ? 4 : 1;
const DIR_READ = 2;

function ioc(dir: number, type: string, nr: number, size: number): number {
  if (size >= 1 << SIZEBITS) throw new RangeError(`ioctl argument size ${size} too large`);
  // Multiplication, not <<, so bit 31 does not make the number negative.
  return dir * 2 ** 30 + size * 2 ** 16 + (type.charCodeAt(0) << 8) + (nr & 0xff);
}

/** _IO(type, nr): no argument. */
export function _IO(type: string, nr: number): number {
  return ioc(DIR_NONE, type, nr, 0);
}
/** _IOR(type, nr, sizeof(arg)): the kernel writes the argument. */
export function _IOR(type: string, nr: number, size: number): number {
  return ioc(DIR_READ, type, nr, size);
}
/** _IOW(type, nr, sizeof(arg)): the kernel reads the argument. */
export function _IOW(type: string, nr: number, size: number): number {
  return ioc(DIR_WRITE, type, nr, size);
}
/** _IOWR(type, nr, sizeof(arg)): both. */
export function _IOWR(type: string, nr: number, size: number): number {
  return ioc(DIR_READ | DIR_WRITE, type, nr, size);
}
