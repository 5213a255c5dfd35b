/**
 * in_pcbbind_setup()'s conflict rule (FreeBSD sys/netinet/in_pcb.c): which pcbs already on
 * a port keep a bind of it off, with and without SO_REUSEADDR / SO_REUSEPORT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inpcb, InpcbInfo } from '../src/netinet/in_pcb.js';
import { SeededRandom } from '../src/kern/random.js';
import { SO_REUSEADDR, SO_REUSEPORT, type Socket } from '../src/kern/uipc_socket.js';

const ANY = new Uint8Array(16);
const mapped = (a: number, b: number, c: number, d: number): Uint8Array =>
  Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
const LOCAL = mapped(10, 0, 0, 2);
const OTHER = mapped(10, 0, 0, 3);
const PEER = mapped(10, 0, 0, 1);
const GROUP = mapped(239, 1, 1, 1);

/** A pcb on port 80 at `laddr`, connected to PEER when `fport` is given; `options` its socket's (none: no socket, as a TIME_WAIT pcb whose socket is gone). */
function holder(info: InpcbInfo, laddr: Uint8Array, options: number | null, fport = 0): Inpcb {
  const so = options === null ? null : ({ so_options: options } as Socket);
  const inp = new Inpcb(info, so, false);
  inp.setLaddr(laddr);
  inp.inp_lport = 80;
  if (fport !== 0) {
    inp.setFaddr(PEER);
    inp.inp_fport = fport;
  }
  info.insPort(inp);
  return inp;
}

function conflicts(info: InpcbInfo, laddr: Uint8Array, options: number): boolean {
  return info.bindConflict(new Inpcb(info, null, false), laddr, 80, options);
}

test('a connection on the port (TIME_WAIT, socket gone): a conflict without SO_REUSEADDR, none with it', () => {
  const info = new InpcbInfo(new SeededRandom(1), 64);
  holder(info, LOCAL, null, 5555);
  assert.equal(conflicts(info, ANY, 0), true);
  assert.equal(conflicts(info, LOCAL, 0), true);
  assert.equal(conflicts(info, ANY, SO_REUSEADDR), false);
  assert.equal(conflicts(info, LOCAL, SO_REUSEADDR), false);
  assert.equal(conflicts(info, LOCAL, SO_REUSEPORT), false);
});

test('a listener on the exact address: SO_REUSEADDR is not enough, SO_REUSEPORT on both is', () => {
  const info = new InpcbInfo(new SeededRandom(1), 64);
  holder(info, ANY, SO_REUSEADDR);
  assert.equal(conflicts(info, ANY, 0), true);
  assert.equal(conflicts(info, ANY, SO_REUSEADDR), true);
  assert.equal(conflicts(info, ANY, SO_REUSEPORT), true, 'the holder lacks SO_REUSEPORT');
  const info2 = new InpcbInfo(new SeededRandom(1), 64);
  holder(info2, ANY, SO_REUSEPORT);
  assert.equal(conflicts(info2, ANY, SO_REUSEADDR), true, 'the binder lacks SO_REUSEPORT');
  assert.equal(conflicts(info2, ANY, SO_REUSEPORT), false);
});

test('a wildcard listener: a specific address binds only with SO_REUSEADDR (the exact lookup misses it)', () => {
  const info = new InpcbInfo(new SeededRandom(1), 64);
  holder(info, ANY, 0);
  assert.equal(conflicts(info, LOCAL, 0), true);
  assert.equal(conflicts(info, LOCAL, SO_REUSEADDR), false);
  const info2 = new InpcbInfo(new SeededRandom(1), 64);
  holder(info2, LOCAL, 0);
  assert.equal(conflicts(info2, OTHER, 0), false, 'another specific address never overlaps');
  assert.equal(conflicts(info2, ANY, 0), true);
  assert.equal(conflicts(info2, ANY, SO_REUSEADDR), false);
});

test('the best fit decides: an exact SO_REUSEPORT listener wins over a wildcard one without', () => {
  const info = new InpcbInfo(new SeededRandom(1), 64);
  holder(info, ANY, 0);
  holder(info, LOCAL, SO_REUSEPORT);
  assert.equal(conflicts(info, LOCAL, SO_REUSEPORT), false);
  assert.equal(conflicts(info, LOCAL, 0), true);
});

test('on a multicast address SO_REUSEADDR counts as SO_REUSEPORT', () => {
  const info = new InpcbInfo(new SeededRandom(1), 64);
  holder(info, GROUP, SO_REUSEADDR);
  assert.equal(conflicts(info, GROUP, SO_REUSEADDR), false);
  assert.equal(conflicts(info, GROUP, 0), true);
});
