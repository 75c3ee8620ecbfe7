/** Resolving a modules.json entry to the command that starts it. */
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '../errors';
import type { ModuleEntry, ModulesConfig } from './modules-json';

// Node modules are started with a larger young generation: RPC traffic allocates many short-lived
// buffers, and fewer scavenges keep the p99 of module calls down (measured by `npm run bench -- module-rpc`).
const NODE_ARGS = ['--max-semi-space-size=32'];

/** ResolvedCommand is how to start one module process. */
export interface ResolvedCommand {
  command: string;
  args: string[];
  /** what says where the module came from, for tables and messages. */
  what: string;
}

/** resolveEntry finds the program a module entry runs, failing with a message that says what to fix. */
export function resolveEntry(entry: ModuleEntry, config: Pick<ModulesConfig, 'dir' | 'source' | 'locate' | 'modules'>): ResolvedCommand {
  const index = config.modules.indexOf(entry);
  const at = (field: string): string => `${config.source}:${config.locate(['modules', index, field])} /modules/${index}/${field}`;
  if (entry.package !== undefined) {
    const pkgJson = findPackageJson(entry.package, config.dir);
    if (!pkgJson) {
      throw new TesseraError(
        'TSR_MODULE_PACKAGE_NOT_FOUND',
        `${at('package')}: package "${entry.package}" is not installed where modules.json is (${path.join(config.dir, 'node_modules')}): run \`npm install ${entry.package}\` in ${config.dir}`,
      );
    }
    const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version?: string; tessera?: { module?: string } };
    if (!pkg.tessera?.module) {
      throw new TesseraError(
        'TSR_MODULE_PACKAGE_NOT_A_MODULE',
        `${at('package')}: package "${entry.package}" (${pkgJson}) is not a Tessera module: its package.json has no "tessera": {"module": "<built file>"}`,
      );
    }
    const file = path.resolve(path.dirname(pkgJson), pkg.tessera.module);
    if (!fs.existsSync(file)) {
      throw new TesseraError(
        'TSR_MODULE_FILE_NOT_FOUND',
        `${at('package')}: package "${entry.package}" names ${pkg.tessera.module} as its module build but ${file} does not exist: build the package (npm run build)`,
      );
    }
    return { command: process.execPath, args: [...NODE_ARGS, file], what: `${entry.package}@${pkg.version ?? '?'}` };
  }
  if (entry.file !== undefined) {
    const file = path.resolve(config.dir, entry.file);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      throw new TesseraError('TSR_MODULE_FILE_NOT_FOUND', `${at('file')}: module file ${file} does not exist (paths are relative to ${config.dir})`);
    }
    return { command: process.execPath, args: [...NODE_ARGS, file], what: path.relative(config.dir, file) || file };
  }
  const [program, ...args] = entry.command ?? [];
  const found = findExecutable(program, config.dir);
  if (!found.ok) {
    throw new TesseraError('TSR_MODULE_COMMAND_NOT_EXECUTABLE', `${at('command')}: command "${program}" ${found.why}`);
  }
  return { command: found.path, args, what: [program, ...args].join(' ') };
}

// Node's lookup of node_modules folders from `dir` upwards, reading package.json directly: a package whose
// "exports" map does not list ./package.json is still found.
function findPackageJson(name: string, dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', name, 'package.json');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

function findExecutable(program: string, dir: string): { ok: true; path: string } | { ok: false; why: string } {
  const check = (p: string): string | undefined => {
    if (!fs.existsSync(p)) return 'does not exist';
    if (!fs.statSync(p).isFile()) return 'is not a file';
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return undefined;
    } catch {
      return `is not executable: run \`chmod +x ${p}\``;
    }
  };
  if (program.includes('/')) {
    const p = path.resolve(dir, program);
    const why = check(p);
    return why ? { ok: false, why: `(${p}) ${why}` } : { ok: true, path: p };
  }
  for (const d of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const p = path.join(d, program);
    if (fs.existsSync(p) && !check(p)) return { ok: true, path: p };
  }
  return { ok: false, why: `was not found on PATH (${process.env.PATH ?? ''}) or is not executable` };
}

/** parseDuration reads "500ms", "2s", "1m" into milliseconds. */
export function parseDuration(text: string | undefined, fallbackMs: number): number {
  if (!text) return fallbackMs;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new TesseraError('TSR_MODULES_JSON_INVALID', `"${text}" is not a duration such as 500ms, 2s or 1m`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}
