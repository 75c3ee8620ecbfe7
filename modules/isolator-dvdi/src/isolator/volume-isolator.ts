/**
 * VolumeIsolator is the isolator's logic, apart from gRPC: Prepare mounts a container's Docker volumes
 * through their plugins (checkpoint first, all or nothing, each volume mounted once across containers)
 * and answers the bind mounts; Cleanup releases them (a volume is unmounted when its last user goes);
 * Recover keeps the volumes of live containers and releases those of containers that are gone.
 *
 * ```ts
 * const iso = new VolumeIsolator({ registry, checkpoints: new CheckpointStore(stateDir), mountId, legacy, log });
 * iso.load();                                   // count checkpointed containers as users
 * await iso.recover(['c1'], []);                // c1 lives: its volumes stay; the others' are released
 * const launch = await iso.prepare('c2', containerConfig);   // { mounts: [{ source, target, flags }] }
 * await iso.cleanup('c2');
 * ```
 */
import type { ContainerConfig, ContainerLaunchInfo, EnvironmentVariable, Logger, Mount } from '@tessera/modules-api';
import { TesseraError } from '@tessera/modules-api';
import type { DriverRegistry } from '../docker/registry';
import { dvdiError } from '../errors';
import { type LegacyOptions } from '../volumes/legacy-env';
import { volumeRequests, type VolumeRequest } from '../volumes/request';
import { ensureTarget, targetOf, type TargetContext } from '../volumes/targets';
import type { CheckpointedVolume, CheckpointStore } from './checkpoints';
import { MountTable, type VolumeUse } from './mount-table';

/** VolumeIsolatorOptions wire a VolumeIsolator. */
export interface VolumeIsolatorOptions {
  registry: DriverRegistry;
  /** checkpoints is where volumes are checkpointed; without it, containers with volumes are refused. */
  checkpoints?: CheckpointStore;
  /** mountId is the ID this module mounts volumes with at their plugins (stable across restarts). */
  mountId: string;
  legacy: LegacyOptions;
  log: Logger;
}

interface PreparedContainer {
  volumes: CheckpointedVolume[];
  /** preparing is true while Prepare runs: Cleanup and Recover leave the container to it. */
  preparing: boolean;
}

/** VolumeIsolator mounts and releases the Docker volumes of containers. */
export class VolumeIsolator {
  private readonly containers = new Map<string, PreparedContainer>();
  private readonly table = new MountTable();

  constructor(private readonly opts: VolumeIsolatorOptions) {}

  /** volumes lists the volumes in use with their users, for logs and tests. */
  volumes(): readonly VolumeUse[] {
    return this.table.all();
  }

  /**
   * load reads the checkpoints and counts every checkpointed container as a user of its volumes, so
   * nothing a container may still use is unmounted before Recover says which containers live.
   */
  load(): number {
    const all = this.opts.checkpoints?.all() ?? [];
    for (const cp of all) {
      this.containers.set(cp.containerId, { volumes: cp.volumes, preparing: false });
      for (const v of cp.volumes) this.table.add(cp.containerId, v.driver, v.name, v.mountId, v.mountpoint);
    }
    return all.length;
  }

  /** prepare mounts a container's volumes and answers the bind mounts; undefined when it asks for none. */
  async prepare(containerId: string, config: ContainerConfig, signal?: AbortSignal): Promise<ContainerLaunchInfo | undefined> {
    if (this.containers.has(containerId)) {
      throw dvdiError('DVDI_ALREADY_PREPARED', `container ${containerId} is already prepared: the agent must clean it up before preparing it again`);
    }
    const requests = volumeRequests(containerId, config, this.opts.legacy);
    if (requests.length === 0) {
      this.containers.set(containerId, { volumes: [], preparing: false });
      return undefined;
    }
    const checkpoints = this.opts.checkpoints;
    if (!checkpoints) {
      throw dvdiError(
        'DVDI_NO_STATE_DIR',
        `container ${containerId} asks for ${requests.length} Docker volume(s), but this module has no state directory to checkpoint them in: ` +
          'run it under an agent with --work_dir, or set its state_dir parameter',
      );
    }
    const ctx: TargetContext = { containerId, directory: config.directory, rootfs: config.rootfs };
    const volumes: CheckpointedVolume[] = requests.map((r) => ({
      driver: r.driver,
      name: r.name,
      options: r.options,
      readOnly: r.readOnly,
      target: targetOf(r, ctx),
      mountId: this.opts.mountId,
    }));
    requests.forEach((r, i) => volumes[i].target !== undefined && ensureTarget(r, volumes[i].target!, ctx));

    const container: PreparedContainer = { volumes, preparing: true };
    this.containers.set(containerId, container);
    try {
      checkpoints.write({ version: 1, containerId, volumes });
    } catch (err) {
      this.containers.delete(containerId);
      throw err;
    }
    const acquired: CheckpointedVolume[] = [];
    try {
      for (const v of volumes) {
        await this.acquire(containerId, v, signal);
        acquired.push(v);
      }
    } catch (err) {
      throw await this.rollBack(containerId, container, acquired, err);
    }
    container.preparing = false;
    checkpoints.write({ version: 1, containerId, volumes });
    this.opts.log.info('volumes mounted', { container: containerId, volumes: volumes.map((v) => `${v.driver}/${v.name}`) });
    return launchInfo(requests, volumes);
  }

  /** cleanup releases a container's volumes; unknown containers are fine. Failed releases stay checkpointed. */
  async cleanup(containerId: string): Promise<void> {
    const container = this.containers.get(containerId);
    if (!container || container.preparing) return;
    if (container.volumes.length === 0) {
      this.containers.delete(containerId);
      return;
    }
    const failed: { volume: CheckpointedVolume; error: TesseraError }[] = [];
    for (const v of [...container.volumes].reverse()) {
      try {
        await this.release(containerId, v);
      } catch (err) {
        failed.unshift({ volume: v, error: TesseraError.wrap(err) });
      }
    }
    if (failed.length === 0) {
      this.opts.checkpoints?.remove(containerId);
      this.containers.delete(containerId);
      this.opts.log.info('volumes released', { container: containerId, volumes: container.volumes.map((v) => `${v.driver}/${v.name}`) });
      return;
    }
    container.volumes = failed.map((f) => f.volume);
    this.opts.checkpoints?.write({ version: 1, containerId, volumes: container.volumes });
    throw dvdiError(
      'DVDI_CLEANUP_FAILED',
      `container ${containerId}: ${failed.length} volume(s) could not be unmounted: ${failed.map((f) => f.error.message).join('; ')}. ` +
        'They stay checkpointed and are released by a later cleanup or recover: the operator must bring the driver back',
    );
  }

  /**
   * recover keeps the volumes of the live containers (counted by load()) and releases those of every
   * other checkpointed container (ended while the module or the agent was down, or an orphan).
   */
  async recover(live: readonly string[], orphans: readonly string[] = []): Promise<void> {
    const alive = new Set(live);
    for (const id of alive) if (!this.containers.has(id)) this.containers.set(id, { volumes: [], preparing: false });
    const gone = [...this.containers.entries()].filter(([id, c]) => !alive.has(id) && !c.preparing).map(([id]) => id);
    let released = 0;
    for (const id of gone) {
      const hadVolumes = (this.containers.get(id)?.volumes.length ?? 0) > 0;
      try {
        await this.cleanup(id);
        if (hadVolumes) released++;
      } catch (err) {
        this.opts.log.error('recover: cannot release the volumes of a container that is gone', { container: id, error: TesseraError.wrap(err).message });
      }
    }
    const kept = [...alive].filter((id) => (this.containers.get(id)?.volumes.length ?? 0) > 0);
    this.opts.log.info('recovered', {
      live_with_volumes: kept.length,
      released_containers: released,
      orphans: orphans.length,
      volumes_in_use: this.table.all().map((u) => `${u.driver}/${u.name} (${u.users.size})`),
    });
  }

  // acquire makes `containerId` a user of a volume: the first user creates (if needed) and mounts it.
  private acquire(containerId: string, v: CheckpointedVolume, signal?: AbortSignal): Promise<void> {
    return this.table.withLock(v.driver, v.name, async () => {
      const use = this.table.get(v.driver, v.name);
      if (use && use.users.size > 0) {
        if (!use.mountpoint) {
          const path = await this.opts.registry.use(v.driver, signal, (c) => c.path(v.name, signal));
          use.mountpoint = path || (await this.opts.registry.use(v.driver, signal, (c) => c.mount(v.name, use.mountId, signal)));
        }
        v.mountId = use.mountId;
        v.mountpoint = use.mountpoint;
        use.users.add(containerId);
        return;
      }
      v.mountpoint = await this.opts.registry.use(v.driver, signal, async (client) => {
        await this.ensureExists(client, v, signal);
        try {
          return await client.mount(v.name, v.mountId, signal);
        } catch (err) {
          // The plugin may have mounted before the answer was lost: release that mount, best effort.
          if (err instanceof TesseraError && err.code === 'DVDI_PLUGIN_TIMEOUT') {
            await client.unmount(v.name, v.mountId).catch((e) => this.opts.log.warn('unmount after a timed-out mount failed', { volume: `${v.driver}/${v.name}`, error: String(e.message) }));
          }
          throw err;
        }
      });
      this.table.add(containerId, v.driver, v.name, v.mountId, v.mountpoint);
    });
  }

  // ensureExists creates a volume its driver does not know (Docker's way: Get, then Create).
  private async ensureExists(client: Awaited<ReturnType<DriverRegistry['client']>>, v: CheckpointedVolume, signal?: AbortSignal): Promise<void> {
    try {
      await client.get(v.name, signal);
      return;
    } catch (err) {
      const code = err instanceof TesseraError ? err.code : '';
      if (code !== 'DVDI_PLUGIN_ERROR' && code !== 'DVDI_PLUGIN_BAD_RESPONSE') throw err;
    }
    await client.create(v.name, v.options, signal);
  }

  // release drops `containerId` from a volume's users; the last user unmounts it at its plugin.
  private release(containerId: string, v: CheckpointedVolume): Promise<void> {
    return this.table.withLock(v.driver, v.name, async () => {
      const use = this.table.get(v.driver, v.name);
      if (!use || !use.users.has(containerId)) return;
      use.users.delete(containerId);
      if (use.users.size > 0) return;
      try {
        await this.opts.registry.use(v.driver, undefined, (c) => c.unmount(v.name, use.mountId));
      } catch (err) {
        use.users.add(containerId);
        throw err;
      }
      this.table.drop(v.driver, v.name);
    });
  }

  // rollBack releases what a failed prepare acquired; it returns the error to throw.
  private async rollBack(containerId: string, container: PreparedContainer, acquired: CheckpointedVolume[], cause: unknown): Promise<Error> {
    const error = TesseraError.wrap(cause);
    const stuck: CheckpointedVolume[] = [];
    for (const v of [...acquired].reverse()) {
      try {
        await this.release(containerId, v);
      } catch (err) {
        stuck.unshift(v);
        this.opts.log.error('prepare failed and a volume it mounted cannot be unmounted', { container: containerId, volume: `${v.driver}/${v.name}`, error: TesseraError.wrap(err).message });
      }
    }
    container.preparing = false;
    if (stuck.length === 0) {
      this.opts.checkpoints?.remove(containerId);
      this.containers.delete(containerId);
      return error;
    }
    container.volumes = stuck;
    this.opts.checkpoints?.write({ version: 1, containerId, volumes: stuck });
    const names = stuck.map((v) => `${v.driver}/${v.name}`).join(', ');
    return new TesseraError(error.code, `${error.message} (and ${names} mounted by this prepare could not be unmounted: it stays checkpointed until cleanup)`, {
      grpcStatus: error.grpcStatus,
      cause,
    });
  }
}

// launchInfo answers the bind mounts (read-only for RO) and, for legacy requests, where each volume is.
function launchInfo(requests: VolumeRequest[], volumes: CheckpointedVolume[]): ContainerLaunchInfo {
  const mounts: Mount[] = [];
  const variables: EnvironmentVariable[] = [];
  requests.forEach((r, i) => {
    const v = volumes[i];
    if (v.target !== undefined) mounts.push({ source: v.mountpoint, target: v.target, flags: v.readOnly ? ['rbind', 'ro'] : ['rbind'] });
    if (r.legacy) variables.push({ name: `DVDI_VOLUME_MOUNTPOINT${r.legacySuffix ?? ''}`, value: r.containerPath ?? v.mountpoint });
  });
  const info: ContainerLaunchInfo = {};
  if (mounts.length) {
    info.mounts = mounts;
    info.cloneNamespaces = ['NEWNS'];
  }
  if (variables.length) info.environment = { variables };
  return info;
}
