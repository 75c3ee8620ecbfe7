/**
 * The agent's containers with their resource usage, gathered once for `/monitor/statistics`, `/containers`
 * and the operator API's GET_CONTAINERS: every executor of every framework that has a live container,
 * with the statistics the containerizer merges from its isolators.
 *
 * Usage is asked of every container at once, each with a deadline: a container whose isolators do not
 * answer in time (a module restarting, say) is listed without statistics rather than holding up the
 * answer (Mesos leaves it out of /monitor/statistics, and so does {@link monitorStatistics}).
 *
 * ```ts
 * const rows = await gatherContainers(view);
 * res.end(JSON.stringify(monitorStatistics(rows)));
 * ```
 */
import type { Task } from '../../master/model/mesos';
import { lookupType, type PlainMessage } from '../../master/wire';
import type { AgentView, ExecutorView, FrameworkView } from '../agent-view';
import type { ContainerView, MesosStatistics } from '../containerizer/types';

/** USAGE_TIMEOUT_MS bounds how long one container's usage may take before it is left without statistics. */
export const USAGE_TIMEOUT_MS = 5_000;

/** ContainerRow is one live container and what the endpoints show of it. */
export interface ContainerRow {
  framework: FrameworkView;
  executor: ExecutorView;
  executorName: string;
  /** source is the executor's source tag: for a command task, its task id (as Mesos's command executor). */
  source: string;
  container?: ContainerView;
  /** statistics: undefined when the containerizer had none in time. */
  statistics?: MesosStatistics;
}

/**
 * executorName is how Mesos names a command task's executor: `Command Executor (Task: t1) (Command: sh -c 'echo hi')`.
 */
export function executorName(executor: ExecutorView, task: Task | undefined): string {
  const info = task?.executor_info as { name?: string } | undefined;
  if (info?.name) return info.name;
  const taskId = task?.task_id.value ?? executor.executorId;
  const cmd = (task as { command?: { value?: string; shell?: boolean; arguments?: string[] } } | undefined)?.command;
  if (!cmd) return `Command Executor (Task: ${taskId})`;
  const shown = cmd.shell === false ? (cmd.arguments?.length ? cmd.arguments : [cmd.value ?? '']).join(' ') : `sh -c '${cmd.value ?? ''}'`;
  return `Command Executor (Task: ${taskId}) (Command: ${shown})`;
}

/** gatherContainers lists the live containers of the view's executors, with usage asked of each. */
export async function gatherContainers(view: AgentView, timeoutMs = USAGE_TIMEOUT_MS): Promise<ContainerRow[]> {
  const live = new Map(view.containerizer.containers().map((c) => [c.containerId, c]));
  const rows: ContainerRow[] = [];
  for (const framework of view.frameworks()) {
    for (const executor of framework.executors) {
      const container = live.get(executor.containerId);
      if (!container) continue; // ended (or not started yet): no container to show
      const task = executor.tasks[0];
      rows.push({ framework, executor, container, executorName: executorName(executor, task), source: task?.task_id.value ?? executor.executorId });
    }
  }
  await Promise.all(
    rows.map(async (row) => {
      row.statistics = await withTimeout(view.containerizer.usage(row.executor.containerId), timeoutMs).catch(() => undefined);
      if (row.statistics && row.statistics.timestamp === undefined) row.statistics = { timestamp: Date.now() / 1000, ...row.statistics };
    }),
  );
  return rows;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** monitorStatistics is the body of `/monitor/statistics`: Mesos's JSON array, containers with statistics only. */
export function monitorStatistics(rows: ContainerRow[]): Record<string, unknown>[] {
  return rows
    .filter((r) => r.statistics)
    .map((r) => ({
      executor_id: r.executor.executorId,
      executor_name: r.executorName,
      framework_id: r.framework.info.id?.value ?? '',
      source: r.source,
      statistics: numericOnly(r.statistics!, true),
    }));
}

/** containersJson is the body of the legacy `/containers`: every live container, statistics where known. */
export function containersJson(rows: ContainerRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    container_id: r.executor.containerId,
    executor_id: r.executor.executorId,
    executor_name: r.executorName,
    framework_id: r.framework.info.id?.value ?? '',
    source: r.source,
    ...(r.container?.pid !== undefined ? { status: { executor_pid: r.container.pid } } : {}),
    ...(r.statistics ? { statistics: numericOnly(r.statistics, true) } : {}),
  }));
}

/** getContainers is a `mesos.v1.agent.Response.GetContainers` in the wire layer's plain shape. */
export function getContainers(rows: ContainerRow[]): PlainMessage {
  return {
    containers: rows.map((r) => ({
      framework_id: { value: r.framework.info.id?.value ?? '' },
      executor_id: { value: r.executor.executorId },
      executor_name: r.executorName,
      container_id: { value: r.executor.containerId },
      container_status: { container_id: { value: r.executor.containerId }, ...(r.container?.pid !== undefined ? { executor_pid: r.container.pid } : {}) },
      ...(r.statistics ? { resource_statistics: protoStatistics(r.statistics) } : {}),
    })),
  };
}

// The numeric figures; in JSON also keyed ones (gpus_utilization: one figure per GPU), which Mesos's
// ResourceStatistics lacks, so a JSON reader sees one more field.
function numericOnly(stats: MesosStatistics): Record<string, number>;
function numericOnly(stats: MesosStatistics, keyed: true): Record<string, number | Record<string, number>>;
function numericOnly(stats: MesosStatistics, keyed = false): Record<string, number | Record<string, number>> {
  const out: Record<string, number | Record<string, number>> = {};
  for (const [k, v] of Object.entries(stats)) {
    const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
    else if (keyed && n && typeof n === 'object') out[k] = n;
  }
  return out;
}

let statisticsFields: Map<string, string> | undefined;

// Only the figures mesos.v1.ResourceStatistics defines, with integers where the proto wants them (an
// isolator module may report more, or fractions of a byte): the rest cannot be encoded.
function protoStatistics(stats: MesosStatistics): PlainMessage {
  statisticsFields ??= new Map(lookupType('mesos.v1.ResourceStatistics').fieldsArray.map((f) => [f.name, f.type]));
  const out: PlainMessage = {};
  for (const [k, v] of Object.entries(numericOnly(stats))) {
    const type = statisticsFields.get(k);
    if (type === undefined) continue;
    if (type === 'double' || type === 'float') out[k] = v;
    else if (v >= 0) out[k] = Math.round(v);
  }
  return out;
}
