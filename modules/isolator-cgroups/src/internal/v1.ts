/**
 * cgroup v1: one hierarchy per controller (or a few co-mounted, e.g. "cpu,cpuacct"), each holding
 * `<root>/<containerId>`. The freezer hierarchy, when mounted, is used for every container so cleanup
 * can stop a fork bomb before killing it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ResourceStatistics } from '@tessera/modules-api';
import { cgroupsError, errnoText } from '../errors';
import { countLines, parseKeyValues, parsePids, cfsQuotaUs, cpuShares, CFS_PERIOD_US, type Limits } from './limits';
import { descendants, exists, isCgroupFs, readFile, readNumber, readOptional, removeCgroup, subdirectories, writeFile } from './cgroupfs';
import { formatDeviceRule } from './devices';
import { killEverything } from './killer';
import { parsePidsEvents, type CgroupDriver, type DriverOptions, type OomReport } from './driver';

/** V1Mount is where one v1 controller is mounted. */
export interface V1Mount {
  path: string;
  readOnly: boolean;
}

/** USER_HZ is the unit of cpuacct.stat (100 on every Linux architecture Node runs on). */
const USER_HZ = 100;
/** A memory limit at or above this reads as "no limit" (v1 reports PAGE_COUNTER_MAX pages). */
const UNLIMITED = 2 ** 62;

/** V1Driver drives the per-controller hierarchies of cgroup v1. */
export class V1Driver implements CgroupDriver {
  readonly version = 1 as const;
  /** controller -> mount point, for the controllers this module uses. */
  private readonly used = new Map<string, string>();
  /** The distinct mount points used (co-mounted controllers share one). */
  private readonly mountPoints: string[];

  constructor(
    private readonly mounts: ReadonlyMap<string, V1Mount>,
    private readonly opts: DriverOptions,
  ) {
    const want: [string, boolean][] = [];
    if (opts.subsystems.includes('cpu')) want.push(['cpu', true], ['cpuacct', false]);
    if (opts.subsystems.includes('memory')) want.push(['memory', true]);
    if (opts.subsystems.includes('pids')) want.push(['pids', true]);
    if (opts.subsystems.includes('devices')) want.push(['devices', true]);
    want.push(['freezer', false]);
    for (const [controller, required] of want) {
      const m = mounts.get(controller);
      if (m) this.used.set(controller, m.path);
      else if (required) {
        throw cgroupsError(
          'CGROUPS_CONTROLLER_MISSING',
          `cgroup v1 controller "${controller}" is not mounted (mounted: ${[...mounts.keys()].join(', ') || 'none'}): mount it ` +
            `(mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller}), or leave "${controller === 'cpu' ? 'cpu' : controller}" out of subsystems`,
        );
      }
    }
    this.mountPoints = [...new Set(this.used.values())];
  }

  describe(): string {
    return `cgroup v1, root "${this.opts.root}": ${[...this.used].map(([c, p]) => `${c} at ${p}`).join(', ')}`;
  }

  private dir(controller: string, id: string): string | undefined {
    const mount = this.used.get(controller);
    return mount === undefined ? undefined : path.join(mount, this.opts.root, id);
  }

  private dirs(id: string): string[] {
    return this.mountPoints.map((m) => path.join(m, this.opts.root, id));
  }

  setup(): string[] {
    const warnings: string[] = [];
    for (const [controller, mount] of this.used) {
      if (this.mounts.get(controller)?.readOnly) {
        throw cgroupsError(
          'CGROUPS_NOT_WRITABLE',
          `the cgroup v1 hierarchy at ${mount} is mounted read-only: remount it read-write (mount -o remount,rw ${mount}); ` +
            'inside a container, run the agent privileged with a writable /sys/fs/cgroup',
        );
      }
    }
    for (const mount of this.mountPoints) makeRoot(mount, this.opts.root);
    const cpu = this.dir('cpu', '');
    if (cpu && this.opts.cpuQuota && !exists(path.join(cpu, 'cpu.cfs_quota_us'))) {
      throw cgroupsError('CGROUPS_CONTROLLER_MISSING', `cpu_quota is on but ${cpu} has no cpu.cfs_quota_us (kernel without CONFIG_CFS_BANDWIDTH): set cpu_quota to false`);
    }
    const memory = this.dir('memory', '');
    if (memory) {
      if (this.opts.memorySwap && !exists(path.join(memory, 'memory.memsw.limit_in_bytes'))) {
        throw cgroupsError('CGROUPS_CONTROLLER_MISSING', `memory_swap is on but ${memory} has no memory.memsw.limit_in_bytes (swap accounting is off): boot with swapaccount=1, or set memory_swap to false`);
      }
      if (!/(^|\n)oom_kill /.test(readOptional(path.join(memory, 'memory.oom_control')) ?? '')) {
        warnings.push(`${memory}/memory.oom_control has no oom_kill counter (kernel before 4.13): OOM kills are seen only while under_oom is set and may be missed`);
      }
    }
    if (this.opts.subsystems.includes('cpu') && !this.used.has('cpuacct')) warnings.push('cgroup v1 controller "cpuacct" is not mounted: cpus_user_time_secs and cpus_system_time_secs are not reported');
    if (!this.used.has('freezer')) warnings.push('cgroup v1 controller "freezer" is not mounted: cleanup kills processes without freezing them first, so a fork bomb takes longer to end');
    return warnings;
  }

  list(): string[] {
    const ids = new Set<string>();
    for (const mount of this.mountPoints) for (const id of subdirectories(path.join(mount, this.opts.root))) ids.add(id);
    return [...ids];
  }

  exists(id: string): boolean {
    return this.dirs(id).some((d) => exists(d));
  }

  create(id: string): void {
    for (const dir of this.dirs(id)) {
      try {
        fs.mkdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw prepareFailed(id, dir, err);
        const procs = readOptional(path.join(dir, 'cgroup.procs')) ?? '';
        if (countLines(procs) > 0) {
          throw cgroupsError('CGROUPS_CGROUP_BUSY', `cgroup ${dir} of container ${id} already exists and holds processes ${procs.trim().split('\n').join(', ')}: clean up container ${id} first, or use a new container id`);
        }
      }
    }
  }

  apply(id: string, limits: Limits, first: boolean): void {
    const cpu = this.dir('cpu', id);
    if (cpu) {
      if (limits.cpus !== undefined) write(id, path.join(cpu, 'cpu.shares'), cpuShares(limits.cpus));
      if (this.opts.cpuQuota && limits.cpuLimit !== undefined) {
        if (first) write(id, path.join(cpu, 'cpu.cfs_period_us'), CFS_PERIOD_US);
        write(id, path.join(cpu, 'cpu.cfs_quota_us'), cfsQuotaUs(limits.cpuLimit));
      }
    }
    const memory = this.dir('memory', id);
    if (memory) {
      if (limits.memLimitBytes !== undefined) this.applyMemoryLimit(id, memory, limits.memLimitBytes, first);
      if (limits.memSoftLimitBytes !== undefined) write(id, path.join(memory, 'memory.soft_limit_in_bytes'), limits.memSoftLimitBytes);
    }
    if (!first) return;
    const pids = this.dir('pids', id);
    if (pids) write(id, path.join(pids, 'pids.max'), this.opts.pidsMax ?? 'max');
    const devices = this.dir('devices', id);
    if (devices) {
      write(id, path.join(devices, 'devices.deny'), 'a');
      for (const rule of this.opts.devices) write(id, path.join(devices, 'devices.allow'), formatDeviceRule(rule));
    }
  }

  // memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes: raise memsw first, lower it last.
  private applyMemoryLimit(id: string, dir: string, bytes: number, first: boolean): void {
    const limitFile = path.join(dir, 'memory.limit_in_bytes');
    const current = readNumber(limitFile) ?? Infinity;
    const target = bytes === Infinity ? -1 : bytes;
    const raising = bytes > (current >= UNLIMITED ? Infinity : current);
    if (!first && !raising) return;
    const memsw = this.opts.memorySwap ? path.join(dir, 'memory.memsw.limit_in_bytes') : undefined;
    if (raising) {
      if (memsw) write(id, memsw, target);
      write(id, limitFile, target);
    } else {
      write(id, limitFile, target);
      if (memsw) write(id, memsw, target);
    }
  }

  place(id: string, pid: number): void {
    for (const dir of this.dirs(id)) {
      try {
        writeFile(path.join(dir, 'cgroup.procs'), pid);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ESRCH' ? `process ${pid} does not exist (it exited before isolate)` : errnoText(err);
        throw cgroupsError('CGROUPS_ISOLATE_FAILED', `cannot move process ${pid} of container ${id} into ${dir}: ${why}`, err);
      }
    }
  }

  pids(id: string): number[] {
    const all = new Set<number>();
    for (const dir of this.dirs(id)) {
      for (const d of descendants(dir)) for (const pid of parsePids(readOptional(path.join(d, 'cgroup.procs')) ?? '')) all.add(pid);
    }
    return [...all];
  }

  pidsMaxHits(id: string): number | undefined {
    const pids = this.dir('pids', id);
    return pids === undefined ? undefined : parsePidsEvents(readOptional(path.join(pids, 'pids.events')));
  }

  usage(id: string): ResourceStatistics {
    const stats: ResourceStatistics = { timestamp: Date.now() / 1000 };
    // Processes and threads from one hierarchy: every process of the container is in each of them.
    const counted = this.dirs(id)[0];
    if (counted) {
      stats.processes = countLines(readFile(path.join(counted, 'cgroup.procs')));
      stats.threads = countLines(readFile(path.join(counted, 'tasks')));
    }
    const cpuacct = this.dir('cpuacct', id);
    if (cpuacct) {
      const acct = parseKeyValues(readFile(path.join(cpuacct, 'cpuacct.stat')));
      stats.cpusUserTimeSecs = (acct.get('user') ?? 0) / USER_HZ;
      stats.cpusSystemTimeSecs = (acct.get('system') ?? 0) / USER_HZ;
    }
    const cpu = this.dir('cpu', id);
    if (cpu) {
      const cs = parseKeyValues(readOptional(path.join(cpu, 'cpu.stat')) ?? '');
      if (cs.has('nr_periods')) stats.cpusNrPeriods = cs.get('nr_periods');
      if (cs.has('nr_throttled')) stats.cpusNrThrottled = cs.get('nr_throttled');
      if (cs.has('throttled_time')) stats.cpusThrottledTimeSecs = cs.get('throttled_time')! / 1e9;
    }
    const memory = this.dir('memory', id);
    if (memory) {
      stats.memTotalBytes = readNumber(path.join(memory, 'memory.usage_in_bytes'));
      const ms = parseKeyValues(readFile(path.join(memory, 'memory.stat')));
      stats.memRssBytes = ms.get('total_rss') ?? ms.get('rss');
      stats.memCacheBytes = ms.get('total_cache') ?? ms.get('cache');
      stats.memSwapBytes = ms.get('total_swap') ?? ms.get('swap') ?? 0;
      const limit = readNumber(path.join(memory, 'memory.limit_in_bytes'));
      if (limit !== undefined && limit < UNLIMITED) stats.memLimitBytes = limit;
      const soft = readNumber(path.join(memory, 'memory.soft_limit_in_bytes'));
      if (soft !== undefined && soft < UNLIMITED) stats.memSoftLimitBytes = soft;
      stats.memMaxTotalBytes = readNumber(path.join(memory, 'memory.max_usage_in_bytes'));
    }
    return stats;
  }

  oomFile(id: string): string | undefined {
    const memory = this.dir('memory', id);
    return memory && path.join(memory, 'memory.oom_control');
  }

  oomReport(id: string): OomReport {
    const memory = this.dir('memory', id);
    if (!memory) return { peakBytes: undefined, statistics: '' };
    return {
      peakBytes: readNumber(path.join(memory, 'memory.max_usage_in_bytes')),
      statistics: readOptional(path.join(memory, 'memory.stat')) ?? '',
    };
  }

  paths(id: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const controller of this.used.keys()) out[controller] = `/${this.opts.root}/${id}`;
    return out;
  }

  async kill(id: string, timeoutMs: number): Promise<void> {
    // Only a cgroup file system holds processes: never signal pids read from a plain directory (a fixture).
    if (!this.dirs(id).some((d) => exists(d) && isCgroupFs(d))) return;
    const freezer = this.dir('freezer', id);
    const state = freezer && path.join(freezer, 'freezer.state');
    const hasFreezer = state !== undefined && exists(state);
    await killEverything(
      {
        what: `container ${id} (${this.dirs(id).join(', ')})`,
        pids: () => this.pids(id),
        ...(hasFreezer && {
          freeze: () => writeFile(state, 'FROZEN'),
          frozen: () => (readOptional(state) ?? '').trim() === 'FROZEN',
          thaw: () => writeFile(state, 'THAWED'),
        }),
      },
      timeoutMs,
    );
  }

  async remove(id: string): Promise<void> {
    for (const dir of this.dirs(id)) await removeCgroup(dir);
  }
}

function write(id: string, file: string, value: string | number): void {
  try {
    writeFile(file, value);
  } catch (err) {
    throw prepareFailed(id, file, err, value);
  }
}

function prepareFailed(id: string, file: string, err: unknown, value?: string | number): Error {
  const what = value === undefined ? `cannot create ${file}` : `cannot write "${value}" to ${file}`;
  return cgroupsError('CGROUPS_PREPARE_FAILED', `container ${id}: ${what}: ${errnoText(err)}`, err);
}

/** makeRoot creates the root cgroup `root` under a hierarchy's mount point, explaining permission problems. */
export function makeRoot(mount: string, root: string): void {
  const dir = path.join(mount, root);
  try {
    // One level at a time: a recursive mkdir reports ENOENT instead of EROFS on a read-only mount.
    let at = mount;
    for (const part of root.split('/')) {
      at = path.join(at, part);
      try {
        fs.mkdirSync(at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      const uid = process.getuid?.();
      const who = uid !== undefined && uid !== 0 ? `; this module runs as uid ${uid}, not root` : '';
      const fix = code === 'EROFS' ? `remount it read-write (mount -o remount,rw ${mount})` : 'run the agent as root';
      throw cgroupsError(
        'CGROUPS_NOT_WRITABLE',
        `cannot create the cgroup ${dir}: ${errnoText(err)}${who}: ${fix} so the cgroup file system can be written, or leave cgroups out of --isolation`,
        err,
      );
    }
    throw cgroupsError('CGROUPS_NOT_WRITABLE', `cannot create the cgroup ${dir}: ${errnoText(err)}`, err);
  }
}
