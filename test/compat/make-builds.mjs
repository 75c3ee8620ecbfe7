#!/usr/bin/env node
// Makes the kept module builds of the compatibility matrix. Run once per SDK release, commit the result,
// and never rebuild old ones: the point is that a build made back then keeps working.
//   node test/compat/make-builds.mjs 1.0.0    -> test/compat/builds/isolator-abi-1.0.0.js
// 1.1.0 and 2.0.0 builds stand for SDK releases after 1.0.0 (stamped with --define, as a later SDK would be).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleBuild } from '../tools/bundle-lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const versions = process.argv.slice(2);
if (!versions.length) {
  console.error('usage: node test/compat/make-builds.mjs <abi version>...');
  process.exit(2);
}
for (const v of versions) {
  const out = path.join(here, 'builds', `isolator-abi-${v}.js`);
  await moduleBuild(path.join(here, 'src', 'isolator-fixture.ts'), out, { __TESSERA_ABI_VERSION__: JSON.stringify(v) });
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
