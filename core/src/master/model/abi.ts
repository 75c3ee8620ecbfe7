/**
 * Conversions between the master's Mesos-shaped messages (wire form: snake_case, ids wrapped) and the
 * allocator ABI's messages (generated types: camelCase, ids as strings). Kept in one place so the two
 * vocabularies meet only here.
 */
import type * as Abi from '@tessera/modules-api';
import type { AgentInfo, FrameworkInfo, Labels, Resource, TaskInfo } from './mesos';

/** A Mesos resource as the allocator ABI spells it. */
export function toAbiResource(r: Resource): Abi.Resource {
  const out: Abi.Resource = { name: r.name, type: r.type };
  if (r.scalar) out.scalar = { value: r.scalar.value };
  if (r.ranges) out.ranges = { range: (r.ranges.range ?? []).map((x) => ({ begin: x.begin, end: x.end })) };
  if (r.set) out.set = { item: [...(r.set.item ?? [])] };
  if (r.reservations?.length) {
    out.reservations = r.reservations.map((x) => ({
      type: x.type === 'DYNAMIC' ? 'DYNAMIC' : 'STATIC',
      role: x.role,
      principal: x.principal,
      ...(x.labels?.labels?.length ? { labels: { labels: x.labels.labels.map((l) => ({ key: l.key, value: l.value })) } } : {}),
    }));
  }
  else if (r.role && r.role !== '*') out.reservations = [{ type: 'STATIC', role: r.role }];
  if (r.allocation_info?.role !== undefined) out.allocationInfo = { role: r.allocation_info.role };
  if (r.revocable) out.revocable = true;
  if (r.shared) out.shared = true;
  return out;
}

/** An allocator ABI resource in Mesos's wire shape. */
export function fromAbiResource(r: Abi.Resource): Resource {
  const out: Resource = { name: r.name ?? '', type: r.type ?? 'SCALAR' };
  if (r.scalar) out.scalar = { value: r.scalar.value ?? 0 };
  if (r.ranges) out.ranges = { range: (r.ranges.range ?? []).map((x) => ({ begin: x.begin ?? 0, end: x.end ?? 0 })) };
  if (r.set) out.set = { item: [...(r.set.item ?? [])] };
  if (r.reservations?.length) {
    out.reservations = r.reservations.map((x) => ({
      type: x.type,
      role: x.role,
      ...(x.principal ? { principal: x.principal } : {}),
      ...(x.labels?.labels?.length ? { labels: { labels: x.labels.labels.map((l) => ({ key: l.key ?? '', ...(l.value !== undefined ? { value: l.value } : {}) })) } } : {}),
    }));
  }
  if (r.allocationInfo) out.allocation_info = { role: r.allocationInfo.role ?? '' };
  if (r.revocable) out.revocable = {};
  if (r.shared) out.shared = {};
  return out;
}

/** The roles a framework subscribes to (MULTI_ROLE `roles`, else the legacy `role`, else "*"). */
export function rolesOf(info: FrameworkInfo): string[] {
  if (info.roles?.length) return info.roles;
  return [info.role ?? '*'];
}

/** A framework as the allocator sees it. */
export function toAbiFramework(info: FrameworkInfo, active: boolean, suppressedRoles: readonly string[]): Abi.AllocatorFramework {
  return {
    info: {
      id: info.id?.value,
      user: info.user,
      name: info.name,
      roles: rolesOf(info),
      capabilities: (info.capabilities ?? []).map((c) => c.type ?? 'UNKNOWN'),
      principal: info.principal,
      hostname: info.hostname,
      failoverTimeout: info.failover_timeout,
    },
    active,
    suppressedRoles: [...suppressedRoles],
  };
}

/** An agent's info as the allocator sees it. */
export function toAbiAgentInfo(info: AgentInfo): Abi.AgentInfo {
  return { id: info.id?.value, hostname: info.hostname, port: info.port };
}

/** Labels as the ABI spells them. */
export function toAbiLabels(labels: Labels | undefined): Abi.Labels | undefined {
  if (!labels) return undefined;
  return { labels: (labels.labels ?? []).map((l) => ({ key: l.key, ...(l.value !== undefined ? { value: l.value } : {}) })) };
}

/** ABI labels in Mesos's wire shape. */
export function fromAbiLabels(labels: Abi.Labels): Labels {
  return { labels: (labels.labels ?? []).map((l) => ({ key: l.key ?? '', ...(l.value !== undefined ? { value: l.value } : {}) })) };
}

/**
 * A task as the ABI spells it (hooks): name, ids, resources, command, labels, kill policy, data and a
 * container's type and hostname; what the ABI has no field for stays behind.
 */
export function toAbiTaskInfo(task: TaskInfo, frameworkId: string): Abi.TaskInfo {
  const c = task.command;
  const container = task.container as { type?: string; hostname?: string } | undefined;
  return {
    name: task.name,
    taskId: task.task_id.value,
    agentId: task.agent_id?.value,
    frameworkId,
    resources: (task.resources ?? []).map(toAbiResource),
    ...(c
      ? {
          command: {
            value: c.value,
            user: c.user,
            shell: c.shell,
            arguments: c.arguments,
            uris: c.uris?.map((u) => ({ value: u.value, executable: u.executable, extract: u.extract, cache: u.cache, outputFile: u.output_file })),
            environment: c.environment ? { variables: (c.environment.variables ?? []).map((v) => ({ name: v.name, value: v.value })) } : undefined,
          },
        }
      : {}),
    ...(container?.type === 'DOCKER' || container?.type === 'MESOS' ? { container: { type: container.type, hostname: container.hostname } } : {}),
    ...(task.labels ? { labels: toAbiLabels(task.labels) } : {}),
    ...(task.kill_policy?.grace_period ? { killPolicy: { gracePeriod: { nanoseconds: task.kill_policy.grace_period.nanoseconds } } } : {}),
    ...(task.data ? { data: task.data } : {}),
  };
}

/** An agent's info as hooks see it: with its resources and attributes. */
export function toAbiAgentInfoFull(info: AgentInfo, resources: readonly Resource[]): Abi.AgentInfo {
  return {
    ...toAbiAgentInfo(info),
    resources: resources.map(toAbiResource),
    attributes: (info.attributes ?? []).map((a) => ({
      name: a.name,
      type: a.type,
      ...(a.scalar ? { scalar: { value: a.scalar.value } } : {}),
      ...(a.ranges ? { ranges: { range: (a.ranges.range ?? []).map((x) => ({ begin: x.begin, end: x.end })) } } : {}),
      ...(a.set ? { set: { item: [...(a.set.item ?? [])] } } : {}),
      ...(a.text ? { text: { value: a.text.value } } : {}),
    })),
  };
}
