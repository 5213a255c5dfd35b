/**
 * A comlink Endpoint over a stream socket (the daemon's Unix control socket): one
 * message per line, JSON, so the control plane that runs over MessagePorts inside the
 * process (../endpoint.ts) runs unchanged between processes. Byte arrays travel as
 * `{"$u8": base64}` (a capture's pcapng); everything else comlink sends (its wire
 * values, errors with their code) is plain JSON already. Transferables cannot cross
 * a socket: a proxy or a MessagePort in a message is refused by comlink's handlers
 * before it gets here, and anything JSON cannot carry becomes null.
 */
import type { Socket } from 'node:net';
import type { Endpoint } from 'comlink';

type Listener = ((ev: { data: unknown }) => void) | { handleEvent(ev: { data: unknown }): void };

/** Longest line accepted (a capture of a few thousand full-size frames fits): the peer is cut off past it. */
export const MAX_LINE = 256 << 20;

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { $u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

function reviver(_k: string, v: unknown): unknown {
  if (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { $u8?: unknown }).$u8 === 'string' &&
    Object.keys(v).length === 1
  ) {
    return new Uint8Array(Buffer.from((v as { $u8: string }).$u8, 'base64'));
  }
  return v;
}

/** Encode one message as a line (exported for tests). */
export function encodeMessage(msg: unknown): string {
  return `${JSON.stringify(msg, replacer)}\n`;
}

export function decodeMessage(line: string): unknown {
  return JSON.parse(line, reviver);
}

/**
 * The endpoint. Lines that are not JSON are dropped (counted in `bad`): the socket's
 * peer is another process, its input is never thrown at comlink.
 */
export function socketEndpoint(sock: Socket): Endpoint & { bad: number } {
  const listeners = new Set<Listener>();
  let buf = '';
  const ep = {
    bad: 0,
    postMessage(msg: unknown) {
      if (!sock.destroyed && sock.writable) sock.write(encodeMessage(msg));
    },
    addEventListener(_type: string, l: Listener) {
      listeners.add(l);
    },
    removeEventListener(_type: string, l: Listener) {
      listeners.delete(l);
    },
  };
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE && !buf.includes('\n')) {
      ep.bad++;
      sock.destroy();
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.length === 0) continue;
      let data: unknown;
      try {
        data = decodeMessage(line);
      } catch {
        ep.bad++;
        continue;
      }
      for (const l of [...listeners]) {
        if (typeof l === 'function') l({ data });
        else l.handleEvent({ data });
      }
    }
  });
  return ep as unknown as Endpoint & { bad: number };
}
