export * from './kern/errno.js';
export * from './kern/random.js';
export { SipHash24, sipKeyFrom } from './crypto/siphash.js';
export * from './net/if.js';
export { rtFibValid, RT_MAXFIBS } from './net/route.js';
export * from './net/mbuf.js';
export * from './net/hwcsum.js';
export * from './tcp/tso.js';
export * from './tcp/lro.js';
export * from './kern/callout.js';
export * from './kern/sysctl.js';
export { linker, type KldStat, type ModuleDef, type ModuleHost } from './kern/kern_linker.js';
export { ccModule, type CcModuleSpec, type CcSysctl } from './tcp/cc/cc_module.js';
export * from './kern/osd.js';
export * from './kern/hhook.js';
export * from './kern/khelp.js';
export { HHOOK_TCP_EST_IN, HHOOK_TCP_EST_OUT, type TcpHhookData } from './tcp/tcp_hhook.js';
export { Ertt, erttHelper, ERTT_NEW_MEASUREMENT, ERTT_MEASUREMENT_IN_PROGRESS } from './tcp/khelp/h_ertt.js';
export {
  TCP_EXPORT_VERSION,
  exportTransferList,
  type TcpExport,
  type TcpImportOptions,
  type SockbufExport,
  type ReassSegExport,
} from './tcp/export.js';
export * from './kern/sockbuf.js';
export * from './kern/uipc_socket.js';
export * from './netinet/in_pcb.js';
export * from './netinet/in_pcbgroup.js';
export {
  IPPROTO_IP,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_IPV6,
  IPPROTO_ICMPV6,
  IP_TOS,
  IP_TTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_TCLASS,
} from './netinet/in.js';
export * from './tcp/var.js';
export * from './tcp/cc/cc.js';
export { newreno } from './tcp/cc/newreno.js';
export { Tcp, tcpClose, tcpDrop } from './tcp/subr.js';
export {
  type TcpInfo,
  TCP_NODELAY,
  TCP_MAXSEG,
  TCP_NOPUSH,
  TCP_NOOPT,
  TCP_MD5SIG,
  TCP_INFO,
  TCP_CONGESTION,
  TCP_KEEPINIT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_KEEPCNT,
  TCP_REMOTE_UDP_ENCAPS_PORT,
  TCPI_OPT_TIMESTAMPS,
  TCPI_OPT_SACK,
  TCPI_OPT_WSCALE,
  TCPI_OPT_ECN,
  TCPI_OPT_TOE,
} from './tcp/usrreq.js';
export { Engine, type EngineOptions, type VnetLeftovers, splitLoaderTunables } from './engine.js';
export { Jails, type JailParams, type JailInfo, type JailsOptions } from './jail.js';
export { UMA_SHARED_BYTES } from './kern/uma.js';
export { KeyDb, type SecAssoc, type SecAssocRecord, TCP_KEYLEN_MAX } from './netipsec/key.js';
export { Kenv, type KenvValues } from './kern/kenv.js';
export { hostcacheCreate, hostcacheTunables, TcpHostcache, type HcEntry } from './tcp/hostcache.js';
export * as tools from './tools/index.js';
export { Pf, PfState, pfSharedBytes, pfSharedRelease } from './netpfil/pf/pf.js';
export { parsePfConf, PfParseError } from './netpfil/pf/pf_parse.js';
export type { PfReport, PfRule, PfRuleset, PfRuleCounters, PfStateRecord, PfStatus } from './netpfil/pf/pfvar.js';
export * from './net/pfil.js';
export * from './ofed/ib_verbs.js';
export * as iw_cxgbe from './dev/cxgbe/iw_cxgbe/index.js';
