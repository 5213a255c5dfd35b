/**
 * `mcstack rss hash` and `mcstack rss spread`: the RSS library from the command line.
 */
import { availableParallelism } from 'node:os';
import { parseIPv4, parseIPv6, formatIPv4, formatIPv6 } from '@mcstack/wire';
import { IPPROTO_TCP } from '@mcstack/wire';
import {
  IndirectionTable,
  RSS_KEY_DEFAULT,
  RSS_MAXBUCKETS,
  RssError,
  parseRssKey,
  rssDefaultBuckets,
  rssHashType,
  hashTypeName,
  toeplitzForKey,
} from '@mcstack/rss';
import { defineCommand, type Args, type OptionSpec } from '../command.js';
import { UsageError, requireInput } from '../errors.js';
import { SPREAD_BATCH_DEFAULT, formatSpread, spreadCapture, spreadRandomFlows } from '../rss/spread.js';

const KEY_OPTION: OptionSpec = {
  name: 'key',
  type: 'string',
  arg: 'HEX',
  help: "Toeplitz key in hex (default: FreeBSD's rss_key, the Microsoft key)",
};
const TABLE_OPTIONS: OptionSpec[] = [
  {
    name: 'workers',
    type: 'int',
    arg: 'N',
    min: 1,
    max: 0xffff,
    help: 'workers the buckets map to (default: the CPUs here)',
  },
  {
    name: 'buckets',
    type: 'int',
    arg: 'N',
    min: 1,
    max: RSS_MAXBUCKETS,
    help: "indirection table size, a power of two (default: FreeBSD's, at least 2 x workers)",
  },
];

function keyOf(args: Args): Uint8Array {
  const text = args.str('key');
  if (text === undefined) return RSS_KEY_DEFAULT;
  try {
    return parseRssKey(text);
  } catch (e) {
    if (e instanceof RssError) throw new UsageError(`--key: ${e.message}`);
    throw e;
  }
}

function tableOf(args: Args): IndirectionTable {
  const workers = args.int('workers') ?? availableParallelism();
  const buckets = args.int('buckets') ?? rssDefaultBuckets(workers);
  try {
    return new IndirectionTable(workers, buckets);
  } catch (e) {
    if (e instanceof RssError) throw new UsageError(`--buckets: ${e.message}`);
    throw e;
  }
}

function addressOf(args: Args, name: 'src' | 'dst'): Uint8Array {
  const text = args.required(name);
  const a = text.includes(':') ? parseIPv6(text) : parseIPv4(text);
  if (a === null || text.includes('%'))
    throw new UsageError(`--${name}: not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  return a;
}

export interface RssHashResult {
  /** `0x` and eight hex digits. */
  hash: string;
  hashType: string;
  bucket: number;
  worker: number;
  buckets: number;
  workers: number;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  key: string;
}

export const rssHash = defineCommand<RssHashResult>({
  path: ['rss', 'hash'],
  summary: 'Toeplitz RSS hash of an address pair (2-tuple) or a TCP connection (4-tuple)',
  description:
    'With --sport/--dport the TCP 4-tuple hash type (RSS_TCP_IPV4/6), without them the 2-tuple (RSS_IPV4/6).\n' +
    'Prints the hash, its type and the bucket and worker the indirection table maps it to.',
  options: [
    { name: 'src', type: 'string', arg: 'ADDR', required: true, help: 'source address (IPv4 or IPv6 text)' },
    { name: 'dst', type: 'string', arg: 'ADDR', required: true, help: 'destination address (same family)' },
    { name: 'sport', type: 'int', arg: 'N', min: 0, max: 0xffff, help: 'TCP source port' },
    { name: 'dport', type: 'int', arg: 'N', min: 0, max: 0xffff, help: 'TCP destination port' },
    KEY_OPTION,
    ...TABLE_OPTIONS,
  ],
  run(args) {
    const src = addressOf(args, 'src');
    const dst = addressOf(args, 'dst');
    if (src.length !== dst.length) throw new UsageError('--src and --dst: one is IPv4, the other IPv6');
    const sport = args.int('sport');
    const dport = args.int('dport');
    if ((sport === undefined) !== (dport === undefined))
      throw new UsageError('--sport and --dport: give both or neither');
    const key = keyOf(args);
    const table = tableOf(args);
    const tz = toeplitzForKey(key);
    const v6 = src.length === 16;
    const ports = sport !== undefined && dport !== undefined;
    const hashType = rssHashType(v6 ? 6 : 4, ports ? IPPROTO_TCP : 0);
    let hash: number;
    if (v6) hash = ports ? tz.hashIPv6Ports(src, 0, dst, 0, sport, dport) : tz.hashIPv6(src, 0, dst, 0);
    else {
      const s = new DataView(src.buffer).getUint32(0);
      const d = new DataView(dst.buffer).getUint32(0);
      hash = ports ? tz.hashIPv4Ports(s, d, sport, dport) : tz.hashIPv4(s, d);
    }
    return {
      hash: `0x${hash.toString(16).padStart(8, '0')}`,
      hashType: hashTypeName(hashType),
      bucket: table.bucketOf(hash),
      worker: table.workerOf(hash),
      buckets: table.buckets,
      workers: table.workers,
      src: v6 ? formatIPv6(src) : formatIPv4(src),
      dst: v6 ? formatIPv6(dst) : formatIPv4(dst),
      sport: sport ?? null,
      dport: dport ?? null,
      key: Buffer.from(key).toString('hex'),
    };
  },
  human: (r) => `${r.hash} ${r.hashType} bucket ${r.bucket}/${r.buckets} worker ${r.worker}/${r.workers}\n`,
});

export const rssSpread = defineCommand({
  path: ['rss', 'spread'],
  summary: "how evenly RSS spreads a capture's (or N random flows') flows and packets over workers",
  description:
    'A flow is one direction of a connection as a NIC sees it (hash type and tuple); every\n' +
    'packet is hashed as FreeBSD would (4-tuple for TCP, 2-tuple otherwise and for fragments).\n' +
    'Captures (pcap or pcapng, Ethernet or raw IP) larger than one batch are hashed in parallel.',
  positionals: [{ name: 'FILE', help: 'capture file (.pcap or .pcapng)', optional: true }],
  options: [
    {
      name: 'flows',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 100_000_000,
      help: 'study N seeded-random IPv4 TCP flows instead of a file',
    },
    { name: 'seed', type: 'int', arg: 'S', min: 0, max: 0xffffffff, help: 'seed for --flows (default 1)' },
    ...TABLE_OPTIONS,
    KEY_OPTION,
    {
      name: 'batch',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 1 << 24,
      help: `packets per parallel task (default ${SPREAD_BATCH_DEFAULT}); one batch or less is hashed inline`,
    },
  ],
  async run(args) {
    const file = args.positionals[0];
    const flows = args.int('flows');
    if ((file === undefined) === (flows === undefined))
      throw new UsageError('give a capture FILE or --flows N (one of them)');
    if (file !== undefined && args.has('seed')) throw new UsageError('--seed: only with --flows');
    if (file !== undefined) requireInput(file);
    const opts = { table: tableOf(args), key: keyOf(args), batch: args.int('batch') ?? SPREAD_BATCH_DEFAULT };
    return file !== undefined ? spreadCapture(file, opts) : spreadRandomFlows(flows!, args.int('seed') ?? 1, opts);
  },
  human: formatSpread,
});
