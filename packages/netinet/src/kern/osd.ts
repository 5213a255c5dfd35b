/**
 * Object-specific data (FreeBSD kern_osd.c): a subsystem registers a numbered slot of an
 * OSD type once per process; each object (a tcpcb) keeps its values in a sparse array
 * indexed by slot − 1, empty until a value is set.
 */

/** OSD types (sys/osd.h). */
export const OSD_THREAD = 0;
export const OSD_JAIL = 1;
export const OSD_KHELP = 2;
const OSD_TYPES = 3;

/** An object's slots (struct osd). */
export type Osd = unknown[];

/** Per type: which slots are taken. */
const taken: boolean[][] = Array.from({ length: OSD_TYPES }, () => []);

/** osd_register: the lowest free slot (from 1). */
export function osdRegister(type: number): number {
  const t = taken[type]!;
  let i = t.indexOf(false);
  if (i < 0) i = t.length;
  t[i] = true;
  return i + 1;
}

/** osd_deregister: the slot is free again (its users have dropped their values). */
export function osdDeregister(type: number, slot: number): void {
  const t = taken[type]!;
  if (slot >= 1 && slot <= t.length) t[slot - 1] = false;
}

/** osd_get: the value in `slot`, undefined when none. */
export function osdGet(osd: Osd, slot: number): unknown {
  return osd[slot - 1];
}

/** osd_set */
export function osdSet(osd: Osd, slot: number, value: unknown): void {
  while (osd.length < slot - 1) osd.push(undefined);
  osd[slot - 1] = value;
}

/** osd_del */
export function osdDel(osd: Osd, slot: number): void {
  if (slot >= 1 && slot <= osd.length) osd[slot - 1] = undefined;
}
