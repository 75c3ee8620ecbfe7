/**
 * Mesos's legacy JSON endpoints: `/state` (flattened resources, plain-string ids, `slaves[]`,
 * `frameworks[]`), `/metrics/snapshot` (a flat object of gauges and counters) and `/version`.
 */
import { CORE_VERSION } from '../../version';
import type { Master } from '../master';
import { flattenResources, ResourceBag } from '../model/resources';
import type { Attribute, Resource, Task } from '../model/mesos';
import { quotaMetrics } from '../quota';
import { agentPid, type FrameworkRecord } from '../state';

/** versionInfo is the body of `/version`. */
export function versionInfo(): Record<string, string> {
  return { version: CORE_VERSION, build_date: '', git_sha: '' };
}

function legacyTask(t: Task): Record<string, unknown> {
  return {
    id: t.task_id.value,
    name: t.name,
    framework_id: t.framework_id.value,
    executor_id: '',
    slave_id: t.agent_id.value,
    state: t.state,
    resources: flattenResources(t.resources),
    // As Mesos's model(TaskStatus): health, container status and labels ride along when the update had them.
    statuses: (t.statuses ?? []).map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
      ...(s.labels?.labels?.length ? { labels: s.labels.labels } : {}),
      ...(s.container_status ? { container_status: s.container_status } : {}),
    })),
    ...(t.labels?.labels?.length ? { labels: t.labels.labels } : {}),
  };
}

// An agent's total split as Mesos's /state does: by reservation role (the innermost reservation's),
// flattened and in full, and what is unreserved.
function reservedViews(total: readonly Resource[]): Record<string, unknown> {
  const byRole = new Map<string, Resource[]>();
  const unreserved: Resource[] = [];
  for (const r of total) {
    const role = r.reservations?.length ? r.reservations[r.reservations.length - 1].role : undefined;
    if (role === undefined) unreserved.push(r);
    else byRole.set(role, [...(byRole.get(role) ?? []), r]);
  }
  const roles = [...byRole.keys()].sort();
  return {
    reserved_resources: Object.fromEntries(roles.map((role) => [role, flattenResources(byRole.get(role))])),
    unreserved_resources: flattenResources(unreserved),
    reserved_resources_full: Object.fromEntries(roles.map((role) => [role, byRole.get(role)])),
    unreserved_resources_full: unreserved,
  };
}

/** legacyState is the body of `/state` and `/master/state`. */
export function legacyState(master: Master, flags: Record<string, string>): Record<string, unknown> {
  const info = master.opts.info;
  const frameworks = [...master.frameworks.values()];
  return {
    version: CORE_VERSION,
    id: info.id,
    pid: info.pid ?? `master@${info.address?.ip ?? ''}:${info.port}`,
    hostname: info.hostname,
    activated_slaves: [...master.agents.values()].filter((a) => a.conn).length,
    deactivated_slaves: [...master.agents.values()].filter((a) => !a.conn).length,
    start_time: master.startTime,
    elected_time: master.startTime,
    leader: info.pid ?? `master@${info.address?.ip ?? ''}:${info.port}`,
    flags,
    slaves: [...master.agents.values()].map((a) => {
      const used = ResourceBag.of([...a.tasks.values()].flatMap((t) => t.task.resources ?? []));
      const offered = ResourceBag.of([...a.offers].flatMap((id) => master.offers.get(id)?.offer.resources ?? []));
      return {
        id: a.id,
        hostname: a.info.hostname,
        port: a.info.port ?? 5051,
        pid: agentPid(a),
        registered_time: a.registeredTime,
        ...(a.reregisteredTime ? { reregistered_time: a.reregisteredTime } : {}),
        active: a.conn !== undefined,
        version: a.version ?? '',
        resources: flattenResources(a.total),
        ...reservedViews(a.total),
        used_resources: flattenResources(used.toList()),
        offered_resources: flattenResources(offered.toList()),
        attributes: Object.fromEntries((a.info.attributes ?? []).map((x) => [x.name, attributeValue(x)])),
      };
    }),
    frameworks: frameworks.map((f) => frameworkState(master, f)),
    completed_frameworks: master.completedFrameworks.map((f) => frameworkState(master, f)),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

/** frameworkState is one framework of `/state` (connected, disconnected, or removed: completed). */
function frameworkState(master: Master, f: FrameworkRecord): Record<string, unknown> {
  return {
    id: f.id,
    name: f.info.name,
    user: f.info.user,
    roles: f.info.roles ?? [f.info.role ?? '*'],
    active: f.subscriber !== undefined,
    connected: f.subscriber !== undefined,
    recovered: f.recovered,
    registered_time: f.registeredTime,
    ...(f.unregisteredTime ? { unregistered_time: f.unregisteredTime } : {}),
    failover_timeout: f.info.failover_timeout ?? 0,
    capabilities: (f.info.capabilities ?? []).map((c) => c.type),
    tasks: [...f.tasks.values()].map((t) => legacyTask(t.task)),
    completed_tasks: f.completedTasks.map(legacyTask),
    offers: [...f.offers].map((id) => {
      const o = master.offers.get(id)!;
      return { id, framework_id: f.id, slave_id: o.agentId, resources: flattenResources(o.offer.resources) };
    }),
  };
}

/** metricsSnapshot is the body of `/metrics/snapshot`. */
export function metricsSnapshot(master: Master): Record<string, number> {
  const tasks = [...master.frameworks.values()].flatMap((f) => [...f.tasks.values()].map((t) => t.task.state));
  const count = (s: string) => tasks.filter((x) => x === s).length;
  const completed = [...master.frameworks.values(), ...master.completedFrameworks].flatMap((f) => f.completedTasks.map((t) => t.state));
  const done = (s: string) => completed.filter((x) => x === s).length;
  const agents = [...master.agents.values()];
  const totals = ResourceBag.of(agents.flatMap((a) => a.total));
  const used = ResourceBag.of(agents.flatMap((a) => [...a.tasks.values()].flatMap((t) => t.task.resources ?? [])));
  return {
    'master/elected': 1,
    'master/uptime_secs': Date.now() / 1000 - master.startTime,
    'master/slaves_active': agents.filter((a) => a.conn).length,
    'master/slaves_inactive': agents.filter((a) => !a.conn).length,
    'master/slaves_connected': agents.filter((a) => a.conn).length,
    'master/frameworks_active': [...master.frameworks.values()].filter((f) => f.subscriber).length,
    'master/frameworks_inactive': [...master.frameworks.values()].filter((f) => !f.subscriber).length,
    'master/outstanding_offers': master.offers.size,
    'master/tasks_staging': count('TASK_STAGING'),
    'master/tasks_starting': count('TASK_STARTING'),
    'master/tasks_running': count('TASK_RUNNING'),
    'master/tasks_killing': count('TASK_KILLING'),
    'master/tasks_finished': done('TASK_FINISHED'),
    'master/tasks_failed': done('TASK_FAILED'),
    'master/tasks_killed': done('TASK_KILLED'),
    'master/tasks_lost': done('TASK_LOST'),
    'master/tasks_error': done('TASK_ERROR'),
    'master/cpus_total': totals.scalar('cpus'),
    'master/cpus_used': used.scalar('cpus'),
    'master/mem_total': totals.scalar('mem'),
    'master/mem_used': used.scalar('mem'),
    'master/gpus_total': totals.scalar('gpus'),
    'master/gpus_used': used.scalar('gpus'),
    'master/disk_total': totals.scalar('disk'),
    'master/disk_used': used.scalar('disk'),
    ...Object.fromEntries(['cpus', 'mem', 'disk', 'gpus'].map((r) => [`master/${r}_percent`, totals.scalar(r) > 0 ? used.scalar(r) / totals.scalar(r) : 0])),
    'master/messages_launch_tasks': master.counters.tasksLaunched,
    'master/messages_decline_offers': master.counters.offersDeclined,
    'master/offers_rescinded': master.counters.offersRescinded,
    'master/invalid_calls': master.counters.invalidCalls,
    'master/messages_status_update': master.counters.statusUpdates,
    ...quotaMetrics(master.quotas),
  };
}

/** attributeValue is an attribute's value as Mesos's /state shows it: a number, or text such as `[1-5]`, `{a,b}`. */
function attributeValue(a: Attribute): string | number {
  if (a.scalar) return a.scalar.value;
  if (a.ranges) return `[${(a.ranges.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
  if (a.set) return `{${(a.set.item ?? []).join(',')}}`;
  return a.text?.value ?? '';
}
