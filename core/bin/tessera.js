#!/usr/bin/env node
// The tessera CLI. The bundle is built by `npm run bundle`, which `npm ci` runs through `prepare`.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    process.stderr.write('tessera: core/dist/cli.js is missing: run `npm run bundle` in the repository (npm ci does it too)\n');
    process.exit(1);
  }
  throw err;
}
cli.run();
