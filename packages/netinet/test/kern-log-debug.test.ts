/**
 * net.inet.tcp.log_debug: the tcp_log_addrs lines FreeBSD logs at LOG_DEBUG for odd
 * segments (a spurious RST to a listener, an ACK failing SYN-cookie authentication, a
 * missing timestamp), only when it is on, and never mixed with log_in_vain's lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { LOG_DEBUG, LOG_INFO } from '../src/kern/msgbuf.js';
import { rawTcp4 } from './raw-tcp4.js';

/** A bare TCP segment (no options) from 11.0.0.1:4000 to 10.0.0.2:dport. */
function seg(flags: number, dport: number, seq: number, ack: number): Uint8Array {
  return rawTcp4(new Uint8Array(44), { src: 0x0b000001, dst: 0x0a000002, sport: 4000, dport, seq, ack, flags });
}

function listener(logDebug: number, logInVain: number): Engine {
  const e = new Engine({ seed: 3 });
  e.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
  e.addAddr('tun0', '10.0.0.2/24');
  e.setUp('tun0', true);
  e.addRoute('0.0.0.0/0', '10.0.0.1');
  e.sysctl.set('net.inet.tcp.log_debug', logDebug);
  e.sysctl.set('net.inet.tcp.log_in_vain', logInVain);
  const lfd = e.socket('inet', 'stream');
  e.bind(lfd, { addr: '10.0.0.2', port: 80 });
  e.listen(lfd, 8);
  return e;
}

test('log_debug: a spurious RST and a forged cookie ACK are logged at LOG_DEBUG with tcp_log_addrs', () => {
  const e = listener(1, 0);
  e.input('tun0', seg(0x04, 80, 1000, 0), 1);
  e.sysctl.set('net.inet.tcp.syncookies_only', 1);
  e.input('tun0', seg(0x10, 80, 1001, 12345), 2);
  const lines = e.msgbuf.read();
  assert.deepEqual(
    lines.map((l) => [l.priority, l.text]),
    [
      [
        LOG_DEBUG,
        'TCP: [11.0.0.1]:4000 to [10.0.0.2]:80 tcpflags 0x4<RST>; syncache_chkrst: Spurious RST without matching ' +
          'syncache entry (possibly syncookie only), segment ignored',
      ],
      [
        LOG_DEBUG,
        'TCP: [11.0.0.1]:4000 to [10.0.0.2]:80 tcpflags 0x10<ACK>; syncache_expand: Segment failed SYNCOOKIE ' +
          'authentication, segment rejected (probably spoofed)',
      ],
    ],
  );
  assert.equal(e.tcp.stat.tcps_badrst, 1);
});

test('log_debug off logs nothing of that; log_in_vain stays its own switch', () => {
  const e = listener(0, 1);
  e.input('tun0', seg(0x04, 80, 1000, 0), 1);
  e.input('tun0', seg(0x02, 81, 1000, 0), 2); // a SYN to a closed port: log_in_vain's
  const lines = e.msgbuf.read();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.priority, LOG_INFO);
  assert.match(lines[0]!.text, /tcp_input: Connection attempt to closed port$/);
  const d = listener(1, 0);
  d.input('tun0', seg(0x02, 81, 1000, 0), 2);
  assert.equal(d.msgbuf.read().length, 0, 'log_debug does not log connection attempts to closed ports');
});
