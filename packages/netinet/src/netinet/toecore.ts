/**
 * The TCP offload core (FreeBSD netinet/toecore.c, toecore.h). A TOE driver's upper-layer
 * module (t4_tom for cxgbe(4), t3_tom for cxgb(4)) is a loadable module that registers a
 * toedev with its card's ports (TOEDEV(ifp)); only a port with one can turn IFCAP_TOE4 /
 * IFCAP_TOE6 on (without it the driver's SIOCSIFCAP answers EOPNOTSUPP). Unloading is
 * refused with EBUSY while a port has TOE enabled or a connection is offloaded (t4_tom.c
 * t4_tom_deactivate: "offload_map != 0"). The base driver works the same either way.
 */
import { ERRNO } from '../kern/errno.js';
import type { ModuleDef, ModuleHost } from '../kern/kern_linker.js';
import { IFCAP_TOE, type Ifnet } from '../net/if.js';
import { TF_TOE } from '../tcp/var.js';

/** struct toedev: what a TOM offers the ports of its driver. */
export interface Toedev {
  /** The module that registered it: `t4_tom`. */
  readonly tod_name: string;
  /** The driver whose ports it serves (if_dname): `cxgbe`, `cxgb`. */
  readonly driver: string;
  /** The IFCAP_TOE4 / IFCAP_TOE6 bits the card can offload (a T3: TOE4 only). */
  readonly caps: number;
}

/** if_dname: the driver part of an interface name (`cxgbe0` -> `cxgbe`). */
export function ifDname(name: string): string {
  return name.replace(/\d+$/, '');
}

export interface TomSpec {
  readonly file: string;
  readonly description: string;
  readonly driver: string;
  readonly caps: number;
}

/** A TOM as a kernel module: attach registers its toedev with every port of its driver, now and as ports come up. */
export function tomModule(spec: TomSpec): ModuleDef {
  const attached = new WeakMap<ModuleHost, { tod: Toedev; arrival: (ifp: Ifnet) => void }>();
  const ports = (host: ModuleHost, tod: Toedev) => host.net.ifnets.filter((i) => i.toedev === tod);
  return {
    name: spec.file,
    description: spec.description,
    attach(host: ModuleHost): number {
      const tod: Toedev = { tod_name: spec.file, driver: spec.driver, caps: spec.caps };
      // ifnet_arrival_event: a port made after the module was loaded gets it too.
      const arrival = (ifp: Ifnet) => {
        if (ifp.toedev === null && ifDname(ifp.name) === spec.driver) ifp.toedev = tod;
      };
      for (const ifp of host.net.ifnets) arrival(ifp);
      host.net.ifevents.push(arrival);
      attached.set(host, { tod, arrival });
      return 0;
    },
    quiesce(host: ModuleHost): number {
      const a = attached.get(host);
      if (a === undefined) return 0;
      for (const ifp of ports(host, a.tod)) if ((ifp.capenable & IFCAP_TOE) !== 0) return -ERRNO.EBUSY;
      for (const tp of host.tcp.tcbs) if ((tp.t_flags & TF_TOE) !== 0) return -ERRNO.EBUSY;
      return 0;
    },
    detach(host: ModuleHost): void {
      const a = attached.get(host);
      if (a === undefined) return;
      for (const ifp of ports(host, a.tod)) ifp.toedev = null;
      const i = host.net.ifevents.indexOf(a.arrival);
      if (i >= 0) host.net.ifevents.splice(i, 1);
      attached.delete(host);
    },
  };
}
