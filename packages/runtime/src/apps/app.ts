/**
 * In-worker applications: handlers that run inside a group worker on the connections that
 * group owns, with no thread hop (the shape benchmarks use). The worker calls `poll()` once
 * per loop turn after feeding its engine the received batch; an app does its socket calls
 * on `ctx.engine` (non-blocking, -errno results) and says whether it did any work so the
 * worker knows when it may sleep.
 *
 * Apps are named in the stack's config and found by name in the registry (apps/registry.ts,
 * which enters the built-ins), or loaded from a module URL whose export is a factory
 * `(options) => GroupApp`.
 */
import type { Engine } from '@mcstack/netinet';

export interface AppContext {
  /**
   * The group's engine: socket calls as the kernel's (apps/http-lite.ts shows a server's
   * writes: `sendv` for header and body in one push, TCP_NODELAY, TCP_NOPUSH).
   */
  engine: Engine;
  /** This worker's index and the stack's worker count. */
  worker: number;
  workers: number;
  /** The app's spec options, and its `port` when the spec gave one. */
  options: Record<string, unknown>;
  port: number | undefined;
  /** The stack's interface addresses (without prefix lengths), IPv4 first. */
  addrs: readonly string[];
  /**
   * Active open through the coordinator: it reserves a local port whose return 4-tuple
   * hashes to this worker, then this worker binds it and connects. With `lport` it
   * reserves exactly that port as bind() would (EADDRINUSE when taken), whichever worker
   * its return 4-tuple hashes to: the caller opens it on that one (Stack.tupleWorker).
   * Resolves to the fd (connect in progress: POLLOUT/SO_ERROR tell the outcome) or -errno.
   * The socket is in `fib` (SO_SETFIB; default the app's FIB, AppSpec.fib): -EINVAL past net.fibs.
   */
  connect(addr: string, port: number, lport?: number, fib?: number): Promise<number>;
  /**
   * Listen on `port` in this group (the coordinator reserves it once for the stack; every
   * group installs its own listener). Resolves to the listening fds (one per family the
   * stack has an address of), or rejects with the reservation's error. The listeners are in
   * `fib` (default the app's FIB), and so are the connections they accept; EINVAL past net.fibs.
   */
  listen(port: number, backlog?: number, fib?: number): Promise<number[]>;
  /** The app closed the fds a listen(port) gave: the coordinator frees the port after the last group's. */
  unlisten(port: number): void;
  /**
   * Reserve a UDP port of `family` for `owner` once for the stack (every group then binds
   * its own socket on it): the port (0 picks one), or rejects with EADDRINUSE.
   */
  udpReserve(family: 4 | 6, port: number, owner: string): Promise<number>;
  /** This group's socket on a udpReserve()d port closed: the last group's frees it. */
  udpRelease(family: 4 | 6, port: number): Promise<void>;
  /**
   * Readiness upcalls for `fd` (the engine's poll bits when they change: edge-triggered,
   * so a handler that leaves data unread keeps the fd on its own work list); null stops.
   */
  watch(fd: number, handler: ((fd: number, events: number) => void) | null): void;
}

export interface GroupApp {
  /** Set up (listen, first connects); the worker waits for a returned promise before it reports ready. */
  start(ctx: AppContext): void | Promise<void>;
  /** One turn of work at time `nowUs`; true when it did something. */
  poll(nowUs: number): boolean;
  /**
   * Whether input is queued for the next poll() (upcalls, a ring from another thread): the
   * worker asks after announcing sleep on its doorbell, so a producer that saw it awake
   * and did not ring is not missed. A producer on another thread rings the worker's doorbell.
   */
  ready?(): boolean;
  /** Close what it holds (the worker is shutting down). */
  stop(): void;
  /** Counters for Stack.stats() (summed over workers) — clients report their results here. */
  stats(): Record<string, number>;
}

export type GroupAppFactory = (options: Record<string, unknown>) => GroupApp;
