/**
 * Which offer fits a one-task run, and which of its resources the task takes. Only plain scalar
 * resources count (cpus, mem, gpus, disk): not revocable, not shared, not a persistent volume or mount
 * disk. A need may be met from several entries of one name (e.g. `cpus(ops)` reserved plus `cpus`
 * unreserved); each taken part keeps its entry's reservations and allocation role, so the master's
 * "is this inside the offer" check holds. Arithmetic is in thousandths, as Mesos's fixed point.
 *
 * ```ts
 * const needs = { cpus: 0.1, mem: 32, gpus: 0, disk: 0 };
 * const resources = pickResources(offer.resources, needs); // undefined: the offer is too small
 * describeScalars(usableScalars(offer.resources));          // "cpus:4;mem:4096;disk:0;gpus:0"
 * ```
 */
import type { Resource } from '../master/model/mesos';

/** The resource names a one-task run asks for. */
export const SCALAR_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;

/** ScalarName is one of {@link SCALAR_NAMES}. */
export type ScalarName = (typeof SCALAR_NAMES)[number];

/** TaskNeeds is what the task asks for: cpus, mem (MB), disk (MB), gpus (whole). */
export type TaskNeeds = Record<ScalarName, number>;

const MILLI = 1000;
const milli = (x: number): number => Math.round(x * MILLI);

function usable(r: Resource, name: ScalarName): boolean {
  return r.name === name && r.type === 'SCALAR' && !r.revocable && !r.shared && !r.disk && milli(r.scalar?.value ?? 0) > 0;
}

/** usableScalars sums what an offer holds of each name that a one-task run can take. */
export function usableScalars(resources: readonly Resource[] = []): TaskNeeds {
  const sums = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  for (const name of SCALAR_NAMES) {
    sums[name] = resources.filter((r) => usable(r, name)).reduce((n, r) => n + milli(r.scalar!.value), 0) / MILLI;
  }
  return sums;
}

/** fits tells whether the resources hold at least `needs`. */
export function fits(resources: readonly Resource[] | undefined, needs: TaskNeeds): boolean {
  const have = usableScalars(resources);
  return SCALAR_NAMES.every((name) => milli(have[name]) >= milli(needs[name]));
}

/**
 * pickResources returns the task's resources taken from an offer's, or undefined when the offer does
 * not hold enough. Reserved entries are taken before unreserved ones (as Mesos frameworks usually do:
 * a reservation exists to be used). Names asked for zero are left out.
 */
export function pickResources(resources: readonly Resource[] | undefined, needs: TaskNeeds): Resource[] | undefined {
  if (!fits(resources, needs)) return undefined;
  const picked: Resource[] = [];
  for (const name of SCALAR_NAMES) {
    let left = milli(needs[name]);
    const entries = (resources ?? []).filter((r) => usable(r, name)).sort((a, b) => reservedFirst(a) - reservedFirst(b));
    for (const r of entries) {
      if (left <= 0) break;
      const take = Math.min(left, milli(r.scalar!.value));
      picked.push({ ...r, scalar: { value: take / MILLI } });
      left -= take;
    }
  }
  return picked;
}

function reservedFirst(r: Resource): number {
  return r.reservations?.length || (r.role !== undefined && r.role !== '*') ? 0 : 1;
}

/**
 * describeScalars writes needs or holdings as Mesos resource text, e.g. `cpus:0.1;mem:32`; `all`
 * keeps zero values (to say an offer had `gpus:0`), otherwise they are left out.
 */
export function describeScalars(values: TaskNeeds, all = false): string {
  return SCALAR_NAMES.filter((name) => all || values[name] > 0)
    .map((name) => `${name}:${values[name]}`)
    .join(';');
}
