// Helpers for the cgroups isolator tests: the module behind a real ModuleHost, held "container"
// processes that wait on a fifo until released (so they can be isolated before they run), and
// listing / removing everything a test root left in every hierarchy.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, TesseraError, type Resource } from '@tessera/modules-api';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { ModuleHost } from '../../core/src/modules/module-host';
import { captureLog, ROOT, tempDir, writeModulesJson } from '../modules/helpers';

/** MODULE is the bundled module (npm run bundle). */
export const MODULE = path.join(ROOT, 'modules/isolator-cgroups/dist/module.js');
/** CGROUP is where this host mounts its cgroup hierarchies. */
export const CGROUP = '/sys/fs/cgroup';
/** UNIFIED is this host's cgroup2 mount (hybrid layout). */
export const UNIFIED = '/sys/fs/cgroup/unified';

/** v1Unusable says why real v1 cgroups cannot be written here, or undefined when they can. */
export function v1Unusable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'freezer']) {
    if (!fs.existsSync(path.join(CGROUP, c, 'cgroup.procs'))) return `cgroup v1 controller ${c} is not mounted at ${CGROUP}/${c}`;
  }
  return undefined;
}

/** describeIf runs the tests of a describe only when `reason` is undefined, printing it otherwise. */
export function describeIf(reason: string | undefined): jest.Describe {
  if (reason) {
    // eslint-disable-next-line no-console
    console.warn(`skipping: ${reason}`);
    return describe.skip;
  }
  return describe;
}

/** scalar is a scalar resource. */
export const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });

/** resources builds cpus/mem resources. */
export const resources = (cpus: number, mem: number): Resource[] => [scalar('cpus', cpus), scalar('mem', mem)];

/** Hosted is the module running under a ModuleHost, with its client and log. */
export interface Hosted {
  host: ModuleHost;
  client: IsolatorClient;
  lines: string[];
  /** stop stops the module and removes its modules.json. */
  stop(): Promise<void>;
}

/** hostModule starts the bundled module as the agent will: a process behind a ModuleHost. */
export async function hostModule(parameters: object, name = 'cgroups'): Promise<Hosted> {
  const { log, lines } = captureLog();
  const file = writeModulesJson({ modules: [{ name, file: MODULE, parameters, timeouts: { call: '10s' } }] });
  const host = new ModuleHost({ config: loadModulesJson(file), log });
  const stop = async () => {
    await host.stop();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  };
  try {
    await host.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, client: host.isolator(name), lines, stop };
}

/** configureFails starts the module with parameters Configure must refuse, and returns the error (the host is stopped). */
export async function configureFails(parameters: object): Promise<TesseraError> {
  const { log } = captureLog();
  const file = writeModulesJson({ modules: [{ name: 'cgroups', file: MODULE, parameters }] });
  const host = new ModuleHost({ config: loadModulesJson(file), log });
  try {
    await host.start();
  } catch (err) {
    return TesseraError.wrap(err);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  await host.stop();
  throw new Error(`Configure accepted ${JSON.stringify(parameters)}`);
}

/** Held is a process started held: it runs `command` only once released. */
export interface Held {
  pid: number;
  child: ChildProcess;
  /** release lets it exec its command. */
  release(): void;
  /** exited resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** output is what it wrote on stdout and stderr so far. */
  output(): string;
}

/** held starts `sh -c 'read x < fifo; exec <command>'`: isolate its pid, then release it. */
export async function held(command: string): Promise<Held> {
  const dir = tempDir();
  const fifo = path.join(dir, 'go');
  spawnSync('mkfifo', [fifo]);
  const child = spawn('sh', ['-c', `read x < ${fifo}; exec ${command}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  void exited.then(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    pid: child.pid!,
    child,
    release: () => fs.writeFileSync(fifo, 'go\n'),
    exited,
    output: () => out,
  };
}

/** hierarchyDirs lists the directories a root occupies: one per v1 hierarchy, plus the unified one. */
export function hierarchyDirs(root: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(CGROUP)) {
    const dir = path.join(CGROUP, entry, root);
    if (fs.existsSync(dir)) out.push(dir);
  }
  return out;
}

/** cgroupTree lists every cgroup below a root in every hierarchy (relative paths), e.g. ["cpu/c1"]. */
export function cgroupTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      out.push(`${rel}/${e.name}`);
      walk(path.join(dir, e.name), `${rel}/${e.name}`);
    }
  };
  for (const dir of hierarchyDirs(root)) walk(dir, path.basename(path.dirname(dir)));
  return out.sort();
}

/** pidsIn lists the processes in a cgroup directory and below. */
export function pidsIn(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const line of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line) out.push(Number(line));
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return out;
}

/**
 * removeRoot kills whatever a test root still holds and removes it from every hierarchy (afterAll):
 * whatever a failed test left, nothing of it stays on the host.
 */
export async function removeRoot(root: string): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    const pids = hierarchyDirs(root).flatMap(pidsIn);
    if (pids.length === 0) break;
    for (const dir of hierarchyDirs(root)) {
      const freezer = path.join(dir, 'freezer.state');
      if (fs.existsSync(freezer)) fs.writeFileSync(freezer, 'THAWED');
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const dir of hierarchyDirs(root)) {
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      for (let i = 0; ; i += 1) {
        try {
          fs.rmdirSync(d);
          return;
        } catch (err) {
          if (i > 100) throw err;
          spawnSync('sleep', ['0.02']);
        }
      }
    };
    walk(dir);
  }
}

/** running tells whether a pid exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** readCg reads a cgroup file, trimmed. */
export const readCg = (file: string): string => fs.readFileSync(file, 'utf8').trim();
