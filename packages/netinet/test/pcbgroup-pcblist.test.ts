/**
 * pcblist (in_pcblist.ts): netstat's records, the sizing rule from the change notes
 * (count + max(count/8, 10)), and the generation-count consistency of a listing taken
 * in chunks while pcbs come and go: no pcb twice, none missed that lived through the
 * whole listing, none that arrived after it began.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine } from '../src/engine.js';
import { pcblistEstimate } from '../src/netinet/in_pcblist.js';
import { makePair } from './tcp-harness.js';

test('records: addresses, state, queues, timers, group and generation of TCP and UDP pcbs', () => {
  const p = makePair(false, 11);
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '0.0.0.0', port: 80 });
  p.b.listen(lfd, 8);
  const cfd = p.a.socket('inet', 'stream');
  p.a.connect(cfd, { addr: '10.0.0.2', port: 80 });
  p.run(p.now + 100_000);
  const sfd = p.b.accept(lfd);
  // 3000 bytes arrive unread at b; 5000 more leave a and are lost (so a keeps them queued).
  p.a.send(cfd, new Uint8Array(3000));
  p.run(p.now + 1_000_000);
  p.drop = (from) => from === 'a';
  p.a.send(cfd, new Uint8Array(5000));
  const u = p.b.socket('inet6', 'dgram');
  p.b.bind(u, { addr: '::', port: 5353 });
  const lport = (p.a.getsockname(cfd) as { port: number }).port;

  const lb = p.b.pcblist();
  assert.deepEqual(lb.begin, lb.end, 'nothing changed while listing');
  assert.equal(lb.begin.xig_count, 3);
  const [listen, conn, udp] = lb.records;
  assert.deepEqual(
    { ...listen!, inp_gencnt: 0, timers: null },
    {
      proto: 'tcp',
      family: 4,
      laddr: '0.0.0.0',
      lport: 80,
      faddr: '0.0.0.0',
      fport: 0,
      state: 'LISTEN',
      rcvq: 0,
      sndq: 0,
      timers: null,
      group: 0,
      flowid: 0,
      flowtype: 0,
      inp_gencnt: 0,
      fd: lfd,
    },
  );
  assert.equal(conn!.state, 'ESTABLISHED');
  assert.equal(conn!.laddr, '10.0.0.2');
  assert.equal(conn!.faddr, '10.0.0.1');
  assert.equal(conn!.fport, lport);
  assert.equal(conn!.rcvq, 3000);
  assert.equal(conn!.fd, sfd);
  assert.ok(conn!.inp_gencnt > listen!.inp_gencnt);
  assert.equal(udp!.proto, 'udp');
  assert.equal(udp!.family, 6);
  assert.equal(udp!.laddr, '::');
  assert.equal(udp!.state, '');
  assert.equal(udp!.timers, null);

  const [, aconn] = [undefined, p.a.pcblist().records[0]!];
  assert.equal(aconn.sndq, 5000);
  assert.equal(aconn.state, 'ESTABLISHED');
  const t = aconn.timers!;
  assert.ok(t.tt_rexmt !== null && t.tt_rexmt > 0 && t.tt_rexmt <= 1_000_000, `rexmt ${t.tt_rexmt}`);
  assert.equal(t.tt_persist, null);
  assert.equal(t.tt_2msl, null);
  // A closed connection in TIME_WAIT shows its 2MSL timer and no descriptor.
  p.drop = null;
  p.run(p.now + 2_000_000);
  p.a.close(cfd);
  p.run(p.now + 100_000);
  p.b.close(sfd);
  p.run(p.now + 100_000);
  const tw = p.a.pcblist().records.find((r) => r.state === 'TIME_WAIT')!;
  assert.ok(tw.timers!.tt_2msl! > 0);
  assert.equal(tw.fd, -1);
});

test('sizing: the count plus max(count/8, 10) records of slop', () => {
  assert.equal(pcblistEstimate(0), 10);
  assert.equal(pcblistEstimate(7), 17);
  assert.equal(pcblistEstimate(80), 90);
  assert.equal(pcblistEstimate(800), 900);
  const e = new Engine();
  for (let i = 0; i < 100; i++) e.bind(e.socket('inet', 'dgram'), { addr: '0.0.0.0', port: 0 });
  e.socket('inet', 'dgram'); // unbound: not a pcb in the tables yet
  assert.deepEqual(e.pcblistSize(), { count: 100, estimate: 112 });
  assert.equal(e.pcblist().records.length, 100);
});

test('a chunked listing while pcbs come and go: each survivor once, no newcomer, no duplicate', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 60 }),
      fc.array(
        fc.record({
          chunk: fc.integer({ min: 1, max: 7 }),
          close: fc.array(fc.nat(), { maxLength: 4 }),
          open: fc.nat({ max: 4 }),
        }),
        { maxLength: 30 },
      ),
      (initial, steps) => {
        const e = new Engine({ seed: 1 });
        const tcp = e.socket('inet', 'stream');
        e.bind(tcp, { addr: '0.0.0.0', port: 80 });
        e.listen(tcp, 8);
        // A pcb is known by protocol and generation (each protocol counts its own).
        const open = new Map<number, string>(); // fd -> 'udp/gencnt'
        const add = () => {
          const fd = e.socket('inet', 'dgram');
          assert.equal(e.bind(fd, { addr: '0.0.0.0', port: 0 }), 0);
          open.set(fd, `udp/${e.sockets.lookup(fd)!.so_pcb!.inp_gencnt}`);
        };
        for (let i = 0; i < initial; i++) add();
        const atStart = new Set([...open.values(), `tcp/${e.sockets.lookup(tcp)!.so_pcb!.inp_gencnt}`]);
        const closed = new Set<string>();
        const cur = e.pcblistCursor();
        const seen: string[] = [];
        for (const s of steps) {
          for (const r of cur.next(s.chunk)) seen.push(`${r.proto}/${r.inp_gencnt}`);
          const fds = [...open.keys()];
          for (const k of s.close) {
            if (fds.length === 0) break;
            const fd = fds.splice(k % fds.length, 1)[0]!;
            closed.add(open.get(fd)!);
            open.delete(fd);
            e.close(fd);
          }
          for (let i = 0; i < s.open; i++) add();
        }
        for (let r: ReturnType<typeof cur.next>; (r = cur.next(3)).length > 0; )
          for (const x of r) seen.push(`${x.proto}/${x.inp_gencnt}`);
        assert.ok(cur.done);
        assert.equal(new Set(seen).size, seen.length, 'no pcb twice');
        for (const g of seen) assert.ok(atStart.has(g), `generation ${g} arrived after the listing began`);
        for (const g of atStart) if (!closed.has(g)) assert.ok(seen.includes(g), `survivor ${g} missed`);
        // The closing header tells whether anything came or went.
        const changed = closed.size > 0 || steps.some((s) => s.open > 0);
        assert.equal(cur.end().xig_gen !== cur.begin.xig_gen, changed);
      },
    ),
    { seed: 0x9cb1, numRuns: 200 },
  );
});
