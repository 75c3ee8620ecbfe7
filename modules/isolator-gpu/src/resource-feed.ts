/**
 * The `gpus` resource this module contributes to the agent, as WatchResources streams it: the full
 * list first, then again after every change (a GPU turned unhealthy or back, an unhealthy GPU freed by
 * its container). Each stream waits on {@link ResourceFeed.next} until the feed changes or the core
 * cancels the stream.
 *
 * ```ts
 * const feed = new ResourceFeed(() => resourceList(table, devRoot));
 * for await (const list of feed.stream(signal)) send(list);
 * feed.changed();   // every open stream sends the new list
 * ```
 */
import type * as T from '@tessera/modules-api';
import type { Assignments } from './allocation/assignments';
import { gpuNode } from './discovery/device-nodes';
import { NVIDIA_MAJOR, type Gpu } from './discovery/gpu';

/** ResourceFeed hands every open WatchResources stream the current list, and a new one on change. */
export class ResourceFeed {
  private version = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly current: () => T.ResourceList) {}

  /** changed wakes every stream; they send the list as it is now. */
  changed(): void {
    this.version += 1;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** stream yields the list now, then after every change, until `signal` aborts. */
  async *stream(signal: AbortSignal): AsyncIterable<T.ResourceList> {
    let sent = -1;
    while (!signal.aborted) {
      if (sent !== this.version) {
        sent = this.version;
        yield this.current();
        continue;
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }
}

/** deviceOf describes a GPU as the ABI's Device. */
export function deviceOf(g: Gpu, devRoot: string): T.Device {
  const attributes: Record<string, string> = { index: String(g.index) };
  if (g.name) attributes.name = g.name;
  if (g.memoryMiB !== undefined) attributes.memory_mib = String(g.memoryMiB);
  if (g.pciBusId) attributes.pci_bus_id = g.pciBusId;
  if (g.healthReason) attributes.health_reason = g.healthReason;
  return { id: g.uuid ?? `nvidia${g.minor}`, path: gpuNode(devRoot, g.minor), type: 'c', major: NVIDIA_MAJOR, minor: g.minor, access: 'rwm', health: g.health, attributes };
}

/**
 * resourceList is what to advertise: `gpus` = the GPUs that can be handed out plus unhealthy ones a
 * container still holds (so the agent's total never drops below its tasks' use); nothing when none.
 */
export function resourceList(table: Assignments, devRoot: string): T.ResourceList {
  const count = table.offerable();
  return {
    resources: count > 0 ? [{ name: 'gpus', type: 'SCALAR', scalar: { value: count } }] : [],
    devices: table.all.map((g) => deviceOf(g, devRoot)),
  };
}
