// Shared esbuild settings for the bundles of this repo (test/tools/bundle.mjs, test/compat/make-builds.mjs).
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const r = (...p) => path.join(root, ...p);

export const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  logLevel: 'warning',
  mainFields: ['module', 'main'],
  tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
  legalComments: 'none',
  // Bundle the workspace packages from source, so no build order between packages is needed.
  alias: { '@tessera/modules-api': r('modules-api/src/index.ts'), '@tessera/core': r('core/src/index.ts') },
};

/** moduleBuild bundles a module main into one file. */
export function moduleBuild(entry, outfile, define = {}) {
  return build({ ...common, entryPoints: [entry], outfile, minify: true, define });
}

