// Every code this module throws is catalogued in errors.ts and explained in docs/errors.md and the README.
import fs from 'node:fs';
import path from 'node:path';
import { GpuErrorCodes, TASK_INVALID } from './errors';

const pkg = path.resolve(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('isolator-gpu error codes', () => {
  const catalogued = Object.keys(GpuErrorCodes);

  it('every GPU_ code used in the sources is catalogued, and every catalogued one is used', () => {
    const used = new Set<string>();
    for (const file of sources(path.join(pkg, 'src'))) {
      if (file.endsWith('errors.ts')) continue;
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/'(GPU_[A-Z0-9_]+)'/g)) used.add(m[1]);
    }
    expect([...used].filter((c) => !catalogued.includes(c))).toEqual([]);
    expect(catalogued.filter((c) => !used.has(c))).toEqual([]);
  });

  it('docs/errors.md and the README explain every code, and the core catalogues TSR_TASK_INVALID', () => {
    for (const doc of [path.join(pkg, '../../docs/errors.md'), path.join(pkg, 'README.md')]) {
      const text = fs.readFileSync(doc, 'utf8');
      expect([doc, [...catalogued, TASK_INVALID].filter((c) => !text.includes(`\`${c}\``))]).toEqual([doc, []]);
    }
    expect(fs.readFileSync(path.join(pkg, '../../core/src/errors.ts'), 'utf8')).toContain(`${TASK_INVALID}:`);
  });
});
