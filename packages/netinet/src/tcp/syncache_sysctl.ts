/**
 * net.inet.tcp.syncache.* (tcp_syncache.c): the table's sizes are loader tunables
 * (CTLFLAG_RDTUN, read by syncache_init), `count` is the zone's current use, and the
 * retransmit limit and the RST on a failed socket allocation are set at run time.
 */
import { loaderTunable, type SysctlTree } from '../kern/sysctl.js';
import type { TcpTunables } from './sysctl.js';
import { TCP_MAXRXTSHIFT } from './var.js';

const HASHSIZE = loaderTunable('net.inet.tcp.syncache.hashsize');
const BUCKETLIMIT = loaderTunable('net.inet.tcp.syncache.bucketlimit');
const CACHELIMIT = loaderTunable('net.inet.tcp.syncache.cachelimit');

export function syncacheSysctls(tree: SysctlTree, t: TcpTunables, count: () => number): void {
  const tun = { tunable: true, min: 1 };
  tree.int(HASHSIZE, t, 'syncache_hashsize', 'Size of TCP syncache hashtable', tun);
  tree.int(BUCKETLIMIT, t, 'syncache_bucketlimit', 'Per-bucket hash limit for syncache', tun);
  tree.int(CACHELIMIT, t, 'syncache_cachelimit', 'Overall entry limit for syncache', tun);
  tree.add({
    name: 'net.inet.tcp.syncache.count',
    kind: 'int',
    readonly: true,
    description: 'Current number of entries in syncache',
    get: count,
  });
  // sysctl_net_inet_tcp_syncache_rexmtlimit_check: above TCP_MAXRXTSHIFT is EINVAL.
  tree.int('net.inet.tcp.syncache.rexmtlimit', t, 'syncache_rexmtlimit', 'Limit on SYN/ACK retransmissions', {
    min: 0,
    max: TCP_MAXRXTSHIFT,
  });
  tree.int(
    'net.inet.tcp.syncache.rst_on_sock_fail',
    t,
    'syncache_rst_on_sock_fail',
    'Send reset on socket allocation failure',
    { min: 0, max: 1 },
  );
}
