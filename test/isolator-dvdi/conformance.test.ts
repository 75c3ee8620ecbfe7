// The bundled isolator module against the isolator conformance kit, and its error codes against
// docs/errors.md.
import fs from 'node:fs';
import path from 'node:path';
import { runConformance } from '@tessera/modules-api';
import { DvdiErrorCodes, VolumeLocalErrorCodes } from '../../modules/isolator-dvdi/src';
import { ROOT, tempDir } from '../modules/helpers';
import { MODULE_BUILD } from './support';

describe('isolator-dvdi conformance', () => {
  const stateDir = tempDir();
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it.each([
    ['without parameters', () => undefined],
    ['with a state directory', () => ({ state_dir: stateDir })],
  ])('passes the isolator conformance kit %s', async (_what, parameters) => {
    const report = await runConformance({ kind: 'isolator', module: { command: process.execPath, args: [MODULE_BUILD] }, parameters: parameters() });
    expect(report.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(report.results.find((r) => r.id === 'recover')?.status).toBe('pass');
  }, 60_000);
});

describe('isolator-dvdi error codes', () => {
  const codes = [...Object.keys(DvdiErrorCodes), ...Object.keys(VolumeLocalErrorCodes)];

  it('every code the sources throw is catalogued', () => {
    const src = path.join(ROOT, 'modules/isolator-dvdi/src');
    const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const used = new Set<string>();
    for (const f of files) for (const m of fs.readFileSync(path.join(src, f), 'utf8').matchAll(/(?:dvdiError|PluginError)\(\s*'([A-Z][A-Z0-9_]+)'/g)) used.add(m[1]);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((c) => !codes.includes(c))).toEqual([]);
  });

  it('docs/errors.md explains every code', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    expect(codes.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
