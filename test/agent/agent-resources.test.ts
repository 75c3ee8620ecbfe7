// --resources / --attributes parsing, detection on this machine, and merging with module resources.
import os from 'node:os';
import { detectResources, formatResources, mergeResources, parseAttributes, parseResources, scalarOf } from '../../core/src/agent/resources';
import { TesseraError } from '../../core/src/errors';

describe('agent resources', () => {
  it('reads Mesos text: scalars, roles, ranges and sets', () => {
    const rs = parseResources('cpus:4;mem:8192;disk:10000;ports:[31000-32000];cpus(ops):2;zones:{a,b}');
    expect(rs).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 8192 } },
      { name: 'disk', type: 'SCALAR', scalar: { value: 10000 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
    ]);
    expect(formatResources(rs)).toBe('cpus:4;mem:8192;disk:10000;ports:[31000-32000];cpus(ops):2;zones:{a,b}');
  });

  it('reads the JSON array form', () => {
    const rs = parseResources('[{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"ops"},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]}}]');
    expect(rs).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 5 }] } },
    ]);
  });

  it.each([
    ['cpus=4', /"cpus=4" is not name:value/],
    ['cpus:lots', /"lots" is not a number/],
    ['ports:[2-1]', /bad range/],
    ['[{"type":"SCALAR"}]', /has no "name"/],
    ['[not json', /not valid JSON/],
  ])('refuses %s naming --resources', (text, why) => {
    let err: unknown;
    try {
      parseResources(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('TSR_FLAG_INVALID');
    expect((err as TesseraError).message).toMatch(/flag --resources/);
    expect((err as TesseraError).message).toMatch(why);
  });

  it('reads attributes as Mesos types them', () => {
    expect(parseAttributes('rack:r1;level:3;ports:[1-2];os:{linux}')).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
      { name: 'os', type: 'SET', set: { item: ['linux'] } },
    ]);
    expect(() => parseAttributes('rack')).toThrow(/flag --attributes/);
  });

  it('detects cpus, memory less a reserve, disk of the work_dir and the default ports', () => {
    const rs = detectResources({ workDir: os.tmpdir() });
    expect(scalarOf(rs, 'cpus')).toBe(os.cpus().length);
    const totalMiB = os.totalmem() / 1024 / 1024;
    expect(scalarOf(rs, 'mem')).toBeLessThan(totalMiB);
    expect(scalarOf(rs, 'mem')).toBeGreaterThanOrEqual(totalMiB / 2 - 1);
    expect(scalarOf(rs, 'disk')).toBeGreaterThan(0);
    expect(rs.find((r) => r.name === 'ports')?.ranges?.range).toEqual([{ begin: 31000, end: 32000 }]);
  });

  it('merges: given names win over detected ones and over what modules provide', () => {
    const given = parseResources('cpus:2;gpus:1');
    const detected = parseResources('cpus:16;mem:1000');
    const provided = parseResources('gpus:4;fpgas:2');
    expect(formatResources(mergeResources(given, detected, provided))).toBe('cpus:2;gpus:1;mem:1000;fpgas:2');
  });
});
