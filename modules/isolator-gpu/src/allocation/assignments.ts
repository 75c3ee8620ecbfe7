/**
 * Which container holds which GPUs: whole GPUs only, never one GPU to two containers. Free GPUs are
 * handed out lowest index first, healthy (or, without a driver, of unknown health) ones only.
 *
 * ```ts
 * const table = new Assignments(gpus);
 * table.assign('c1', 2);          // the two free GPUs of lowest index; throws GPU_UNAVAILABLE
 * table.release('c1');            // they are free again
 * table.offerable();              // what to advertise as `gpus`
 * ```
 */
import { gpuError } from '../errors';
import { gpuLabel, type Gpu } from '../discovery/gpu';

/** Assignment is one container's GPUs and whether this module made its devices cgroup. */
export interface Assignment {
  containerId: string;
  /** The GPUs, by minor (their nodes), in index order. */
  minors: number[];
  /** This module created the container's devices cgroup (so Cleanup removes it). */
  ownsCgroup: boolean;
}

/** Assignments is the allocation table of one module process. */
export class Assignments {
  private readonly byContainer = new Map<string, Assignment>();
  private gpus: Gpu[];

  constructor(gpus: readonly Gpu[]) {
    this.gpus = [...gpus].sort((a, b) => a.index - b.index);
  }

  /** all lists the managed GPUs with their current health. */
  get all(): readonly Gpu[] {
    return this.gpus;
  }

  /** setGpus replaces the GPUs' health (the set of GPUs stays). */
  setGpus(gpus: readonly Gpu[]): void {
    this.gpus = [...gpus].sort((a, b) => a.index - b.index);
  }

  /** containers lists every assignment. */
  get containers(): Assignment[] {
    return [...this.byContainer.values()];
  }

  get(containerId: string): Assignment | undefined {
    return this.byContainer.get(containerId);
  }

  /** holderOf names the container holding a GPU (by minor). */
  holderOf(minor: number): string | undefined {
    for (const a of this.byContainer.values()) if (a.minors.includes(minor)) return a.containerId;
    return undefined;
  }

  /** gpu finds a managed GPU by minor. */
  gpu(minor: number): Gpu | undefined {
    return this.gpus.find((g) => g.minor === minor);
  }

  /** free lists the GPUs no container holds that may be handed out (not UNHEALTHY). */
  free(): Gpu[] {
    return this.gpus.filter((g) => g.health !== 'UNHEALTHY' && this.holderOf(g.minor) === undefined);
  }

  /**
   * offerable is how many GPUs to advertise: every usable GPU, plus unhealthy ones still held by a
   * container (so the agent's total never drops below what its tasks use; they leave when freed).
   */
  offerable(): number {
    return this.gpus.filter((g) => g.health !== 'UNHEALTHY' || this.holderOf(g.minor) !== undefined).length;
  }

  /** assign gives a container `count` free GPUs (lowest index first); throws GPU_UNAVAILABLE when too few are free. */
  assign(containerId: string, count: number, ownsCgroup: boolean): Assignment {
    const free = this.free();
    if (free.length < count) {
      const held = this.gpus
        .map((g) => {
          const by = this.holderOf(g.minor);
          return by ? `${gpuLabel(g)} to container ${by}` : g.health === 'UNHEALTHY' ? `${gpuLabel(g)} unhealthy (${g.healthReason ?? 'unknown reason'})` : undefined;
        })
        .filter(Boolean);
      throw gpuError(
        'GPU_UNAVAILABLE',
        `container ${containerId} asks for ${count} GPU(s), but ${free.length} of this agent's ${this.gpus.length} are free${held.length ? ` (${held.join('; ')})` : ''}: ` +
          'the agent offered GPUs it does not have free (a restart lost track of them?); the framework may retry once other tasks end',
      );
    }
    const a: Assignment = { containerId, minors: free.slice(0, count).map((g) => g.minor), ownsCgroup };
    this.byContainer.set(containerId, a);
    return a;
  }

  /**
   * resize gives a container `count` GPUs (Update): more free ones lowest index first, or fewer by
   * dropping its highest ones. Throws GPU_UNAVAILABLE when too few are free (nothing changes then).
   */
  resize(containerId: string, count: number): { added: number[]; removed: number[] } {
    const a = this.byContainer.get(containerId);
    if (!a) throw new Error(`container ${containerId} has no assignment`);
    if (count < a.minors.length) {
      const removed = a.minors.slice(count);
      a.minors = a.minors.slice(0, count);
      return { added: [], removed };
    }
    const more = count - a.minors.length;
    const free = this.free();
    if (free.length < more) {
      throw gpuError('GPU_UNAVAILABLE', `container ${containerId} is updated to ${count} GPU(s) from ${a.minors.length}, but only ${free.length} more are free: the update is refused, the container keeps its GPUs`);
    }
    const added = free.slice(0, more).map((g) => g.minor);
    a.minors = [...a.minors, ...added];
    return { added, removed: [] };
  }

  /** take records an assignment as it was (Recover); fails when a GPU is held by another container. */
  take(a: Assignment): void {
    for (const m of a.minors) {
      const by = this.holderOf(m);
      if (by !== undefined && by !== a.containerId) throw new Error(`GPU minor ${m} is recorded for both container ${by} and container ${a.containerId}`);
    }
    this.byContainer.set(a.containerId, { ...a, minors: [...a.minors] });
  }

  /** release frees a container's GPUs; returns its assignment, if it had one. */
  release(containerId: string): Assignment | undefined {
    const a = this.byContainer.get(containerId);
    this.byContainer.delete(containerId);
    return a;
  }
}
