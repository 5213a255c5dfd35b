/**
 * TCP tunables and their sysctl OIDs (FreeBSD tcp_subr.c, tcp_timer.c, tcp_input.c,
 * tcp_output.c, tcp_syncache.c SYSCTLs), in FreeBSD's units: times are
 * milliseconds as sysctl shows them, converted to µs where used.
 */
import { loaderTunable, type SysctlTree } from '../kern/sysctl.js';
import { SB_MAX_DEFAULT } from '../kern/uipc_socket.js';
import { hcList, type TcpHostcache } from './hostcache.js';

export function newTcpTunables() {
  return {
    rfc1323: 1,
    sack_enable: 1,
    /** net.inet.tcp.sack.revised (V_tcp_do_newsack): RFC 6675 loss recovery, entered on SACKed bytes too. */
    do_newsack: 1,
    sack_maxholes: 128,
    ecn_enable: 2,
    ecn_maxretries: 1,
    recvspace: 65536,
    sendspace: 32768,
    recvbuf_auto: 1,
    recvbuf_max: 2 * 1024 * 1024,
    sendbuf_auto: 1,
    sendbuf_inc: 8192,
    sendbuf_max: 2 * 1024 * 1024,
    sendbuf_auto_lowat: 0,
    maxsockbuf: SB_MAX_DEFAULT,
    keepinit: 75_000,
    keepidle: 7_200_000,
    keepintvl: 75_000,
    keepcnt: 8,
    always_keepalive: 1,
    msl: 30_000,
    finwait2_timeout: 60_000,
    rexmit_min: 30,
    rexmit_slop: 200,
    rexmit_initial: 1000,
    rexmit_drop_options: 0,
    blackhole: 0,
    drop_synfin: 0,
    insecure_syn: 0,
    insecure_rst: 0,
    delayed_ack: 1,
    delacktime: 100,
    mssdflt: 536,
    v6mssdflt: 1220,
    minmss: 216,
    initcwnd_segments: 10,
    rfc3465: 1,
    abc_l_var: 2,
    syncookies: 1,
    syncookies_only: 0,
    /** Loader tunables (tcp_syncache.c syncache_init); cachelimit 0 = hashsize * bucketlimit. */
    syncache_hashsize: 512,
    syncache_bucketlimit: 30,
    syncache_cachelimit: 0,
    syncache_rexmtlimit: 3,
    syncache_rst_on_sock_fail: 1,
    log_in_vain: 0,
    log_debug: 0,
    /** Loader tunable: TCP's pru_soreceive is soreceive_stream (tcp_init). */
    soreceive_stream: 0,
    reass_maxqueuelen: 100,
    icmp_may_rst: 1,
    tolerate_missing_ts: 0,
    path_mtu_discovery: 1,
    /** net.inet.tcp.tso (V_tcp_do_tso): use TSO where the interface offers it. */
    tso: 1,
    /** net.inet.tcp.rfc6675_pipe (FreeBSD 14's default 1): SACK recovery's pipe per RFC 6675 §4. */
    do_rfc6675_pipe: 1,
    ack_war_cnt: 5,
    ack_war_timewindow: 1000,
    signature_verify_input: 1,
    udp_tunneling_port: 0,
    udp_tunneling_overhead: 8,
  };
}
export type TcpTunables = ReturnType<typeof newTcpTunables>;

const SORECEIVE_STREAM = loaderTunable('net.inet.tcp.soreceive_stream');

/** Register the net.inet.tcp.* and kern.ipc.* OIDs over `t`. */
export function tcpSysctls(
  tree: SysctlTree,
  t: TcpTunables,
  hooks: {
    ccAlgorithm(): string;
    setCcAlgorithm(name: string): number;
    ccAvailable(): string;
  },
): void {
  const b = { min: 0, max: 1 };
  const pos = { min: 1 };
  const nn = { min: 0 };
  tree.int('net.inet.tcp.rfc1323', t, 'rfc1323', 'Enable rfc1323 (high performance TCP) extensions', b);
  tree.int('net.inet.tcp.sack.enable', t, 'sack_enable', 'Enable/Disable TCP SACK support', b);
  tree.int('net.inet.tcp.sack.revised', t, 'do_newsack', 'Use revised SACK loss recovery per RFC 6675', b);
  tree.int(
    'net.inet.tcp.sack.maxholes',
    t,
    'sack_maxholes',
    'Maximum number of TCP SACK holes allowed per connection',
    pos,
  );
  tree.int('net.inet.tcp.ecn.enable', t, 'ecn_enable', 'TCP ECN support (0: off, 1: on, 2: on when the peer asks)', {
    min: 0,
    max: 2,
  });
  tree.int('net.inet.tcp.ecn.maxretries', t, 'ecn_maxretries', 'Max retries before giving up on ECN', nn);
  tree.int('net.inet.tcp.recvspace', t, 'recvspace', 'Initial receive socket buffer size', pos);
  tree.int('net.inet.tcp.sendspace', t, 'sendspace', 'Initial send socket buffer size', pos);
  tree.int('net.inet.tcp.recvbuf_auto', t, 'recvbuf_auto', 'Enable automatic receive buffer sizing', b);
  tree.int('net.inet.tcp.recvbuf_max', t, 'recvbuf_max', 'Max size of automatic receive buffer', pos);
  tree.int('net.inet.tcp.sendbuf_auto', t, 'sendbuf_auto', 'Enable automatic send buffer sizing', b);
  tree.int('net.inet.tcp.sendbuf_inc', t, 'sendbuf_inc', 'Incrementor step size of automatic send buffer', pos);
  tree.int('net.inet.tcp.sendbuf_max', t, 'sendbuf_max', 'Max size of automatic send buffer', pos);
  tree.int(
    'net.inet.tcp.sendbuf_auto_lowat',
    t,
    'sendbuf_auto_lowat',
    'Modify threshold for auto send buffer growth to account for SO_SNDLOWAT',
    b,
  );
  tree.int('kern.ipc.maxsockbuf', t, 'maxsockbuf', 'Maximum socket buffer size', { min: 2048 * 4 });
  tree.int('net.inet.tcp.keepinit', t, 'keepinit', 'time to establish connection (ms)', pos);
  tree.int('net.inet.tcp.keepidle', t, 'keepidle', 'time before keepalive probes begin (ms)', pos);
  tree.int('net.inet.tcp.keepintvl', t, 'keepintvl', 'time between keepalive probes (ms)', pos);
  tree.int('net.inet.tcp.keepcnt', t, 'keepcnt', 'Number of keepalive probes to send', pos);
  tree.int('net.inet.tcp.always_keepalive', t, 'always_keepalive', 'Assume SO_KEEPALIVE on all TCP connections', b);
  tree.int('net.inet.tcp.msl', t, 'msl', 'Maximum segment lifetime (ms)', pos);
  tree.int('net.inet.tcp.finwait2_timeout', t, 'finwait2_timeout', 'FIN-WAIT2 timeout (ms)', nn);
  tree.int('net.inet.tcp.rexmit_min', t, 'rexmit_min', 'Minimum Retransmission Timeout (ms)', pos);
  tree.int('net.inet.tcp.rexmit_slop', t, 'rexmit_slop', 'Retransmission Timer Slop (ms)', nn);
  tree.int('net.inet.tcp.rexmit_initial', t, 'rexmit_initial', 'Initial Retransmission Timeout (ms)', pos);
  tree.int(
    'net.inet.tcp.rexmit_drop_options',
    t,
    'rexmit_drop_options',
    'Drop TCP options from 3rd and later retransmitted SYN',
    b,
  );
  tree.int(
    'net.inet.tcp.blackhole',
    t,
    'blackhole',
    'Do not send RST on segments to closed ports (1: SYN only, 2: all)',
    { min: 0, max: 2 },
  );
  tree.int(
    'net.inet.tcp.ack_war_timewindow',
    t,
    'ack_war_timewindow',
    'Time window (ms) in which at most ack_war_cnt challenge ACKs are sent (0: no limit)',
    nn,
  );
  tree.int(
    'net.inet.tcp.ack_war_cnt',
    t,
    'ack_war_cnt',
    'Challenge ACKs sent at most per ack_war_timewindow (0: no limit)',
    nn,
  );
  tree.int('net.inet.tcp.drop_synfin', t, 'drop_synfin', 'Drop TCP packets with SYN+FIN set', b);
  tree.int(
    'net.inet.tcp.insecure_syn',
    t,
    'insecure_syn',
    'Follow RFC793 instead of RFC5961 criteria for accepting SYN packets',
    b,
  );
  tree.int(
    'net.inet.tcp.insecure_rst',
    t,
    'insecure_rst',
    'Follow RFC793 instead of RFC5961 criteria for accepting RST packets',
    b,
  );
  tree.int('net.inet.tcp.delayed_ack', t, 'delayed_ack', 'Delay ACK to try and piggyback it onto a data packet', b);
  tree.int('net.inet.tcp.delacktime', t, 'delacktime', 'Time before a delayed ACK is sent (ms)', pos);
  tree.int('net.inet.tcp.mssdflt', t, 'mssdflt', 'Default TCP Maximum Segment Size', { min: 88, max: 65535 });
  tree.int('net.inet.tcp.v6mssdflt', t, 'v6mssdflt', 'Default TCP Maximum Segment Size for IPv6', {
    min: 88,
    max: 65535,
  });
  tree.int('net.inet.tcp.minmss', t, 'minmss', 'Minimum TCP Maximum Segment Size', { min: 1, max: 65535 });
  tree.int(
    'net.inet.tcp.initcwnd_segments',
    t,
    'initcwnd_segments',
    'Slow-start flight size (initial congestion window) in number of segments',
    nn,
  );
  tree.int('net.inet.tcp.rfc3465', t, 'rfc3465', 'Enable RFC 3465 (Appropriate Byte Counting)', b);
  tree.int(
    'net.inet.tcp.abc_l_var',
    t,
    'abc_l_var',
    'Cap the max cwnd increment during slow-start to this number of segments',
    pos,
  );
  tree.int('net.inet.tcp.syncookies', t, 'syncookies', 'Use TCP SYN cookies if the syncache overflows', b);
  tree.int('net.inet.tcp.syncookies_only', t, 'syncookies_only', 'Use only TCP SYN cookies', b);
  tree.int(SORECEIVE_STREAM, t, 'soreceive_stream', 'Using soreceive_stream for TCP sockets', {
    min: 0,
    max: 1,
    tunable: true,
  });
  tree.int('net.inet.tcp.log_debug', t, 'log_debug', 'Log errors caused by incoming TCP segments', b);
  tree.int(
    'net.inet.tcp.signature_verify_input',
    t,
    'signature_verify_input',
    'Verify RFC2385 digests on inbound traffic',
    b,
  );
  // TCP over UDP (tcp_subr.c): segments to this UDP port are TCP (tcp/tunnel.ts).
  tree.int('net.inet.tcp.udp_tunneling_port', t, 'udp_tunneling_port', 'Tunneling port for tcp over udp', {
    min: 0,
    max: 65535,
  });
  // Taken off the MSS a tunneled connection offers and uses (the UDP header's room).
  tree.int(
    'net.inet.tcp.udp_tunneling_overhead',
    t,
    'udp_tunneling_overhead',
    'MSS reduction when using tcp over udp',
    {
      min: 8,
      max: 1024,
    },
  );
  tree.int('net.inet.tcp.log_in_vain', t, 'log_in_vain', 'Log all incoming TCP segments to closed ports', {
    min: 0,
    max: 2,
  });
  tree.int(
    'net.inet.tcp.reass.maxqueuelen',
    t,
    'reass_maxqueuelen',
    'Maximum number of TCP Segments per Reassembly Queue',
    pos,
  );
  tree.int(
    'net.inet.tcp.icmp_may_rst',
    t,
    'icmp_may_rst',
    'Certain ICMP unreachable messages may abort connections in SYN_SENT',
    b,
  );
  tree.int('net.inet.tcp.tolerate_missing_ts', t, 'tolerate_missing_ts', 'Tolerate missing TCP timestamps', b);
  tree.int('net.inet.tcp.path_mtu_discovery', t, 'path_mtu_discovery', 'Enable Path MTU Discovery', b);
  tree.int('net.inet.tcp.tso', t, 'tso', 'Enable TCP Segmentation Offload', b);
  tree.int('net.inet.tcp.rfc6675_pipe', t, 'do_rfc6675_pipe', 'Use calculated pipe/in-flight bytes per RFC 6675', b);
  tree.add({
    name: 'net.inet.tcp.cc.algorithm',
    kind: 'string',
    description: 'Default congestion control algorithm',
    get: () => hooks.ccAlgorithm(),
    set: (v) => {
      const e = hooks.setCcAlgorithm(String(v));
      if (e !== 0) throw new SysctlSetError(String(v));
    },
  });
  tree.add({
    name: 'net.inet.tcp.cc.available',
    kind: 'string',
    readonly: true,
    description: 'List available congestion control algorithms',
    get: () => hooks.ccAvailable(),
  });
}

/**
 * net.inet.tcp.hostcache.* (tcp_hostcache.c): the sizes are loader tunables (read-only
 * here, set through the engine's `tunables`), `count` and `list` read the one shared cache,
 * the rest are the cache's own words, so every worker sees one value.
 */
export function tcpHostcacheSysctls(tree: SysctlTree, hc: TcpHostcache, purgenow: () => void): void {
  const ro = (name: string, description: string, get: () => number) =>
    tree.add({ name, kind: 'int', readonly: true, description, get });
  ro('net.inet.tcp.hostcache.cachelimit', 'Overall entry limit for hostcache', () => hc.cachelimit);
  ro('net.inet.tcp.hostcache.hashsize', 'Size of TCP hostcache hashtable', () => hc.hashsize);
  ro('net.inet.tcp.hostcache.bucketlimit', 'Per-bucket hash limit for hostcache', () => hc.bucketlimit);
  ro('net.inet.tcp.hostcache.count', 'Current number of entries in hostcache', () => hc.count);
  const k = hc.knobs;
  tree.int('net.inet.tcp.hostcache.enable', k, 'enable', 'Enable the TCP hostcache', { min: 0, max: 1 });
  tree.int('net.inet.tcp.hostcache.expire', k, 'expire', 'Expire time of TCP hostcache entries', { min: 0 });
  tree.int('net.inet.tcp.hostcache.prune', k, 'prune', 'Time between purge runs', { min: 1 });
  tree.int('net.inet.tcp.hostcache.purge', k, 'purge', 'Expire all entires on next purge run', { min: 0 });
  // sysctl_tcp_hc_purgenow: any write purges at once and restarts the prune callout; reads 0.
  tree.add({
    name: 'net.inet.tcp.hostcache.purgenow',
    kind: 'int',
    description: 'Immediately purge all entries',
    get: () => 0,
    set: () => purgenow(),
  });
  tree.add({
    name: 'net.inet.tcp.hostcache.list',
    kind: 'string',
    readonly: true,
    skip: true,
    description: 'List of all hostcache entries',
    get: () => hcList(hc),
  });
}

import { SysError } from '../kern/errno.js';
/** cc.algorithm set to an unknown name: ESRCH in FreeBSD's sysctl handler, ENOENT here as for TCP_CONGESTION. */
class SysctlSetError extends SysError {
  constructor(name: string) {
    super('ENOENT', `no congestion control algorithm '${name}'`, 'sysctl');
  }
}
