/**
 * What a container's resources mean in cgroup terms, with Mesos's constants: cpu.shares 1024 per CPU
 * (minimum 2), a CFS period of 100 ms with a quota of cpus × period (minimum 1 ms), a memory hard limit
 * and soft limit of at least 32 MB, cgroup v2's cpu.weight 100 per CPU. Pure functions, shared by v1
 * and v2.
 */
import type { Resource, ValueScalar } from '@tessera/modules-api';

/** CPU_SHARES_PER_CPU is cpu.shares per CPU (Mesos). */
export const CPU_SHARES_PER_CPU = 1024;
/** MIN_CPU_SHARES is the kernel's and Mesos's minimum cpu.shares. */
export const MIN_CPU_SHARES = 2;
/** CFS_PERIOD_US is the CFS bandwidth period (100 ms). */
export const CFS_PERIOD_US = 100_000;
/** MIN_CFS_QUOTA_US is the smallest quota written (1 ms). */
export const MIN_CFS_QUOTA_US = 1_000;
/** MIN_MEMORY_BYTES is the smallest hard memory limit (32 MB, Mesos MIN_MEMORY). */
export const MIN_MEMORY_BYTES = 32 * 1024 * 1024;
const MB = 1024 * 1024;
/** CPU_WEIGHT_PER_CPU is cgroup v2 cpu.weight per CPU (Mesos's cgroups2 cpu controller). */
const CPU_WEIGHT_PER_CPU = 100;

/** Limits are what one container's cgroups enforce; undefined fields are left as the kernel has them. */
export interface Limits {
  /** CPUs requested (drives shares / weight). */
  cpus?: number;
  /** CPU limit for the CFS quota: the request, or `limits.cpus` when given; Infinity = no quota. */
  cpuLimit?: number;
  /** Memory hard limit in bytes (>= 32 MB); Infinity = none. */
  memLimitBytes?: number;
  /** Memory soft limit in bytes: the request. */
  memSoftLimitBytes?: number;
}

/** scalarSum adds up the scalar resources of a name ("cpus", "mem"), or undefined when there is none. */
export function scalarSum(resources: readonly Resource[] | undefined, name: string): number | undefined {
  let total: number | undefined;
  for (const r of resources ?? []) {
    if (r.name !== name) continue;
    const v = r.scalar?.value;
    if (typeof v === 'number' && Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}

/**
 * limitsOf turns resources (and optional limits above them, ABI `limits`) into {@link Limits}, as
 * Mesos 1.10: cpus and mem drive shares and the soft limit; a cpus / mem limit (possibly infinite)
 * replaces the request for the quota and the hard limit.
 */
export function limitsOf(resources: readonly Resource[] | undefined, limits?: Record<string, ValueScalar>): Limits {
  const out: Limits = {};
  const cpus = scalarSum(resources, 'cpus');
  const mem = scalarSum(resources, 'mem');
  const cpuLimit = limitValue(limits?.cpus);
  const memLimit = limitValue(limits?.mem);
  if (cpus !== undefined) out.cpus = cpus;
  if (cpuLimit !== undefined || cpus !== undefined) out.cpuLimit = cpuLimit ?? cpus;
  // As Mesos: the soft limit (v1 soft_limit_in_bytes, v2 memory.low) is at least 32 MB too.
  if (mem !== undefined) out.memSoftLimitBytes = Math.max(Math.floor(mem * MB), MIN_MEMORY_BYTES);
  if (memLimit !== undefined || mem !== undefined) {
    const bytes = (memLimit ?? mem)! * MB;
    out.memLimitBytes = bytes === Infinity ? Infinity : Math.max(Math.floor(bytes), MIN_MEMORY_BYTES);
  }
  return out;
}

function limitValue(v: ValueScalar | undefined): number | undefined {
  const n = v?.value;
  if (typeof n !== 'number' || Number.isNaN(n)) return undefined;
  return n;
}

/** cpuShares is cpu.shares for `cpus`: 1024 per CPU, at least 2. */
export function cpuShares(cpus: number): number {
  return Math.max(Math.floor(CPU_SHARES_PER_CPU * cpus), MIN_CPU_SHARES);
}

/** cfsQuotaUs is cpu.cfs_quota_us for a CPU limit: limit × 100 ms, at least 1 ms; -1 (none) for Infinity. */
export function cfsQuotaUs(cpuLimit: number): number {
  if (cpuLimit === Infinity) return -1;
  return Math.max(Math.floor(CFS_PERIOD_US * cpuLimit), MIN_CFS_QUOTA_US);
}

/**
 * cpuWeight is cgroup v2 cpu.weight for `cpus`, as Mesos's cgroups2 cpu controller writes it: 100 per
 * CPU (the kernel's default weight, so one CPU weighs as much as an ordinary sibling cgroup), from 1 to
 * 10,000: 0.5 CPU -> 50, 1 -> 100, 4 -> 400.
 */
export function cpuWeight(cpus: number): number {
  return Math.min(Math.max(Math.floor(CPU_WEIGHT_PER_CPU * cpus), 1), 10_000);
}

/** cpuMax is cgroup v2 cpu.max: "<quota> <period>", or "max <period>" for no quota. */
export function cpuMax(cpuLimit: number): string {
  const quota = cfsQuotaUs(cpuLimit);
  return `${quota < 0 ? 'max' : quota} ${CFS_PERIOD_US}`;
}

/** formatBytes writes bytes as Mesos's Bytes does, in the largest unit that loses nothing: 67108864 -> "64MB", 1536 -> "1536B". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Math.floor(bytes);
  let unit = 0;
  while (value !== 0 && value % 1024 === 0 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value}${units[unit]}`;
}

/** parseKeyValues reads "key value" lines (memory.stat, cpu.stat, memory.events) into numbers. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1));
    if (Number.isFinite(n)) out.set(line.slice(0, sp), n);
  }
  return out;
}

/** countLines counts the non-empty lines of cgroup.procs / tasks. */
export function countLines(text: string): number {
  let n = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end > start) n += 1;
    if (nl < 0) return n;
    start = nl + 1;
  }
}

/** parsePids reads cgroup.procs into pids. */
export function parsePids(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const n = Number(line);
    if (line !== '' && Number.isInteger(n) && n > 0) out.push(n);
  }
  return out;
}
