/**
 * `mcstack rdma [dev|qp|stat]`: the card's RDMA device (iw_cxgbe on the T4 model), its
 * queue pairs and counters, in the manner of iproute2's rdma(8) (`rdma dev`, `rdma res
 * show qp`, `rdma stat`): FreeBSD lists iWARP devices with ibv_devinfo and sysctl.
 */
import type { RdmaInfo } from '@mcstack/runtime';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';

const WHAT = ['dev', 'qp', 'stat'] as const;
type What = (typeof WHAT)[number];

export function formatRdma(info: RdmaInfo, what: What | 'all'): string {
  const out: string[] = [];
  if (what === 'all' || what === 'dev') {
    out.push(
      `0: ${info.device}: node_type rnic transport iWARP node_guid ${info.node_guid} pds ${info.pds} mrs ${info.mrs} cqs ${info.cqs} qps ${info.qps.length}`,
    );
    for (const l of info.listens) out.push(`    listen ${l.addr}:${l.port}`);
  }
  if (what === 'all' || what === 'qp') {
    for (const q of info.qps)
      out.push(`link ${info.device}/1 lqpn ${q.qpn} type RC state ${q.state} cm ${q.cm} sq ${q.sq} rq ${q.rq}`);
  }
  if (what === 'all' || what === 'stat') {
    out.push(
      `link ${info.device}/1 ${Object.entries(info.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(' ')}`,
    );
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

export const rdma = defineCommand<{ what: What | 'all'; info: RdmaInfo }>({
  path: ['rdma'],
  summary: "the TOE card's RDMA device: devices, QPs, counters (iWARP, docs/rdma.md)",
  description: 'usage: mcstack rdma [dev|qp|stat]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { operands } = getopt(args.positionals, '');
    if (operands.length > 1) throw new UsageError('usage: mcstack rdma [dev|qp|stat]');
    const w = operands[0] ?? 'all';
    if (w !== 'all' && !(WHAT as readonly string[]).includes(w))
      throw new UsageError(`unknown object '${w}' (dev, qp or stat)`);
    return { what: w as What | 'all', info: await callDaemon(args, (api) => api.rdma()) };
  },
  human: (r) => formatRdma(r.info, r.what),
});
