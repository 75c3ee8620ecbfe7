// Helpers for the containerizer tests: tasks in Mesos wire shape, a containerizer on temp dirs, and
// cleanup of every container process a test started (their process groups are SIGKILLed in afterAll).
import fs from 'node:fs';
import path from 'node:path';
import { UniversalContainerizer, type UniversalContainerizerOptions } from '../../core/src/agent/containerizer';
import type { LaunchRequest } from '../../core/src/agent/containerizer/types';
import type { CommandInfo, FrameworkInfo, TaskInfo } from '../../core/src/master/model/mesos';
import { isAlive } from '../../core/src/agent/containerizer/proc';
import { ModuleHost } from '../../core/src/modules/module-host';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { captureLog, tempDir, writeModulesJson } from '../modules/helpers';

export const FRAMEWORK: FrameworkInfo = { user: 'root', name: 'containerizer-test', id: { value: 'fw-1' } };

/** task makes a command task; `command` defaults to a shell command. */
export function task(id: string, command: Partial<CommandInfo> | undefined, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: `task ${id}`,
    task_id: { value: id },
    agent_id: { value: 'agent-1' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    ],
    ...(command ? { command: { shell: true, ...command } } : {}),
    ...extra,
  };
}

/** env turns a map into CommandInfo.environment. */
export function env(vars: Record<string, string>): CommandInfo['environment'] {
  return { variables: Object.entries(vars).map(([name, value]) => ({ name, value })) };
}

/** Rig is a containerizer on a temp work dir, with the pids it launched for cleanup. */
export interface Rig {
  c: UniversalContainerizer;
  workDir: string;
  runtimeDir: string;
  lines: string[];
  /** request builds a launch request with a fresh sandbox for `t`. */
  request(t: TaskInfo, containerId?: string): LaunchRequest;
  /** launch launches and remembers the pid. */
  launch(t: TaskInfo, containerId?: string): ReturnType<UniversalContainerizer['launch']>;
}

const launchedPids = new Set<number>();

/** remember records a container pid to kill in {@link killLeftovers}. */
export function remember(pid: number | undefined): void {
  if (pid) launchedPids.add(pid);
}

/** killLeftovers SIGKILLs the process group of every container a test launched. */
export function killLeftovers(): void {
  for (const pid of launchedPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  launchedPids.clear();
}

/** makeRig builds a containerizer on new temp dirs (or the given ones, to simulate an agent restart). */
export function makeRig(opts: Partial<UniversalContainerizerOptions> & { dirs?: { workDir: string; runtimeDir: string } } = {}): Rig {
  const workDir = opts.dirs?.workDir ?? tempDir();
  const runtimeDir = opts.dirs?.runtimeDir ?? path.join(workDir, 'run');
  const { log, lines } = captureLog();
  const c = new UniversalContainerizer({ workDir, runtimeDir, isolators: ['posix/cpu', 'posix/mem'], log, pollIntervalMs: 100, ...opts });
  const request = (t: TaskInfo, containerId = `c-${t.task_id.value}`): LaunchRequest => {
    const sandbox = path.join(workDir, 'sandboxes', containerId);
    fs.mkdirSync(sandbox, { recursive: true });
    return { containerId, frameworkId: 'fw-1', executorId: t.task_id.value, task: t, framework: FRAMEWORK, sandbox };
  };
  return {
    c,
    workDir,
    runtimeDir,
    lines,
    request,
    async launch(t, containerId) {
      const view = await c.launch(request(t, containerId));
      remember(view.pid);
      return view;
    },
  };
}

/** startHost starts a module host with the echo-isolator fixture as module "echo". */
export async function startEchoHost(entry: Record<string, unknown> = {}): Promise<ModuleHost> {
  const { log } = captureLog();
  const host = new ModuleHost({
    config: loadModulesJson(writeModulesJson({ modules: [{ name: 'echo', file: path.join(__dirname, '../fixtures/modules/build/echo-isolator.js'), ...entry }] })),
    log,
  });
  await host.start([{ name: 'echo', kinds: ['isolator'] }]);
  return host;
}

/** read reads a sandbox file. */
export function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** running tells whether a process exists and is not a zombie waiting to be reaped. */
export function running(pid: number): boolean {
  return isAlive(pid, undefined);
}
