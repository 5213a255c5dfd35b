/**
 * The control socket's protocol: a small explicit RPC, one JSON message per line
 * (endpoint.ts framing). The socket's peer is another process, so nothing it sends is
 * used as a property path, a function or a prototype: no object is exposed to it.
 *
 *   request  {"id": 7, "method": "sysctl", "params": ["net.inet.tcp.msl", "4000"]}
 *   reply    {"id": 7, "result": {...}}
 *            {"id": 7, "error": {"name": "SysError", "code": "EINVAL", "message": "..."}}
 *
 * `id` is a string of at most 64 characters or a safe integer, echoed in the reply (null
 * when the request had no usable one). `method` is one of METHODS, a fixed table of own
 * properties; anything else (`constructor`, `__proto__`, `toString`, a comlink message)
 * is MCSTACK_BAD_REQUEST, as is a line that is not a JSON object. `params` (default [])
 * is an array checked against the method's parameters: a wrong count or a value that
 * fails its check is EINVAL, before the method runs. A line longer than MAX_REQUEST_LINE
 * is EMSGSIZE (id null) and the connection is closed. Errors the method throws keep
 * their code (a worker's SysError arrives as ENOENT, EINVAL, ENXIO...).
 */
import type { Socket } from 'node:net';
import { SysError } from '@mcstack/netinet';
import { LineReader, MAX_REPLY_LINE, MAX_REQUEST_LINE, decodeMessage, encodeMessage } from './endpoint.js';
import {
  MAX_CAPTURE_COUNT,
  MAX_PF_CONF_TEXT,
  MAX_SETKEY_TEXT,
  MAX_SNAPLEN,
  type DaemonApi,
  type DaemonRemote,
} from './api.js';

/** A line that is not a request of this protocol. */
export const BAD_REQUEST = 'MCSTACK_BAD_REQUEST';
/** Requests one connection may have running at once; past it, EBUSY. */
export const MAX_INFLIGHT = 32;

type Id = string | number;

export interface WireError {
  name: string;
  code: string;
  message: string;
  errno?: number;
  syscall?: string;
}

type Check = (v: unknown, what: string) => unknown;
interface Param {
  readonly name: string;
  readonly check: Check;
  readonly optional?: boolean;
}

function einval(what: string, reason: string): never {
  throw new SysError('EINVAL', `${what}: ${reason}`, 'control');
}

const word =
  (max: number, re: RegExp, shape: string): Check =>
  (v, what) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max || !re.test(v))
      einval(what, `must be ${shape} (a string of 1 to ${max} characters)`);
    return v;
  };

const intIn =
  (min: number, max: number): Check =>
  (v, what) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      einval(what, `must be an integer from ${min} to ${max}`);
    return v;
  };

const ifname = word(15, /^[A-Za-z0-9_.-]+$/, 'an interface name');
const oidName = word(128, /^[A-Za-z0-9_.%-]+$/, 'a sysctl name');
const sysctlValue: Check = (v, what) => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length <= 1024) return v;
  return einval(what, 'must be a number or a string of at most 1024 characters');
};
/** A tool's command line as an array of `min`..`max` printable words (the method parses it). */
const argvOf =
  (min: number, max: number, what_: string): Check =>
  (v, what) => {
    if (!Array.isArray(v) || v.length < min || v.length > max)
      einval(what, `must be an array of ${min} to ${max} words (${what_})`);
    (v as unknown[]).forEach((w, i) => {
      word(64, /^[\x21-\x7e]+$/, 'a word')(w, `${what}[${i}]`);
    });
    return [...(v as string[])];
  };
const ifconfigArgv = argvOf(2, 32, 'the interface, then what to change');
const routeArgv = argvOf(2, 16, 'the command, then its arguments');
const captureId = intIn(1, Number.MAX_SAFE_INTEGER);
/** A jail's name or jid (jail(8) names: letters, digits, `_`, `.`, `-`). */
const jailName = word(64, /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a jail name or jid');
const moduleName = word(32, /^[A-Za-z0-9_]+$/, 'a module name');
const appName = word(32, /^[A-Za-z0-9_-]+$/, 'an app name');
/** An app's options: at most 16 plain keys, each a finite number, a boolean or a short string. */
const appOptions: Check = (v, what) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype)
    einval(what, 'must be an object of options');
  const out: Record<string, string | number | boolean> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 16) einval(what, 'has more than 16 options');
  for (const [k, x] of entries) {
    word(32, /^[A-Za-z][A-Za-z0-9_]*$/, 'an option name')(k, `${what} key`);
    if (
      !(typeof x === 'number' && Number.isFinite(x)) &&
      typeof x !== 'boolean' &&
      !(typeof x === 'string' && x.length <= 256)
    )
      einval(`${what}.${k}`, 'must be a number, a boolean or a string of at most 256 characters');
    out[k] = x as string | number | boolean;
  }
  return out;
};
/** setkey statements: a bounded string (parsed by the method: EINVAL names the line). */
const setkeyText: Check = (v, what) => {
  if (typeof v !== 'string' || v.length > MAX_SETKEY_TEXT)
    einval(what, `must be a string of at most ${MAX_SETKEY_TEXT} characters`);
  return v;
};

/** pf.conf text: a bounded string (parsed by the method: EINVAL names the line). */
const pfConfText: Check = (v, what) => {
  if (typeof v !== 'string' || v.length > MAX_PF_CONF_TEXT)
    einval(what, `must be a string of at most ${MAX_PF_CONF_TEXT} characters`);
  return v;
};
const bool: Check = (v, what) => {
  if (typeof v !== 'boolean') einval(what, 'must be true or false');
  return v;
};

/** The methods and their parameters: the whole of what the socket offers. */
export const METHODS: Readonly<Record<keyof DaemonApi, readonly Param[]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<keyof DaemonApi, readonly Param[]>, {
    info: [],
    snapshots: [],
    stats: [],
    ifconfig: [{ name: 'argv', check: ifconfigArgv }],
    route: [{ name: 'argv', check: routeArgv }],
    sysctl: [
      { name: 'name', check: oidName },
      { name: 'value', check: sysctlValue, optional: true },
    ],
    captureStart: [
      { name: 'ifname', check: ifname },
      { name: 'count', check: intIn(1, MAX_CAPTURE_COUNT), optional: true },
      { name: 'snapLen', check: intIn(1, MAX_SNAPLEN), optional: true },
    ],
    kldload: [{ name: 'name', check: moduleName }],
    kldunload: [{ name: 'name', check: moduleName }],
    kldstat: [],
    rdma: [],
    captureCount: [{ name: 'id', check: captureId }],
    captureStop: [{ name: 'id', check: captureId }],
    setkey: [{ name: 'text', check: setkeyText }],
    jailCreate: [{ name: 'name', check: jailName }],
    jailRemove: [{ name: 'jail', check: jailName }],
    jls: [],
    jailSnapshot: [{ name: 'jail', check: jailName }],
    jailSysctl: [
      { name: 'jail', check: jailName },
      { name: 'name', check: oidName },
      { name: 'value', check: sysctlValue, optional: true },
    ],
    jailIfconfig: [
      { name: 'jail', check: jailName },
      { name: 'argv', check: ifconfigArgv },
    ],
    jailExec: [
      { name: 'jail', check: jailName },
      { name: 'app', check: appName },
      { name: 'options', check: appOptions },
    ],
    pfctlLoad: [{ name: 'text', check: pfConfText }],
    pfctlEnable: [{ name: 'on', check: bool }],
    pfctlShow: [],
  }),
);

export const METHOD_NAMES = Object.freeze(Object.keys(METHODS) as (keyof DaemonApi)[]);

function isId(v: unknown): v is Id {
  return (typeof v === 'string' && v.length <= 64) || (typeof v === 'number' && Number.isSafeInteger(v));
}

function bad(message: string): SysError {
  return new SysError(BAD_REQUEST, message, 'control');
}

export function wireError(e: unknown): WireError {
  if (e instanceof Error) {
    const x = e as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
    const w: WireError = {
      name: typeof e.name === 'string' ? e.name : 'Error',
      code: typeof x.code === 'string' ? x.code : 'MCSTACK_DAEMON',
      message: String(e.message),
    };
    if (typeof x.errno === 'number') w.errno = x.errno;
    if (typeof x.syscall === 'string') w.syscall = x.syscall;
    return w;
  }
  return { name: 'Error', code: 'MCSTACK_DAEMON', message: String(e) };
}

/** The request a line holds, checked: the method's name and its arguments. Throws SysError. */
export function parseRequest(msg: unknown): { method: keyof DaemonApi; args: unknown[] } {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw bad('a request is a JSON object');
  const o = msg as Record<string, unknown>;
  if (!Object.hasOwn(o, 'id') || !isId(o.id)) throw bad('a request needs an id: a string (up to 64) or an integer');
  const method = Object.hasOwn(o, 'method') ? o.method : undefined;
  if (typeof method !== 'string' || !Object.hasOwn(METHODS, method))
    throw bad(`unknown method ${JSON.stringify(method)} (methods: ${METHOD_NAMES.join(', ')})`);
  const name = method as keyof DaemonApi;
  const params = METHODS[name];
  const given = Object.hasOwn(o, 'params') ? o.params : [];
  if (!Array.isArray(given)) einval(`${name} params`, 'must be an array');
  const min = params.filter((p) => !p.optional).length;
  if (given.length < min || given.length > params.length)
    einval(name, `takes ${min === params.length ? min : `${min} to ${params.length}`} arguments, got ${given.length}`);
  const args = params.map((p, i) => {
    const v = given[i];
    if (v === undefined || v === null) {
      if (!p.optional) einval(`${name} ${p.name}`, 'required');
      return undefined;
    }
    return p.check(v, `${name} ${p.name}`);
  });
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return { method: name, args };
}

/**
 * The daemon's side of one connection: read requests, call `api`, write replies.
 * Nothing the peer sends can throw out of here.
 */
export function serveConnection(sock: Socket, api: DaemonApi): void {
  const table = new Map<string, (...a: unknown[]) => unknown>(
    METHOD_NAMES.map((m) => [m, (api[m] as (...a: unknown[]) => unknown).bind(api)]),
  );
  let inflight = 0;
  const send = (msg: unknown) => {
    if (sock.destroyed || !sock.writable) return;
    let line: string;
    try {
      line = encodeMessage(msg);
    } catch (e) {
      const id = (msg as { id: Id | null }).id;
      line = encodeMessage({ id, error: wireError(e) });
    }
    sock.write(line);
  };
  const reader = new LineReader(
    MAX_REQUEST_LINE,
    (text) => {
      let id: Id | null = null;
      try {
        let msg: unknown;
        try {
          msg = decodeMessage(text);
        } catch {
          throw bad('not JSON');
        }
        const raw = (msg as { id?: unknown } | null)?.id;
        if (isId(raw) && msg !== null && typeof msg === 'object' && Object.hasOwn(msg, 'id')) id = raw;
        const { method, args } = parseRequest(msg);
        if (inflight >= MAX_INFLIGHT) throw new SysError('EBUSY', `more than ${MAX_INFLIGHT} requests in flight`);
        inflight++;
        const replyId = id;
        Promise.resolve()
          .then(() => table.get(method)!(...args))
          .then(
            (result) => send({ id: replyId, result: result ?? null }),
            (e: unknown) => send({ id: replyId, error: wireError(e) }),
          )
          .finally(() => {
            inflight--;
          });
      } catch (e) {
        send({ id, error: wireError(e) });
      }
    },
    () => {
      send({
        id: null,
        error: wireError(new SysError('EMSGSIZE', `request line longer than ${MAX_REQUEST_LINE} bytes`, 'control')),
      });
      // Half-close: the reply reaches the peer while the rest of its line is read and dropped.
      sock.end();
      setTimeout(() => sock.destroy(), 2000).unref();
    },
  );
  sock.on('data', (chunk: Buffer) => reader.push(chunk));
}

/** An error from a reply, rebuilt with its code (errno and syscall when it had them). */
function rebuild(w: unknown): Error {
  const o = (w !== null && typeof w === 'object' ? w : {}) as Partial<WireError>;
  const e = new Error(typeof o.message === 'string' ? o.message : 'the daemon failed') as Error & WireError;
  e.name = typeof o.name === 'string' ? o.name : 'Error';
  e.code = typeof o.code === 'string' ? o.code : 'MCSTACK_DAEMON';
  if (typeof o.errno === 'number') e.errno = o.errno;
  if (typeof o.syscall === 'string') e.syscall = o.syscall;
  return e;
}

/**
 * The tools' side of a connection: the API as methods that send a request each.
 * `fail` rejects every call in flight (the connection is gone).
 */
export function rpcClient(sock: Socket): { api: DaemonRemote; fail(e: Error): void } {
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  let dead: Error | null = null;
  const fail = (e: Error) => {
    dead ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const reader = new LineReader(
    MAX_REPLY_LINE,
    (text) => {
      let msg: { id?: unknown; result?: unknown; error?: unknown };
      try {
        msg = decodeMessage(text) as typeof msg;
      } catch {
        return; // not a reply: not ours to act on
      }
      if (msg === null || typeof msg !== 'object') return;
      if (msg.id === null && msg.error !== undefined) {
        fail(rebuild(msg.error));
        return;
      }
      const p = typeof msg.id === 'number' ? pending.get(msg.id) : undefined;
      if (p === undefined) return;
      pending.delete(msg.id as number);
      if (msg.error !== undefined) p.reject(rebuild(msg.error));
      else p.resolve(msg.result);
    },
    () => {
      fail(new SysError('EMSGSIZE', `a reply longer than ${MAX_REPLY_LINE} bytes`, 'control'));
      sock.destroy();
    },
  );
  sock.on('data', (chunk: Buffer) => reader.push(chunk));
  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (dead) return Promise.reject(dead);
    const id = next++;
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      sock.write(encodeMessage({ id, method, params: args }));
    });
  };
  const api = Object.create(null) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of METHOD_NAMES) api[m] = (...a: unknown[]) => call(m, a);
  return { api: api as unknown as DaemonRemote, fail };
}
