/**
 * The app registry: names → factories the stack's config can name (AppSpec.name), and
 * the group worker looks up. The built-in apps are entered here, by this module; user
 * code adds its own with registerApp() (in the worker) or names a module URL in the spec.
 * Every entry declares its options (apps/options.ts) and checks them when called.
 */
import type { GroupAppFactory } from './app.js';
import { EchoApp } from './echo.js';
import { DiscardApp } from './discard.js';
import { HttpLiteApp } from './http-lite.js';
import { makeBulkSender } from './bulk-sender.js';
import { RR_CLIENT_OPTIONS, RrClient } from './rr-client.js';
import { CRR_CLIENT_OPTIONS, CrrClient } from './crr-client.js';
import { SERVER_OPTIONS, checkAppOptions, defineApp, type AppOptionSchema, type CheckedAppFactory } from './options.js';

const registry = new Map<string, CheckedAppFactory>(
  [
    defineApp('echo', SERVER_OPTIONS, (o) => new EchoApp(o)),
    defineApp('discard', SERVER_OPTIONS, (o) => new DiscardApp(o)),
    defineApp('http-lite', SERVER_OPTIONS, (o) => new HttpLiteApp(o)),
    makeBulkSender,
    defineApp('rr-client', RR_CLIENT_OPTIONS, (o) => new RrClient(o)),
    defineApp('crr-client', CRR_CLIENT_OPTIONS, (o) => new CrrClient(o)),
  ].map((f) => [f.appName, f]),
);

/** Make an app available by name (user code imported into the worker), with the options it reads. */
export function registerApp(name: string, factory: GroupAppFactory, options: AppOptionSchema): void {
  registry.set(name, defineApp(name, options, factory));
}

export function lookupApp(name: string): GroupAppFactory | undefined {
  return registry.get(name);
}

/** The options app `name` declares, or undefined when the registry has no such app. */
export function appOptions(name: string): AppOptionSchema | undefined {
  return registry.get(name)?.options;
}

/**
 * Check a spec's options for registry app `name` where the spec is written (EINVAL,
 * AppOptionError); a name this thread's registry does not know is left to the worker
 * (user code may register it there; MCSTACK_NOAPP when nothing does).
 */
export function checkAppSpec(name: string, options: Record<string, unknown>): void {
  const schema = appOptions(name);
  if (schema !== undefined) checkAppOptions(name, schema, options);
}

export function appNames(): string[] {
  return [...registry.keys()];
}
