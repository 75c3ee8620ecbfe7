/**
 * Mesos-style command-line flags: `--name=value` or `--name value`, booleans as `--name`,
 * `--name=false` or `--no-name`, durations as Mesos writes them (`15secs`, `500ms`, `1mins`) or short
 * (`15s`), each also settable as the environment variable `TESSERA_<NAME>` (the flag wins). Unknown
 * flags, flags given twice and bad values are errors (TSR_FLAG_INVALID) naming the flag (or the
 * environment variable the value came from) and what it takes.
 */
import { TesseraError } from '@tessera/modules-api';

/** The kinds of flag values. */
export type FlagType = 'string' | 'int' | 'number' | 'bool' | 'duration';

/** FlagSpec describes one flag. */
export interface FlagSpec {
  type: FlagType;
  /** Default, as it would be written on the command line; absent = unset. */
  default?: string;
  help: string;
  /** Smallest value allowed (int, number; durations in ms). */
  min?: number;
  /** Largest value allowed. */
  max?: number;
  /** A duration or number must be more than 0 (a zero interval would spin). */
  positive?: boolean;
}

/** Parsed values: strings, numbers (durations in milliseconds), booleans. */
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** ParsedFlags are the values plus the positional arguments and the flags as the operator gave them. */
export interface ParsedFlags {
  values: FlagValues;
  positional: string[];
  /** Where each value came from, for error messages: `flag --port`, `environment variable TESSERA_PORT`. */
  sources: Record<string, string>;
  /** Every flag with its effective text value (for /state and GET_FLAGS). */
  effective: Record<string, string>;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, secs: 1000, sec: 1000, m: 60_000, mins: 60_000, min: 60_000, h: 3_600_000, hrs: 3_600_000, days: 86_400_000, weeks: 604_800_000 };

function convert(name: string, spec: FlagSpec, text: string, source: string): string | number | boolean {
  const value = convertType(name, spec, text, source);
  if (typeof value !== 'number') return value;
  const bad = (what: string) => new TesseraError('TSR_FLAG_INVALID', `${source} '${text}': ${what}`);
  const unit = spec.type === 'duration' ? 'ms' : '';
  if (spec.positive && !(value > 0)) throw bad(spec.type === 'duration' ? 'must be longer than 0' : 'must be more than 0');
  if (spec.min !== undefined && value < spec.min) throw bad(`must be at least ${spec.min}${unit}`);
  if (spec.max !== undefined && value > spec.max) throw bad(`must be at most ${spec.max}${unit}`);
  return value;
}

function convertType(name: string, spec: FlagSpec, text: string, source: string): string | number | boolean {
  const bad = (what: string) => new TesseraError('TSR_FLAG_INVALID', `${source} '${text}': ${what}`);
  switch (spec.type) {
    case 'string':
      return text;
    case 'bool':
      if (text === 'true' || text === '1' || text === '') return true;
      if (text === 'false' || text === '0') return false;
      throw bad('must be true or false');
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw bad('must be a whole number');
      return Number(text);
    }
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw bad('must be a number');
      return n;
    }
    case 'duration': {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(text.trim());
      const unit = m ? UNITS[m[2]] : undefined;
      if (!m || unit === undefined) throw bad(`must be a duration such as 15secs, 500ms or 2mins (flag --${name})`);
      return Number(m[1]) * unit;
    }
  }
}

function suggest(name: string, known: string[]): string {
  // Mesos's deprecated "slave" names: their "agent" names are the flags.
  const renamed = name.replace(/slave/g, 'agent');
  if (renamed !== name && known.includes(renamed)) return `; Mesos's deprecated --${name} is --${renamed} here`;
  const near = known.filter((k) => k.includes(name) || name.includes(k) || distance(k, name) <= 2);
  return near.length ? `; did you mean --${near[0]}?` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** parseFlags reads argv and the environment against the specs; throws TSR_FLAG_INVALID. */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>, env: NodeJS.ProcessEnv = process.env): ParsedFlags {
  const given = new Map<string, { text: string; source: string }>();
  const positional: string[] = [];
  const known = Object.keys(specs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let text = eq === -1 ? undefined : arg.slice(eq + 1);
    if (!(name in specs) && name.startsWith('no-') && specs[name.slice(3)]?.type === 'bool' && text === undefined) {
      name = name.slice(3);
      text = 'false';
    }
    const spec = specs[name];
    if (!spec) throw new TesseraError('TSR_FLAG_INVALID', `unknown flag --${name}${suggest(name, known)} (see --help)`);
    if (text === undefined) {
      if (spec.type === 'bool') text = 'true';
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) text = argv[++i];
      else throw new TesseraError('TSR_FLAG_INVALID', `flag --${name} needs a value`);
    }
    const before = given.get(name);
    if (before) throw new TesseraError('TSR_FLAG_INVALID', `flag --${name} is given twice ('${before.text}' and '${text}'): give it once`);
    given.set(name, { text, source: `flag --${name}` });
  }
  const values: FlagValues = {};
  const effective: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const envName = `TESSERA_${name.toUpperCase()}`;
    const g = given.get(name) ?? (env[envName] !== undefined ? { text: env[envName]!, source: `environment variable ${envName}` } : undefined);
    const text = g?.text ?? spec.default;
    if (text === undefined) continue;
    sources[name] = g?.source ?? `default of --${name}`;
    values[name] = convert(name, spec, text, sources[name]);
    effective[name] = text;
  }
  return { values, positional, effective, sources };
}

/** flagsHelp renders the specs as help text. */
export function flagsHelp(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs)
    .map(([name, s]) => `  --${name}${s.type === 'bool' ? '' : `=<${s.type === 'duration' ? 'duration' : s.type === 'string' ? 'value' : 'n'}>`}`.padEnd(40) + `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`)
    .join('\n');
}
