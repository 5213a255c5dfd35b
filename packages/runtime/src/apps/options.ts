/**
 * App option schemas: every app declares the options it reads (name, type, range), and a
 * spec naming another key, a value of the wrong type or one out of range is refused with
 * EINVAL before anything starts (an option accepted but doing nothing would be a silent
 * misconfiguration). The same check runs where a spec is written (Stack.create, the
 * daemon's config, jexec) and in the worker that makes the app (the factory checks its
 * own options, so a module wrapping a built-in is checked too).
 */
import { isIP } from 'node:net';
import { SysError } from '@mcstack/netinet';
import type { GroupApp, GroupAppFactory } from './app.js';

/** One option: `int` (an integer in [min, max]), `number` (finite, in [min, max]), `bool`, `string` (one of `values` when given), `addr` (an IPv4/IPv6 literal), `array`. */
export interface AppOption {
  type: 'int' | 'number' | 'bool' | 'string' | 'addr' | 'array';
  min?: number;
  max?: number;
  values?: readonly string[];
  /** The app cannot run without it. */
  required?: boolean;
  /** What it does (docs and errors). */
  doc: string;
}

export type AppOptionSchema = Readonly<Record<string, AppOption>>;

/** A factory that declares its options and checks them when it is called. */
export type CheckedAppFactory = GroupAppFactory & { readonly options: AppOptionSchema; readonly appName: string };

/** An app's option refused: EINVAL, naming the app and the option (crosses threads as code EINVAL). */
export class AppOptionError extends SysError {
  constructor(
    readonly app: string,
    readonly option: string,
    reason: string,
  ) {
    super('EINVAL', `app '${app}': ${reason}`);
    this.name = 'AppOptionError';
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Throw AppOptionError for the first key `schema` does not declare or value it does not allow. */
export function checkAppOptions(app: string, schema: AppOptionSchema, options: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(options)) {
    const o = Object.hasOwn(schema, k) ? schema[k] : undefined;
    if (o === undefined) {
      const known = Object.keys(schema);
      throw new AppOptionError(
        app,
        k,
        `unknown option '${k}' (${known.length > 0 ? `options: ${known.join(', ')}` : 'it takes none'})`,
      );
    }
    if (v === undefined) continue;
    const bad = (what: string): never => {
      throw new AppOptionError(app, k, `option '${k}' must be ${what}, got ${show(v)}`);
    };
    switch (o.type) {
      case 'int': {
        const lo = o.min ?? 0;
        const hi = o.max ?? Number.MAX_SAFE_INTEGER;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`an integer from ${lo} to ${hi}`);
        break;
      }
      case 'number': {
        const lo = o.min ?? 0;
        const hi = o.max ?? Number.MAX_VALUE;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) bad(`a number from ${lo} to ${hi}`);
        break;
      }
      case 'bool':
        if (typeof v !== 'boolean') bad('true or false');
        break;
      case 'string':
        if (typeof v !== 'string') bad(o.values ? `one of ${o.values.join(', ')}` : 'a string');
        if (o.values && !o.values.includes(v as string)) bad(`one of ${o.values.join(', ')}`);
        break;
      case 'addr':
        if (typeof v !== 'string' || isIP(v) === 0) bad('an IPv4 or IPv6 address');
        break;
      case 'array':
        if (!Array.isArray(v)) bad('an array');
        break;
    }
  }
  for (const [k, o] of Object.entries(schema))
    if (o.required === true && options[k] === undefined)
      throw new AppOptionError(app, k, `option '${k}' is required (${o.doc})`);
}

/** A factory for app `name` that checks its options against `schema` before it makes the app. */
export function defineApp(
  name: string,
  schema: AppOptionSchema,
  make: (options: Record<string, unknown>) => GroupApp,
): CheckedAppFactory {
  const f = (options: Record<string, unknown> = {}): GroupApp => {
    checkAppOptions(name, schema, options);
    return make(options);
  };
  return Object.assign(f, { options: schema, appName: name });
}

/** The schema a factory declares (defineApp), or undefined for one that declares none. */
export function schemaOf(f: GroupAppFactory): AppOptionSchema | undefined {
  return (f as Partial<CheckedAppFactory>).options;
}

// What the apps share.
export const PORT_OPTION: AppOption = { type: 'int', min: 1, max: 65535, doc: 'TCP port' };
/** The server apps (apps/server.ts): their port when the spec's `port` does not give it, and the listen backlog. */
export const SERVER_OPTIONS: AppOptionSchema = {
  port: PORT_OPTION,
  backlog: { type: 'int', min: 0, max: 65535, doc: 'listen(2) backlog (kern.ipc.soacceptqueue caps it), default 1024' },
};
/** The workload clients (apps/client.ts): where, what protocol, how big a transaction. */
export const CLIENT_OPTIONS: AppOptionSchema = {
  addr: { type: 'addr', required: true, doc: 'server address' },
  port: { ...PORT_OPTION, required: true },
  protocol: { type: 'string', values: ['echo', 'discard', 'http'], doc: "server protocol, default 'echo'" },
  size: {
    type: 'int',
    min: 0,
    max: 1 << 24,
    doc: 'request (and response) bytes, or the body asked of http-lite; default 64',
  },
};
