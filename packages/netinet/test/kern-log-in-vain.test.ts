/**
 * log(9) and the message buffer: net.inet.tcp.log_in_vain (1: SYNs to closed ports, 2:
 * every segment) and net.inet.udp.log_in_vain log in FreeBSD's words, IPv4 and IPv6, to
 * the engine's msgbuf and its `log` callback; off (the default) logs nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { LOG_INFO, MsgBuf, MSGBUF_LINES } from '../src/kern/msgbuf.js';
import { SOL_SOCKET, SO_LINGER } from '../src/kern/uipc_socket.js';
import { makePair } from './tcp-harness.js';

test('tcp log_in_vain: off by default, 1 logs SYNs to closed ports, IPv4 and IPv6', () => {
  for (const v6 of [false, true]) {
    const p = makePair(v6, 21);
    const dst = v6 ? '2001:db8::2' : '10.0.0.2';
    const c1 = p.a.socket(v6 ? 'inet6' : 'inet', 'stream');
    p.a.connect(c1, { addr: dst, port: 81 });
    p.run(p.now + 100_000);
    assert.deepEqual(p.b.msgbuf.read(), [], 'off by default');
    assert.equal(p.b.tcp.stat.tcps_noport, 1);
    p.b.sysctl.set('net.inet.tcp.log_in_vain', 1);
    const c2 = p.a.socket(v6 ? 'inet6' : 'inet', 'stream');
    p.a.connect(c2, { addr: dst, port: 82 });
    p.run(p.now + 100_000);
    const msgs = p.b.msgbuf.read();
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.priority, LOG_INFO);
    const src = v6 ? '2001:db8::1' : '10.0.0.1';
    assert.match(
      msgs[0]!.text,
      new RegExp(
        `^TCP: \\[${src.replace(/\./g, '\\.')}\\]:\\d+ to \\[${dst.replace(/\./g, '\\.')}\\]:82 tcpflags 0x2<SYN>; tcp_input: Connection attempt to closed port$`,
      ),
    );
  }
});

test('tcp log_in_vain=2 logs every segment to a closed port, not just SYNs', () => {
  const lines: string[] = [];
  const p = makePair(false, 22);
  // A connection whose server side is then torn down: its next segment hits a closed port.
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 4);
  const c = p.a.socket('inet', 'stream');
  p.a.connect(c, { addr: '10.0.0.2', port: 80 });
  let s = -1;
  p.run(p.now + 100_000, () => (s = p.b.accept(lfd)) >= 0);
  p.b.sysctl.set('net.inet.tcp.log_in_vain', 1);
  p.b.sysctl.set('net.inet.tcp.blackhole', 2); // no RST back: the peer keeps sending
  // Drop the server's pcb without telling the peer (as a reboot would).
  p.drop = (from) => from === 'b';
  assert.equal(p.b.setsockopt(s, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 }), 0); // close sends an RST, dropped
  p.b.close(s);
  p.b.close(lfd);
  p.drop = null;
  p.a.send(c, Uint8Array.of(1, 2, 3), 0, 3);
  p.run(p.now + 50_000);
  assert.equal(p.b.msgbuf.read().length, 0, 'level 1 logs only SYNs');
  p.b.sysctl.set('net.inet.tcp.log_in_vain', 2);
  p.run(p.now + 2_000_000); // the retransmission
  for (const m of p.b.msgbuf.read()) lines.push(m.text);
  assert.ok(lines.length >= 1);
  assert.match(lines[0]!, /tcpflags 0x18<PSH,ACK>; tcp_input: Connection attempt to closed port$/);
});

test('udp log_in_vain, and the log callback sees what the msgbuf keeps', () => {
  const seen: [number, string][] = [];
  for (const v6 of [false, true]) {
    const b = new Engine({ seed: 5, log: (pri, text) => seen.push([pri, text]) });
    const a = new Engine({
      seed: 6,
      output: (_ifp, frame) => {
        b.input('tun0', frame.slice(), a.now);
      },
    });
    for (const [e, me] of [
      [a, 1],
      [b, 2],
    ] as const) {
      e.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
      e.addAddr('tun0', v6 ? `2001:db8::${me}/64` : `10.0.0.${me}/24`);
      e.setUp('tun0', true);
    }
    b.sysctl.set('net.inet.udp.log_in_vain', 1);
    const u = a.socket(v6 ? 'inet6' : 'inet', 'dgram');
    a.bind(u, { addr: v6 ? '2001:db8::1' : '10.0.0.1', port: 5353 });
    assert.equal(a.sendto(u, Uint8Array.of(1), { addr: v6 ? '2001:db8::2' : '10.0.0.2', port: 9999 }), 1);
    const want = v6
      ? 'Connection attempt to UDP [2001:db8::2]:9999 from [2001:db8::1]:5353'
      : 'Connection attempt to UDP 10.0.0.2:9999 from 10.0.0.1:5353';
    assert.deepEqual(
      b.msgbuf.read().map((m) => m.text),
      [want],
    );
    assert.deepEqual(seen.at(-1), [LOG_INFO, want]);
  }
});

test('the message buffer keeps the newest MSGBUF_LINES lines, oldest first, and counts what it overwrote', () => {
  let t = 0;
  const mb = new MsgBuf(() => t++);
  for (let i = 0; i < MSGBUF_LINES + 6; i++) mb.log(LOG_INFO, `line ${i}`);
  const lines = mb.read();
  assert.equal(lines.length, MSGBUF_LINES);
  assert.equal(lines[0]!.text, 'line 6');
  assert.equal(lines.at(-1)!.text, `line ${MSGBUF_LINES + 5}`);
  assert.ok(lines.every((m, i) => i === 0 || m.time > lines[i - 1]!.time));
  assert.equal(mb.overwritten, 6);
});
