/**
 * Options of the allocation engine, with Mesos's defaults, and the engine's error type.
 */
import { DEFAULT_MIN_ALLOCATABLE_RECORDS, MinAllocatable, minAllocatableFrom } from './quantities';

/** Raised when an input contradicts the allocator's state (unknown ids, resources not held...). */
export class AllocatorError extends Error {
  /** Creates the error with a message naming the ids involved. */
  constructor(message: string) {
    super(message);
    this.name = 'AllocatorError';
  }
}

/** Options of the allocation engine; every field has Mesos's default. */
export interface AllocatorOptions {
  /** Offer agents with GPUs only to GPU_RESOURCES frameworks (Mesos's --filter_gpu_resources; default true). */
  filterGpuResources?: boolean;
  /** Resource names excluded from dominant share computation (--fair_sharing_excluded_resource_names). */
  fairnessExcludeResourceNames?: readonly string[];
  /**
   * Minimum size of an offer (--min_allocatable_resources): alternatives of which one must be met.
   * Default `[{cpus: 0.01}, {mem: 32}]`; an empty list offers any non-empty resources.
   */
  minAllocatableResources?: readonly Readonly<Record<string, number>>[];
  /**
   * Seed of the agent shuffle (Mesos visits agents in random order each cycle so no framework is
   * always first on the same agents). Default 1; null visits agents in the order they were added.
   */
  shuffleSeed?: number | null;
  /** refuse_seconds when a framework's Filters leave it unset (Mesos: 5). */
  defaultRefuseSeconds?: number;
  /**
   * The longest time between two full cycles (Mesos's --allocation_interval; default 1000 ms). A
   * refused-offer filter with refuse_seconds > 0 lasts at least this long, as Mesos raises a filter's
   * timeout to its allocation interval: otherwise a short filter would expire before the next cycle
   * and the framework would get the declined resources straight back (MESOS-4302). Can be changed
   * later with {@link DrfAllocator.setAllocationInterval}.
   */
  allocationIntervalMs?: number;
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  /** See {@link AllocatorOptions.filterGpuResources}. */
  readonly filterGpuResources: boolean;
  /** See {@link AllocatorOptions.fairnessExcludeResourceNames}. */
  readonly fairnessExcludeResourceNames: readonly string[];
  /** See {@link AllocatorOptions.minAllocatableResources}. */
  readonly minAllocatable: MinAllocatable;
  /** See {@link AllocatorOptions.shuffleSeed}. */
  readonly shuffleSeed: number | null;
  /** See {@link AllocatorOptions.defaultRefuseSeconds}. */
  readonly defaultRefuseSeconds: number;
  /** See {@link AllocatorOptions.allocationIntervalMs}. */
  readonly allocationIntervalMs: number;
}

/** Applies defaults to options and validates them; throws AllocatorError for invalid ones. */
export function resolveOptions(o: AllocatorOptions = {}): ResolvedOptions {
  const refuse = o.defaultRefuseSeconds ?? 5;
  if (!(refuse >= 0) || !Number.isFinite(refuse)) throw new AllocatorError('defaultRefuseSeconds must be a finite number >= 0');
  const intervalMs = o.allocationIntervalMs ?? 1000;
  checkAllocationInterval(intervalMs);
  let minAllocatable: MinAllocatable;
  try {
    minAllocatable = minAllocatableFrom(o.minAllocatableResources ?? DEFAULT_MIN_ALLOCATABLE_RECORDS);
  } catch (err) {
    throw new AllocatorError(`minAllocatableResources: ${(err as Error).message}`);
  }
  return {
    filterGpuResources: o.filterGpuResources ?? true,
    fairnessExcludeResourceNames: o.fairnessExcludeResourceNames ?? [],
    minAllocatable,
    shuffleSeed: o.shuffleSeed === undefined ? 1 : o.shuffleSeed,
    defaultRefuseSeconds: refuse,
    allocationIntervalMs: intervalMs,
  };
}

/** Throws AllocatorError unless `ms` is a usable allocation interval (finite, >= 0). */
export function checkAllocationInterval(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new AllocatorError(`allocationIntervalMs must be a finite number of milliseconds >= 0, got ${String(ms)}`);
}
