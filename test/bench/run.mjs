#!/usr/bin/env node
// `npm run bench [-- name...]`: bundles and runs test/bench/<name>.ts (all of them when no name is given).
// Benchmarks print `BENCH <figure> <value> <unit>` lines and their ratio to the target.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { common } from '../tools/bundle-lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = fs.readdirSync(here).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of wanted.length ? wanted : available) {
  const outfile = path.join(os.tmpdir(), `tessera-bench-${name}.js`);
  await build({ ...common, entryPoints: [path.join(here, `${name}.ts`)], outfile });
  console.log(`== bench ${name}`);
  // Same V8 flag the core gives node module processes (core/src/modules/resolve.ts).
  const res = spawnSync(process.execPath, ['--max-semi-space-size=32', outfile], { stdio: 'inherit' });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
