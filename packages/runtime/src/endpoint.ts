/**
 * The control plane's transport: comlink endpoints over Node MessagePorts. Internal: its
 * types are comlink's, which the runtime's public type definitions do not carry.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Endpoint } from 'comlink';

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
