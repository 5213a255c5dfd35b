/**
 * t3_tom (FreeBSD dev/cxgb/ulp/tom/cxgb_tom.c): stateful TCP offload for Terminator 3
 * cards, a module that augments cxgb(4). A T3 offloads IPv4 connections only (TOE4).
 */
import { tomModule } from '../../../../netinet/toecore.js';
import { IFCAP_TOE4 } from '../../../../net/if.js';

export const t3TomModule = tomModule({
  file: 't3_tom',
  description: 'TCP offload for Chelsio T3 (cxgb): TOE4',
  driver: 'cxgb',
  caps: IFCAP_TOE4,
});
