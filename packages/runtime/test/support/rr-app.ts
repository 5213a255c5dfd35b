/** rr-client loaded by module URL, so one stack can run it twice (IPv4 and IPv6) under two names. */
import { RrClient } from '../../src/apps/rr-client.js';
import type { GroupAppFactory } from '../../src/apps/app.js';

const make: GroupAppFactory = (o) => new RrClient(o);
export default make;
