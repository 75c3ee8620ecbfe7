/**
 * The master's state as the Mesos v1 operator API shows it (include/mesos/v1/master/master.proto):
 * `Response.GetTasks`, `GetAgents.Agent`, `GetFrameworks.Framework`, `GetRoles`... in the wire layer's
 * plain shape (proto field names, enums as names), ready for `encodeJson`/`encodeProto` of
 * `mesos.v1.master.Response` or `Event`. Views read the master's records and never change them.
 *
 * ```ts
 * const body = encodeJson('mesos.v1.master.Response', { type: 'GET_STATE', get_state: getState(master) });
 * ```
 */
import { CORE_VERSION } from '../../version';
import type { Master } from '../master';
import { rolesOf } from '../model/abi';
import type { Id, Resource, Task } from '../model/mesos';
import { ResourceBag } from '../model/resources';
import { agentPid, type AgentRecord, type FrameworkRecord } from '../state';
import { mesosRoot, type PlainMessage } from '../wire';
import { metricsSnapshot, versionInfo } from './legacy-endpoints';

/** timeInfo turns Unix seconds into a `mesos.v1.TimeInfo`. */
export function timeInfo(seconds: number): { nanoseconds: number } {
  return { nanoseconds: Math.round(seconds * 1e9) };
}

// Agent capabilities travel as strings in the agent protocol; the operator API has an enum, and an
// unknown name (from a newer agent) cannot be encoded, so it is left out.
const AGENT_CAPABILITIES: ReadonlySet<string> = new Set(Object.keys(mesosRoot.lookupEnum('mesos.v1.AgentInfo.Capability.Type').values));

const merged = (resources: readonly Resource[]): Resource[] => ResourceBag.of(resources).toList();

function offeredOn(master: Master, offerIds: Iterable<string>): Resource[] {
  return [...offerIds].flatMap((id) => master.offers.get(id)?.offer.resources ?? []);
}

/** agentView is a `Response.GetAgents.Agent`. */
export function agentView(master: Master, a: AgentRecord): PlainMessage {
  return {
    agent_info: a.info,
    active: a.conn !== undefined,
    version: a.version ?? '',
    pid: agentPid(a),
    registered_time: timeInfo(a.registeredTime),
    ...(a.reregisteredTime !== undefined ? { reregistered_time: timeInfo(a.reregisteredTime) } : {}),
    total_resources: a.total,
    allocated_resources: merged([...a.tasks.values()].flatMap((t) => t.task.resources ?? [])),
    offered_resources: merged(offeredOn(master, a.offers)),
    capabilities: a.capabilities.filter((c) => AGENT_CAPABILITIES.has(c)).map((type) => ({ type })),
  };
}

/** getAgents is a `Response.GetAgents`. */
export function getAgents(master: Master): PlainMessage {
  return { agents: [...master.agents.values()].map((a) => agentView(master, a)) };
}

/** frameworkView is a `Response.GetFrameworks.Framework`. */
export function frameworkView(master: Master, f: FrameworkRecord): PlainMessage {
  const connected = f.subscriber !== undefined;
  return {
    framework_info: f.info,
    active: connected,
    connected,
    recovered: f.recovered,
    registered_time: timeInfo(f.registeredTime),
    ...(f.unregisteredTime !== undefined ? { unregistered_time: timeInfo(f.unregisteredTime) } : {}),
    offers: [...f.offers].flatMap((id) => {
      const o = master.offers.get(id);
      return o ? [o.offer] : [];
    }),
    allocated_resources: merged([...f.tasks.values()].flatMap((t) => t.task.resources ?? [])),
    offered_resources: merged(offeredOn(master, f.offers)),
  };
}

/** getFrameworks is a `Response.GetFrameworks`: the frameworks, and the latest 50 removed ones. */
export function getFrameworks(master: Master): PlainMessage {
  return { frameworks: [...master.frameworks.values()].map((f) => frameworkView(master, f)), completed_frameworks: master.completedFrameworks.map((f) => frameworkView(master, f)) };
}

/** getExecutors is a `Response.GetExecutors`: Tessera's agents run command tasks only, so it is empty. */
export function getExecutors(): PlainMessage {
  return {};
}

/**
 * getTasks is a `Response.GetTasks`: active tasks, the terminal ones the master keeps, and the tasks of
 * removed agents that partition-aware frameworks see as TASK_UNREACHABLE.
 */
export function getTasks(master: Master): PlainMessage {
  const tasks: Task[] = [];
  const completed: Task[] = [];
  const unreachable: Task[] = [];
  for (const f of [...master.frameworks.values(), ...master.completedFrameworks]) {
    for (const t of f.tasks.values()) tasks.push(t.task);
    for (const t of f.completedTasks) (t.state === 'TASK_UNREACHABLE' ? unreachable : completed).push(t);
  }
  return { tasks, unreachable_tasks: unreachable, completed_tasks: completed };
}

/** getState is a `Response.GetState`. */
export function getState(master: Master): PlainMessage {
  return { get_tasks: getTasks(master), get_executors: getExecutors(), get_frameworks: getFrameworks(master), get_agents: getAgents(master) };
}

/** RoleView is one role as GET_ROLES and `/roles` show it. */
export interface RoleView {
  name: string;
  /** The weight operators set, else 1. */
  weight: number;
  /** The frameworks subscribed to the role. */
  frameworks: Id[];
  /** What the role holds: its tasks' resources and its outstanding offers' (reserved ones included). */
  resources: Resource[];
}

/**
 * roleViews lists, by name, every role a framework subscribed to, that holds resources, that has
 * reservations on an agent, or that has a quota or a weight set by an operator (Mesos lists the roles
 * with "one or more registered frameworks or a non-default weight or quota"), with its weight, its
 * frameworks, and the resources allocated to it — those of its tasks and of its outstanding offers.
 */
export function roleViews(master: Master): RoleView[] {
  const roles = new Map<string, { frameworks: Id[]; resources: Resource[] }>();
  const role = (name: string) => {
    let r = roles.get(name);
    if (!r) roles.set(name, (r = { frameworks: [], resources: [] }));
    return r;
  };
  for (const f of master.frameworks.values()) {
    const fwRoles = rolesOf(f.info);
    for (const name of fwRoles) role(name).frameworks.push({ value: f.id });
    for (const t of f.tasks.values()) {
      // Launched tasks carry allocation_info; a task adopted from a re-registering agent may not.
      for (const r of t.task.resources ?? []) role(r.allocation_info?.role ?? (fwRoles.length === 1 ? fwRoles[0] : (r.reservations?.at(-1)?.role ?? r.role ?? '*'))).resources.push(r);
    }
  }
  for (const o of master.offers.values()) role(o.role).resources.push(...(o.offer.resources ?? []));
  // A role that holds reservations is known even while no framework subscribes to it (Mesos's role tree).
  for (const a of master.agents.values()) for (const r of a.total) if (r.reservations?.length) role(r.reservations[r.reservations.length - 1].role ?? '*');
  for (const name of master.quotas.keys()) role(name);
  for (const name of master.weights.keys()) role(name);
  return [...roles.keys()].sort().map((name) => ({ name, weight: master.weights.get(name) ?? 1, frameworks: roles.get(name)!.frameworks, resources: merged(roles.get(name)!.resources) }));
}

/**
 * getRoles is a `Response.GetRoles`: {@link roleViews}. Mesos's v1 `Role` has no quota field (its
 * quota is in GET_QUOTA, and in the legacy `/roles`).
 */
export function getRoles(master: Master): PlainMessage {
  return { roles: roleViews(master) };
}

/** getMaster is a `Response.GetMaster`. */
export function getMaster(master: Master): PlainMessage {
  return { master_info: master.opts.info, start_time: master.startTime, elected_time: master.startTime };
}

/** getHealth is a `Response.GetHealth`: a master that answers is healthy. */
export function getHealth(): PlainMessage {
  return { healthy: true };
}

/** getFlags is a `Response.GetFlags`: the flags as the operator gave them. */
export function getFlags(flags: Readonly<Record<string, string>>): PlainMessage {
  return { flags: Object.entries(flags).map(([name, value]) => ({ name, value: String(value) })) };
}

/** getVersion is a `Response.GetVersion`. */
export function getVersion(): PlainMessage {
  const v = versionInfo();
  return { version_info: { version: CORE_VERSION, ...(v.build_date ? { build_date: v.build_date } : {}), ...(v.git_sha ? { git_sha: v.git_sha } : {}) } };
}

/** getMetrics is a `Response.GetMetrics`: the figures of `/metrics/snapshot` as name/value pairs. */
export function getMetrics(master: Master): PlainMessage {
  return {
    metrics: Object.entries(metricsSnapshot(master))
      .filter(([, value]) => Number.isFinite(value))
      .map(([name, value]) => ({ name, value })),
  };
}
