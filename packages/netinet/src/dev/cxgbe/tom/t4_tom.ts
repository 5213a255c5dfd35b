/**
 * t4_tom (FreeBSD dev/cxgbe/tom/t4_tom.c): stateful TCP offload for Terminator 4 cards,
 * a module that augments cxgbe(4). A T4 offloads IPv4 and IPv6 connections (TOE4, TOE6).
 */
import { tomModule } from '../../../netinet/toecore.js';
import { IFCAP_TOE4, IFCAP_TOE6 } from '../../../net/if.js';

export const t4TomModule = tomModule({
  file: 't4_tom',
  description: 'TCP offload for Chelsio T4 (cxgbe): TOE4, TOE6',
  driver: 'cxgbe',
  caps: IFCAP_TOE4 | IFCAP_TOE6,
});
