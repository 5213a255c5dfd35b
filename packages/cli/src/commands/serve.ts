/**
 * `mcstack serve [--config FILE] [--socket PATH]`: run a stack until SIGINT/SIGTERM,
 * with its control socket for ifconfig, netstat, sockstat, sysctl, vmstat and capture.
 * Without --config: the embedded default (cxgbe0 joined to an in-memory peer that keeps
 * connections to echo, discard and http-lite coming and going). A config mistake exits 2
 * naming the file, the field and the reason, before anything starts.
 */
import { loadConfig, defaultConfig, ConfigError } from '../daemon/config.js';
import { serve as serveDaemon } from '../daemon/serve.js';
import { resolveSocketPath } from '../daemon/paths.js';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

interface ServeResult {
  socket: string;
  signal: string | null;
}

export const serve = defineCommand<ServeResult>({
  path: ['serve'],
  summary: 'run a stack as a daemon with a control socket for the tools',
  description:
    'The socket path is --socket, else $MCSTACK_SOCKET, else $XDG_RUNTIME_DIR/mcstack.sock,\n' +
    'else /tmp/mcstack-$UID/mcstack.sock (that directory created 0700); the socket is created mode 0600\n' +
    '(its owner only) and removed at exit. The tools refuse a socket, or a directory, that is not\n' +
    "theirs or root's, or that others may write.\n" +
    'The config file is JSON (packages/cli/src/daemon/config.ts documents the fields).',
  options: [
    { name: 'config', type: 'string', arg: 'FILE', help: 'JSON config (default: the embedded two-stack demo)' },
    { name: 'socket', type: 'string', arg: 'PATH', help: 'control socket path' },
  ],
  run: async (args) => {
    const socket = resolveSocketPath(args.str('socket'));
    const file = args.str('config');
    let config: ReturnType<typeof defaultConfig>;
    try {
      config = file === undefined ? defaultConfig() : loadConfig(file);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    const d = await serveDaemon(config, { socket, signals: true, log: (l) => process.stderr.write(`${l}\n`) });
    const signal = await d.closed;
    // Whatever handle a worker library leaves behind must not keep a stopped daemon alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
    return { socket, signal };
  },
  human: (r) => `mcstack: stopped${r.signal ? ` (${r.signal})` : ''}, ${r.socket} removed\n`,
});
