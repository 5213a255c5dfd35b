/**
 * The modules kldload can find (FreeBSD's /boot/kernel): each is registered with the
 * process's linker once, when the engine is first imported. A new module (a helper, an
 * algorithm, a TOE) is one more line here.
 */
import { linker, type ModuleDef } from './kern/kern_linker.js';
import { ccCdgModule } from './tcp/cc/cdg.js';
import { ccChdModule } from './tcp/cc/chd.js';
import { ccCubicModule } from './tcp/cc/cubic.js';
import { ccDctcpModule } from './tcp/cc/dctcp.js';
import { ccHdModule } from './tcp/cc/hd.js';
import { ccHtcpModule } from './tcp/cc/htcp.js';
import { ccVegasModule } from './tcp/cc/vegas.js';
import { hErttModule } from './tcp/khelp/h_ertt.js';
import { t4TomModule } from './dev/cxgbe/tom/t4_tom.js';
import { t3TomModule } from './dev/cxgb/ulp/tom/cxgb_tom.js';

export const kernelModules: readonly ModuleDef[] = [
  hErttModule,
  ccCubicModule,
  ccDctcpModule,
  ccHtcpModule,
  ccVegasModule,
  ccHdModule,
  ccChdModule,
  ccCdgModule,
  t4TomModule,
  t3TomModule,
];

for (const m of kernelModules) linker.register(m);
