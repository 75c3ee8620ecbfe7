// An AgentView for tests of the agent's HTTP endpoints, built from real sandbox directories on disk and a
// tiny Containerizer that knows its containers and answers usage with fixed figures (no processes).
import fs from 'node:fs';
import path from 'node:path';
import type { AgentView, ExecutorView, FrameworkView } from '../../core/src/agent/agent-view';
import type { Containerizer, ContainerView, MesosStatistics } from '../../core/src/agent/containerizer/types';
import type { FrameworkInfo, Resource, Task, TaskState } from '../../core/src/master/model/mesos';

export const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });

/** UsageContainerizer: containers() and usage() from a table; usage of a container in `failing` rejects. */
export class UsageContainerizer implements Containerizer {
  readonly live = new Map<string, ContainerView>();
  readonly stats = new Map<string, MesosStatistics>();
  readonly failing = new Set<string>();
  async recover(): Promise<never[]> {
    return [];
  }
  async launch(): Promise<ContainerView> {
    throw new Error('launch is not part of this test');
  }
  wait(): Promise<never> {
    return new Promise(() => undefined);
  }
  async kill(): Promise<void> {}
  async usage(containerId: string): Promise<MesosStatistics | undefined> {
    if (this.failing.has(containerId)) throw new Error(`isolator module test-isolator is down`);
    return this.stats.get(containerId);
  }
  containers(): ContainerView[] {
    return [...this.live.values()];
  }
  async close(): Promise<void> {}
}

export function task(fw: string, id: string, state: TaskState, resources: Resource[] = [scalar('cpus', 0.5), scalar('mem', 64)]): Task {
  return {
    name: `name-${id}`,
    task_id: { value: id },
    framework_id: { value: fw },
    executor_id: { value: id },
    agent_id: { value: 'M-S0' },
    state,
    resources,
    statuses: [{ task_id: { value: id }, state, timestamp: 1700000000.5, source: 'SOURCE_EXECUTOR' }],
  };
}

/** TestView is an AgentView with its parts exposed for assertions. */
export interface TestView extends AgentView {
  root: string;
  workDir: string;
  containerizer: UsageContainerizer;
  fws: FrameworkView[];
  /** sandbox makes (and returns) a sandbox directory in the Mesos layout. */
  sandbox(fw: string, executor: string, container: string): string;
  /** addExecutor adds a running (or ended) executor with one task and a sandbox holding stdout/stderr. */
  addExecutor(fw: FrameworkInfo, id: string, state: TaskState, opts?: { live?: boolean; stats?: MesosStatistics; stdout?: string }): ExecutorView;
}

export function makeView(workDir: string): TestView {
  const root = path.join(workDir, 'slaves');
  fs.mkdirSync(root, { recursive: true });
  const containerizer = new UsageContainerizer();
  const fws: FrameworkView[] = [];
  const view: TestView = {
    root,
    workDir,
    containerizer,
    fws,
    identity: () => ({
      id: 'M-S0',
      hostname: 'agent-host',
      ip: '127.0.0.1',
      port: 5051,
      resources: [scalar('cpus', 4), scalar('mem', 8192), scalar('disk', 10000), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } }, { ...scalar('mem', 512), reservations: [{ type: 'STATIC', role: 'ops' }] }],
      attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }, { name: 'level', type: 'SCALAR', scalar: { value: 3 } }],
      master: 'master-host:5050',
      registered: true,
      version: '0.1.0',
      startTime: 1700000000,
      workDir,
      runtimeDir: path.join(workDir, 'run'),
    }),
    frameworks: () => fws,
    flags: () => ({ master: 'master-host:5050', work_dir: workDir, isolation: 'posix/cpu,posix/mem' }),
    sandboxRoot: () => root,
    metrics: () => ({
      'slave/registered': 1,
      'slave/uptime_secs': 12.5,
      'slave/tasks_running': fws.flatMap((f) => f.executors.flatMap((e) => e.tasks)).filter((t) => t.state === 'TASK_RUNNING').length,
      'slave/tasks_finished': 3,
      'slave/cpus_total': 4,
      'slave/cpus_used': 1,
      'slave/cpus_percent': 0.25,
      'containerizer/launch_errors': 0,
      'modules/test-isolator/ready': 1,
    }),
    modulePrometheus: () => '# HELP tessera_module_up 1 when the module answers.\n# TYPE tessera_module_up gauge\ntessera_module_up{module="test-isolator"} 1\n',
    sandbox(fw, executor, container) {
      const dir = path.join(root, 'M-S0', 'frameworks', fw, 'executors', executor, 'runs', container);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    },
    addExecutor(info, id, state, opts = {}) {
      const fwId = info.id!.value;
      let fw = fws.find((f) => f.info.id?.value === fwId);
      if (!fw) fws.push((fw = { info, executors: [], completedTasks: [] }));
      const containerId = `c-${id}`;
      const sandbox = view.sandbox(fwId, id, containerId);
      fs.writeFileSync(path.join(sandbox, 'stdout'), opts.stdout ?? `hello from ${id}\n`);
      fs.writeFileSync(path.join(sandbox, 'stderr'), '');
      const executor: ExecutorView = { executorId: id, containerId, sandbox, tasks: [task(fwId, id, state)] };
      fw.executors.push(executor);
      if (opts.live ?? true) {
        containerizer.live.set(containerId, { containerId, frameworkId: fwId, executorId: id, taskId: id, phase: 'RUNNING', pid: 4242, sandbox, startedAt: 1700000000 });
        if (opts.stats) containerizer.stats.set(containerId, opts.stats);
      }
      return executor;
    },
  };
  return view;
}
