/** Validation of an operator's module parameters against the schema the module declares in GetInfo. */
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { TesseraError } from '../errors';
import type { ModuleInfo } from '@tessera/modules-api';
import type { ModulesConfig } from './modules-json';

/**
 * parameterValidator returns the check the module host runs before Configure: errors name the JSON
 * path inside the operator's modules.json entry and the line it is on.
 */
export function parameterValidator(config: Pick<ModulesConfig, 'source' | 'locate' | 'mesosFormat'>, index: number, name: string) {
  return (schema: object, parameters: unknown, info: ModuleInfo): void => {
    // Mesos-format parameters are strings: coerce them to the schema's types, as the operator means.
    const options = { allErrors: true, strict: false, coerceTypes: config.mesosFormat, useDefaults: true };
    // Draft-07 unless the module's schema says 2020-12 (both are what module.proto promises).
    const is2020 = String((schema as { $schema?: unknown }).$schema ?? '').includes('2020-12');
    const ajv = is2020 ? new Ajv2020(options) : new Ajv(options);
    let validate;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      throw new TesseraError('TSR_BAD_MODULE_INFO', `module ${name} (${info.name} ${info.version}) declares an invalid parameters schema: ${(err as Error).message}; report this to the module's author`);
    }
    if (validate(parameters)) return;
    const problems = (validate.errors ?? []).map((e) => {
      const segs = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      let pointer = `/modules/${index}/parameters${e.instancePath}`;
      let message = e.message ?? 'is invalid';
      if (e.keyword === 'additionalProperties') {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        pointer += `/${field}`;
        segs.push(field);
        message = `unknown parameter "${field}"`;
      } else if (e.keyword === 'enum') {
        message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return `${config.source}:${config.locate(['modules', index, 'parameters', ...segs])} ${pointer}: ${message}`;
    });
    throw new TesseraError(
      'TSR_PARAMETERS_INVALID',
      `module ${name} (${info.name} ${info.version}) refuses its parameters (checked against the module's own schema):\n  ${problems.join('\n  ')}`,
    );
  };
}
