export { main, type Io } from './main.js';
export { defineCommand, Args, COMMON_OPTIONS, type Command, type OptionSpec, type PositionalSpec } from './command.js';
export { UsageError } from './errors.js';
export { getopt } from './getopt.js';
export { commands } from './registry.js';
