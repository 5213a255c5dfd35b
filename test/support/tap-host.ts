/**
 * One mcstack Engine facing the Linux kernel over TAP (tier 5, docs/architecture.md
 * "Tests in tiers"): a network namespace of the test's own, `tap0` on the engine with
 * the given addresses, the TAP device (bridged by socat) in the namespace with Linux's,
 * and a realtime loop driving the engine. The namespace is deleted if setting up fails.
 */
import { Engine, type Ifnet } from '@mcstack/netinet';
import { RealtimeLoop, TapLink } from '@mcstack/runtime';
import { Netns } from '@mcstack/bench';

export interface TapHost {
  ns: Netns;
  engine: Engine;
  ifp: Ifnet;
  tap: TapLink;
  loop: RealtimeLoop;
}

export async function tapHost(o: {
  name: string;
  seed: number;
  lladdr: Uint8Array;
  /** CIDRs on the engine's tap0 and on Linux's side. */
  mcstack: string[];
  linux: string[];
}): Promise<TapHost> {
  const ns = await Netns.create(o.name);
  try {
    const engine = new Engine({ seed: o.seed });
    const ifp = engine.ifattach({ name: 'tap0', type: 'ether', lladdr: o.lladdr, mtu: 1500 });
    for (const a of o.mcstack) engine.addAddr(ifp, a);
    engine.setUp(ifp);
    const tap = await TapLink.open({ netns: ns.name, addrs: o.linux });
    const loop = new RealtimeLoop(engine);
    loop.attach(ifp, tap);
    loop.start();
    return { ns, engine, ifp, tap, loop };
  } catch (e) {
    await ns.delete();
    throw e;
  }
}
