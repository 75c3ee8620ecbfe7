/**
 * Helpers shared by the engine's tests: message builders, a seeded random generator, and a tiny
 * cluster simulation in which frameworks launch tasks from their offers and decline the rest, as real
 * schedulers do. Not part of the public surface.
 */
import { DrfAllocator } from './allocator';
import { parseResources } from './resource-text';
import { Resources } from './resources';
import type { Allocation, AllocatorAgent, AllocatorFramework, Resource } from './types';

/** A deterministic random generator (mulberry32) for property-style tests. */
export class Rng {
  private state: number;

  /** Creates a generator from a seed. */
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

/** An active agent message with resources in Mesos text (`cpus:4;mem:1024`). */
export function agentMsg(id: string, resources: string, extra: Partial<AllocatorAgent> = {}): AllocatorAgent {
  return { info: { id, hostname: `${id}.example` }, total: parseResources(resources), active: true, ...extra };
}

/** An active framework message subscribed to `roles`, with capability names. */
export function frameworkMsg(id: string, roles: string[], capabilities: string[] = [], extra: Partial<AllocatorFramework> = {}): AllocatorFramework {
  return { info: { id, roles, capabilities, name: id }, active: true, ...extra };
}

/** The scalar quantities of proto resources by name. */
export function qty(resources: readonly Resource[]): Record<string, number> {
  return Resources.fromProto(resources).scalarQuantities();
}

/** The scalar quantities offered to each framework, summed over all its offers. */
export function offeredTo(offers: readonly Allocation[]): Map<string, Record<string, number>> {
  const out = new Map<string, Resources>();
  for (const o of offers) out.set(o.frameworkId, (out.get(o.frameworkId) ?? Resources.empty()).plus(Resources.fromProto(o.resources)));
  return new Map(Array.from(out, ([k, v]) => [k, v.scalarQuantities()]));
}

/** Declines every offer with the given refuse_seconds (undefined: Mesos's default filter). */
export function declineAll(engine: DrfAllocator, offers: readonly Allocation[], refuseSeconds: number | undefined, nowMs: number): void {
  for (const o of offers) engine.recoverResources(o.frameworkId, o.agentId, o.resources, { refuseSeconds }, nowMs);
}

/** A task shape: scalar resources by name. */
export type TaskShape = Record<string, number>;

/** One running task of the simulation. */
export interface SimTask {
  /** The framework running it. */
  readonly frameworkId: string;
  /** The agent it runs on. */
  readonly agentId: string;
  /** Its resources, with allocation role. */
  readonly resources: Resource[];
}

/**
 * Launches up to `maxTasks` tasks of `shape` from an offer (taking scalars from the offer's resources)
 * and declines the rest with refuse_seconds `refuse` (no filter when 0). Returns the launched tasks.
 * The task's resources stay held by the framework, as an accepted offer's do in Mesos.
 */
export function launchFromOffer(
  engine: DrfAllocator,
  offer: Allocation,
  shape: TaskShape,
  maxTasks: number,
  refuse: number,
  nowMs: number,
): SimTask[] {
  let left = Resources.fromProto(offer.resources);
  const tasks: SimTask[] = [];
  const need = Resources.fromProto(
    Object.entries(shape).map(([name, value]) => ({ name, scalar: { value }, allocationInfo: { role: offer.role } })),
  );
  while (tasks.length < maxTasks && left.contains(need)) {
    left = left.minus(need);
    tasks.push({ frameworkId: offer.frameworkId, agentId: offer.agentId, resources: need.toProto() });
  }
  if (!left.isEmpty()) engine.recoverResources(offer.frameworkId, offer.agentId, left.toProto(), { refuseSeconds: refuse }, nowMs);
  return tasks;
}

/** Finishes a task: its resources go back to the allocator without a filter. */
export function finishTask(engine: DrfAllocator, task: SimTask, nowMs: number): void {
  engine.recoverResources(task.frameworkId, task.agentId, task.resources, undefined, nowMs);
}

/** The dominant share of a task shape in a cluster with the given totals. */
export function taskShare(shape: TaskShape, totals: Record<string, number>): number {
  let share = 0;
  for (const [name, v] of Object.entries(shape)) if (totals[name]) share = Math.max(share, v / totals[name]);
  return share;
}
