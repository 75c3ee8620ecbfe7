/**
 * The module's parameters: their JSON Schema (the core validates an operator's modules.json entry
 * against it before Configure) and their translation into settings. Names follow Mesos's agent flags
 * where Mesos has the concept (`cgroups_root`, `cgroups_enable_cfs`, `cgroups_limit_swap`), without the
 * `cgroups_` prefix since every parameter here is about cgroups.
 */
import { TesseraError } from '@tessera/modules-api';
import { parseDeviceRule, type DeviceRule } from './internal/devices';

/** SUBSYSTEMS are the subsystems this module isolates, in the order it applies them. */
export const SUBSYSTEMS = ['cpu', 'memory', 'pids', 'devices'] as const;

/** Subsystem is one of {@link SUBSYSTEMS}. */
export type Subsystem = (typeof SUBSYSTEMS)[number];

/** HierarchyChoice picks the cgroup version: detected, or forced. */
export type HierarchyChoice = 'auto' | 'v1' | 'v2';

/** CgroupsParameters are the parameters as an operator writes them in modules.json (after schema validation). */
export interface CgroupsParameters {
  /** Subsystems to isolate: a list, a comma-separated string, or "all" (every one this host supports). */
  subsystems?: string[] | string;
  /** Name of the cgroup under each hierarchy's mount holding the containers' cgroups (Mesos --cgroups_root). */
  root?: string;
  /** Enforce a CFS bandwidth quota of cpus × 100 ms per 100 ms (Mesos --cgroups_enable_cfs). */
  cpu_quota?: boolean;
  /** Limit memory plus swap to the memory limit (Mesos --cgroups_limit_swap). */
  memory_swap?: boolean;
  /** pids.max of every container: a number, or "max"/"none" for no limit. */
  pids_max?: number | string;
  /** Device rules allowed on top of the default list, as devices.allow lines: "c 195:* rwm". */
  allowed_devices?: string[];
  /** Which cgroup version to use: "auto" (detected from /proc/self/mountinfo), "v1" or "v2". */
  hierarchy?: HierarchyChoice;
  /** Mount root override: v1 controllers are its subdirectories, v2 is the directory itself (tests, unusual mounts). */
  cgroup_root?: string;
  /** How often watched containers are checked for OOM kills, in milliseconds. */
  oom_poll_interval_ms?: number;
}

/** CgroupsSettings are the parameters resolved and checked. */
export interface CgroupsSettings {
  /** Subsystems asked for, or 'all' (resolved against the host at Configure). */
  subsystems: Subsystem[] | 'all';
  root: string;
  cpuQuota: boolean;
  memorySwap: boolean;
  /** undefined: no pids limit. */
  pidsMax: number | undefined;
  allowedDevices: DeviceRule[];
  hierarchy: HierarchyChoice;
  cgroupRoot: string | undefined;
  oomPollIntervalMs: number;
}

/** DEFAULT_SUBSYSTEMS are isolated when `subsystems` is not given. */
export const DEFAULT_SUBSYSTEMS: readonly Subsystem[] = ['cpu', 'memory', 'pids'];

/**
 * DEFAULT_PIDS_MAX is every container's pids.max unless `pids_max` says otherwise: none, as Mesos's
 * cgroups/pids only places and counts (pids.max counts threads too: a JVM may well need thousands).
 */
export const DEFAULT_PIDS_MAX: number | 'max' = 'max';

const ROOT_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$';
const DEVICE_PATTERN = '^[abc] (\\*|[0-9]+):(\\*|[0-9]+) [rwm]{1,3}$';

/** PARAMETERS_SCHEMA is the JSON Schema (draft-07) of {@link CgroupsParameters}. */
export const PARAMETERS_SCHEMA: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    subsystems: {
      description: 'Subsystems to isolate: any of cpu, memory, pids, devices, as a list or comma-separated; "all" takes every one this host supports (devices only on cgroup v1).',
      oneOf: [
        { type: 'array', items: { type: 'string', enum: [...SUBSYSTEMS, 'all'] }, uniqueItems: true },
        { type: 'string', pattern: '^\\s*(all|cpu|memory|pids|devices)(\\s*,\\s*(cpu|memory|pids|devices))*\\s*$' },
      ],
      default: [...DEFAULT_SUBSYSTEMS],
    },
    root: {
      description: "Name of the cgroup holding the containers' cgroups, under each hierarchy (Mesos --cgroups_root).",
      type: 'string',
      pattern: ROOT_PATTERN,
      default: 'tessera',
    },
    cpu_quota: {
      description: 'Enforce a CFS bandwidth quota of cpus × 100 ms per 100 ms period, minimum 1 ms (Mesos --cgroups_enable_cfs).',
      type: 'boolean',
      default: false,
    },
    memory_swap: {
      description: 'Limit memory plus swap, not only memory, to the container limit (Mesos --cgroups_limit_swap).',
      type: 'boolean',
      default: false,
    },
    pids_max: {
      description: 'pids.max of every container (processes and threads); "max" or "none" for no limit.',
      oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', enum: ['max', 'none'] }],
      default: DEFAULT_PIDS_MAX,
    },
    allowed_devices: {
      description: 'Device rules allowed on top of the default list (null, zero, full, random, urandom, tty, console, ptmx, pts, net/tun), as devices.allow lines, e.g. "c 195:* rwm".',
      type: 'array',
      items: { type: 'string', pattern: DEVICE_PATTERN },
      default: [],
    },
    hierarchy: {
      description: 'Cgroup version: "auto" detects it from /proc/self/mountinfo (v1 when the controllers are mounted as v1, else v2), or force "v1" / "v2".',
      type: 'string',
      enum: ['auto', 'v1', 'v2'],
      default: 'auto',
    },
    cgroup_root: {
      description: 'Mount root override, instead of /proc/self/mountinfo: for v1 the directory holding one directory per controller (e.g. /sys/fs/cgroup), for v2 the unified mount itself.',
      type: 'string',
      pattern: '^/',
    },
    oom_poll_interval_ms: {
      description: 'How often watched containers are checked for an OOM kill (milliseconds).',
      type: 'integer',
      minimum: 10,
      maximum: 10000,
      default: 100,
    },
  },
};

/** ParameterError names the parameter and what is wrong with it; Configure turns it into TSR_PARAMETERS_INVALID. */
export class ParameterError extends TesseraError {
  /** Creates the error. */
  constructor(parameter: string, problem: string) {
    super('TSR_PARAMETERS_INVALID', `isolator-cgroups parameter ${parameter}: ${problem}`);
    this.name = 'ParameterError';
  }
}

/** resolveParameters checks parameters and fills in defaults; throws {@link ParameterError}. */
export function resolveParameters(p: CgroupsParameters = {}): CgroupsSettings {
  const known = Object.keys((PARAMETERS_SCHEMA.properties as Record<string, unknown>) ?? {});
  for (const key of Object.keys(p ?? {})) {
    if (!known.includes(key)) throw new ParameterError(key, `unknown parameter; known: ${known.join(', ')}`);
  }
  const root = p.root ?? 'tessera';
  if (typeof root !== 'string' || !new RegExp(ROOT_PATTERN).test(root) || root.split('/').some((s) => s === '..' || s === '.')) {
    throw new ParameterError('root', `"${root}" is not a cgroup name (letters, digits, "_", ".", "-", nested with "/", e.g. "tessera")`);
  }
  const hierarchy = p.hierarchy ?? 'auto';
  if (!['auto', 'v1', 'v2'].includes(hierarchy)) throw new ParameterError('hierarchy', `must be "auto", "v1" or "v2", not ${JSON.stringify(hierarchy)}`);
  if (p.cgroup_root !== undefined && (typeof p.cgroup_root !== 'string' || !p.cgroup_root.startsWith('/'))) {
    throw new ParameterError('cgroup_root', `must be an absolute path, not ${JSON.stringify(p.cgroup_root)}`);
  }
  const interval = p.oom_poll_interval_ms ?? 100;
  if (!Number.isInteger(interval) || interval < 10 || interval > 10_000) {
    throw new ParameterError('oom_poll_interval_ms', `must be a whole number of milliseconds from 10 to 10000, not ${JSON.stringify(interval)}`);
  }
  return {
    subsystems: resolveSubsystems(p.subsystems),
    root,
    cpuQuota: bool('cpu_quota', p.cpu_quota, false),
    memorySwap: bool('memory_swap', p.memory_swap, false),
    pidsMax: resolvePidsMax(p.pids_max),
    allowedDevices: (p.allowed_devices ?? []).map((rule, i) => {
      try {
        return parseDeviceRule(rule);
      } catch (err) {
        throw new ParameterError(`allowed_devices[${i}]`, (err as Error).message);
      }
    }),
    hierarchy: hierarchy as HierarchyChoice,
    cgroupRoot: p.cgroup_root,
    oomPollIntervalMs: interval,
  };
}

function resolveSubsystems(value: string[] | string | undefined): Subsystem[] | 'all' {
  if (value === undefined) return [...DEFAULT_SUBSYSTEMS];
  // Mesos-format parameters arrive as one string; a list may hold "cpu,memory" after type coercion.
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.includes('all')) {
    if (items.length > 1) throw new ParameterError('subsystems', `"all" cannot be combined with other subsystems (${items.join(', ')})`);
    return 'all';
  }
  const out: Subsystem[] = [];
  for (const item of items) {
    if (!(SUBSYSTEMS as readonly string[]).includes(item)) {
      throw new ParameterError('subsystems', `unknown subsystem "${item}"; known: ${SUBSYSTEMS.join(', ')}, or "all"`);
    }
    if (!out.includes(item as Subsystem)) out.push(item as Subsystem);
  }
  return SUBSYSTEMS.filter((s) => out.includes(s));
}

function resolvePidsMax(value: number | string | undefined): number | undefined {
  if (value === undefined) value = DEFAULT_PIDS_MAX;
  if (value === 'max' || value === 'none') return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ParameterError('pids_max', `must be a whole number >= 1, "max" or "none", not ${JSON.stringify(value)}`);
  return n;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ParameterError(name, `must be true or false, not ${JSON.stringify(value)}`);
}
