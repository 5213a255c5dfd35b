/** rr-client loaded by module URL, so one stack can run it twice (IPv4 and IPv6) under two names. */
import { RR_CLIENT_OPTIONS, RrClient } from '../../src/apps/rr-client.js';
import { defineApp } from '../../src/apps/options.js';

export default defineApp('rr-client', RR_CLIENT_OPTIONS, (o) => new RrClient(o));
