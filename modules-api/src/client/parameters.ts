/**
 * Checking an operator's module parameters against the JSON Schema the module declares in GetInfo
 * (docs/abi.md, "Parameter validation"). The core's module host and the conformance kit both use this,
 * so a module the kit passes with some parameters is one the core accepts with the same parameters.
 *
 * ```ts
 * const problems = checkParameters({ type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 3 } } }, params);
 * // params.limit is 3 when it was absent; problems lists each failure as {path: ['limit'], message: 'must be >= 1'}
 * ```
 */
import type AjvCore from 'ajv/dist/core';
import type { ErrorObject } from 'ajv';
import { TesseraError } from '../errors';
import type * as T from '../generated/types';

/** ParameterProblem is one way the parameters fail the schema. */
export interface ParameterProblem {
  /**
   * path is where inside the parameters object, e.g. `['devices', 1]`; `[]` is the object itself (such
   * as a missing required parameter). For an unknown parameter it ends with that parameter's name.
   */
  path: (string | number)[];
  /** message says what is wrong, e.g. `must be >= 1` or `unknown parameter "greting"`. */
  message: string;
}

/** ParameterCheckOptions tune {@link checkParameters}. */
export interface ParameterCheckOptions {
  /**
   * coerceTypes converts strings to the schema's types (`"3"` → 3) in place. The core sets it for a
   * modules.json in Mesos's `{"libraries": [...]}` format, whose parameters are all strings.
   */
  coerceTypes?: boolean;
}

/**
 * ParametersSchemaError says that a module's parameters schema does not compile. It is the module
 * author's to fix; `reason` is the validator's own text.
 */
export class ParametersSchemaError extends TesseraError {
  constructor(readonly reason: string) {
    super('TSR_BAD_MODULE_INFO', `the parameters schema does not compile: ${reason}`);
    this.name = 'ParametersSchemaError';
  }
}

/** schemaDraft is the JSON Schema draft a parameters schema is checked as: 2020-12 when its `$schema` says so, else draft-07. */
export function schemaDraft(schema: object): 'draft-07' | '2020-12' {
  return String((schema as { $schema?: unknown }).$schema ?? '').includes('2020-12') ? '2020-12' : 'draft-07';
}

/**
 * checkParameters validates `parameters` against a module's schema, as the core does before Configure:
 * every error reported, `default` values filled into `parameters` in place (so they reach Configure),
 * unknown keywords tolerated. It returns the problems (none when valid) and throws a
 * {@link ParametersSchemaError} when the schema does not compile.
 */
export function checkParameters(schema: object, parameters: unknown, options: ParameterCheckOptions = {}): ParameterProblem[] {
  const ajv = newAjv(schemaDraft(schema), { allErrors: true, strict: false, useDefaults: true, coerceTypes: options.coerceTypes ?? false });
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new ParametersSchemaError((err as Error).message);
  }
  if (validate(parameters)) return [];
  return (validate.errors ?? []).map(problemOf);
}

/** parameterPointer renders a problem's path as a JSON pointer inside the parameters: `/devices/1`. */
export function parameterPointer(path: readonly (string | number)[]): string {
  return path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * validateParameters is a `validateParameters` for {@link startModule}, {@link configureModule} and
 * `serveInProcess`, for callers without a modules.json to point into (the conformance kit, a module's
 * own tests). It applies {@link checkParameters} and throws TSR_PARAMETERS_INVALID naming each
 * parameter and what is wrong with it, or TSR_BAD_MODULE_INFO for a schema that does not compile.
 * `source` names where the parameters came from in the message (default "parameters").
 */
export function validateParameters(schema: object, parameters: unknown, info: T.ModuleInfo, source = 'parameters'): void {
  const who = `module ${info.name} ${info.version}`;
  let problems: ParameterProblem[];
  try {
    problems = checkParameters(schema, parameters);
  } catch (err) {
    if (!(err instanceof ParametersSchemaError)) throw err;
    throw new TesseraError('TSR_BAD_MODULE_INFO', `${who} declares a parameters schema that does not compile: ${err.reason}; fix the schema (\`parameters\` of the module definition)`);
  }
  if (!problems.length) return;
  const lines = problems.map((p) => `${source}${parameterPointer(p.path)}${p.path.length ? ` (parameter "${p.path.join('.')}")` : ''}: ${p.message}`);
  throw new TesseraError('TSR_PARAMETERS_INVALID', `${who} refuses its parameters (checked against the module's own schema):\n  ${lines.join('\n  ')}`);
}

// problemOf turns an Ajv error into a problem an operator can act on: an unknown parameter is named
// (Ajv points at its parent object), and an enum lists the values allowed.
function problemOf(e: ErrorObject): ParameterProblem {
  const path: (string | number)[] = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    path.push(field);
    message = `unknown parameter "${field}"`;
  } else if (e.keyword === 'enum') {
    message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { path, message };
}

// Ajv is loaded on first use rather than imported: every module build bundles this package, and a
// module never validates parameters itself (the core and the kit do), so loading Ajv at import would
// only add its ~25 ms to each module's start.
function newAjv(draft: 'draft-07' | '2020-12', options: ConstructorParameters<typeof AjvCore>[0]): AjvCore {
  const Ajv = draft === '2020-12' ? (require('ajv/dist/2020') as typeof import('ajv/dist/2020')).default : (require('ajv') as typeof import('ajv')).default;
  return new Ajv(options);
}
