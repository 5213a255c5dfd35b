/**
 * The built-in bulk-sender as a module app, so a stack can run two of them under
 * different names (the apps' stats are keyed by name).
 */
import { lookupApp, type GroupAppFactory } from '@mcstack/runtime';

const bulk: GroupAppFactory = (options) => {
  const f = lookupApp('bulk-sender');
  if (f === undefined) throw new Error('bulk-sender is not registered');
  return f(options);
};
export default bulk;
