/**
 * Loading modules.json: strict JSON with line/column errors, validation against the schema shipped in
 * `@tessera/modules-api` with JSON paths (and the line they are on), unique names, and translation of
 * Mesos's `{"libraries": [...]}` format.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { MODULES_SCHEMA as schema } from '@tessera/modules-api';
import { TesseraError } from '../errors';
import { translateMesosLibraries } from './mesos-libraries';

/** ModuleEntry is one module of modules.json, as the operator wrote it. */
export interface ModuleEntry {
  name: string;
  package?: string;
  file?: string;
  command?: string[];
  parameters?: Record<string, unknown>;
  env?: Record<string, string>;
  timeouts?: { start?: string; call?: string; shutdown?: string };
  restart?: { initialBackoff?: string; maxBackoff?: string };
  onError?: 'ignore' | 'fail';
}

/** ModulesConfig is a loaded modules.json. */
export interface ModulesConfig {
  /** source names the file (or "--modules" for inline JSON) in messages. */
  source: string;
  /** dir is where package and file entries resolve from. */
  dir: string;
  modules: ModuleEntry[];
  /** notes explain a translation from Mesos's format. */
  notes: string[];
  /** mesosFormat: parameters came as Mesos key/value strings (so they are coerced to the schema's types). */
  mesosFormat: boolean;
  /** locate gives "line:column" of a JSON path such as ["modules", 0, "parameters"]. */
  locate(jsonPath: (string | number)[]): string;
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateSchema = ajv.compile(schema);

/**
 * loadModulesJson reads and validates the value of `--modules`: a modules.json path, a `file://` URL of
 * one, or the JSON itself (as Mesos's flag takes all three).
 */
export function loadModulesJson(value: string): ModulesConfig {
  // Mesos's forms of the flag: inline JSON, or a file:// URL.
  if (value.trimStart().startsWith('{')) return parseModulesJson(value, '--modules', process.cwd());
  const file = value.startsWith('file://') ? decodeURIComponent(value.slice('file://'.length)) : value;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
    throw new TesseraError('TSR_MODULES_JSON_READ', `cannot read modules file ${value}: only local files (a path or file:///path) and inline JSON are taken, not ${file.split(':')[0]}:// URLs`);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new TesseraError('TSR_MODULES_JSON_READ', `cannot read modules file ${file}: ${why}`);
  }
  return parseModulesJson(text, file, path.dirname(path.resolve(file)));
}

/**
 * parseModulesJson validates modules.json text. `--modules` may also carry inline JSON (as Mesos's
 * flag does); then source is "--modules" and dir the working directory.
 */
export function parseModulesJson(text: string, source: string, dir: string): ModulesConfig {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const position = (offset: number): string => {
    const before = text.slice(0, offset).split('\n');
    return `${before.length}:${before[before.length - 1].length + 1}`;
  };
  if (errors.length || !tree) {
    const first = errors[0];
    const at = first ? position(first.offset) : '1:1';
    const what = first ? describeParseError(first, text) : 'empty file';
    throw new TesseraError('TSR_MODULES_JSON_SYNTAX', `${source}:${at}: invalid JSON: ${what}`);
  }
  const locate = (jsonPath: (string | number)[]): string => {
    const node: Node | undefined = findNodeAtLocation(tree, jsonPath);
    const target = node?.parent?.type === 'property' ? node.parent : node;
    return position(target?.offset ?? 0);
  };
  let data = JSON.parse(text) as unknown;
  let notes: string[] = [];
  let mesosFormat = false;
  if (data && typeof data === 'object' && !Array.isArray(data) && 'libraries' in data) {
    const translated = translateMesosLibraries(data, source, locate);
    data = translated.config;
    notes = translated.notes;
    mesosFormat = true;
  }
  if (!validateSchema(data)) {
    const problems = (validateSchema.errors ?? []).map((e) => describeSchemaError(e, source, locate));
    throw new TesseraError('TSR_MODULES_JSON_INVALID', `${source} is not a valid modules file:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  const config = data as { modules: ModuleEntry[] };
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.modules.forEach((m, i) => {
    const sources = (['package', 'file', 'command'] as const).filter((k) => m[k] !== undefined);
    if (sources.length !== 1) {
      problems.push(
        `${source}:${locate(['modules', i])} /modules/${i} (${m.name}): give exactly one of "package", "file" or "command"` +
          (sources.length ? ` (found ${sources.join(' and ')})` : ''),
      );
    }
    const earlier = seen.get(m.name);
    if (earlier !== undefined) {
      throw new TesseraError(
        'TSR_MODULES_JSON_DUPLICATE_NAME',
        `${source}:${locate(['modules', i, 'name'])} /modules/${i}/name: module name "${m.name}" is already used by /modules/${earlier}; names must be unique because flags select modules by name`,
      );
    }
    seen.set(m.name, i);
  });
  if (problems.length) throw new TesseraError('TSR_MODULES_JSON_INVALID', `${source} is not a valid modules file:\n  ${problems.join('\n  ')}`);
  return { source, dir, modules: config.modules, notes, mesosFormat, locate };
}

function describeParseError(error: ParseError, text: string): string {
  const names: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'bad number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: "expected ':'",
    CommaExpected: "expected ',' or a closing bracket",
    CloseBraceExpected: "expected '}'",
    CloseBracketExpected: "expected ']'",
    EndOfFileExpected: 'unexpected text after the end of the JSON',
    InvalidCommentToken: 'comments are not allowed in JSON',
    UnexpectedEndOfComment: 'comments are not allowed in JSON',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'bad \\u escape',
    InvalidEscapeCharacter: 'bad escape character',
    InvalidCharacter: 'control character in a string',
  };
  const code = printParseErrorCode(error.error);
  const near = text.slice(error.offset, error.offset + 20).split('\n')[0];
  return `${names[code] ?? code}${near ? ` near ${JSON.stringify(near)}` : ' at the end of the file'}`;
}

function describeSchemaError(e: ErrorObject, source: string, locate: (p: (string | number)[]) => string): string {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let pointer = e.instancePath || '/';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    segments.push(field);
    pointer = `${e.instancePath}/${field}`;
    const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const guess = known.find((k) => similar(k, field));
    message = `unknown field "${field}"${guess ? ` (did you mean "${guess}"?)` : ''}; allowed: ${known.join(', ')}`;
  } else if (e.keyword === 'type') {
    message = `must be ${(e.params as { type: string }).type}`;
  } else if (e.keyword === 'required') {
    message = `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
  } else if (e.keyword === 'enum') {
    message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (e.keyword === 'pattern' && e.schemaPath.includes('duration')) {
    message = 'must be a duration such as 500ms, 2s or 1m';
  }
  return `${source}:${locate(segments)} ${pointer}: ${message}`;
}

function similar(a: string, b: string): boolean {
  if (a === b) return false;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y || x.startsWith(y) || y.startsWith(x)) return true;
  // Levenshtein distance <= 2 for short field names
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i, ...Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) d[0][j] = j;
  for (let i = 1; i <= x.length; i++)
    for (let j = 1; j <= y.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
  return d[x.length][y.length] <= 2;
}
