/**
 * MountTable counts, per volume (driver/name), the containers that use it on this agent, so a volume is
 * mounted at its plugin once, by its first user, and unmounted when its last user goes. Work on one
 * volume is serialized by a per-volume lock; different volumes proceed in parallel.
 */
import { volumeKey } from '../volumes/request';

/** VolumeUse is one volume mounted (or being mounted) on this agent. */
export interface VolumeUse {
  driver: string;
  name: string;
  /** mountId is the ID the volume was mounted with at its plugin; it is unmounted with the same ID. */
  mountId: string;
  /** mountpoint is the plugin's answer to Mount; absent when recovered from a checkpoint written before the answer. */
  mountpoint?: string;
  /** users are the containers using the volume. */
  users: Set<string>;
}

/** MountTable is the reference count of volumes across containers. */
export class MountTable {
  private readonly uses = new Map<string, VolumeUse>();
  private readonly locks = new Map<string, Promise<unknown>>();

  /** get returns the use of a volume, if any container uses it. */
  get(driver: string, name: string): VolumeUse | undefined {
    return this.uses.get(volumeKey(driver, name));
  }

  /** add records that `containerId` uses a volume mounted with `mountId` (creating the entry). */
  add(containerId: string, driver: string, name: string, mountId: string, mountpoint?: string): VolumeUse {
    const key = volumeKey(driver, name);
    let use = this.uses.get(key);
    if (!use) {
      use = { driver, name, mountId, mountpoint, users: new Set() };
      this.uses.set(key, use);
    }
    if (mountpoint && !use.mountpoint) use.mountpoint = mountpoint;
    use.users.add(containerId);
    return use;
  }

  /** drop forgets a volume entirely (after it was unmounted at its plugin). */
  drop(driver: string, name: string): void {
    this.uses.delete(volumeKey(driver, name));
  }

  /** all lists every volume in use, for logs and tests. */
  all(): VolumeUse[] {
    return [...this.uses.values()];
  }

  /** withLock runs `fn` once every earlier task on the same volume finished. */
  async withLock<T>(driver: string, name: string, fn: () => Promise<T>): Promise<T> {
    const key = volumeKey(driver, name);
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}
