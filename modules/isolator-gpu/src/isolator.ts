/**
 * GpuIsolator is the isolator's behaviour, Mesos's `gpu/nvidia` semantics: Prepare picks free whole
 * GPUs for the container, checkpoints the assignment and answers the environment (and driver volume);
 * Isolate lets the container's devices cgroup open only its GPUs and moves the held process in; Update
 * grows or shrinks the set; Usage reads utilisation and memory through nvidia-smi; Cleanup revokes and
 * frees; Recover keeps the assignments of the containers the agent still knows (from the checkpoint,
 * else from the cgroup's allow-list) and frees the rest. Every container is isolated, those without
 * GPUs too: they may open no GPU at all.
 */
import fs from 'node:fs';
import { containerIdOf } from '@tessera/isolator-cgroups';
import { TesseraError } from '@tessera/modules-api';
import type * as T from '@tessera/modules-api';
import { Assignments, type Assignment } from './allocation/assignments';
import type { CheckpointStore } from './allocation/checkpoint';
import type { ControlDevice } from './discovery/device-nodes';
import { gpuId, gpuLabel, type Gpu } from './discovery/gpu';
import { refreshHealth, type Inventory } from './discovery/inventory';
import { discover } from './discovery/discover';
import { queryUsage, type GpuUsage } from './discovery/nvidia-smi';
import { gpuError, taskInvalid } from './errors';
import type { DevicesCgroup } from './isolation/devices-cgroup';
import { livesUnder, type DriverVolume } from './isolation/driver-volume';
import { launchInfoFor, type VolumeUse } from './isolation/launch-info';
import type { GpuSettings } from './parameters';
import { ResourceFeed, resourceList } from './resource-feed';

/** USAGE_CACHE_MS is how long one nvidia-smi usage answer serves Usage calls. */
export const USAGE_CACHE_MS = 1000;
/** USAGE_TIMEOUT_MS bounds the nvidia-smi run of Usage, inside the core's call deadline. */
const USAGE_TIMEOUT_MS = 3000;

/** IsolatorLog is the part of the SDK's logger the isolator uses. */
export interface IsolatorLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** GpuIsolatorParts are what Configure found and made. */
export interface GpuIsolatorParts {
  settings: GpuSettings;
  inventory: Inventory;
  /** The devices cgroups; undefined only on a host without v1 devices and without GPUs. */
  cgroup: DevicesCgroup | undefined;
  controls: ControlDevice[];
  volume: DriverVolume | undefined;
  store: CheckpointStore | undefined;
  log: IsolatorLog;
}

/**
 * gpusRequested reads the whole number of GPUs in a container's resources; a fractional or negative
 * amount is the framework's mistake (TSR_TASK_INVALID, reported as TASK_ERROR). Scalars keep three
 * decimal digits, as Mesos compares them.
 */
export function gpusRequested(resources: readonly T.Resource[] | undefined, containerId: string): number {
  let total = 0;
  for (const r of resources ?? []) if (r.name === 'gpus') total += r.scalar?.value ?? 0;
  const milli = Math.round(total * 1000);
  if (milli < 0 || milli % 1000 !== 0) {
    throw taskInvalid(`container ${containerId} asks for ${total} GPUs: GPUs are allocated whole, so the task must ask for a whole number of gpus (1, 2, ...): the framework must fix the task`);
  }
  return milli / 1000;
}

/** GpuIsolator keeps the GPUs and containers of one module process. */
export class GpuIsolator {
  readonly table: Assignments;
  readonly feed: ResourceFeed;
  private readonly pids = new Map<string, number>();
  private readonly cleaning = new Map<string, Promise<void>>();
  private poller: NodeJS.Timeout | undefined;
  private usageCache: { at: number; figures: Promise<Map<string, GpuUsage>> } | undefined;
  private polling = false;

  constructor(private readonly parts: GpuIsolatorParts) {
    this.table = new Assignments(parts.inventory.gpus);
    this.feed = new ResourceFeed(() => resourceList(this.table, parts.settings.devRoot));
  }

  /** load takes back the checkpointed assignments (Configure); they hold until Recover says otherwise. */
  load(): void {
    if (!this.parts.store) return;
    const { assignments, problems } = this.parts.store.load(this.table.all);
    for (const p of problems) this.parts.log.warn(p);
    for (const a of assignments) {
      try {
        this.table.take(a);
      } catch (err) {
        this.parts.log.error(`checkpoint: ${(err as Error).message}: the second container's claim is dropped`);
      }
    }
  }

  async prepare(req: T.PrepareRequest): Promise<T.ContainerLaunchInfo | undefined> {
    const id = containerIdOf(req.containerId, 'prepare');
    if (this.table.get(id) || this.cleaning.has(id)) throw gpuError('GPU_ALREADY_PREPARED', `prepare: container ${id} is already prepared: clean it up before preparing it again`);
    const config = req.containerConfig ?? {};
    const count = gpusRequested(config.resources, id);
    const { cgroup, inventory } = this.parts;
    if (inventory.gpus.length === 0 && count > 0) {
      throw gpuError('GPU_UNAVAILABLE', `container ${id} asks for ${count} GPU(s), but this agent has none (${inventory.notes.join('; ') || 'no GPUs found'}): the framework must run it on an agent with GPUs`);
    }
    const a = this.table.assign(id, count, false);
    try {
      // Without a devices hierarchy there are no GPUs either (Configure refuses otherwise): nothing to keep apart.
      if (cgroup) a.ownsCgroup = cgroup.create(id);
      this.save();
    } catch (err) {
      this.table.release(id);
      if (a.ownsCgroup) await cgroup?.remove(id).catch(() => undefined);
      throw err;
    }
    const gpus = this.gpusOf(a);
    if (gpus.length) this.parts.log.info(`container ${id} gets ${gpus.map(gpuLabel).join(', ')}`, { container: id, gpus: gpus.map(gpuId) });
    if (inventory.gpus.length === 0) return undefined;
    return launchInfoFor({
      gpus,
      devRoot: this.parts.settings.devRoot,
      controls: this.parts.controls,
      ...(this.parts.volume && { volume: this.parts.volume }),
      volumeMode: this.volumeMode(config),
      containerPath: this.parts.settings.driverVolumePath,
      basePath: process.env.PATH,
      baseLibraryPath: process.env.LD_LIBRARY_PATH,
    });
  }

  // "auto" mounts when the target exists on the agent and the containerizer can mount (root, no other
  // user). A driver installed at the target itself needs no mount (and a mount would hide it): in place.
  private volumeMode(config: T.ContainerConfig): VolumeUse {
    const { driverVolume: mode, driverVolumePath } = this.parts.settings;
    if (mode === 'env') return mode;
    if (this.parts.volume && livesUnder(this.parts.volume, driverVolumePath)) return 'in-place';
    if (mode === 'mount') return mode;
    const asRoot = !config.user || config.user === 'root';
    return asRoot && process.getuid?.() === 0 && fs.existsSync(driverVolumePath) ? 'mount' : 'env';
  }

  async isolate(req: T.IsolateRequest): Promise<void> {
    const a = this.known(req.containerId, 'isolate');
    const pid = req.pid ?? 0;
    if (!Number.isInteger(pid) || pid <= 1) throw new TesseraError('TSR_INVALID_ARGUMENT', `isolate: container ${a.containerId}: pid must be the container's process id, not ${req.pid}`);
    const cgroup = this.parts.cgroup;
    if (!cgroup) return;
    if (!cgroup.exists(a.containerId)) {
      a.ownsCgroup = cgroup.create(a.containerId) || a.ownsCgroup;
      this.save();
    }
    // Rules go in at Isolate, after every Prepare: a cgroups module preparing after this one resets them.
    cgroup.apply(a.containerId, a.minors, this.parts.controls);
    cgroup.place(a.containerId, pid);
    this.pids.set(a.containerId, pid);
  }

  async update(req: T.UpdateRequest): Promise<void> {
    const a = this.known(req.containerId, 'update');
    const count = gpusRequested(req.resources, a.containerId);
    if (count === a.minors.length) return;
    const before = [...a.minors];
    const { added, removed } = this.table.resize(a.containerId, count);
    const cgroup = this.parts.cgroup;
    try {
      if (cgroup?.exists(a.containerId)) {
        cgroup.revoke(a.containerId, removed);
        cgroup.apply(a.containerId, a.minors, this.parts.controls);
      }
      this.save();
    } catch (err) {
      a.minors = before;
      throw err;
    }
    this.parts.log.info(`container ${a.containerId} now holds ${a.minors.length} GPU(s)`, { container: a.containerId, added, removed });
    this.feed.changed();
  }

  /**
   * usage reports the container's GPUs in gpus_utilization (the ABI's only GPU field): the key of
   * each GPU's UUID holds its utilisation in percent, "<uuid>/memory_used_bytes" and
   * "<uuid>/memory_total_bytes" its memory. Empty when nvidia-smi cannot say.
   */
  async usage(req: T.UsageRequest): Promise<T.ResourceStatistics> {
    const a = this.known(req.containerId, 'usage');
    const stats: T.ResourceStatistics = { timestamp: Date.now() / 1000 };
    const uuids = this.gpusOf(a).map((g) => g.uuid).filter((u): u is string => !!u);
    if (uuids.length === 0 || this.parts.inventory.source !== 'nvidia-smi') return stats;
    const figures = await this.usageFigures();
    const map: Record<string, number> = {};
    for (const uuid of uuids) {
      const u = figures.get(uuid);
      if (!u) continue;
      if (u.utilization !== undefined) map[uuid] = u.utilization;
      if (u.memoryUsedMiB !== undefined) map[`${uuid}/memory_used_bytes`] = u.memoryUsedMiB * 1024 * 1024;
      if (u.memoryTotalMiB !== undefined) map[`${uuid}/memory_total_bytes`] = u.memoryTotalMiB * 1024 * 1024;
    }
    if (Object.keys(map).length) stats.gpusUtilization = map;
    return stats;
  }

  // One nvidia-smi run answers every container's Usage for a second (the agent asks for all at once).
  private usageFigures(): Promise<Map<string, GpuUsage>> {
    const now = Date.now();
    if (!this.usageCache || now - this.usageCache.at > USAGE_CACHE_MS) {
      const timeoutMs = Math.min(this.parts.settings.commandTimeoutMs, USAGE_TIMEOUT_MS);
      this.usageCache = { at: now, figures: queryUsage({ nvidiaSmi: this.parts.settings.nvidiaSmi, timeoutMs }) };
    }
    return this.usageCache.figures;
  }

  async status(req: T.StatusRequest): Promise<T.ContainerStatus> {
    const a = this.known(req.containerId, 'status');
    const pid = this.pids.get(a.containerId);
    return {
      containerId: req.containerId,
      ...(pid !== undefined && { executorPid: pid }),
      ...(this.parts.cgroup && { cgroups: { devices: `/${this.parts.settings.root}/${a.containerId}` } }),
      labels: { labels: [{ key: 'gpus', value: this.gpusOf(a).map(gpuId).join(',') }] },
    };
  }

  /** cleanup revokes the container's GPUs, removes its cgroup if this module made it, and frees them; fine for unknown containers. */
  async cleanup(req: T.CleanupRequest): Promise<void> {
    const id = containerIdOf(req.containerId, 'cleanup');
    const running = this.cleaning.get(id);
    if (running) return running;
    const p = this.release(id).finally(() => this.cleaning.delete(id));
    this.cleaning.set(id, p);
    return p;
  }

  private async release(id: string): Promise<void> {
    const a = this.table.get(id);
    if (!a) return;
    const cgroup = this.parts.cgroup;
    if (cgroup?.exists(id)) {
      // A process that outlived the container must not keep opening a GPU that is handed out next.
      if (a.minors.length) cgroup.revoke(id, a.minors);
      if (a.ownsCgroup) await cgroup.remove(id);
    }
    const before = this.table.offerable();
    this.table.release(id);
    this.pids.delete(id);
    this.save();
    if (this.table.offerable() !== before) this.feed.changed();
  }

  /**
   * recover keeps the GPUs of the containers the agent knows: from the checkpoint, or, for one it does
   * not name, from the container's devices cgroup when it lists its GPUs (an allow-list). Their rules are
   * written again. Checkpointed containers the agent does not know, and orphans, are cleaned up.
   */
  async recover(req: T.RecoverRequest): Promise<void> {
    const known = new Set<string>();
    const { cgroup, log } = this.parts;
    for (const state of req.states ?? []) {
      const id = containerIdOf(state.containerId, 'recover');
      known.add(id);
      if (state.pid) this.pids.set(id, state.pid);
      let a = this.table.get(id);
      if (!a && cgroup?.exists(id)) {
        const minors = cgroup.grantedMinors(id)?.filter((m) => this.table.gpu(m));
        if (minors === undefined) {
          log.warn(`recover: container ${id} is not in the checkpoint and its devices cgroup allows everything but exceptions, which cannot be read back: it keeps no GPU`, { container: id });
        }
        try {
          this.table.take({ containerId: id, minors: minors ?? [], ownsCgroup: false });
          a = this.table.get(id);
        } catch (err) {
          log.error(`recover: container ${id}: ${(err as Error).message}; it keeps no GPU`, { container: id });
        }
      }
      if (!a) {
        if ((state.config?.resources ?? []).some((r) => r.name === 'gpus' && (r.scalar?.value ?? 0) > 0)) log.warn(`recover: container ${id} asked for GPUs but has no assignment and no cgroup of this module: it is not isolated`, { container: id });
        continue;
      }
      if (cgroup?.exists(id)) {
        try {
          cgroup.apply(id, a.minors, this.parts.controls);
        } catch (err) {
          log.error(`recover: cannot write the device rules of container ${id} again: ${(err as Error).message}`, { container: id });
        }
      }
    }
    const orphans = new Set((req.orphans ?? []).map((o) => containerIdOf(o, 'recover')));
    for (const a of this.table.containers) if (!known.has(a.containerId)) orphans.add(a.containerId);
    const failures: string[] = [];
    for (const id of orphans) {
      if (known.has(id)) continue;
      try {
        await this.cleanup({ containerId: { value: id } });
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`);
      }
    }
    this.save();
    if (failures.length) log.error(`recover: ${failures.length} container(s) could not be cleaned up; they keep their GPUs until a later cleanup`, { failures });
    log.info('recovered', { containers: known.size, holding_gpus: this.table.containers.filter((a) => a.minors.length).map((a) => `${a.containerId}:${a.minors.join('+')}`), freed: orphans.size - failures.length });
    this.feed.changed();
  }

  /** startHealthPolls reads GPU health every `health_poll_interval_ms` and tells the feed about changes. */
  startHealthPolls(): void {
    const every = this.parts.settings.healthPollIntervalMs;
    if (every <= 0 || this.parts.inventory.gpus.length === 0) return;
    this.poller = setInterval(() => void this.pollHealth(), every);
    this.poller.unref();
  }

  /** pollHealth reads health once; resolves with whether anything changed. */
  async pollHealth(): Promise<boolean> {
    if (this.polling) return false;
    this.polling = true;
    try {
      const { settings, inventory, log } = this.parts;
      let found;
      if (inventory.source === 'nvidia-smi') {
        try {
          const knownMinors = this.table.all.flatMap((g) => (g.pciBusId ? [{ pciBusId: g.pciBusId, minor: g.minor }] : []));
          found = await discover({ nvidiaSmi: settings.nvidiaSmi, timeoutMs: settings.commandTimeoutMs, procDriverNvidia: settings.procDriverNvidia, knownMinors });
        } catch (err) {
          log.warn(`health poll: ${(err as Error).message}`);
          return false;
        }
      }
      const next = refreshHealth(this.table.all, found, inventory.source, settings.devRoot);
      const changes = next.filter((g, i) => g.health !== this.table.all[i].health);
      if (changes.length === 0) return false;
      for (const g of changes) {
        const line = `${gpuLabel(g)} is now ${g.health}${g.healthReason ? ` (${g.healthReason})` : ''}`;
        if (g.health === 'UNHEALTHY') log.warn(line, { gpu: gpuId(g), holder: this.table.holderOf(g.minor) ?? null });
        else log.info(line, { gpu: gpuId(g) });
      }
      this.table.setGpus(next);
      this.feed.changed();
      return true;
    } finally {
      this.polling = false;
    }
  }

  /** close stops the health polls (containers and their cgroups outlive the module). */
  close(): void {
    if (this.poller) clearInterval(this.poller);
  }

  private gpusOf(a: Assignment): Gpu[] {
    return a.minors.map((m) => this.table.gpu(m)).filter((g): g is Gpu => !!g);
  }

  private save(): void {
    this.parts.store?.save(this.table.containers, this.table.all);
  }

  private known(id: T.ContainerID | undefined, call: string): Assignment {
    const value = containerIdOf(id, call);
    const a = this.table.get(value);
    if (!a) throw gpuError('GPU_UNKNOWN_CONTAINER', `${call}: container ${value} is not prepared by this isolator (never prepared, already cleaned up, or not given to recover after a restart)`);
    return a;
  }
}
