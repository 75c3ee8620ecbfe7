#!/usr/bin/env node
// Bundles with esbuild: the `tessera` and `tessera-conformance` CLIs, the packages' library entries, every
// module package into its single-file build (package.json "tessera.module"), and the test fixture modules.
// A module build is self-contained (SDK, gRPC and protobuf inside): that one file is what the
// compatibility matrix keeps and runs against later cores.
// Alongside, tsc writes modules-api's declaration files (its package.json "types"), so module authors'
// own TypeScript settings never compile the package's sources; incremental, so a rerun costs ~1.5 s.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
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

// declarations runs tsc on a declaration-only tsconfig, failing the bundle with tsc's own output.
function declarations(tsconfig) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [tsc, '-p', tsconfig], { cwd: root }, (err, stdout, stderr) =>
      err ? reject(new Error(`tsc -p ${path.relative(root, tsconfig)} failed:\n${stdout}${stderr}`)) : resolve(),
    ),
  );
}

const started = Date.now();
await Promise.all([...jobs, declarations(r('modules-api/tsconfig.build.json'))]);
if (!process.argv.includes('--quiet')) console.log(`bundle: ${jobs.length} bundles and modules-api's declarations in ${Date.now() - started} ms`);
