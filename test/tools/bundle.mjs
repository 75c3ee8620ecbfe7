#!/usr/bin/env node
// Bundles with esbuild: the `tessera` and `tessera-conformance` CLIs, the packages' library entries, every
// module package into its single-file build (package.json "tessera.module"), and the test fixture modules.
// A module build is self-contained (SDK, gRPC and protobuf inside): that one file is what the
// compatibility matrix keeps and runs against later cores.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const r = (...p) => path.join(root, ...p);

import { common, moduleBuild } from './bundle-lib.mjs';

const jobs = [
  build({ ...common, entryPoints: [r('core/src/cli.ts')], outfile: r('core/dist/cli.js') }),
  build({ ...common, entryPoints: [r('core/src/index.ts')], outfile: r('core/dist/index.js'), packages: 'external', alias: {} }),
  build({ ...common, entryPoints: [r('modules-api/src/index.ts')], outfile: r('modules-api/dist/index.js'), packages: 'external' }),
];
if (fs.existsSync(r('modules-api/src/conformance/cli.ts'))) {
  jobs.push(build({ ...common, entryPoints: [r('modules-api/src/conformance/cli.ts')], outfile: r('modules-api/dist/conformance-cli.js') }));
}

for (const dir of fs.existsSync(r('modules')) ? fs.readdirSync(r('modules')) : []) {
  const pkgFile = r('modules', dir, 'package.json');
  if (!fs.existsSync(pkgFile)) continue;
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  if (!pkg.tessera?.module) continue;
  const entry = r('modules', dir, 'src', 'main.ts');
  if (!fs.existsSync(entry)) throw new Error(`modules/${dir}: package.json names tessera.module but src/main.ts is missing`);
  jobs.push(moduleBuild(entry, r('modules', dir, pkg.tessera.module)));
}
// tessera-volume-local, the Docker volume plugin shipped with @tessera/isolator-dvdi (its bin requires this bundle).
if (fs.existsSync(r('modules/isolator-dvdi/src/plugin/main.ts'))) {
  jobs.push(build({ ...common, entryPoints: [r('modules/isolator-dvdi/src/plugin/main.ts')], outfile: r('modules/isolator-dvdi/dist/volume-local.js') }));
}

const fixtures = r('test', 'fixtures', 'modules');
for (const file of fs.existsSync(fixtures) ? fs.readdirSync(fixtures) : []) {
  if (!file.endsWith('.ts')) continue;
  jobs.push(build({ ...common, entryPoints: [path.join(fixtures, file)], outfile: path.join(fixtures, 'build', file.replace(/\.ts$/, '.js')) }));
}

const started = Date.now();
await Promise.all(jobs);
if (!process.argv.includes('--quiet')) console.log(`bundle: ${jobs.length} bundles in ${Date.now() - started} ms`);
