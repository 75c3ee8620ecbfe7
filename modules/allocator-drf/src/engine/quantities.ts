/**
 * Fixed-point scalars and quantity vectors.
 *
 * Mesos keeps three decimal digits of every scalar (`llround(value * 1000)`), which makes resource
 * arithmetic exact: adding 0.1 cpus ten times gives exactly 1, and any sequence of additions and
 * subtractions that cancels out returns exactly to zero. The engine stores every amount as an integer
 * number of thousandths ("milli-units"); JavaScript numbers hold such integers exactly up to 2^53,
 * i.e. nine trillion units of any resource.
 *
 * A quantity vector is a plain `number[]` of milli-units indexed by resource name id (see
 * {@link nameId}); missing trailing entries mean zero.
 */
import { nameId, nameOf } from './kinds';
import { ResourceError } from './values';

/** Milli-units per unit. */
export const MILLI = 1000;

/** Converts a scalar to integer thousandths as Mesos does; throws for negative, NaN or infinite values. */
export function toMilli(value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0) throw new ResourceError(`a scalar must be a finite non-negative number, got ${String(value)}`);
  const m = Math.round(v * MILLI);
  if (!Number.isSafeInteger(m)) throw new ResourceError(`scalar ${v} is too large`);
  return m;
}

/** Converts integer thousandths back to the (nearest double of the) decimal value. */
export function fromMilli(milli: number): number {
  return milli / MILLI;
}

/** A quantity vector: milli-units by resource name id; absent entries are zero. */
export type QuantityVector = number[];

/** Adds `milli` (which may be negative) to entry `id`, growing the vector with zeros when needed. */
export function addAt(v: QuantityVector, id: number, milli: number): void {
  while (v.length <= id) v.push(0);
  v[id] += milli;
}

/** The entry `id` of a vector (zero when absent). */
export function at(v: readonly number[], id: number): number {
  return id < v.length ? v[id] : 0;
}

/** A `{name: value}` record of decimal amounts from a vector, omitting zeros. */
export function vectorToRecord(v: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) out[nameOf(i)] = fromMilli(v[i]);
  return out;
}

/** One required quantity: at least `milli` of resource name `nameId`. */
export interface Requirement {
  /** The resource name id. */
  readonly nameId: number;
  /** The minimum, in milli-units. */
  readonly milli: number;
}

/**
 * Minimum allocatable resources: a list of alternatives, each a list of requirements that must all be
 * met. Resources are allocatable when they meet at least one alternative; an empty list accepts any
 * non-empty resources. Mesos's default (`--min_allocatable_resources=cpus:0.01|mem:32`) is
 * {@link DEFAULT_MIN_ALLOCATABLE}.
 */
export type MinAllocatable = readonly (readonly Requirement[])[];

/** Builds minimum allocatable alternatives from records such as `[{cpus: 0.01}, {mem: 32}]`. */
export function minAllocatableFrom(alternatives: readonly Readonly<Record<string, number>>[]): MinAllocatable {
  return alternatives.map((alt) => {
    const reqs = Object.entries(alt).map(([name, value]) => ({ nameId: nameId(name), milli: toMilli(value) }));
    if (reqs.length === 0) throw new ResourceError('a minimum allocatable alternative must name at least one resource');
    return reqs;
  });
}

/** Mesos's default minimum allocatable resources: 0.01 cpus or 32 MB of memory. */
export const DEFAULT_MIN_ALLOCATABLE_RECORDS: readonly Readonly<Record<string, number>>[] = [{ cpus: 0.01 }, { mem: 32 }];
