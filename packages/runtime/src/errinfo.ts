/**
 * Errors as they cross a thread on the control plane: name, stable code and message
 * (docs/architecture.md, "Errors"), rebuilt on the other side.
 */
import { ERRNO } from '@mcstack/netinet';
import type { ErrorInfo } from './control.js';

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

/** The errno of an error that crossed from the coordinator (its Node-style `code`), else `fallback`. */
export function errnoOf(err: unknown, fallback: number): number {
  const code = (err as { code?: unknown } | null)?.code;
  const n = typeof code === 'string' ? (ERRNO as Record<string, number>)[code] : undefined;
  return n ?? fallback;
}
