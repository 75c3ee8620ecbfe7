/**
 * CgroupsIsolator is the isolator's behaviour, Mesos's cgroups isolator semantics over one
 * {@link CgroupDriver}: prepare makes the container's cgroups and writes its limits, isolate moves the
 * held process in, watch turns an OOM kill into a memory limitation, update changes limits, usage and
 * status read the cgroups, cleanup kills everything inside and removes them, and recover rebuilds the
 * state from the cgroups that exist (the cgroups are the state: nothing is kept elsewhere).
 */
import { TesseraError } from '@tessera/modules-api';
import type * as T from '@tessera/modules-api';
import { cgroupsError, errnoText } from '../errors';
import type { CgroupDriver } from './driver';
import { formatBytes, limitsOf, type Limits } from './limits';
import type { OomWatcher } from './oom-watcher';

/** How long cleanup keeps killing before it gives up: inside the core's default 5 s call deadline. */
export const KILL_TIMEOUT_MS = 4000;
/** How many lines of memory.stat a memory limitation's message carries. */
export const STAT_LINES = 20;

interface Container {
  id: string;
  limits: Limits;
  pid?: number;
  /** Recovered without a cgroup (launched before this isolator was enabled): nothing to read or remove. */
  absent?: boolean;
  /** Aborts when the container is cleaned up, ending watches that have nothing to poll. */
  released: AbortController;
}

/** Logger is the part of the SDK's logger the isolator uses. */
export interface IsolatorLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** CgroupsIsolator keeps the containers of one module process. */
export class CgroupsIsolator {
  private readonly containers = new Map<string, Container>();
  private readonly cleaning = new Map<string, Promise<void>>();

  constructor(
    readonly driver: CgroupDriver,
    private readonly watcher: OomWatcher,
    private readonly log: IsolatorLog,
  ) {}

  /** known lists the containers held now. */
  get known(): string[] {
    return [...this.containers.keys()];
  }

  /** prepare makes the container's cgroups and writes its limits; it changes nothing in the launch. */
  async prepare(req: T.PrepareRequest): Promise<undefined> {
    const id = containerIdOf(req.containerId, 'prepare');
    if (this.containers.has(id) || this.cleaning.has(id)) {
      throw cgroupsError('CGROUPS_ALREADY_PREPARED', `prepare: container ${id} is already prepared: clean it up before preparing it again`);
    }
    const limits = limitsOf(req.containerConfig?.resources, req.containerConfig?.limits);
    const c: Container = { id, limits, released: new AbortController() };
    this.containers.set(id, c);
    try {
      this.driver.create(id);
      this.driver.apply(id, limits, true);
    } catch (err) {
      this.containers.delete(id);
      // A busy cgroup is someone else's: leave it. Anything else is ours, half made: remove it.
      if ((err as TesseraError).code !== 'CGROUPS_CGROUP_BUSY') await this.driver.remove(id).catch(() => undefined);
      if (err instanceof TesseraError) throw err;
      throw cgroupsError('CGROUPS_PREPARE_FAILED', `prepare of container ${id}: ${errnoText(err)}`, err);
    }
    return undefined;
  }

  /** isolate moves the container's held process into its cgroups (its children follow). */
  async isolate(req: T.IsolateRequest): Promise<void> {
    const c = this.known_(req.containerId, 'isolate');
    const pid = req.pid ?? 0;
    if (!Number.isInteger(pid) || pid <= 1) throw new TesseraError('TSR_INVALID_ARGUMENT', `isolate: container ${c.id}: pid must be the container's process id, not ${req.pid}`);
    if (!c.absent) this.driver.place(c.id, pid);
    c.pid = pid;
  }

  /** watch resolves with a memory limitation once the container is OOM-killed; undefined when cancelled or cleaned up. */
  async watch(req: T.WatchRequest, signal: AbortSignal): Promise<T.WatchEvent | undefined> {
    const c = this.known_(req.containerId, 'watch');
    const file = c.absent ? undefined : this.driver.oomFile(c.id);
    const stop = AbortSignal.any([signal, c.released.signal]);
    if (!file) {
      await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
      return undefined;
    }
    const kills = await this.watcher.wait(c.id, file, stop);
    if (kills === undefined) return undefined;
    const limitation = this.memoryLimitation(c);
    this.log.warn(`container ${c.id} was OOM-killed`, { container: c.id, oom_kills: kills, limit: c.limits.memLimitBytes });
    return { containerId: req.containerId, limitation };
  }

  private memoryLimitation(c: Container): T.ContainerLimitation {
    let report = { peakBytes: undefined as number | undefined, statistics: '' };
    let limit = c.limits.memLimitBytes;
    try {
      report = this.driver.oomReport(c.id);
      limit ??= this.driver.usage(c.id).memLimitBytes;
    } catch {
      // The cgroup may already be going away; the message still says what was hit.
    }
    const top = report.statistics.split('\n').filter(Boolean).slice(0, STAT_LINES).join('\n');
    const used = report.peakBytes === undefined ? '' : ` Maximum Used: ${formatBytes(report.peakBytes)}`;
    const message = `Memory limit exceeded: Requested: ${limit === undefined ? 'unknown' : formatBytes(limit)}${used}\n\nMEMORY STATISTICS: \n${top}`;
    // As Mesos: the limitation's mem resource is the memory used, in MB.
    const usedMb = (report.peakBytes ?? limit ?? 0) / (1024 * 1024);
    return {
      resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: Math.round(usedMb * 1000) / 1000 } }],
      message,
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
    };
  }

  /** update writes limits for the container's new resources (a hard memory limit only ever rises). */
  async update(req: T.UpdateRequest): Promise<void> {
    const c = this.known_(req.containerId, 'update');
    const next = limitsOf(req.resources, req.limits);
    if (!c.absent) {
      try {
        this.driver.apply(c.id, next, false);
      } catch (err) {
        const e = TesseraError.wrap(err);
        throw cgroupsError('CGROUPS_UPDATE_FAILED', `update: ${e.message}`, err);
      }
    }
    // A hard memory limit is only ever raised after prepare.
    const mem = Math.max(c.limits.memLimitBytes ?? 0, next.memLimitBytes ?? 0);
    c.limits = { ...next, ...(mem > 0 && { memLimitBytes: mem }) };
  }

  /** usage reads the container's statistics from its cgroups. */
  async usage(req: T.UsageRequest): Promise<T.ResourceStatistics> {
    const c = this.known_(req.containerId, 'usage');
    if (c.absent) return { timestamp: Date.now() / 1000 };
    let stats: T.ResourceStatistics;
    try {
      stats = this.driver.usage(c.id);
    } catch (err) {
      throw cgroupsError('CGROUPS_READ_FAILED', `usage: cannot read the cgroups of container ${c.id}: ${errnoText(err)}${this.driver.exists(c.id) ? '' : ' (its cgroup was removed behind the agent\'s back)'}`, err);
    }
    if (c.limits.cpus !== undefined) stats.cpusLimit = c.limits.cpus;
    return stats;
  }

  /** status answers the container's pid and its cgroup path per controller. */
  async status(req: T.StatusRequest): Promise<T.ContainerStatus> {
    const c = this.known_(req.containerId, 'status');
    return {
      containerId: req.containerId,
      ...(c.pid !== undefined && { executorPid: c.pid }),
      cgroups: c.absent ? {} : this.driver.paths(c.id),
    };
  }

  /** cleanup kills every process in the container's cgroups and removes them; fine for unknown containers. */
  async cleanup(req: T.CleanupRequest): Promise<void> {
    const id = containerIdOf(req.containerId, 'cleanup');
    const running = this.cleaning.get(id);
    if (running) return running;
    const p = this.destroy(id).finally(() => this.cleaning.delete(id));
    this.cleaning.set(id, p);
    return p;
  }

  private async destroy(id: string): Promise<void> {
    const c = this.containers.get(id);
    // An OOM kill that happened just before cleanup still reaches watch(), ahead of cleanup's answer.
    if (c) {
      this.watcher.flush(id);
      this.watcher.forget(id);
      c.released.abort();
    }
    if (c?.absent || !this.driver.exists(id)) {
      this.containers.delete(id);
      return;
    }
    // Reaching pids.max is no limitation (Mesos reports none): forks just fail with EAGAIN, which a task
    // may or may not say. The operator hears of it here.
    const hits = this.driver.pidsMaxHits(id);
    if (hits) this.log.warn(`container ${id} reached its pids.max ${hits} time(s): those forks and thread creations failed with EAGAIN; raise pids_max if the task needs more`, { container: id, pids_max_hits: hits });
    try {
      await this.driver.kill(id, KILL_TIMEOUT_MS);
    } catch (err) {
      throw cgroupsError('CGROUPS_CLEANUP_FAILED', `cleanup of container ${id}: ${(err as Error).message}: processes in uninterruptible sleep (state D, e.g. on a hung NFS mount) cannot die until their I/O ends; the agent retries cleanup`, err);
    }
    try {
      await this.driver.remove(id);
    } catch (err) {
      throw cgroupsError('CGROUPS_CLEANUP_FAILED', `cleanup of container ${id}: cannot remove its cgroup: ${errnoText(err)}; the agent retries cleanup`, err);
    }
    this.containers.delete(id);
  }

  /**
   * recover takes back the containers the agent knows to be running (re-attaching to their cgroups),
   * and removes the cgroups of orphans and of containers nobody knows (as Mesos does).
   */
  async recover(req: T.RecoverRequest): Promise<void> {
    const known = new Set<string>();
    for (const state of req.states ?? []) {
      const id = containerIdOf(state.containerId, 'recover');
      known.add(id);
      const existing = this.containers.get(id);
      const limits = state.config?.resources ? limitsOf(state.config.resources, state.config.limits) : (existing?.limits ?? {});
      const absent = !this.driver.exists(id);
      if (absent) this.log.warn(`recover: container ${id} has no cgroup under this isolator's root (launched before cgroups isolation was enabled?): it is not isolated`, { container: id });
      this.containers.set(id, { id, limits, pid: state.pid || existing?.pid, absent, released: existing?.released ?? new AbortController() });
    }
    const orphans = new Set((req.orphans ?? []).map((o) => containerIdOf(o, 'recover')));
    for (const id of this.driver.list()) {
      if (known.has(id) || orphans.has(id) || this.containers.has(id)) continue;
      this.log.warn(`recover: removing the cgroup of unknown container ${id} (neither running nor an orphan the agent knows)`, { container: id });
      orphans.add(id);
    }
    const failures: string[] = [];
    for (const id of orphans) {
      if (known.has(id)) continue;
      try {
        await this.cleanup({ containerId: { value: id } });
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`);
      }
    }
    if (failures.length) {
      // Recover succeeds anyway (the running containers are back); the orphans stay for the next recover.
      this.log.error(`recover: ${failures.length} orphan(s) could not be removed`, { failures });
    }
    this.log.info('recovered', { containers: known.size, orphans_removed: orphans.size - failures.length });
  }

  /** close stops watching (containers and cgroups stay: they outlive the module). */
  close(): void {
    this.watcher.close();
  }

  private known_(id: T.ContainerID | undefined, call: string): Container {
    const value = containerIdOf(id, call);
    const c = this.containers.get(value);
    if (!c) throw cgroupsError('CGROUPS_UNKNOWN_CONTAINER', `${call}: container ${value} is not prepared by this isolator (never prepared, already cleaned up, or not given to recover after a restart)`);
    return c;
  }
}

// Names that are interface files of some controller cannot be cgroup names.
const RESERVED = /^(cgroup|cpu|cpuacct|cpuset|memory|pids|devices|freezer|io|blkio|hugetlb|rdma|misc|net_cls|net_prio|perf_event)\./;

/** containerIdOf checks a container id and returns it as the cgroup name it becomes. */
export function containerIdOf(id: T.ContainerID | undefined, call: string): string {
  const value = id?.value;
  if (!value) throw new TesseraError('TSR_INVALID_ARGUMENT', `${call}: container_id is required`);
  if (value === '.' || value === '..' || value.includes('/') || value.includes('\0') || RESERVED.test(value) || value.length > 200) {
    throw cgroupsError('CGROUPS_INVALID_CONTAINER_ID', `${call}: container id "${value}" cannot be a cgroup name (no "/", not "." or "..", not a controller file name such as "cpu.shares", at most 200 characters)`);
  }
  return value;
}
