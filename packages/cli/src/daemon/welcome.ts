/**
 * What `mcstack serve` tells a newcomer once it is up: what it started (the stack, its
 * interface and addresses, where that interface leads, the apps and their ports) and
 * three commands to try next, the last one reaching an app from where it can be reached.
 */
import type { AppSpec, LinkSpec } from '@mcstack/runtime';
import type { DaemonConfig, StackConfig } from './config.js';

export interface WelcomeFacts {
  socket: string;
  /** The path the tools find without --socket (the socket flag is added when it differs). */
  defaultSocket: string;
  workers: number;
  strategy: string;
}

const appName = (a: AppSpec): string => ('name' in a && a.name ? a.name : (a as { module: string }).module);

/** "echo on 7, http-lite on 80" — the apps and the ports they listen on (clients: where they go). */
function appsText(apps: readonly AppSpec[]): string {
  if (apps.length === 0) return 'none';
  return apps
    .map((a) => {
      const o = a.options ?? {};
      if (a.port !== undefined) return `${appName(a)} on ${a.port}`;
      if (typeof o.addr === 'string' && o.port !== undefined) return `${appName(a)} → ${o.addr} port ${o.port}`;
      return appName(a);
    })
    .join(', ');
}

function linkText(l: LinkSpec): string {
  if (l.type === 'udp-tunnel') return `a UDP tunnel ${l.local ?? '(any port)'} → ${l.remote}`;
  const where = l.netns ? ` in network namespace ${l.netns}` : ' on this host';
  if (l.type === 'af_packet') return `interface ${l.ifname}${where} (AF_PACKET, a ring per worker)`;
  const kernel = l.addrs?.length ? ` (Linux's side: ${l.addrs.join(', ')})` : '';
  const queues = l.queues === 'per-worker' ? ', a queue per worker' : '';
  return `TAP device ${l.name ?? '(named by the daemon)'}${where}${kernel}${queues}`;
}

const bare = (cidr: string): string => cidr.replace(/\/\d+$/, '');
const urlHost = (a: string): string => (a.includes(':') ? `[${a}]` : a);

/** The lines to print (no trailing newline). */
export function welcomeText(config: DaemonConfig, f: WelcomeFacts): string {
  const name = config.name ?? 'mcstack';
  const addrs = config.addrs ?? [];
  const apps = config.apps ?? [];
  const peer: StackConfig | undefined = config.peer;
  const link = config.links?.[0];
  const sock = f.socket === f.defaultSocket ? '' : ` --socket ${f.socket}`;
  // The port: cxgbe0, or a T3's cxgb0 (ifname).
  const port = config.ifname ?? 'cxgbe0';
  const lines = [
    `mcstack: serving stack '${name}' (${f.workers} worker${f.workers === 1 ? '' : 's'}, ${f.strategy}); control socket ${f.socket}`,
    `  ${port.padEnd(8)} ${addrs.join(' ') || '(no address)'}`,
    `  apps     ${appsText(apps)}`,
  ];
  if (peer)
    lines.push(
      `  link     the in-memory link to stack '${peer.name ?? 'peer'}' (${(peer.addrs ?? []).join(' ')}): ${appsText(peer.apps ?? [])}`,
    );
  else if (link) lines.push(`  link     ${linkText(link)}`);
  else lines.push(`  link     none: ${port} reaches nothing (give the config a peer or links)`);

  // The third command reaches an app, from where the outside can: the namespace of the
  // TAP device, this host, or (an in-memory peer only) a capture of the peer's traffic.
  const v4 = addrs.map(bare).find((a) => !a.includes(':')) ?? bare(addrs[0] ?? '10.0.0.1');
  const http = apps.find((a) => appName(a) === 'http-lite' && a.port !== undefined);
  const served = apps.find((a) => a.port !== undefined);
  const reach = (prefix: string): [string, string] =>
    http
      ? [
          `${prefix}curl http://${urlHost(v4)}${http.port === 80 ? '' : `:${http.port}`}/`,
          "http-lite's page: what it serves",
        ]
      : served
        ? [`${prefix}nc ${v4} ${served.port}`, `talk to ${appName(served)}`]
        : [`npx mcstack netstat -s -p tcp${sock}`, "TCP's counters"];
  let third: [string, string];
  if (link?.type === 'tap' && link.netns) third = reach(`sudo ip netns exec ${link.netns} `);
  else if (link?.type === 'tap') third = reach('');
  else third = [`npx mcstack capture -i ${port} -c 20 -w first.pcapng${sock}`, '20 frames of its traffic, for tshark'];
  const next: [string, string][] = [
    [`npx mcstack netstat -np tcp${sock}`, 'the connections, live'],
    [`npx mcstack sockstat -46c${sock}`, 'which app holds which socket'],
    third,
  ];
  const w = Math.max(...next.map(([c]) => c.length));
  lines.push('try next:', ...next.map(([c, why]) => `  ${c.padEnd(w)}   # ${why}`));
  return lines.join('\n');
}
