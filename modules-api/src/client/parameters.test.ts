// The parameter rules the core and the conformance kit share: draft-07 or 2020-12, every error, schema
// defaults filled in, Mesos strings coerced on request, and a schema that does not compile told apart.
import { TesseraError } from '../errors';
import { ParametersSchemaError, checkParameters, parameterPointer, schemaDraft, validateParameters } from './parameters';

const info = { name: 'm', version: '1.0.0' };
const schema07 = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, default: 3 }, mode: { enum: ['fast', 'safe'] }, devices: { type: 'array', items: { type: 'integer' } } },
  additionalProperties: false,
};

describe('checkParameters', () => {
  it('reports every problem with its path inside the parameters, naming unknown parameters and allowed values', () => {
    const problems = checkParameters(schema07, { limit: 0, mode: 'slow', devices: [0, 'x'], lable: 1 });
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: ['limit'], message: 'must be >= 1' },
        { path: ['mode'], message: 'must be one of "fast", "safe"' },
        { path: ['devices', 1], message: 'must be integer' },
        { path: ['lable'], message: 'unknown parameter "lable"' },
      ]),
    );
  });

  it('fills schema defaults into the parameters it is given', () => {
    const params: Record<string, unknown> = {};
    expect(checkParameters(schema07, params)).toEqual([]);
    expect(params).toEqual({ limit: 3 });
  });

  it('checks draft 2020-12 when $schema says so, draft-07 otherwise', () => {
    const schema2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { devices: { type: 'array', prefixItems: [{ type: 'integer' }] } } };
    expect(schemaDraft(schema2020)).toBe('2020-12');
    expect(schemaDraft(schema07)).toBe('draft-07');
    expect(checkParameters(schema2020, { devices: ['a'] })).toEqual([{ path: ['devices', 0], message: 'must be integer' }]);
  });

  it('coerces strings to the schema types only when asked', () => {
    const params = { limit: '5' };
    expect(checkParameters(schema07, { limit: '5' })).toEqual([{ path: ['limit'], message: 'must be integer' }]);
    expect(checkParameters(schema07, params, { coerceTypes: true })).toEqual([]);
    expect(params).toEqual({ limit: 5 });
  });

  it('throws a ParametersSchemaError, with the validator reason, for a schema that does not compile', () => {
    let thrown: unknown;
    try {
      checkParameters({ type: 'no-such-type' }, {});
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ParametersSchemaError);
    expect(thrown).toMatchObject({ code: 'TSR_BAD_MODULE_INFO', reason: expect.stringMatching(/^schema is invalid: data\/type must be/) });
  });

  it('renders paths as JSON pointers', () => {
    expect(parameterPointer([])).toBe('');
    expect(parameterPointer(['a/b', 0, 'c~d'])).toBe('/a~1b/0/c~0d');
  });
});

describe('validateParameters', () => {
  it('throws TSR_PARAMETERS_INVALID naming each parameter, from the given source', () => {
    expect(() => validateParameters(schema07, { limit: 0 }, info, '--parameters')).toThrow(
      new TesseraError(
        'TSR_PARAMETERS_INVALID',
        "module m 1.0.0 refuses its parameters (checked against the module's own schema):\n  --parameters/limit (parameter \"limit\"): must be >= 1",
      ),
    );
    expect(() => validateParameters({ type: 'object', required: ['limit'] }, {}, info)).toThrow("parameters: must have required property 'limit'");
  });

  it('throws TSR_BAD_MODULE_INFO for a schema that does not compile, telling the author to fix it', () => {
    expect(() => validateParameters({ type: 'no-such-type' }, {}, info)).toThrow(/^module m 1\.0\.0 declares a parameters schema that does not compile: schema is invalid: .*; fix the schema/);
  });
});
