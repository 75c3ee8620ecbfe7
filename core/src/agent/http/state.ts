/**
 * The agent's state in Mesos's two shapes: the legacy `/state` JSON (flattened resources, plain-string
 * ids, frameworks with executors, each executor with its sandbox `directory`) and the operator API's
 * `mesos.v1.agent.Response` messages (GET_STATE, GET_TASKS, GET_EXECUTORS, GET_FRAMEWORKS, GET_AGENT...)
 * in the wire layer's plain shape. Views read the AgentView and never change it.
 *
 * ```ts
 * res.end(JSON.stringify(legacyAgentState(view)));
 * encodeJson('mesos.v1.agent.Response', { type: 'GET_STATE', get_state: getState(view) });
 * ```
 */
import { TERMINAL_STATES, type Attribute, type Resource, type Task } from '../../master/model/mesos';
import { flattenResources, ResourceBag } from '../../master/model/resources';
import type { PlainMessage } from '../../master/wire';
import type { AgentView, ExecutorView, FrameworkView } from '../agent-view';
import { executorName } from './containers';

/** agentPid is the agent's libprocess-style pid, `slave(1)@ip:port`, as Mesos tools expect it. */
export function agentPid(view: AgentView): string {
  const id = view.identity();
  return `slave(1)@${id.ip}:${id.port}`;
}

/** isDone tells whether every task of an executor is terminal (the executor is then a completed one). */
function isDone(e: ExecutorView): boolean {
  return e.tasks.length > 0 && e.tasks.every((t) => TERMINAL_STATES.has(t.state));
}

function attributesJson(attrs: readonly Attribute[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const a of attrs) {
    if (a.type === 'SCALAR') out[a.name] = a.scalar?.value ?? 0;
    else if (a.type === 'RANGES') out[a.name] = `[${(a.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
    else if (a.type === 'SET') out[a.name] = `{${(a.set?.item ?? []).join(', ')}}`;
    else out[a.name] = a.text?.value ?? '';
  }
  return out;
}

function legacyTask(t: Task): Record<string, unknown> {
  return {
    id: t.task_id.value,
    name: t.name,
    framework_id: t.framework_id.value,
    executor_id: t.executor_id?.value ?? '',
    slave_id: t.agent_id.value,
    state: t.state,
    resources: flattenResources(t.resources),
    ...(t.labels ? { labels: t.labels.labels ?? [] } : {}),
    ...(t.container ? { container: t.container } : {}),
    ...(t.user ? { user: t.user } : {}),
    statuses: (t.statuses ?? []).map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.labels ? { labels: s.labels.labels ?? [] } : {}),
      ...(s.container_status ? { container_status: s.container_status } : {}),
      ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
      ...(s.check_status ? { check_status: s.check_status } : {}),
    })),
  };
}

function roleOf(fw: FrameworkView, resources: readonly Resource[] = []): string {
  return resources.find((r) => r.allocation_info?.role)?.allocation_info?.role ?? fw.info.roles?.[0] ?? fw.info.role ?? '*';
}

function legacyExecutor(fw: FrameworkView, e: ExecutorView): Record<string, unknown> {
  const resources = e.tasks.flatMap((t) => t.resources ?? []);
  const live = e.tasks.filter((t) => !TERMINAL_STATES.has(t.state));
  const done = e.tasks.filter((t) => TERMINAL_STATES.has(t.state));
  return {
    id: e.executorId,
    name: executorName(e, e.tasks[0]),
    source: e.tasks[0]?.task_id.value ?? e.executorId,
    framework_id: fw.info.id?.value ?? '',
    container: e.containerId,
    directory: e.sandbox,
    resources: flattenResources(resources),
    role: roleOf(fw, resources),
    tasks: live.map(legacyTask),
    queued_tasks: [],
    completed_tasks: done.map(legacyTask),
  };
}

/** legacyAgentState is the body of `/state` (also `/slave(1)/state`, `/state.json`). */
export function legacyAgentState(view: AgentView): Record<string, unknown> {
  const id = view.identity();
  const frameworks = view.frameworks();
  const [masterHost] = splitHostPort(id.master);
  const fwJson = (fw: FrameworkView) => {
    const executors = fw.executors.filter((e) => !isDone(e));
    const completedExecutors = fw.executors.filter(isDone);
    // Terminal tasks the agent keeps apart from any executor view (their executor is gone): one
    // completed executor each, as Mesos's command executor runs one task.
    const shown = new Set(fw.executors.flatMap((e) => e.tasks.map((t) => t.task_id.value)));
    const orphans = fw.completedTasks.filter((t) => !shown.has(t.task_id.value));
    return {
      id: fw.info.id?.value ?? '',
      name: fw.info.name,
      user: fw.info.user,
      failover_timeout: fw.info.failover_timeout ?? 0,
      checkpoint: fw.info.checkpoint ?? false,
      hostname: fw.info.hostname ?? '',
      role: fw.info.roles?.[0] ?? fw.info.role ?? '*',
      roles: fw.info.roles ?? [fw.info.role ?? '*'],
      ...(fw.info.principal ? { principal: fw.info.principal } : {}),
      capabilities: (fw.info.capabilities ?? []).map((c) => c.type),
      executors: executors.map((e) => legacyExecutor(fw, e)),
      completed_executors: [
        ...completedExecutors.map((e) => legacyExecutor(fw, e)),
        ...orphans.map((t) => ({
          id: t.executor_id?.value ?? t.task_id.value,
          name: `Command Executor (Task: ${t.task_id.value})`,
          source: t.task_id.value,
          framework_id: fw.info.id?.value ?? '',
          resources: flattenResources(t.resources),
          role: roleOf(fw, t.resources),
          tasks: [],
          queued_tasks: [],
          completed_tasks: [legacyTask(t)],
        })),
      ],
    };
  };
  const live = frameworks.filter((f) => f.executors.some((e) => !isDone(e)));
  const completed = frameworks.filter((f) => !f.executors.some((e) => !isDone(e)));
  const used = ResourceBag.of(frameworks.flatMap((f) => f.executors.flatMap((e) => e.tasks.filter((t) => !TERMINAL_STATES.has(t.state)).flatMap((t) => t.resources ?? []))));
  return {
    version: id.version,
    build_date: '',
    build_time: 0,
    build_user: '',
    start_time: id.startTime,
    id: id.id ?? '',
    pid: agentPid(view),
    hostname: id.hostname,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
    resources: flattenResources(id.resources),
    unreserved_resources: flattenResources(id.resources.filter((r) => !r.reservations?.length && (r.role ?? '*') === '*')),
    reserved_resources: reservedByRole(id.resources),
    used_resources: flattenResources(used.toList()),
    attributes: attributesJson(id.attributes),
    master_hostname: masterHost,
    registered: id.registered,
    work_dir: id.workDir,
    runtime_dir: id.runtimeDir,
    flags: view.flags(),
    frameworks: live.map(fwJson),
    completed_frameworks: completed.map(fwJson),
  };
}

function splitHostPort(address: string): [string, string] {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(address);
  return m ? [m[1], m[2] ?? ''] : [address, ''];
}

/** executorInfo builds a `mesos.v1.ExecutorInfo` for a command task's executor. */
export function executorInfo(fw: FrameworkView, e: ExecutorView): PlainMessage {
  const resources = ResourceBag.of(e.tasks.flatMap((t) => t.resources ?? [])).toList();
  return {
    executor_id: { value: e.executorId },
    ...(fw.info.id ? { framework_id: fw.info.id } : {}),
    name: executorName(e, e.tasks[0]),
    source: e.tasks[0]?.task_id.value ?? e.executorId,
    resources,
  };
}

/** getTasks is a `Response.GetTasks`: running tasks, terminal ones not yet acknowledged, and completed ones. */
export function getTasks(view: AgentView): PlainMessage {
  const launched: Task[] = [];
  const terminated: Task[] = [];
  const completed: Task[] = [];
  for (const fw of view.frameworks()) {
    const seen = new Set<string>();
    for (const e of fw.executors) {
      for (const t of e.tasks) {
        seen.add(t.task_id.value);
        if (!TERMINAL_STATES.has(t.state)) launched.push(t);
        else if (t.status_update_state !== undefined && !TERMINAL_STATES.has(t.status_update_state)) terminated.push(t);
        else completed.push(t);
      }
    }
    for (const t of fw.completedTasks) if (!seen.has(t.task_id.value)) completed.push(t);
  }
  return { launched_tasks: launched, terminated_tasks: terminated, completed_tasks: completed };
}

/** getExecutors is a `Response.GetExecutors`. */
export function getExecutors(view: AgentView): PlainMessage {
  const executors: PlainMessage[] = [];
  const completed: PlainMessage[] = [];
  for (const fw of view.frameworks()) {
    for (const e of fw.executors) (isDone(e) ? completed : executors).push({ executor_info: executorInfo(fw, e) });
  }
  return { executors, completed_executors: completed };
}

/** getFrameworks is a `Response.GetFrameworks`: frameworks with a live executor, and the others as completed. */
export function getFrameworks(view: AgentView): PlainMessage {
  const frameworks: PlainMessage[] = [];
  const completed: PlainMessage[] = [];
  for (const fw of view.frameworks()) (fw.executors.some((e) => !isDone(e)) ? frameworks : completed).push({ framework_info: fw.info });
  return { frameworks, completed_frameworks: completed };
}

/** getState is a `Response.GetState`. */
export function getState(view: AgentView): PlainMessage {
  return { get_tasks: getTasks(view), get_executors: getExecutors(view), get_frameworks: getFrameworks(view) };
}

/** getAgent is a `Response.GetAgent`. */
export function getAgent(view: AgentView): PlainMessage {
  const id = view.identity();
  return {
    agent_info: {
      hostname: id.hostname,
      port: id.port,
      resources: id.resources,
      attributes: id.attributes,
      ...(id.id ? { id: { value: id.id } } : {}),
    },
  };
}

/** getMetrics is a `Response.GetMetrics`: the figures of `/metrics/snapshot` as name/value pairs. */
export function getMetrics(view: AgentView): PlainMessage {
  return {
    metrics: Object.entries(view.metrics())
      .filter(([, value]) => Number.isFinite(value))
      .map(([name, value]) => ({ name, value })),
  };
}

/** reservedByRole is Mesos's `reserved_resources`: each role's reserved resources, flattened. */
function reservedByRole(resources: readonly Resource[]): Record<string, Record<string, unknown>> {
  const byRole = new Map<string, Resource[]>();
  for (const r of resources) {
    const role = r.reservations?.length ? r.reservations[r.reservations.length - 1].role : r.role !== undefined && r.role !== '*' ? r.role : undefined;
    if (role !== undefined) byRole.set(role, [...(byRole.get(role) ?? []), r]);
  }
  return Object.fromEntries([...byRole].map(([role, rs]) => [role, flattenResources(rs)]));
}
