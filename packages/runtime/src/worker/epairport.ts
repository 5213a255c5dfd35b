/**
 * A group worker's `a` end of an epair to the vnet worker (hostepair.ts): an Ethernet
 * interface of this worker's engine, up from the start as if_epair.c's, whose frames go
 * on this worker's ring to the vnet worker. Its receive ring is drained by the group's
 * loop with the link's (group.ts).
 */
import { type Engine, ERRNO, SysError, type Ifnet } from '@mcstack/netinet';
import { FrameRing, RingProducer } from '../ring.js';
import { Doorbell } from '../doorbell.js';
import type { GroupEpairSpec } from '../hostepair.js';

export class GroupEpair {
  readonly ifp: Ifnet;
  /** N of epairNa: the same end in every worker. */
  readonly unit: number;
  private readonly tx: RingProducer;
  private readonly bell: Doorbell;

  constructor(e: Engine, s: GroupEpairSpec) {
    if (e.ifunit(s.name) !== null) throw new SysError('EEXIST', `interface ${s.name} exists`, 'ifconfig');
    const m = /^epair(\d+)a$/.exec(s.name);
    if (m === null) throw new SysError('EINVAL', `${s.name} is not an epair's a end`, 'ifconfig');
    this.unit = Number(m[1]);
    this.ifp = e.ifattach({ name: s.name, type: 'ether', lladdr: s.mac });
    e.setUp(this.ifp, true);
    this.tx = new RingProducer(FrameRing.attach(s.tx));
    this.bell = new Doorbell(s.bell);
  }

  /** if_transmit: 0, or -ENOBUFS when the vnet worker's ring is full (counted in if_oqdrops). */
  send(frame: Uint8Array): number {
    if (this.tx.push(frame) < 0) {
      this.ifp.data.ifi_oqdrops++;
      return -ERRNO.ENOBUFS;
    }
    this.tx.publish();
    this.bell.ring();
    return 0;
  }
}
