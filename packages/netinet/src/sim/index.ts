/** The discrete-event simulator: seeded fault-injecting wires between engines on one virtual clock. */
export * from './events.js';
export * from './wire.js';
export * from './bottleneck.js';
export * from './simulator.js';
export * from './bulk.js';
export * from './ccstudy.js';
export * from './vnet_churn.js';
