/**
 * The module's parameters: their JSON Schema (the core validates an operator's modules.json entry
 * against it before Configure) and their translation into settings. Names follow Mesos where Mesos has
 * the concept (`devices` is `--nvidia_gpu_devices`; `root` is the cgroups module's `root`, Mesos's
 * `--cgroups_root`).
 */
import path from 'node:path';
import { TesseraError } from '@tessera/modules-api';
import type { DeviceRef } from './discovery/inventory';

/** VolumeMode says how GPU containers get the driver volume. */
export type VolumeMode = 'auto' | 'mount' | 'env' | 'off';

/** GpuParameters are the parameters as an operator writes them in modules.json (after schema validation). */
export interface GpuParameters {
  /** nvidia-smi to run for discovery, health and usage: a path, or a name looked up on PATH. */
  nvidia_smi?: string;
  /** The GPUs to manage, by index (a minor without a driver) or UUID (Mesos --nvidia_gpu_devices); [] for none. */
  devices?: (number | string)[];
  /** Where the device nodes are (nvidia<minor>, nvidiactl, nvidia-uvm). */
  dev_root?: string;
  /** The cgroup holding the containers' cgroups in the devices hierarchy (the cgroups module's root). */
  root?: string;
  /** Mount root override, as the cgroups module's cgroup_root (a directory of v1 hierarchies). */
  cgroup_root?: string;
  /** How often GPU health is polled through nvidia-smi, in milliseconds; 0 turns polling off. */
  health_poll_interval_ms?: number;
  /** How long one nvidia-smi run may take, in milliseconds. */
  command_timeout_ms?: number;
  /** The driver volume: "auto", "mount", "env" or "off". */
  driver_volume?: VolumeMode;
  /** Where the driver volume appears inside containers (mount mode). */
  driver_volume_path?: string;
  /** ldconfig to ask for the driver's libraries. */
  ldconfig?: string;
  /** Look for the driver's libraries only in these directories (instead of ldconfig -p). */
  library_dirs?: string[];
  /** State directory for the assignment checkpoint and the driver volume (default: the core's). */
  state_dir?: string;
  /** Where to read character device majors (nvidia-uvm's). */
  proc_devices?: string;
  /** The NVIDIA driver's proc directory, whose gpus/<bus id>/information files give the GPUs' minor numbers. */
  proc_driver_nvidia?: string;
}

/** GpuSettings are the parameters resolved and checked. */
export interface GpuSettings {
  nvidiaSmi: string;
  devices: DeviceRef[] | undefined;
  devRoot: string;
  root: string;
  cgroupRoot: string | undefined;
  healthPollIntervalMs: number;
  commandTimeoutMs: number;
  driverVolume: VolumeMode;
  driverVolumePath: string;
  ldconfig: string;
  libraryDirs: string[] | undefined;
  stateDir: string | undefined;
  procDevices: string;
  procDriverNvidia: string;
}

/** DEFAULT_ROOT is the cgroups module's default root, so both modules meet in one cgroup. */
export const DEFAULT_ROOT = 'tessera';
/** DEFAULT_HEALTH_POLL_INTERVAL_MS: health is read every 30 s. */
export const DEFAULT_HEALTH_POLL_INTERVAL_MS = 30_000;

const ROOT_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$';
const UUID_PATTERN = '^(GPU|MIG)-[0-9A-Fa-f-]+$';

/** PARAMETERS_SCHEMA is the JSON Schema (draft-07) of {@link GpuParameters}. */
export const PARAMETERS_SCHEMA: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    nvidia_smi: { description: 'nvidia-smi for discovery, health polls and usage: a path, or a name looked up on PATH.', type: 'string', minLength: 1, default: 'nvidia-smi' },
    devices: {
      description: 'The GPUs to manage (Mesos --nvidia_gpu_devices): nvidia-smi indexes or UUIDs; without a driver, minor numbers of /dev/nvidia<minor> nodes. Absent: every GPU discovery finds. []: none (discovery off).',
      type: 'array',
      items: { oneOf: [{ type: 'integer', minimum: 0, maximum: 254 }, { type: 'string', pattern: UUID_PATTERN }] },
    },
    dev_root: { description: 'Directory of the NVIDIA device nodes (nvidia<minor>, nvidiactl, nvidia-uvm).', type: 'string', pattern: '^/', default: '/dev' },
    root: { description: "Cgroup holding the containers' cgroups in the devices hierarchy; the same as the cgroups module's root.", type: 'string', pattern: ROOT_PATTERN, default: DEFAULT_ROOT },
    cgroup_root: { description: 'Mount root instead of /proc/self/mountinfo: the directory holding one directory per v1 controller (e.g. /sys/fs/cgroup).', type: 'string', pattern: '^/' },
    health_poll_interval_ms: { description: 'How often GPU health is read through nvidia-smi (milliseconds); 0: never after Configure.', type: 'integer', minimum: 0, maximum: 86_400_000, default: DEFAULT_HEALTH_POLL_INTERVAL_MS },
    command_timeout_ms: { description: 'How long one nvidia-smi run may take (milliseconds).', type: 'integer', minimum: 100, maximum: 600_000, default: 10_000 },
    driver_volume: {
      description: 'The driver volume for GPU containers: "mount" binds it read-only at driver_volume_path; "env" points PATH and LD_LIBRARY_PATH at its host directory; "auto" mounts when driver_volume_path exists on the agent and the container runs as root, else "env"; "off".',
      type: 'string',
      enum: ['auto', 'mount', 'env', 'off'],
      default: 'auto',
    },
    driver_volume_path: { description: 'Where the driver volume appears inside containers (Mesos: /usr/local/nvidia).', type: 'string', pattern: '^/', default: '/usr/local/nvidia' },
    ldconfig: { description: "ldconfig to ask (ldconfig -p) for the driver's libraries.", type: 'string', minLength: 1, default: 'ldconfig' },
    library_dirs: { description: "Look for the driver's libraries only in these directories, not through ldconfig.", type: 'array', items: { type: 'string', pattern: '^/' } },
    state_dir: { description: "Directory for the assignment checkpoint and the driver volume; default: the one the core gives the module (<agent work_dir>/modules/<name>).", type: 'string', pattern: '^/' },
    proc_devices: { description: "File listing character device majors (nvidia-uvm's major comes from it).", type: 'string', pattern: '^/', default: '/proc/devices' },
    proc_driver_nvidia: {
      description: "The NVIDIA driver's proc directory: each GPU's minor number (its /dev/nvidia<minor> node) is read from gpus/<bus id>/information there, else from nvidia-smi -q.",
      type: 'string',
      pattern: '^/',
      default: '/proc/driver/nvidia',
    },
  },
};

/** ParameterError names the parameter and what is wrong with it. */
export class ParameterError extends TesseraError {
  /** Creates the error. */
  constructor(parameter: string, problem: string) {
    super('TSR_PARAMETERS_INVALID', `isolator-gpu parameter ${parameter}: ${problem}`);
    this.name = 'ParameterError';
  }
}

/** resolveParameters checks parameters and fills in defaults; `stateDir` is the core's. Throws {@link ParameterError}. */
export function resolveParameters(p: GpuParameters = {}, stateDir?: string): GpuSettings {
  const known = Object.keys(PARAMETERS_SCHEMA.properties as Record<string, unknown>);
  for (const key of Object.keys(p ?? {})) {
    if (!known.includes(key)) throw new ParameterError(key, `unknown parameter; known: ${known.join(', ')}`);
  }
  const abs = (name: keyof GpuParameters, fallback: string): string => {
    const value = p[name] ?? fallback;
    if (typeof value !== 'string' || !value.startsWith('/')) throw new ParameterError(name, `must be an absolute path, not ${JSON.stringify(value)}`);
    return path.resolve(value);
  };
  const int = (name: keyof GpuParameters, fallback: number, min: number, max: number): number => {
    const value = p[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ParameterError(name, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
    return value;
  };
  const root = p.root ?? DEFAULT_ROOT;
  if (typeof root !== 'string' || !new RegExp(ROOT_PATTERN).test(root)) throw new ParameterError('root', `"${root}" is not a cgroup name (letters, digits, "_", ".", "-", nested with "/", e.g. "tessera")`);
  const mode = p.driver_volume ?? 'auto';
  if (!['auto', 'mount', 'env', 'off'].includes(mode)) throw new ParameterError('driver_volume', `must be "auto", "mount", "env" or "off", not ${JSON.stringify(mode)}`);
  return {
    nvidiaSmi: nonEmpty('nvidia_smi', p.nvidia_smi ?? 'nvidia-smi'),
    devices: p.devices === undefined ? undefined : p.devices.map((d, i) => deviceRef(d, i)),
    devRoot: abs('dev_root', '/dev'),
    root,
    cgroupRoot: p.cgroup_root === undefined ? undefined : abs('cgroup_root', '/'),
    healthPollIntervalMs: int('health_poll_interval_ms', DEFAULT_HEALTH_POLL_INTERVAL_MS, 0, 86_400_000),
    commandTimeoutMs: int('command_timeout_ms', 10_000, 100, 600_000),
    driverVolume: mode,
    driverVolumePath: abs('driver_volume_path', '/usr/local/nvidia'),
    ldconfig: nonEmpty('ldconfig', p.ldconfig ?? 'ldconfig'),
    libraryDirs: p.library_dirs?.map((d, i) => {
      if (typeof d !== 'string' || !d.startsWith('/')) throw new ParameterError(`library_dirs[${i}]`, `must be an absolute path, not ${JSON.stringify(d)}`);
      return d;
    }),
    stateDir: p.state_dir !== undefined ? abs('state_dir', '/') : stateDir || undefined,
    procDevices: abs('proc_devices', '/proc/devices'),
    procDriverNvidia: abs('proc_driver_nvidia', '/proc/driver/nvidia'),
  };
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new ParameterError(name, `must be a non-empty string, not ${JSON.stringify(value)}`);
  return value;
}

// Mesos-format parameters arrive as strings: "1" is the index 1.
function deviceRef(d: unknown, i: number): DeviceRef {
  if (typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 254) return d;
  if (typeof d === 'string' && /^\d+$/.test(d) && Number(d) <= 254) return Number(d);
  if (typeof d === 'string' && new RegExp(UUID_PATTERN).test(d)) return d;
  throw new ParameterError(`devices[${i}]`, `must be a GPU index from 0 to 254 or a UUID such as "GPU-5d8e0d5c-...", not ${JSON.stringify(d)}`);
}
