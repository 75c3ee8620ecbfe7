/**
 * Conversions from the agent's Mesos wire shapes (snake_case, ids wrapped as `{value}`) to the module
 * ABI's shapes (camelCase, ids as strings) that isolator modules receive in ContainerConfig and
 * ContainerState. Kept in one place so the two vocabularies meet only here; fields an isolator does
 * not need (health checks, discovery) are left out.
 *
 * ```ts
 * const config = toContainerConfig({ task, frameworkId, sandbox, user });
 * await isolator.prepare({ value: containerId }, config);
 * ```
 */
import type * as Abi from '@tessera/modules-api';
import { toAbiResource } from '../../master/model/abi';
import type { CommandInfo, Resource, TaskInfo } from '../../master/model/mesos';

type Wire = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Wire | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Wire) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const idOf = (v: unknown): string | undefined => str(obj(v)?.value) ?? str(v);

/** toAbiCommandInfo converts a Mesos CommandInfo. */
export function toAbiCommandInfo(c: CommandInfo): Abi.CommandInfo {
  const out: Abi.CommandInfo = {};
  if (c.value !== undefined) out.value = c.value;
  if (c.shell !== undefined) out.shell = c.shell;
  if (c.arguments?.length) out.arguments = [...c.arguments];
  if (c.user) out.user = c.user;
  if (c.uris?.length) {
    out.uris = c.uris.map((u) => ({
      value: u.value,
      ...(u.executable !== undefined ? { executable: u.executable } : {}),
      ...(u.extract !== undefined ? { extract: u.extract } : {}),
      ...(u.cache !== undefined ? { cache: u.cache } : {}),
      ...(u.output_file ? { outputFile: u.output_file } : {}),
    }));
  }
  const vars = c.environment?.variables;
  if (vars?.length) out.environment = { variables: vars.map((v) => ({ name: v.name, value: v.value ?? '' })) };
  return out;
}

/** driverOptions reads Mesos's `Parameters` ({parameter: [{key, value}]}) or a plain map. */
function driverOptions(v: unknown): Record<string, string> | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  if (Array.isArray(o.parameter)) {
    for (const p of o.parameter as Wire[]) if (str(p.key)) out[p.key as string] = str(p.value) ?? '';
  } else {
    for (const [k, val] of Object.entries(o)) if (typeof val === 'string') out[k] = val;
  }
  return Object.keys(out).length ? out : undefined;
}

const SOURCE_TYPES = new Set(['UNKNOWN', 'DOCKER_VOLUME', 'HOST_PATH', 'SANDBOX_PATH', 'SECRET']);

/** toAbiVolume converts one Mesos Volume (container_path, host_path, mode, source). */
export function toAbiVolume(v: Wire): Abi.Volume {
  const out: Abi.Volume = {};
  if (str(v.container_path)) out.containerPath = v.container_path as string;
  const source = obj(v.source);
  const hostPath = str(v.host_path) ?? str(obj(source?.host_path)?.path);
  if (hostPath) out.hostPath = hostPath;
  if (v.mode === 'RW' || v.mode === 'RO') out.mode = v.mode;
  if (source) {
    const type = str(source.type);
    out.source = {};
    if (type && SOURCE_TYPES.has(type)) out.source.type = type as Abi.VolumeSourceType;
    const dv = obj(source.docker_volume);
    if (dv) {
      out.source.dockerVolume = {
        ...(str(dv.driver) ? { driver: dv.driver as string } : {}),
        ...(str(dv.name) ? { name: dv.name as string } : {}),
      };
      const opts = driverOptions(dv.driver_options);
      if (opts) out.source.dockerVolume.driverOptions = opts;
    }
  }
  return out;
}

/** toAbiContainerInfo converts a Mesos ContainerInfo (type, volumes, hostname). */
export function toAbiContainerInfo(c: Wire): Abi.ContainerInfo {
  const out: Abi.ContainerInfo = {};
  if (c.type === 'MESOS' || c.type === 'DOCKER') out.type = c.type;
  const volumes = arr(c.volumes).map((v) => toAbiVolume(obj(v) ?? {}));
  if (volumes.length) out.volumes = volumes;
  if (str(c.hostname)) out.hostname = c.hostname as string;
  return out;
}

/** toAbiLimits converts TaskInfo.limits ({cpus: {value: 2}} or {cpus: 2}). */
function toAbiLimits(v: unknown): Record<string, Abi.ValueScalar> | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: Record<string, Abi.ValueScalar> = {};
  for (const [k, val] of Object.entries(o)) {
    const n = typeof val === 'number' ? val : (obj(val)?.value as number | undefined);
    if (typeof n === 'number') out[k] = { value: n };
  }
  return Object.keys(out).length ? out : undefined;
}

/** toAbiTaskInfo converts a Mesos TaskInfo to the ABI's TaskInfo. */
export function toAbiTaskInfo(task: TaskInfo, frameworkId?: string): Abi.TaskInfo {
  const out: Abi.TaskInfo = { name: task.name, taskId: idOf(task.task_id) };
  const agentId = idOf(task.agent_id);
  if (agentId) out.agentId = agentId;
  if (task.resources?.length) out.resources = task.resources.map(toAbiResource);
  if (task.command) out.command = toAbiCommandInfo(task.command);
  const container = obj(task.container);
  if (container) out.container = toAbiContainerInfo(container);
  const labels = task.labels?.labels;
  if (labels?.length) out.labels = { labels: labels.map((l) => ({ key: l.key, ...(l.value !== undefined ? { value: l.value } : {}) })) };
  const grace = task.kill_policy?.grace_period?.nanoseconds;
  if (grace !== undefined) out.killPolicy = { gracePeriod: { nanoseconds: grace } };
  const limits = toAbiLimits(task.limits);
  if (limits) out.limits = limits;
  if (task.data?.length) out.data = new Uint8Array(task.data);
  if (frameworkId) out.frameworkId = frameworkId;
  return out;
}

/** ContainerConfigInput is what a ContainerConfig is built from. */
export interface ContainerConfigInput {
  task: TaskInfo;
  frameworkId?: string;
  sandbox: string;
  user?: string;
}

/** toContainerConfig builds the ContainerConfig isolators get in Prepare and (in ContainerState) Recover. */
export function toContainerConfig(input: ContainerConfigInput): Abi.ContainerConfig {
  const taskInfo = toAbiTaskInfo(input.task, input.frameworkId);
  const config: Abi.ContainerConfig = {
    taskInfo,
    resources: taskInfo.resources ?? [],
    containerClass: 'DEFAULT',
    directory: input.sandbox,
  };
  if (taskInfo.command) config.commandInfo = taskInfo.command;
  if (taskInfo.container) config.containerInfo = taskInfo.container;
  if (taskInfo.limits) config.limits = taskInfo.limits;
  if (input.user) config.user = input.user;
  return config;
}

/** scalarOf sums a scalar resource (cpus, mem) over a Mesos resource list; undefined when absent. */
export function scalarOf(resources: Resource[] | undefined, name: string): number | undefined {
  let total: number | undefined;
  for (const r of resources ?? []) if (r.name === name && r.scalar) total = (total ?? 0) + r.scalar.value;
  return total;
}
