/**
 * `mcstack serve`: a stack (and its in-memory peer when configured) that keeps running,
 * with its control API on a Unix socket (paths.ts): a fixed table of methods with checked
 * arguments, one JSON request and reply per line (rpc.ts). Comlink stays inside the
 * process (the workers' control); nothing is exposed to the socket's peer.
 *
 *   const d = await serve(config, { socket: '/tmp/x.sock', signals: true });
 *   await d.closed;          // after SIGINT/SIGTERM or d.close(): stacks stopped, socket removed
 *
 * Access is the socket owner's alone: the socket is created under umask 077 and then
 * chmod 0600, so no other user can connect(2) to it. (Node exposes no SO_PEERCRED, so
 * the peer's uid cannot be read back; the file mode is the check, as for a 0600 FIFO.)
 * Its directory is created 0700 when missing and must be trusted (paths.ts: the
 * fallback /tmp/mcstack-$UID private and the user's own). A socket file left by a daemon
 * that died is removed; one a live daemon answers on is EADDRINUSE; one another user owns
 * is left alone (EPERM).
 */
import net from 'node:net';
import { chmodSync, existsSync, unlinkSync, lstatSync } from 'node:fs';
import { IFCAP_TOE, SysError, parsePfConf } from '@mcstack/netinet';
import { parseSetkey, pfSum } from '@mcstack/netinet/tools';
import { HostEpairs, Stack, VnetJails } from '@mcstack/runtime';
import { serveConnection } from './rpc.js';
import { stackOptions, type DaemonConfig } from './config.js';
import { mergeCaptures } from './capture.js';
import { prepareSocketDir, resolveSocketPath } from './paths.js';
import { welcomeText } from './welcome.js';
import { processFib } from '../procfib.js';
import type { CaptureResult, DaemonApi, DaemonInfo, SysctlResult } from './api.js';

export interface ServeOptions {
  socket: string;
  /** Stop on SIGINT and SIGTERM (the CLI); tests may drive close() themselves. */
  signals?: boolean;
  /** Told once the daemon is up, and of a worker that failed. */
  log?: (line: string) => void;
}

export interface Daemon {
  readonly stack: Stack;
  readonly peer: Stack | null;
  readonly socket: string;
  /** Stop: no new control connections, stacks stopped, socket file removed. Idempotent. */
  close(): Promise<void>;
  /** Resolves when closed, with the signal that closed it (or null). */
  readonly closed: Promise<NodeJS.Signals | null>;
}

/** Whether something answers on the socket at `path`. */
function live(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function claimSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const st = lstatSync(path);
  if (!st.isSocket()) throw new SysError('EEXIST', `${path} exists and is not a socket`, 'serve');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new SysError('EPERM', `${path} belongs to uid ${st.uid}: not yours to replace`, 'serve');
  if (await live(path)) throw new SysError('EADDRINUSE', `a daemon is already serving on ${path}`, 'serve');
  unlinkSync(path);
}

export async function serve(config: DaemonConfig, o: ServeOptions): Promise<Daemon> {
  const log = o.log ?? (() => {});
  prepareSocketDir(o.socket);
  await claimSocket(o.socket);
  // The daemon's own apps run in its process FIB (setfib(1)); the peer is another host.
  const stack = Stack.create(stackOptions(config, processFib()));
  const peer = config.peer ? Stack.create(stackOptions(config.peer)) : null;
  if (peer) Stack.join(stack, peer);
  stack.on('worker-error', (e: Error & { worker: number }) =>
    log(`worker ${e.worker} of ${stack.name} failed: ${e.message}`),
  );
  peer?.on('worker-error', (e: Error & { worker: number }) =>
    log(`worker ${e.worker} of ${peer.name} failed: ${e.message}`),
  );
  try {
    await stack.start();
    if (peer) await peer.start();
    // TOE4/TOE6 in a stack's capenable: on once its TOM runs (config.ts), on its own port
    // (cxgbe0, or a T3's cxgb0), the peer's as the served stack's.
    for (const [c, st] of [
      [config, stack],
      [config.peer, peer],
    ] as const)
      if (c && st && ((c.capenable ?? 0) & IFCAP_TOE) !== 0) await st.ifconfig([st.model.ifname, 'toe']);
  } catch (e) {
    await peer?.stop();
    await stack.stop();
    throw e;
  }

  // The vnet jails: a thread of their own, started with the first jail (runtime vnet.ts).
  const jails = new VnetJails({
    seed: config.seed ?? 1,
    onError: (e) => log(`the vnet worker of ${stack.name} failed: ${e.message}`),
  });
  const hostEpairs = new HostEpairs(stack, jails);
  const captures = new Map<number, { ifname: string; count?: number; workers: number[] }>();
  let nextCapture = 1;
  const live = () => Array.from({ length: stack.workers }, (_, w) => w).filter((w) => stack.alive(w));
  const info: DaemonInfo = {
    name: stack.name,
    pid: process.pid,
    socket: o.socket,
    workers: stack.workers,
    strategy: stack.strategy,
    peer: peer?.name ?? null,
    apps: (config.apps ?? []).map((a) => ('name' in a && a.name ? a.name : (a as { module: string }).module)),
    startedAt: new Date().toISOString(),
  };
  // The card's nexus tree (cxgbe(4)'s dev.t4nex.0., cxgb(4)'s dev.cxgbc.0.: cardmodel.ts).
  const nexus = stack.model.toeSysctl.replace(/toe$/, '');
  const api: DaemonApi = {
    info: () => info,
    async snapshots() {
      // The workers' and, while its TOM runs it, the TOE card's (netstat and sockstat show its
      // connections as toe4/toe6); its counters (dev.t4nex.0.*, dev.cxgbc.0.*) read with the host's tree.
      const snaps = await stack.snapshots();
      const card = snaps.find((x) => x.worker === 'toe');
      if (card !== undefined && snaps[0] !== card)
        snaps[0]?.sysctls.push(...card.sysctls.filter((o) => o.name.startsWith(nexus)));
      return snaps;
    },
    async ifconfig(argv) {
      const [name, w] = argv;
      // An epair whose a end is in every worker and b end in the jails' thread (hostepair.ts).
      if (name === 'epair' && w === 'create' && argv.length === 2) return `${await hostEpairs.create()}\n`;
      if (name !== undefined && hostEpairs.owns(name)) {
        await hostEpairs.ifconfig(argv);
        return undefined;
      }
      if (argv.some((x) => x === 'vnet' || x === '-vnet' || x === 'destroy'))
        throw new SysError(
          'EOPNOTSUPP',
          `${name}: the daemon's own ${stack.model.ifname} is its workers' link queues; it neither moves nor goes (an epair's b end moves)`,
          'ifconfig',
        );
      await stack.ifconfig(argv);
      return undefined;
    },
    // Every worker's tables and the TOE card's copy.
    route: (argv) => stack.route(argv),
    async sysctl(name, value): Promise<SysctlResult> {
      // The TOE card's own tree (cxgbe(4)'s dev.t4nex.0, cxgb(4)'s dev.cxgbc.0): there only while its TOM runs it.
      if (name.startsWith(nexus)) {
        if (!stack.cardAlive) throw new SysError('ENOENT', `unknown oid '${name}'`, 'sysctl');
        const card = stack.cardControl();
        if (value === undefined) return { name, value: await card.sysctlGet(name) };
        const old = await card.sysctlSet(name, value);
        return { name, old, value: await card.sysctlGet(name) };
      }
      const w0 = live()[0];
      if (w0 === undefined) throw new SysError('ESRCH', 'no live worker');
      if (value === undefined) return { name, value: await stack.control(w0).sysctlGet(name) };
      let old: number | string | undefined;
      for (const w of live()) {
        const prev = await stack.control(w).sysctlSet(name, value);
        if (old === undefined) old = prev;
      }
      return { name, old, value: await stack.control(w0).sysctlGet(name) };
    },
    stats: () => stack.stats(),
    async kldload(name) {
      const ids = await stack.kldload(name);
      // The vnet jails' thread too: each jail's stack gets the module.
      await jails.kldload(name);
      return ids.find((x) => x !== undefined) ?? 0;
    },
    async kldunload(name) {
      // The jails first: one of their connections may hold it (EBUSY), then nothing changes.
      const r = await jails.kldunload(name);
      if (r < 0) throw SysError.fromErrno(r, 'kldunload');
      try {
        await stack.kldunload(name);
      } catch (e) {
        await jails.kldload(name);
        throw e;
      }
    },
    async kldstat() {
      const w0 = live()[0];
      if (w0 === undefined) throw new SysError('ESRCH', 'no live worker');
      return stack.control(w0).kldstat();
    },
    async rdma() {
      if (!stack.cardAlive) throw new SysError('ENXIO', 'no RDMA device: the TOE card is not running (kldload t4_tom)');
      return await stack.cardControl().rdmaInfo();
    },
    setkey: (text) => stack.setkey(parseSetkey(text)),
    async pfctlLoad(text) {
      const rs = parsePfConf(text);
      await stack.pfLoad(rs);
      return rs.rules.length;
    },
    pfctlEnable: (on) => stack.pfEnable(on),
    async pfctlShow() {
      return pfSum(await stack.pfReports());
    },
    async captureStart(ifname, count, snapLen) {
      if (captures.size > 0) throw new SysError('EBUSY', 'a capture is already running', 'capture');
      const id = nextCapture++;
      const workers: number[] = [];
      captures.set(id, { ifname, count, workers });
      try {
        for (const w of live()) {
          await stack.control(w).captureStart(id, ifname, count, snapLen);
          workers.push(w);
        }
      } catch (e) {
        await stopCapture(id).catch(() => {});
        throw e;
      }
      return id;
    },
    async captureCount(id) {
      const c = captures.get(id);
      if (c === undefined) throw new SysError('ENOENT', `no capture ${id}`, 'capture');
      const n = await Promise.all(
        c.workers.filter((w) => stack.alive(w)).map((w) => stack.control(w).captureCount(id)),
      );
      return n.reduce((a, b) => a + b, 0);
    },
    captureStop: (id) => stopCapture(id),
    jailCreate: (name) => jails.create(name),
    jailRemove: (j) => jails.remove(j),
    jls: () => jails.list(),
    jailSnapshot: (j) => jails.snapshot(j),
    jailSysctl: (j, name, value) => jails.sysctl(j, name, value === undefined ? undefined : String(value)),
    jailIfconfig: (j, argv) => jails.ifconfig(j, argv),
    jailExec: (j, app, options) => jails.jexec(j, app, options),
  };

  async function stopCapture(id: number): Promise<CaptureResult> {
    const c = captures.get(id);
    if (c === undefined) throw new SysError('ENOENT', `no capture ${id}`, 'capture');
    captures.delete(id);
    const caps = await Promise.all(
      c.workers.filter((w) => stack.alive(w)).map((w) => stack.control(w).captureStop(id)),
    );
    return { ifname: c.ifname, ...mergeCaptures(caps, c.count) };
  }

  // Created 0600 from the start (umask), then chmod in case the umask was ignored.
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    const mine = new Set<number>();
    const wrapped: DaemonApi = {
      ...api,
      captureStart: async (...a) => {
        const id = await api.captureStart(...a);
        mine.add(id);
        return id;
      },
      captureStop: async (id) => {
        mine.delete(id);
        return api.captureStop(id);
      },
    };
    sock.on('error', () => {});
    serveConnection(sock, wrapped);
    // A client that goes away mid-capture does not leave its taps running.
    sock.on('close', () => {
      for (const id of mine) void stopCapture(id).catch(() => {});
    });
  });
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    process.umask(umask);
    await peer?.stop();
    await stack.stop();
    throw e;
  }
  process.umask(umask);
  chmodSync(o.socket, 0o600);

  let signal: NodeJS.Signals | null = null;
  let closing: Promise<void> | null = null;
  let done!: (s: NodeJS.Signals | null) => void;
  const closed = new Promise<NodeJS.Signals | null>((r) => {
    done = r;
  });
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
    void close();
  };
  if (o.signals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      if (o.signals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const gone = new Promise<void>((r) => server.close(() => r()));
      // Open control connections would hold server.close() open.
      for (const c of conns) c.destroy();
      for (const id of [...captures.keys()]) await stopCapture(id).catch(() => {});
      await jails.close();
      await peer?.stop();
      await stack.stop();
      await gone;
      try {
        unlinkSync(o.socket);
      } catch {
        /* already gone */
      }
      done(signal);
    })();
    return closing;
  }

  log(
    welcomeText(config, {
      socket: o.socket,
      defaultSocket: resolveSocketPath(),
      workers: stack.workers,
      strategy: stack.strategy,
    }),
  );
  return { stack, peer, socket: o.socket, close, closed };
}
