/**
 * The module's parameters: their JSON Schema (the core validates an operator's modules.json entry
 * against it before Configure) and their translation into engine options and stream timing.
 *
 * Names follow Mesos's master flags where Mesos has the concept (`allocation_interval`,
 * `fair_sharing_excluded_resource_names`, `filter_gpu_resources`, `min_allocatable_resources`), and
 * values may be written the Mesos way (`"1secs"`, `"cpus:0.01|mem:32"`) or the JSON way.
 */
import type { AllocatorOptions } from './engine';

/** Parameters as an operator writes them in modules.json (after schema validation). */
export interface DrfParameters {
  /**
   * A full allocation cycle runs at least this often even without ticks from the core (default "1s");
   * refused-offer filters last at least this long.
   */
  allocation_interval?: string | number;
  /** Events that ask for a cycle within this window share one cycle (default "5ms"; "0ms" = next turn). */
  event_batch_window?: string | number;
  /** Resource names left out of dominant shares (Mesos --fair_sharing_excluded_resource_names). */
  fair_sharing_excluded_resource_names?: string[] | string;
  /** Offer GPU agents only to GPU_RESOURCES frameworks (Mesos --filter_gpu_resources; default true). */
  filter_gpu_resources?: boolean;
  /** Minimum offer size: `"cpus:0.01|mem:32"` or `[{"cpus":0.01},{"mem":32}]`; `""` or `[]` = any. */
  min_allocatable_resources?: string | Record<string, number>[];
  /** refuse_seconds used when a DECLINE or ACCEPT carries Filters without it (Mesos: 5). */
  default_refuse_seconds?: number;
}

const DURATION = '^\\s*\\d+(\\.\\d+)?\\s*(ns|us|ms|s|secs?|m|mins?|h|hrs?)\\s*$';

/** PARAMETERS_SCHEMA is the JSON Schema (draft-07) of {@link DrfParameters}. */
export const PARAMETERS_SCHEMA: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    allocation_interval: {
      description: 'A full allocation cycle runs at least this often, also without ticks from the core (e.g. "1s", "500ms", "1secs"; a number means milliseconds). Refused-offer filters last at least this long (or 1.5 spacings of the core\'s ticks when those are further apart).',
      oneOf: [{ type: 'string', pattern: DURATION }, { type: 'number', exclusiveMinimum: 0 }],
      default: '1s',
    },
    event_batch_window: {
      description: 'Events asking for a cycle (new agent or framework, revive) within this window share one cycle (e.g. "5ms"); recovered resources wait for the next full cycle.',
      oneOf: [{ type: 'string', pattern: DURATION }, { type: 'number', minimum: 0 }],
      default: '5ms',
    },
    fair_sharing_excluded_resource_names: {
      description: 'Resource names left out of dominant share computations (Mesos --fair_sharing_excluded_resource_names), as a list or comma-separated.',
      oneOf: [{ type: 'array', items: { type: 'string', minLength: 1 } }, { type: 'string' }],
    },
    filter_gpu_resources: {
      description: 'Offer agents that have GPUs only to frameworks with the GPU_RESOURCES capability (Mesos --filter_gpu_resources).',
      type: 'boolean',
      default: true,
    },
    min_allocatable_resources: {
      description: 'Minimum size of an offer: alternatives separated by "|", each resources joined by ";" (Mesos format, e.g. "cpus:0.01|mem:32"), or a list of {name: quantity} objects. Empty offers anything.',
      oneOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'object', minProperties: 1, additionalProperties: { type: 'number', minimum: 0 } } },
      ],
      default: 'cpus:0.01|mem:32',
    },
    default_refuse_seconds: {
      description: 'refuse_seconds applied when a DECLINE or ACCEPT carries Filters that leave it unset (Mesos: 5).',
      type: 'number',
      minimum: 0,
      default: 5,
    },
  },
};

/** Settings resolved from the parameters: engine options plus the stream's timing. */
export interface DrfSettings {
  /** Options of the allocation engine. */
  engine: AllocatorOptions;
  /** Milliseconds between full cycles when the core sends no ticks. */
  allocationIntervalMs: number;
  /** Milliseconds events wait for company before their cycle runs. */
  eventBatchWindowMs: number;
}

/** ParameterError names the parameter and what is wrong with it. */
export class ParameterError extends Error {
  /** Creates the error. */
  constructor(parameter: string, problem: string) {
    super(`parameter ${parameter}: ${problem}`);
    this.name = 'ParameterError';
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, sec: 1000, secs: 1000, m: 60_000, min: 60_000, mins: 60_000, h: 3_600_000, hr: 3_600_000, hrs: 3_600_000 };

/** parseDurationMs reads `"1s"`, `"500ms"`, `"1secs"` (Mesos) or a number of milliseconds. */
export function parseDurationMs(parameter: string, value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ParameterError(parameter, `must be a duration >= 0, not ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/.exec(value);
  const unit = m ? UNIT_MS[m[2]] : undefined;
  if (!m || unit === undefined) throw new ParameterError(parameter, `"${value}" is not a duration such as "1s", "500ms" or "1secs"`);
  return Number(m[1]) * unit;
}

/** parseMinAllocatable reads Mesos's `"cpus:0.01|mem:32;disk:10"` or a list of records. */
export function parseMinAllocatable(value: string | Record<string, number>[]): Record<string, number>[] {
  if (Array.isArray(value)) return value;
  const out: Record<string, number>[] = [];
  for (const alt of value.split('|')) {
    if (alt.trim() === '') continue;
    const rec: Record<string, number> = {};
    for (const part of alt.split(';')) {
      if (part.trim() === '') continue;
      const m = /^\s*([A-Za-z_][\w.-]*)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
      if (!m) throw new ParameterError('min_allocatable_resources', `"${part.trim()}" is not name:quantity (e.g. "cpus:0.01|mem:32")`);
      rec[m[1]] = (rec[m[1]] ?? 0) + Number(m[2]);
    }
    out.push(rec);
  }
  return out;
}

/** resolveParameters turns validated parameters into settings; throws {@link ParameterError}. */
export function resolveParameters(p: DrfParameters = {}): DrfSettings {
  const excluded = p.fair_sharing_excluded_resource_names;
  const intervalMs = parseDurationMs('allocation_interval', p.allocation_interval ?? '1s');
  if (intervalMs <= 0) throw new ParameterError('allocation_interval', 'must be longer than 0');
  return {
    engine: {
      filterGpuResources: p.filter_gpu_resources ?? true,
      fairnessExcludeResourceNames: typeof excluded === 'string' ? excluded.split(',').map((s) => s.trim()).filter(Boolean) : (excluded ?? []),
      minAllocatableResources: parseMinAllocatable(p.min_allocatable_resources ?? 'cpus:0.01|mem:32'),
      defaultRefuseSeconds: p.default_refuse_seconds ?? 5,
      allocationIntervalMs: intervalMs,
    },
    allocationIntervalMs: intervalMs,
    eventBatchWindowMs: parseDurationMs('event_batch_window', p.event_batch_window ?? '5ms'),
  };
}
