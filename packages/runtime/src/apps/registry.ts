/**
 * The app registry: names → factories the stack's config can name (AppSpec.name), and
 * the group worker looks up. The built-in apps are entered here, by this module; user
 * code adds its own with registerApp() (in the worker) or names a module URL in the spec.
 */
import type { GroupAppFactory } from './app.js';
import { EchoApp } from './echo.js';
import { DiscardApp } from './discard.js';
import { HttpLiteApp } from './http-lite.js';
import { makeBulkSender } from './bulk-sender.js';
import { RrClient } from './rr-client.js';
import { CrrClient } from './crr-client.js';

const registry = new Map<string, GroupAppFactory>([
  ['echo', (o) => new EchoApp(o)],
  ['discard', (o) => new DiscardApp(o)],
  ['http-lite', (o) => new HttpLiteApp(o)],
  ['bulk-sender', makeBulkSender],
  ['rr-client', (o) => new RrClient(o)],
  ['crr-client', (o) => new CrrClient(o)],
]);

/** Make an app available by name (user code imported into the worker). */
export function registerApp(name: string, factory: GroupAppFactory): void {
  registry.set(name, factory);
}

export function lookupApp(name: string): GroupAppFactory | undefined {
  return registry.get(name);
}

export function appNames(): string[] {
  return [...registry.keys()];
}
