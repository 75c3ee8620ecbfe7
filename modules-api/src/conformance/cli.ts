// `tessera-conformance`: the conformance kit from the command line, for module authors and their CI.
// Exit status: 0 when every check passed (skips allowed), 1 when any failed, 2 for bad arguments. For a
// kind without kind-specific checks, the status is that of the common checks (start, get-info, token).
import fs from 'node:fs';
import path from 'node:path';
import { isKind } from '../kinds';
import { COVERED_KINDS, DEFAULT_TIMEOUT_MS, unknownKind, runConformance, type ModuleCommand } from './index';
import { renderHeader, renderJunit, renderResult, renderSummary } from './report';

/** USAGE is printed with every argument error and for --help. */
export const USAGE = `usage: tessera-conformance --kind <kind> [options] <module.js | executable | package dir>
       tessera-conformance --kind <kind> [options] --command "<program> [args...]"
       tessera-conformance --kind <kind> [options] -- <program> [args...]
options:
  --kind <kind>              the kind to check the module as: every kind gets the common checks (start,
                             get-info, token); ${COVERED_KINDS.join(', ')} also get checks of their calls
  --parameters '<json>'      parameters sent at Configure, as "parameters" of a modules.json entry
  --parameters-file <path>   the same, read from a JSON file
  --timeout <ms>             bound on the module's start and on each call (default ${DEFAULT_TIMEOUT_MS})
  --json                     print the report as JSON instead of text
  --junit <file>             also write the report as JUnit XML to <file>
  -h, --help                 print this help
A package dir is resolved through "tessera.module" in its package.json; a .js file runs with node.
Exit status: 0 when no check failed (skips allowed), 1 when one failed, 2 for bad arguments.`;

/** CliIo is where the CLI writes; tests capture it. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

/** UsageError is a bad command line; its message names the argument and what to give instead. */
class UsageError extends Error {}

interface CliArgs {
  kind: string;
  module: ModuleCommand;
  parameters?: unknown;
  timeoutMs?: number;
  json: boolean;
  junit?: string;
}

/** main runs the CLI with `argv` (without node and the script) and resolves with the exit status. */
export async function main(argv: string[], io: CliIo = processIo, cwd: string = process.cwd()): Promise<number> {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv; // after --, -h is the module's
  if (own.includes('-h') || own.includes('--help')) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  let args: CliArgs;
  try {
    args = parseArgs(argv, cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`tessera-conformance: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (!args.json) io.stdout(`${renderHeader(args.kind, args.module)}\n`);
  const report = await runConformance({
    kind: args.kind,
    module: args.module,
    parameters: args.parameters,
    timeoutMs: args.timeoutMs,
    onResult: args.json ? undefined : (r) => io.stdout(`${renderResult(r)}\n`),
  });
  io.stdout(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderSummary(report)}\n`);
  if (args.junit) {
    try {
      fs.writeFileSync(args.junit, renderJunit(report));
    } catch (err) {
      io.stderr(`tessera-conformance: cannot write the JUnit report to "${args.junit}": ${(err as Error).message}\n`);
      return 2;
    }
  }
  return report.ok ? 0 : 1;
}

const VALUED = ['--kind', '--command', '--parameters', '--parameters-file', '--timeout', '--junit'] as const;
type Valued = (typeof VALUED)[number];

function parseArgs(argv: string[], cwd: string): CliArgs {
  const values: Partial<Record<Valued, string>> = {};
  const positional: string[] = [];
  let json = false;
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(0, eq) : arg) as Valued;
    if (!VALUED.includes(name)) throw new UsageError(`unknown option ${arg}`);
    if (values[name] !== undefined) throw new UsageError(`${name} is given twice`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${name} needs a value`);
    values[name] = value;
  }

  const kind = values['--kind'];
  if (!kind) throw new UsageError(`--kind is required: the kind the module implements, e.g. --kind ${COVERED_KINDS[0]}`);
  if (!isKind(kind)) throw new UsageError(unknownKind(kind));

  const given = [positional.length > 0, values['--command'] !== undefined, rest !== undefined].filter(Boolean).length;
  if (given === 0) throw new UsageError('<module> is missing: give the built module file, --command "<program> [args...]" or -- <program> [args...]');
  if (given > 1 || positional.length > 1) {
    const extra = positional.length > 1 ? ` (got ${positional.map((p) => JSON.stringify(p)).join(', ')})` : '';
    throw new UsageError(`give the module once: one path, or --command, or -- <program> [args...]${extra}`);
  }
  let module: ModuleCommand;
  if (rest !== undefined) {
    if (!rest.length) throw new UsageError('-- must be followed by the program to run and its arguments');
    module = { command: rest[0], args: rest.slice(1) };
  } else if (values['--command'] !== undefined) {
    const words = splitCommand(values['--command']);
    if (!words.length) throw new UsageError('--command is empty: give the program to run and its arguments, e.g. --command "python3 isolator.py"');
    module = { command: words[0], args: words.slice(1) };
  } else {
    module = resolveModule(positional[0], cwd);
  }

  const junit = values['--junit'] === undefined ? undefined : path.resolve(cwd, values['--junit']);
  if (junit && !fs.existsSync(path.dirname(junit))) throw new UsageError(`--junit: directory "${path.dirname(junit)}" does not exist`);
  return {
    kind,
    module,
    parameters: parseParameters(values['--parameters'], values['--parameters-file'], cwd),
    timeoutMs: parseTimeout(values['--timeout']),
    json,
    junit,
  };
}

// resolveModule turns a path into a command: a .js file runs with this node, a package dir through its
// package.json "tessera.module" (what the core resolves too), anything else must be executable.
function resolveModule(target: string, cwd: string): ModuleCommand {
  const file = path.resolve(cwd, target);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`<module>: no such file "${file}": give the path of the built module (.js) or of an executable`);
  }
  if (stat.isDirectory()) {
    const pkgFile = path.join(file, 'package.json');
    let entry: unknown;
    try {
      entry = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { tessera?: { module?: unknown } }).tessera?.module;
    } catch {
      entry = undefined;
    }
    if (typeof entry !== 'string') {
      throw new UsageError(`<module>: "${file}" is a directory without a package.json naming "tessera": {"module": ...}: give the built module file instead`);
    }
    const built = path.resolve(file, entry);
    if (!fs.existsSync(built)) throw new UsageError(`<module>: ${pkgFile} names tessera.module "${entry}", but ${built} does not exist: build the package first`);
    return resolveModule(built, cwd);
  }
  if (/\.[cm]?js$/.test(file)) return { command: process.execPath, args: [file] };
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new UsageError(`<module>: "${file}" is not executable: chmod +x it, or give a .js file (run with node)`);
  }
  return { command: file, args: [] };
}

function parseParameters(inline: string | undefined, file: string | undefined, cwd: string): unknown {
  if (inline !== undefined && file !== undefined) throw new UsageError('give --parameters or --parameters-file, not both');
  if (inline === undefined && file === undefined) return undefined;
  let text = inline;
  let what = '--parameters';
  if (file !== undefined) {
    const abs = path.resolve(cwd, file);
    what = `--parameters-file "${abs}"`;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch (err) {
      throw new UsageError(`${what}: cannot read it: ${(err as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text!);
  } catch (err) {
    throw new UsageError(`${what}: not valid JSON (${(err as Error).message}): give an object such as '{"limit": 3}'`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${what}: must be a JSON object, as "parameters" of a modules.json entry, not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value;
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`--timeout: "${text}" is not a number of milliseconds; e.g. --timeout 20000`);
  return Number(text);
}

/** splitCommand splits a command line into words: whitespace separates, quotes group, backslash escapes. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word = (word ?? '') + line[++i];
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new UsageError(`--command: unbalanced ${quote} in ${JSON.stringify(line)}`);
  if (word !== undefined) words.push(word);
  return words;
}

// Run when executed, either directly (node dist/conformance-cli.js) or through bin/tessera-conformance.js,
// which only requires this bundle, so require.main is the bin file; a test that imports main() runs nothing.
const entry = require.main?.filename ?? '';
if (require.main === module || /[\\/]bin[\\/]tessera-conformance(\.js)?$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`tessera-conformance: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}
