/**
 * The port hash's per-port lists (ipi_porthashbase, ipi_wildbase), threaded through the
 * pcbs: many pcbs on one port (a server's connections, SO_REUSEADDR listeners) entered and
 * removed in any order leave exactly the others, and the wildcard lookup and the bind-conflict
 * check see exactly those still bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Inpcb, InpcbInfo } from '../src/netinet/in_pcb.js';
import { SeededRandom } from '../src/kern/random.js';

const ANY = new Uint8Array(16);
/** ::ffff:10.0.0.2 as the pcbs keep IPv4 addresses. */
const LOCAL = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2]);

test('many pcbs on one port: entered and removed in any order, the lists hold exactly the rest', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat(), { maxLength: 80 }), (n, picks) => {
      const info = new InpcbInfo(new SeededRandom(1), 64);
      const pcbs: Inpcb[] = [];
      for (let i = 0; i < n; i++) {
        const inp = new Inpcb(info, null, false);
        inp.setLaddr(LOCAL);
        inp.inp_lport = 80;
        // Every third one unconnected (a listener: also on the wildcard list), the rest connected.
        if (i % 3 !== 0) {
          inp.setFaddr(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 1, i & 0xff]));
          inp.inp_fport = 1000 + i;
        }
        info.insPort(inp);
        pcbs.push(inp);
      }
      const live = new Set(pcbs);
      const frame = new Uint8Array(4);
      frame.set(LOCAL.subarray(12));
      for (const k of picks) {
        if (live.size === 0) break;
        const inp = [...live][k % live.size]!;
        info.remove(inp);
        live.delete(inp);
        assert.deepEqual(new Set(info.all()), live);
        assert.equal(info.count, live.size);
        // The wildcard lookup finds a still-bound unconnected pcb, or none when none is left.
        const wild = info.lookupWild(frame, 0, 80, 4);
        const listeners = [...live].filter((p) => !p.connected);
        if (listeners.length === 0) assert.equal(wild, null);
        else assert.ok(wild !== null && live.has(wild) && !wild.connected);
        // Binding the port without SO_REUSEADDR conflicts exactly while anything holds it.
        assert.equal(info.bindConflict(new Inpcb(info, null, false), ANY, 80, 0), live.size > 0);
      }
    }),
    { seed: 0x9047, numRuns: 200 },
  );
});
