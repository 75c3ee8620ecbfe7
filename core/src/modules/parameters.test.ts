import { parameterValidator } from './parameters';
import { TesseraError } from '../errors';

const config = { source: 'modules.json', locate: () => '3:5', mesosFormat: false };
const info = { name: 'm', version: '1.0.0' };

describe('module parameters', () => {
  it('validates draft-07 and 2020-12 schemas, naming the path inside the entry', () => {
    const check = parameterValidator(config, 2, 'gpu');
    const schema07 = { type: 'object', properties: { devices: { type: 'array', items: { type: 'integer' } } } };
    const schema2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema07, properties: { devices: { type: 'array', prefixItems: [{ type: 'integer' }] } } };
    expect(() => check(schema07, { devices: [0, 1] }, info)).not.toThrow();
    expect(() => check(schema2020, { devices: [0] }, info)).not.toThrow();
    expect(() => check(schema2020, { devices: ['a'] }, info)).toThrow(TesseraError);
    expect(() => check(schema07, { devices: [0, 'x'] }, info)).toThrow('modules.json:3:5 /modules/2/parameters/devices/1: must be integer');
  });

  it('coerces Mesos string parameters to the schema types', () => {
    const check = parameterValidator({ ...config, mesosFormat: true }, 0, 'cgroups');
    const params = { pids_max: '100' };
    check({ type: 'object', properties: { pids_max: { type: 'integer' } } }, params, info);
    expect(params).toEqual({ pids_max: 100 });
  });

  it('names unknown parameters, fills defaults, and blames a schema that does not compile on its author', () => {
    const seen: (string | number)[][] = [];
    const check = parameterValidator({ ...config, locate: (p) => (seen.push(p), '4:7') }, 1, 'gpu');
    const schema = { type: 'object', properties: { limit: { type: 'integer', default: 2 } }, additionalProperties: false };
    expect(() => check(schema, { limt: 1 }, info)).toThrow('modules.json:4:7 /modules/1/parameters/limt: unknown parameter "limt"');
    expect(seen).toEqual([['modules', 1, 'parameters', 'limt']]);
    const params = {};
    check(schema, params, info);
    expect(params).toEqual({ limit: 2 });
    expect(() => check({ type: 'no-such-type' }, {}, info)).toThrow(
      expect.objectContaining({ code: 'TSR_BAD_MODULE_INFO', message: expect.stringMatching(/^module gpu \(m 1\.0\.0\) declares an invalid parameters schema: schema is invalid: .*; report this to the module's author$/) }),
    );
  });
});
