/**
 * cgroup v2: one unified hierarchy. A container is `<root>/<containerId>` holding the limits, with its
 * processes in the child `<root>/<containerId>/leaf` (as Mesos does), so that the container cgroup
 * itself has no processes and may enable controllers for cgroups the task makes below it. Controllers
 * are enabled down the path from the mount to `<root>` at Configure.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ResourceStatistics } from '@tessera/modules-api';
import { cgroupsError, errnoText } from '../errors';
import { countLines, cpuMax, cpuWeight, parseKeyValues, parsePids, type Limits } from './limits';
import { descendants, exists, isCgroupFs, readNumber, readOptional, removeCgroup, subdirectories, writeFile } from './cgroupfs';
import { killEverything } from './killer';
import { makeRoot } from './v1';
import { parsePidsEvents, type CgroupDriver, type DriverOptions, type OomReport } from './driver';

/** LEAF is the child cgroup of a container that holds its processes. */
export const LEAF = 'leaf';

/** V2Driver drives the unified hierarchy of cgroup v2. */
export class V2Driver implements CgroupDriver {
  readonly version = 2 as const;
  /** The v2 controllers this module enables and writes (cpu, memory, pids). */
  readonly controllers: string[];

  constructor(
    private readonly mount: string,
    private readonly readOnly: boolean,
    private readonly opts: DriverOptions,
  ) {
    if (opts.subsystems.includes('devices')) {
      throw cgroupsError(
        'CGROUPS_DEVICES_UNSUPPORTED',
        `the devices subsystem on cgroup v2 (${mount}) needs an eBPF device program, which this module does not load yet: ` +
          'leave "devices" out of subsystems on this host (or run a cgroup v1 host for device isolation)',
      );
    }
    this.controllers = opts.subsystems.filter((s) => s !== 'devices');
    const available = (readOptional(path.join(mount, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
    const missing = this.controllers.filter((c) => !available.includes(c));
    if (missing.length) {
      throw cgroupsError(
        'CGROUPS_CONTROLLER_MISSING',
        `cgroup v2 at ${mount} does not offer controller(s) ${missing.join(', ')} (cgroup.controllers: ${available.join(' ') || 'none'}): ` +
          `on a hybrid host they are bound to v1 hierarchies, so use hierarchy "v1" (or "auto"); otherwise enable them in the parent's cgroup.subtree_control, or leave ${missing.join(', ')} out of subsystems`,
      );
    }
  }

  describe(): string {
    return `cgroup v2 at ${this.mount}, root "${this.opts.root}", controllers: ${this.controllers.join(', ') || 'none (placement and accounting only)'}`;
  }

  private dir(id: string): string {
    return path.join(this.mount, this.opts.root, id);
  }

  setup(): string[] {
    if (this.readOnly) {
      throw cgroupsError('CGROUPS_NOT_WRITABLE', `the cgroup v2 hierarchy at ${this.mount} is mounted read-only: remount it read-write (mount -o remount,rw ${this.mount}); inside a container, run the agent privileged with a writable /sys/fs/cgroup`);
    }
    const rootDir = path.join(this.mount, this.opts.root);
    makeRoot(this.mount, this.opts.root);
    // Enable the controllers on every level from the mount down to the root, so container cgroups get them.
    let dir = this.mount;
    for (const part of ['', ...this.opts.root.split('/')]) {
      dir = path.join(dir, part);
      this.enableControllers(dir);
    }
    const warnings: string[] = [];
    if (isCgroupFs(this.mount) && !exists(path.join(rootDir, 'cgroup.kill'))) {
      warnings.push(`${rootDir} has no cgroup.kill (Linux before 5.14): cleanup freezes and kills processes one by one`);
    }
    return warnings;
  }

  private enableControllers(dir: string): void {
    if (this.controllers.length === 0) return;
    const file = path.join(dir, 'cgroup.subtree_control');
    const enabled = (readOptional(file) ?? '').trim().split(/\s+/);
    const wanted = this.controllers.filter((c) => !enabled.includes(c));
    if (wanted.length === 0) return;
    try {
      writeFile(file, wanted.map((c) => `+${c}`).join(' '));
    } catch (err) {
      const busy = (err as NodeJS.ErrnoException).code === 'EBUSY';
      throw cgroupsError(
        'CGROUPS_NOT_WRITABLE',
        `cannot enable ${wanted.join(', ')} in ${file}: ${errnoText(err)}` +
          (busy ? ` (${dir} holds processes, and cgroup v2 enables controllers only for cgroups without processes: move them to a child cgroup, or choose another root)` : ''),
        err,
      );
    }
  }

  list(): string[] {
    return subdirectories(path.join(this.mount, this.opts.root));
  }

  exists(id: string): boolean {
    return exists(this.dir(id));
  }

  create(id: string): void {
    const dir = this.dir(id);
    for (const d of [dir, path.join(dir, LEAF)]) {
      try {
        fs.mkdirSync(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw failed('CGROUPS_PREPARE_FAILED', id, `cannot create ${d}`, err);
      }
    }
    const pids = this.pids(id);
    if (pids.length) {
      throw cgroupsError('CGROUPS_CGROUP_BUSY', `cgroup ${dir} of container ${id} already exists and holds processes ${pids.join(', ')}: clean up container ${id} first, or use a new container id`);
    }
  }

  apply(id: string, limits: Limits, first: boolean): void {
    const dir = this.dir(id);
    const w = (file: string, value: string | number) => {
      try {
        writeFile(path.join(dir, file), value);
      } catch (err) {
        throw failed('CGROUPS_PREPARE_FAILED', id, `cannot write "${value}" to ${path.join(dir, file)}`, err);
      }
    };
    if (this.controllers.includes('cpu')) {
      if (limits.cpus !== undefined) w('cpu.weight', cpuWeight(limits.cpus));
      if (this.opts.cpuQuota && limits.cpuLimit !== undefined) w('cpu.max', cpuMax(limits.cpuLimit));
    }
    if (this.controllers.includes('memory')) {
      if (limits.memLimitBytes !== undefined) {
        const current = readNumber(path.join(dir, 'memory.max')) ?? Infinity;
        // As on v1: lower a hard limit only at prepare, so an update never OOM-kills a running task.
        if (first || limits.memLimitBytes > current) w('memory.max', limits.memLimitBytes === Infinity ? 'max' : limits.memLimitBytes);
      }
      if (limits.memSoftLimitBytes !== undefined) w('memory.low', limits.memSoftLimitBytes);
      // v2 limits swap apart from memory: no swap at all keeps memory + swap within memory.max.
      if (first && this.opts.memorySwap) w('memory.swap.max', 0);
    }
    if (first && this.controllers.includes('pids')) w('pids.max', this.opts.pidsMax ?? 'max');
  }

  place(id: string, pid: number): void {
    const file = path.join(this.dir(id), LEAF, 'cgroup.procs');
    try {
      writeFile(file, pid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ESRCH' ? `process ${pid} does not exist (it exited before isolate)` : errnoText(err);
      throw cgroupsError('CGROUPS_ISOLATE_FAILED', `cannot move process ${pid} of container ${id} into ${path.dirname(file)}: ${why}`, err);
    }
  }

  pids(id: string): number[] {
    const all: number[] = [];
    for (const d of descendants(this.dir(id))) all.push(...parsePids(readOptional(path.join(d, 'cgroup.procs')) ?? ''));
    return [...new Set(all)];
  }

  usage(id: string): ResourceStatistics {
    const dir = this.dir(id);
    const leaf = path.join(dir, LEAF);
    const stats: ResourceStatistics = {
      timestamp: Date.now() / 1000,
      processes: countLines(readOptional(path.join(leaf, 'cgroup.procs')) ?? ''),
      threads: countLines(readOptional(path.join(leaf, 'cgroup.threads')) ?? ''),
    };
    // cpu.stat is a core file of every v2 cgroup (usage, user, system); the cpu controller adds throttling.
    const cs = parseKeyValues(readOptional(path.join(dir, 'cpu.stat')) ?? '');
    if (cs.has('user_usec')) stats.cpusUserTimeSecs = cs.get('user_usec')! / 1e6;
    if (cs.has('system_usec')) stats.cpusSystemTimeSecs = cs.get('system_usec')! / 1e6;
    if (cs.has('nr_periods')) stats.cpusNrPeriods = cs.get('nr_periods');
    if (cs.has('nr_throttled')) stats.cpusNrThrottled = cs.get('nr_throttled');
    if (cs.has('throttled_usec')) stats.cpusThrottledTimeSecs = cs.get('throttled_usec')! / 1e6;
    if (this.controllers.includes('memory')) {
      stats.memTotalBytes = readNumber(path.join(dir, 'memory.current'));
      const ms = parseKeyValues(readOptional(path.join(dir, 'memory.stat')) ?? '');
      stats.memRssBytes = ms.get('anon');
      stats.memCacheBytes = ms.get('file');
      stats.memSwapBytes = readNumber(path.join(dir, 'memory.swap.current')) ?? 0;
      stats.memLimitBytes = readNumber(path.join(dir, 'memory.max'));
      stats.memSoftLimitBytes = readNumber(path.join(dir, 'memory.low'));
      stats.memMaxTotalBytes = readNumber(path.join(dir, 'memory.peak'));
    }
    return stats;
  }

  pidsMaxHits(id: string): number | undefined {
    return this.controllers.includes('pids') ? parsePidsEvents(readOptional(path.join(this.dir(id), 'pids.events'))) : undefined;
  }

  oomFile(id: string): string | undefined {
    return this.controllers.includes('memory') ? path.join(this.dir(id), 'memory.events') : undefined;
  }

  oomReport(id: string): OomReport {
    const dir = this.dir(id);
    return {
      peakBytes: readNumber(path.join(dir, 'memory.peak')) ?? readNumber(path.join(dir, 'memory.current')),
      statistics: readOptional(path.join(dir, 'memory.stat')) ?? '',
    };
  }

  paths(id: string): Record<string, string> {
    const p = `/${this.opts.root}/${id}`;
    const out: Record<string, string> = { unified: `${p}/${LEAF}` };
    for (const c of this.controllers) out[c] = p;
    return out;
  }

  async kill(id: string, timeoutMs: number): Promise<void> {
    const dir = this.dir(id);
    // Only a cgroup file system holds processes: never signal pids read from a plain directory (a fixture).
    if (!exists(dir) || !isCgroupFs(dir)) return;
    const killFile = path.join(dir, 'cgroup.kill');
    const freezeFile = path.join(dir, 'cgroup.freeze');
    const events = path.join(dir, 'cgroup.events');
    const hasKill = exists(killFile);
    const hasFreeze = !hasKill && exists(freezeFile);
    await killEverything(
      {
        what: `container ${id} (${dir})`,
        pids: () => this.pids(id),
        ...(hasKill && { killAll: () => writeFile(killFile, '1') }),
        ...(hasFreeze && {
          freeze: () => writeFile(freezeFile, '1'),
          frozen: () => /(^|\n)frozen 1/.test(readOptional(events) ?? ''),
          thaw: () => writeFile(freezeFile, '0'),
        }),
      },
      timeoutMs,
    );
  }

  async remove(id: string): Promise<void> {
    await removeCgroup(this.dir(id));
  }
}

function failed(code: 'CGROUPS_PREPARE_FAILED', id: string, what: string, err: unknown): Error {
  return cgroupsError(code, `container ${id}: ${what}: ${errnoText(err)}`, err);
}
