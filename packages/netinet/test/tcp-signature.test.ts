// TCP-MD5 (RFC 2385) between engines and against the shared signed frames: every
// segment of a TCP_MD5SIG connection carries a valid signature, a wrong or missing one
// is dropped and counted (tcp_signature_verify), signature_verify_input=0 skips the
// check, no SA means nothing is sent (tcps_sig_err_buildsig).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap, tcpMd5Verify, TcpOptionScan, TOF_SIGNATURE } from '@mcstack/wire';
import { makePair, type Pair } from './tcp-harness.js';
import { ERRNO } from '../src/kern/errno.js';
import { Engine } from '../src/engine.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { TCP_MD5SIG } from '../src/tcp/usrreq.js';
import { parseSetkey, formatSetkeyDump } from '../src/tools/setkey.js';
import { SysError } from '../src/kern/errno.js';

const enc = new TextEncoder();
const A4 = '10.0.0.1';
const B4 = '10.0.0.2';

/** The SAs both directions need, with the key each side holds. */
function keys(p: Pair, a: string, b: string, keyA: string, keyB: string): void {
  p.a.setkey(
    parseSetkey(`add ${a} ${b} tcp 0x1000 -A tcp-md5 "${keyA}"; add ${b} ${a} tcp 0x1001 -A tcp-md5 "${keyA}";`),
  );
  p.b.setkey(
    parseSetkey(`add ${a} ${b} tcp 0x1000 -A tcp-md5 "${keyB}"; add ${b} ${a} tcp 0x1001 -A tcp-md5 "${keyB}";`),
  );
}

/** Every TCP frame of the run, with whether it carries a signature valid under `key`. */
function tap(
  p: Pair,
  key: string,
  drop?: (from: 'a' | 'b', tcpFlags: number) => boolean,
): { signed: number; unsigned: number; bad: number; flags: Set<number> } {
  const seen = { signed: 0, unsigned: 0, bad: 0, flags: new Set<number>() };
  const scan = new TcpOptionScan();
  const k = enc.encode(key);
  p.drop = (from, f) => {
    const v4 = f[0]! >>> 4 === 4;
    const ip = v4 ? (f[0]! & 15) * 4 : 40;
    if ((v4 ? f[9] : f[6]) !== IPPROTO_TCP) return false;
    const hl = (f[ip + 12]! >>> 4) * 4;
    seen.flags.add(f[ip + 13]!);
    if ((scan.scan(f, ip + 20, ip + hl, (f[ip + 13]! & 2) !== 0) & TOF_SIGNATURE) === 0) seen.unsigned++;
    else if (tcpMd5Verify(f, 0, ip, f.length - ip, k)) seen.signed++;
    else seen.bad++;
    return drop?.(from, f[ip + 13]!) ?? false;
  };
  return seen;
}

function listen(e: Engine, port: number, md5: boolean, family: 'inet' | 'inet6' = 'inet', addr?: string): number {
  const l = e.socket(family, 'stream');
  if (md5) assert.equal(e.setsockopt(l, IPPROTO_TCP, TCP_MD5SIG, 1), 0);
  assert.equal(e.bind(l, { addr: addr ?? (family === 'inet' ? '0.0.0.0' : '::'), port }), 0);
  assert.equal(e.listen(l, 5), 0);
  return l;
}

function dial(e: Engine, addr: string, port: number, md5: boolean, family: 'inet' | 'inet6' = 'inet'): number {
  const c = e.socket(family, 'stream');
  if (md5) assert.equal(e.setsockopt(c, IPPROTO_TCP, TCP_MD5SIG, 1), 0);
  assert.equal(e.connect(c, { addr, port }), -ERRNO.EINPROGRESS);
  return c;
}

for (const v6 of [false, true]) {
  test(`matching keys (${v6 ? 'IPv6' : 'IPv4'}): data both ways, close, TIME_WAIT; every segment signed`, () => {
    const p = makePair(v6);
    const [a, b] = v6 ? ['2001:db8::1', '2001:db8::2'] : [A4, B4];
    const fam = v6 ? 'inet6' : 'inet';
    keys(p, a, b, 'bgp-secret', 'bgp-secret');
    // a's ACK of b's FIN is lost once: b resends the FIN, a answers from TIME_WAIT.
    let phase: 'open' | 'closing' | 'timewait' = 'open';
    let twAcks = 0;
    const seen = tap(p, 'bgp-secret', (from, fl) => {
      if (from !== 'a' || phase === 'open' || fl !== 0x10) return false;
      if (phase === 'closing') {
        phase = 'timewait';
        return true;
      }
      twAcks++;
      return false;
    });
    const l = listen(p.b, 179, true, fam);
    const c = dial(p.a, b, 179, true, fam);
    p.run(1_000_000);
    const s = p.b.accept(l);
    assert.ok(s >= 0, 'accepted through the syncache');
    const big = new Uint8Array(20_000).map((_, i) => i * 7);
    assert.equal(p.a.send(c, big), big.length);
    assert.equal(p.b.send(s, enc.encode('OPEN')), 4);
    p.run(2_000_000);
    const got = new Uint8Array(30_000);
    assert.equal(p.b.recv(s, got), big.length);
    assert.deepEqual(got.subarray(0, big.length), big);
    assert.equal(p.a.recv(c, got), 4);
    assert.equal(p.a.close(c), 0);
    p.run(3_000_000);
    phase = 'closing';
    assert.equal(p.b.close(s), 0);
    p.run(8_000_000);
    // The retransmitted FIN drew the TIME_WAIT ACK (tcp_twcheck → tcp_respond), signed too.
    assert.ok(twAcks >= 1, 'an ACK from TIME_WAIT');
    assert.equal(seen.unsigned, 0);
    assert.equal(seen.bad, 0);
    assert.ok(seen.signed > 20, `${seen.signed} signed segments`);
    for (const f of [0x02, 0x12, 0x10, 0x18, 0x11]) assert.ok(seen.flags.has(f), `flags 0x${f.toString(16)} seen`);
    for (const e of [p.a, p.b]) {
      const st = e.tcp.stat;
      assert.ok(st.tcps_sig_rcvgoodsig > 10);
      assert.equal(st.tcps_sig_rcvbadsig, 0);
      assert.equal(st.tcps_sig_err_buildsig, 0);
    }
    // Full-sized segments leave room for the option (tcp_maxseg): 1460 - 20 (IPv4).
    assert.equal(p.a.tcpInfo(c) !== null, true);
  });
}

test('a wrong key: the SYN is dropped, nothing accepted, counted as bad signatures', () => {
  const p = makePair();
  keys(p, A4, B4, 'right', 'wrong');
  const seen = tap(p, 'right');
  const l = listen(p.b, 179, true);
  dial(p.a, B4, 179, true);
  p.run(10_000_000);
  assert.equal(p.b.accept(l), -ERRNO.EAGAIN);
  const st = p.b.tcp.stat;
  assert.ok(st.tcps_sig_rcvbadsig >= 3, `${st.tcps_sig_rcvbadsig} bad`);
  assert.equal(st.tcps_sig_rcvgoodsig, 0);
  assert.equal(st.tcps_sig_err_nosigopt, 0);
  assert.equal(p.b.tcp.syncache.size, 0);
  assert.equal(seen.unsigned + seen.bad, 0, 'only a sends, and signs');
  assert.ok(seen.signed >= 3, 'SYN retransmissions');
});

test('a signature missing on a TCP_MD5SIG listener, and an unexpected one on a plain listener', () => {
  const p = makePair();
  keys(p, A4, B4, 'k', 'k');
  const l = listen(p.b, 179, true);
  dial(p.a, B4, 179, false);
  p.run(5_000_000);
  assert.equal(p.b.accept(l), -ERRNO.EAGAIN);
  assert.ok(p.b.tcp.stat.tcps_sig_err_nosigopt >= 1);
  assert.equal(p.b.tcp.stat.tcps_sig_rcvbadsig, p.b.tcp.stat.tcps_sig_err_nosigopt);

  const q = makePair();
  keys(q, A4, B4, 'k', 'k');
  const l2 = listen(q.b, 80, false);
  dial(q.a, B4, 80, true);
  q.run(5_000_000);
  assert.equal(q.b.accept(l2), -ERRNO.EAGAIN);
  assert.ok(q.b.tcp.stat.tcps_sig_err_sigopt >= 1);
});

test('net.inet.tcp.signature_verify_input=0 skips the check on input', () => {
  const p = makePair();
  keys(p, A4, B4, 'one', 'other');
  p.a.sysctl.set('net.inet.tcp.signature_verify_input', 0);
  p.b.sysctl.set('net.inet.tcp.signature_verify_input', 0);
  const l = listen(p.b, 179, true);
  const c = dial(p.a, B4, 179, true);
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.ok(s >= 0);
  assert.equal(p.a.send(c, enc.encode('unchecked')), 9);
  p.run(2_000_000);
  assert.equal(p.b.recv(s, new Uint8Array(64)), 9);
  for (const e of [p.a, p.b]) {
    const st = e.tcp.stat;
    assert.equal(st.tcps_sig_rcvgoodsig + st.tcps_sig_rcvbadsig, 0, 'nothing checked');
  }
});

test('no SA: the SYN is not sent unsigned, tcps_sig_err_buildsig counts it', () => {
  const p = makePair();
  const seen = tap(p, 'x');
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_MD5SIG, 1), 0);
  const r = p.a.connect(c, { addr: B4, port: 179 });
  assert.equal(r, -ERRNO.ENOENT);
  p.run(5_000_000);
  assert.equal(seen.signed + seen.unsigned + seen.bad, 0, 'nothing on the wire');
  assert.ok(p.a.tcp.stat.tcps_sig_err_buildsig >= 1);
});

// ---- the shared RFC 2385 frames (test/fixtures/tcp-md5, see its SOURCES.md) ------------

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures');

function frames(): Uint8Array[] {
  const f = readPcap(new Uint8Array(readFileSync(join(FIXTURES, 'tcp-md5', 'tcp-md5-derived.pcap'))));
  assert.ok(f.ok);
  return f.value.packets.map((p) => p.data);
}

/** An engine at 192.168.0.1 and 2001:db8::2 with TCP_MD5SIG listeners on 8080 and SAs under `key`. */
function receiver(key: string): { e: Engine; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const e = new Engine({ seed: 3, output: (_i, f) => out.push(f.slice()) });
  e.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
  assert.equal(e.addAddr('tun0', '192.168.0.1/16'), 0);
  assert.equal(e.addAddr('tun0', '2001:db8::2/64'), 0);
  e.setUp('tun0', true);
  assert.equal(e.addRoute('192.0.2.0/24', 'tun0'), 0);
  e.setkey(
    parseSetkey(`
      add 192.0.2.1 192.168.0.1 tcp 0x1000 -A tcp-md5 "${key}";
      add 192.168.0.1 192.0.2.1 tcp 0x1001 -A tcp-md5 "${key}";
      add 2001:db8::1 2001:db8::2 tcp 0x1002 -A tcp-md5 "${key}";
      add 2001:db8::2 2001:db8::1 tcp 0x1003 -A tcp-md5 "${key}";`),
  );
  listen(e, 8080, true, 'inet', '192.168.0.1');
  listen(e, 8080, true, 'inet6', '2001:db8::2');
  return { e, out };
}

test('the shared RFC 2385 frames verify: SYNs answered with signed SYN-ACKs, data segments with signed RSTs', () => {
  const { e, out } = receiver('secret');
  for (const f of frames()) e.input('tun0', f, 1000);
  const st = e.tcp.stat;
  assert.equal(st.tcps_sig_rcvgoodsig, 4);
  assert.equal(st.tcps_sig_rcvbadsig, 0);
  assert.equal(out.length, 4, 'two SYN-ACKs, two RSTs (no syncache entry for the data)');
  const key = enc.encode('secret');
  for (const f of out) {
    const ip = f[0]! >>> 4 === 4 ? 20 : 40;
    assert.ok(tcpMd5Verify(f, 0, ip, f.length - ip, key));
  }
  assert.deepEqual(
    out.map((f) => f[(f[0]! >>> 4 === 4 ? 20 : 40) + 13]),
    [0x12, 0x04, 0x12, 0x04],
  );
});

test('the shared frames under another key: all four dropped, nothing sent', () => {
  const { e, out } = receiver('not the secret');
  for (const f of frames()) e.input('tun0', f, 1000);
  assert.equal(e.tcp.stat.tcps_sig_rcvbadsig, 4);
  assert.equal(e.tcp.stat.tcps_sig_rcvgoodsig, 0);
  assert.equal(out.length, 0);
});

test('setkey: parse, add, delete, dump, flush; errors are typed', () => {
  const e = new Engine();
  const sas = e.setkey(parseSetkey('add 10.0.0.1 10.0.0.2 tcp 0x1000 -A tcp-md5 0x73656372; dump;'));
  assert.deepEqual(sas, [{ src: '10.0.0.1', dst: '10.0.0.2', spi: 4096, key: '73656372' }]);
  assert.match(formatSetkeyDump(sas), /^10\.0\.0\.1 10\.0\.0\.2\n\ttcp mode=any spi=4096\(0x00001000\)/);
  assert.throws(
    () => e.setkey(parseSetkey('add 10.0.0.1 10.0.0.2 tcp 4096 -A tcp-md5 "x";')),
    (err: unknown) => err instanceof SysError && err.code === 'EEXIST',
  );
  assert.throws(
    () => e.setkey(parseSetkey('delete 10.0.0.9 10.0.0.2 tcp 4096;')),
    (err: unknown) => err instanceof SysError && err.code === 'ENOENT',
  );
  for (const bad of [
    'add 10.0.0.1 10.0.0.2 esp 4096 -A tcp-md5 "x";',
    'add 10.0.0.1 ::1 tcp 4096 -A tcp-md5 "x";',
    'add 10.0.0.1 10.0.0.2 tcp 12 -A tcp-md5 "x";',
    'add 10.0.0.1 10.0.0.2 tcp 4096 -A hmac-md5 "x";',
    'add 10.0.0.1 10.0.0.2 tcp 4096 -A tcp-md5 "x"',
    'spdadd 10.0.0.1 10.0.0.2 any -P out none;',
  ]) {
    assert.throws(
      () => parseSetkey(bad),
      (err: unknown) => err instanceof SysError && err.code === 'EINVAL',
      bad,
    );
  }
  assert.deepEqual(e.setkey(parseSetkey('delete 10.0.0.1 10.0.0.2 tcp 4096; flush;')), []);
  assert.equal(formatSetkeyDump([]), 'No SAD entries.\n');
});
