/**
 * What crosses threads on the control plane: comlink endpoints over Node MessagePorts,
 * and errors as name, stable code and message (docs/architecture.md, "Errors"), rebuilt on the
 * other side.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Endpoint } from 'comlink';
import type { ErrorInfo } from './control.js';

type Listener = ((ev: { data: unknown }) => void) | { handleEvent(ev: { data: unknown }): void };

/**
 * A comlink endpoint over a Node MessagePort (on/off instead of addEventListener);
 * `afterPost` runs after every message sent (the main thread rings the worker's doorbell
 * there, so a worker busy in its loop or asleep on its rings turns its event loop).
 */
export function portEndpoint(port: MessagePort, afterPost?: () => void): Endpoint {
  const wrapped = new Map<Listener, (data: unknown) => void>();
  const ep = {
    postMessage(msg: unknown, transfer?: unknown[]) {
      port.postMessage(msg, transfer as never);
      afterPost?.();
    },
    addEventListener(_type: string, l: Listener) {
      const f = (data: unknown) => {
        if (typeof l === 'function') l({ data });
        else l.handleEvent({ data });
      };
      wrapped.set(l, f);
      port.on('message', f);
    },
    removeEventListener(_type: string, l: Listener) {
      const f = wrapped.get(l);
      if (f) {
        port.off('message', f);
        wrapped.delete(l);
      }
    },
    start() {
      port.start();
    },
  };
  return ep as unknown as Endpoint;
}

/** An error as it crosses a thread. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      code: typeof code === 'string' ? code : 'MCSTACK_WORKER',
      message: err.message,
      stack: err.stack,
    };
  }
  return { name: 'Error', code: 'MCSTACK_WORKER', message: String(err) };
}

/** The error a 'worker-error' event carries. */
export interface WorkerError extends Error {
  code: string;
  worker: number;
}

/** Rebuild a worker's error on this thread: name, code, message (and the worker's stack). */
export function rebuildError(info: ErrorInfo, worker: number): WorkerError {
  const e = new Error(info.message) as WorkerError;
  e.name = info.name;
  e.code = info.code;
  e.worker = worker;
  if (info.stack) e.stack = info.stack;
  return e;
}
