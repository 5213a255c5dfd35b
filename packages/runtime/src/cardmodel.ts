/**
 * The Chelsio card models a stack's port can be (docs/toe.md): the port's name says its
 * driver, and the driver says which TOM augments it, which TOE capabilities it has and
 * under which nexus its offload counters live (FreeBSD's newbus names):
 *
 * - `cxgbe0`: a T4 port of cxgbe(4), nexus `t4nex`, TOM `t4_tom` (t4_tom.c): TOE4 and TOE6.
 * - `cxgb0`: a T3 port of cxgb(4), nexus `cxgbc` (cxgb_main.c's controller driver), TOM
 *   `t3_tom` (cxgb_tom.c): TOE4 only.
 */
import { SysError, IFCAP_TOE4, IFCAP_TOE6 } from '@mcstack/netinet';

export interface CardModel {
  /** The stack's port: `cxgbe0`, `cxgb0`. */
  readonly ifname: string;
  /** The TOM whose kldload starts the card's worker. */
  readonly tom: string;
  /** The sysctl prefix of the card's offload counters (`dev.t4nex.0.toe`). */
  readonly toeSysctl: string;
  /** The IFCAP_TOE* bits the card can offer. */
  readonly toeCaps: number;
}

export const CARD_MODELS: readonly CardModel[] = [
  { ifname: 'cxgbe0', tom: 't4_tom', toeSysctl: 'dev.t4nex.0.toe', toeCaps: IFCAP_TOE4 | IFCAP_TOE6 },
  { ifname: 'cxgb0', tom: 't3_tom', toeSysctl: 'dev.cxgbc.0.toe', toeCaps: IFCAP_TOE4 },
];

/** The port the stack has without StackOptions.ifname. */
export const DEFAULT_IFNAME = 'cxgbe0';

/** The model of port `ifname`; EINVAL for a port mcstack does not model. */
export function cardModel(ifname: string = DEFAULT_IFNAME): CardModel {
  const m = CARD_MODELS.find((x) => x.ifname === ifname);
  if (m === undefined)
    throw new SysError(
      'EINVAL',
      `ifname ${JSON.stringify(ifname)}: one of ${CARD_MODELS.map((x) => x.ifname).join(', ')}`,
    );
  return m;
}
