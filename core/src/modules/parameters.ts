/**
 * Validation of an operator's module parameters against the schema the module declares in GetInfo.
 * The rules (drafts, defaults, coercion) are modules-api's `checkParameters`, shared with the conformance
 * kit; what is the core's own is pointing each problem at the operator's modules.json.
 */
import { ParametersSchemaError, checkParameters, parameterPointer, type ModuleInfo } from '@tessera/modules-api';
import { TesseraError } from '../errors';
import type { ModulesConfig } from './modules-json';

/**
 * parameterValidator returns the check the module host runs before Configure: errors name the JSON
 * path inside the operator's modules.json entry and the line it is on.
 */
export function parameterValidator(config: Pick<ModulesConfig, 'source' | 'locate' | 'mesosFormat'>, index: number, name: string) {
  return (schema: object, parameters: unknown, info: ModuleInfo): void => {
    let problems;
    try {
      // Mesos-format parameters are strings: coerce them to the schema's types, as the operator means.
      problems = checkParameters(schema, parameters, { coerceTypes: config.mesosFormat });
    } catch (err) {
      if (!(err instanceof ParametersSchemaError)) throw err;
      throw new TesseraError('TSR_BAD_MODULE_INFO', `module ${name} (${info.name} ${info.version}) declares an invalid parameters schema: ${err.reason}; report this to the module's author`);
    }
    if (!problems.length) return;
    const lines = problems.map(
      (p) => `${config.source}:${config.locate(['modules', index, 'parameters', ...p.path])} /modules/${index}/parameters${parameterPointer(p.path)}: ${p.message}`,
    );
    throw new TesseraError(
      'TSR_PARAMETERS_INVALID',
      `module ${name} (${info.name} ${info.version}) refuses its parameters (checked against the module's own schema):\n  ${lines.join('\n  ')}`,
    );
  };
}
