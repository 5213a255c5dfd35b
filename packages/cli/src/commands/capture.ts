/**
 * `mcstack capture -i IF -w FILE.pcapng [-c COUNT] [-s SNAPLEN]`: what IF sends and
 * receives in every worker of the daemon, merged in time order into one pcapng file
 * (ns timestamps). Stops after COUNT frames, or at SIGINT/SIGTERM, as tcpdump -w does.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';
import { MAX_CAPTURE_COUNT, MAX_SNAPLEN } from '../daemon/api.js';

interface CaptureSummary {
  file: string;
  interface: string;
  frames: number;
  linkType: number;
  bytes: number;
}

const POLL_MS = 100;

function positive(flag: string, text: string | true | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^[1-9]\d*$/.test(text) || Number(text) > max)
    throw new UsageError(`-${flag}: not an integer from 1 to ${max}: ${JSON.stringify(text)}`);
  return Number(text);
}

export const capture = defineCommand<CaptureSummary>({
  path: ['capture'],
  summary: 'capture an interface of the daemon into a pcapng file',
  description:
    'usage: mcstack capture -i IF -w FILE.pcapng [-c COUNT] [-s SNAPLEN]\n' +
    'Without -c it captures until interrupted (SIGINT/SIGTERM). COUNT is at most ' +
    `${MAX_CAPTURE_COUNT}, SNAPLEN at most ${MAX_SNAPLEN} (tcpdump's maximum).`,
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'c:i:s:w:');
    if (operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(operands[0])}`);
    const ifname = flags.get('i');
    const file = flags.get('w');
    if (typeof ifname !== 'string') throw new UsageError('-i IF: required');
    if (typeof file !== 'string') throw new UsageError('-w FILE: required');
    const count = positive('c', flags.get('c'), MAX_CAPTURE_COUNT);
    const snapLen = positive('s', flags.get('s'), MAX_SNAPLEN);
    const path = resolve(file);
    return callDaemon(args, async (api) => {
      const id = await api.captureStart(ifname, count, snapLen);
      let interrupted = false;
      const stop = () => {
        interrupted = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        while (!interrupted) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          if (count !== undefined && (await api.captureCount(id)) >= count) break;
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      const r = await api.captureStop(id);
      writeFileSync(path, r.pcapng);
      return { file: path, interface: r.ifname, frames: r.frames, linkType: r.linkType, bytes: r.pcapng.length };
    });
  },
  human: (r) => `${r.frames} packet${r.frames === 1 ? '' : 's'} captured on ${r.interface} to ${r.file}\n`,
});
