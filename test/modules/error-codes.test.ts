// Every error code a user can see is catalogued in its package's errors.ts and explained in docs/errors.md.
import fs from 'node:fs';
import path from 'node:path';
import { AbiErrorCodes } from '@tessera/modules-api';
import { CoreErrorCodes } from '../../core/src/errors';
import { ROOT } from './helpers';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' || e.name === 'fixtures' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('error codes', () => {
  const catalogued = new Set([...Object.keys(AbiErrorCodes), ...Object.keys(CoreErrorCodes)]);

  it('every TSR_ code used in the sources is catalogued', () => {
    const used = new Set<string>();
    for (const file of [...sourceFiles(path.join(ROOT, 'core/src')), ...sourceFiles(path.join(ROOT, 'modules-api/src'))]) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/'(TSR_[A-Z0-9_]+)'/g)) used.add(m[1]);
    }
    expect([...used].filter((c) => !catalogued.has(c))).toEqual([]);
  });

  it('docs/errors.md explains every catalogued code', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    expect([...catalogued].filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
