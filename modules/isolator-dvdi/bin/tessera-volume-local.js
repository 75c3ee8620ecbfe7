#!/usr/bin/env node
// tessera-volume-local: a Docker volume plugin serving directories (and size-capped ext4 images) under a
// root directory. The bundle is built by `npm run bundle` at the repository root.
let main;
try {
  main = require('../dist/volume-local.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/volume-local.js')) {
    process.stderr.write('tessera-volume-local: dist/volume-local.js is missing: run `npm run bundle` in the repository\n');
    process.exit(1);
  }
  throw err;
}
main.runCli(process.argv.slice(2));
