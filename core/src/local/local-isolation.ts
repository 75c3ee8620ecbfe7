/**
 * Which isolators `tessera local` uses when the operator does not say (`--isolation`): the cgroups
 * isolator module ({@link CGROUPS_CANDIDATE}, `@tessera/isolator-cgroups`: cpu shares, a memory limit
 * whose OOM kill fails the task with REASON_CONTAINER_LIMITATION_MEMORY, a pids limit) wherever the
 * package is installed next to the core and the host allows it (root, the cpu, memory and pids
 * controllers mounted and writable: a probe cgroup is made and removed); otherwise the built-in
 * `posix/cpu` and `posix/mem` (usage from /proc, no limits), and a note that says why. This file is the
 * one place that decides; `tessera local` prints the choice and the note at startup.
 *
 * ```ts
 * const choice = chooseLocalIsolation({ workDir: '/tmp/tessera-local' });
 * // as root on a host with writable cgroups:
 * //   { isolation: ['cgroups'], modules: {...}, note: 'cgroups isolator: cgroup v1, cpu, memory, pids under root "tessera-local-…"' }
 * // elsewhere: { isolation: ['posix/cpu', 'posix/mem'], note: 'cgroups isolation is off: it needs root ...' }
 * choice.release?.();   // once the agent stopped: removes what the isolators left on the host
 * ```
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseModulesJson, type ModulesConfig } from '../modules/modules-json';
import { probeCgroupsHost, removeCgroupsRoot } from './cgroups-host';

/** LOCAL_DEFAULT_ISOLATION is what a local cluster runs when nothing better is available. */
export const LOCAL_DEFAULT_ISOLATION = ['posix/cpu', 'posix/mem'];

/** IsolatorCandidate is an isolator module a local cluster uses when it is installed and the host allows it. */
export interface IsolatorCandidate {
  /** name in modules.json and --isolation. */
  name: string;
  /** npm package of the module. */
  package: string;
  /** hostProblem says why the host cannot run it, or undefined when it can. */
  hostProblem(): string | undefined;
  /** setup gives the module's parameters for a cluster on `workDir`, and a line saying what it will do there. */
  setup?(workDir: string): { parameters?: Record<string, unknown>; describe?: string };
  /** release removes what the module left on the host for `workDir`, once the agent stopped. */
  release?(workDir: string): void;
}

/**
 * localCgroupsRoot is the cgroup root of a local cluster: one per work dir, so that two local clusters
 * (or a local cluster and an agent on the default root "tessera") never take each other's cgroups for
 * orphans, while a cluster started again on the same work dir cleans up what a crashed one left.
 */
export function localCgroupsRoot(workDir: string): string {
  return `tessera-local-${crypto.createHash('sha256').update(path.resolve(workDir)).digest('hex').slice(0, 10)}`;
}

/** CGROUPS_CANDIDATE: the cgroups isolator, used as root where the cpu, memory and pids controllers can be written. */
export const CGROUPS_CANDIDATE: IsolatorCandidate = {
  name: 'cgroups',
  package: '@tessera/isolator-cgroups',
  hostProblem() {
    const host = probeCgroupsHost();
    return host.ok ? undefined : host.problem;
  },
  setup(workDir) {
    const root = localCgroupsRoot(workDir);
    const host = probeCgroupsHost();
    const where = host.ok ? `cgroup v${host.version}, ` : '';
    return { parameters: { root }, describe: `cgroups isolator: ${where}cpu, memory, pids under root "${root}"` };
  },
  release(workDir) {
    removeCgroupsRoot(localCgroupsRoot(workDir));
  },
};

/** LOCAL_ISOLATOR_CANDIDATES are the isolator modules a local cluster picks up by itself, when installed and allowed. */
export const LOCAL_ISOLATOR_CANDIDATES: readonly IsolatorCandidate[] = [CGROUPS_CANDIDATE];

/** LocalIsolation is the choice: the --isolation list, the modules config to give the agent, and why. */
export interface LocalIsolation {
  isolation: string[];
  /** modules for the agent: the operator's, or one made for the candidates picked; undefined: none. */
  modules?: ModulesConfig;
  /** note says which candidates are used, what was left out and why (printed at start). */
  note?: string;
  /** candidates are the isolator modules picked by this choice (empty when the operator chose). */
  candidates?: string[];
  /** release removes what the picked modules left on the host (call it once the agent stopped). */
  release?: () => void;
}

// The core package's directory (core/ in the repository; the bundle lives in core/dist).
function coreDir(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bin', 'tessera.js'))) return d;
    if (path.dirname(d) === d) return path.resolve(__dirname, '..');
  }
}

// Whether a package is installed where the core resolves packages (its node_modules, upwards).
function installed(pkg: string, from: string): boolean {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', pkg, 'package.json'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

/**
 * chooseLocalIsolation picks the isolators: `given` (--isolation) wins; otherwise the defaults plus each
 * candidate that is installed and that the host allows (only when the operator gave no --modules, whose
 * isolators are then theirs to choose).
 */
export function chooseLocalIsolation(opts: { given?: string[]; modules?: ModulesConfig; candidates?: readonly IsolatorCandidate[]; workDir?: string }): LocalIsolation {
  if (opts.given?.length) return { isolation: opts.given, modules: opts.modules };
  if (opts.modules) return { isolation: LOCAL_DEFAULT_ISOLATION, modules: opts.modules };
  const dir = coreDir();
  const picked: IsolatorCandidate[] = [];
  const notes: string[] = [];
  for (const c of opts.candidates ?? LOCAL_ISOLATOR_CANDIDATES) {
    if (!installed(c.package, dir)) {
      notes.push(`${c.name} isolation is off: ${c.package} is not installed`);
      continue;
    }
    const problem = c.hostProblem();
    if (problem) notes.push(`${c.name} isolation is off: ${problem}`);
    else picked.push(c);
  }
  if (!picked.length) return { isolation: LOCAL_DEFAULT_ISOLATION, note: notes.join('; ') || undefined };
  const workDir = path.resolve(opts.workDir ?? '.');
  const entries = picked.map((c) => {
    const setup = c.setup?.(workDir) ?? {};
    if (setup.describe) notes.unshift(setup.describe);
    return { name: c.name, package: c.package, ...(setup.parameters ? { parameters: setup.parameters } : {}) };
  });
  const text = JSON.stringify({ modules: entries });
  return {
    // They replace posix/cpu and posix/mem, as Mesos's cgroups isolators replace its posix ones.
    isolation: picked.map((c) => c.name),
    modules: parseModulesJson(text, '(tessera local default modules)', dir),
    note: notes.join('; ') || undefined,
    candidates: picked.map((c) => c.name),
    release: () => {
      for (const c of picked) c.release?.(workDir);
    },
  };
}
