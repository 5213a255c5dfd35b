/** The FreeBSD tools over engine snapshots: snapshot, formatters, the capture tap. */
export * from './snapshot.js';
export * from './ifconfig.js';
export * from './netstat.js';
export * from './route.js';
export * from './sockstat.js';
export * from './sysctl.js';
export * from './vmstat.js';
export * from './dmesg.js';
export * from './capture.js';
export * from './setkey.js';
export * from './jail.js';
export * from './pfctl.js';
