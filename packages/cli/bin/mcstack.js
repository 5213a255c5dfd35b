#!/usr/bin/env node
// The built CLI lives in dist/; run `npm run build` (or `npm test`) first.
import { main } from '../dist/src/main.js';
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
