/**
 * The rules a set of quotas must follow, as Mesos's hierarchical quota (1.9 and later):
 *
 * - quota is set on a named role, never on "*" or the empty role;
 * - a role's guarantee of a resource is at most its own limit of it;
 * - a parent role's guarantees contain the sum of its children's guarantees, so a child's guarantee
 *   is part of its parent's (a role without quota guarantees nothing, so its children cannot have
 *   guarantees either; Mesos's QuotaTree::validate);
 * - a role's limit of a resource is at most the limit of that resource of every ancestor that has one
 *   (a child without a limit is bounded by its ancestors' anyway).
 *
 * The engine refuses a quota update that would break them, and the same check is exported
 * ({@link validateQuotas}) so that a master can refuse an operator's request before it stores it.
 * Since every rule relates a role to its parent, a change of several roles may only be valid as a
 * whole (raise a parent and its child, or move a guarantee from one child to another): such changes
 * are checked together ({@link DrfAllocator.updateQuotas}).
 */
import { ANY_ROLE, nameId, nameOf } from './kinds';
import { addAt, at, fromMilli, toMilli, QuantityVector } from './quantities';
import { Resources } from './resources';
import type { Quota, Resource } from './types';

/** One role's quota: guarantees (milli-units by name id) and limits (milli-units by name id). */
export interface QuotaSpec {
  /** Guaranteed quantities; empty when none. */
  readonly guarantees: QuantityVector;
  /** Limits; names absent are unlimited. */
  readonly limits: ReadonlyMap<number, number>;
}

/** The quota of ABI resource lists: their scalars summed by name. */
export function quotaSpecOf(guarantees: readonly Resource[] = [], limits: readonly Resource[] = []): QuotaSpec {
  const g: QuantityVector = [];
  Resources.fromProto(guarantees).addScalarsTo(g, 1);
  // Read directly, not through Resources (which drops empty entries): a limit of 0 is a limit.
  const l = new Map<number, number>();
  for (const r of limits) {
    if (!r.name || (r.type !== undefined && r.type !== 'SCALAR') || r.scalar === undefined) continue;
    const id = nameId(r.name);
    l.set(id, (l.get(id) ?? 0) + Math.max(0, toMilli(r.scalar.value)));
  }
  return { guarantees: g, limits: l };
}

/** Whether a quota is Mesos's default (no guarantees, no limits): setting it clears the role's quota. */
export function isDefaultQuota(spec: QuotaSpec): boolean {
  return spec.limits.size === 0 && !spec.guarantees.some((v) => v > 0);
}

/** `cpus:8;mem:1024` for a quantity vector; "none" when empty. */
export function formatQuantities(v: readonly number[]): string {
  const parts: string[] = [];
  for (let id = 0; id < v.length; id++) if (v[id] > 0) parts.push(`${nameOf(id)}:${fromMilli(v[id])}`);
  return parts.length === 0 ? 'none' : parts.join(';');
}

function parentOf(role: string): string | null {
  const slash = role.lastIndexOf('/');
  return slash > 0 ? role.slice(0, slash) : null;
}

/**
 * The first way `quotas` (every role's quota, by role) breaks the rules of the module comment, as a
 * message naming the roles and amounts; null when they follow them.
 */
export function quotaViolation(quotas: ReadonlyMap<string, QuotaSpec>): string | null {
  // Children's guarantees summed per parent role (present in `quotas` or not).
  const childSums = new Map<string, { sum: QuantityVector; children: string[] }>();
  for (const [role, q] of quotas) {
    if (role === '' || role === ANY_ROLE) return `quota cannot be set on role '${role}': name a role`;
    for (const [id, limit] of q.limits) {
      if (at(q.guarantees, id) > limit) {
        return `role '${role}': guarantee ${nameOf(id)}:${fromMilli(at(q.guarantees, id))} exceeds its own limit ${nameOf(id)}:${fromMilli(limit)}`;
      }
      for (let a = parentOf(role); a !== null; a = parentOf(a)) {
        const above = quotas.get(a)?.limits.get(id);
        if (above !== undefined && limit > above) {
          return (
            `role '${role}': limit ${nameOf(id)}:${fromMilli(limit)} exceeds the limit ${nameOf(id)}:${fromMilli(above)} of its ancestor role '${a}'; ` +
            `a role's limit must not exceed its ancestors' (lower '${role}''s limit or raise '${a}''s)`
          );
        }
      }
    }
    const parent = parentOf(role);
    if (parent === null || !q.guarantees.some((v) => v > 0)) continue;
    let entry = childSums.get(parent);
    if (entry === undefined) childSums.set(parent, (entry = { sum: [], children: [] }));
    for (let id = 0; id < q.guarantees.length; id++) if (q.guarantees[id] > 0) addAt(entry.sum, id, q.guarantees[id]);
    entry.children.push(`'${role}' ${formatQuantities(q.guarantees)}`);
  }
  for (const [parent, { sum, children }] of childSums) {
    const own = quotas.get(parent)?.guarantees ?? [];
    for (let id = 0; id < sum.length; id++) {
      if (sum[id] <= at(own, id)) continue;
      return (
        `role '${parent}' with guarantees ${formatQuantities(own)} does not contain the sum of its children's guarantees ` +
        `${formatQuantities(sum)} (${children.join(', ')}): a child's guarantee is part of its parent's, as in Mesos's ` +
        `hierarchical quota; raise '${parent}''s guarantee first, or lower its children's`
      );
    }
  }
  return null;
}

/**
 * validateQuotas checks a whole set of quotas (every role that has one, as the ABI's `Quota`
 * messages) against Mesos's hierarchical quota rules: the message of the first violation, naming the
 * roles and amounts, or null when the set is valid. A master can call it before it accepts an
 * operator's quota request; the engine refuses the same updates.
 *
 * ```ts
 * validateQuotas([
 *   { role: 'eng', guarantees: parseResources('cpus:2'), limits: [] },
 *   { role: 'eng/ml', guarantees: parseResources('cpus:8'), limits: [] },
 * ]); // "role 'eng' with guarantees cpus:2 does not contain the sum of its children's guarantees cpus:8 (...)"
 * ```
 */
export function validateQuotas(quotas: readonly Quota[]): string | null {
  const specs = new Map<string, QuotaSpec>();
  for (const q of quotas) {
    const role = q.role ?? '';
    if (specs.has(role)) return `role '${role}' has more than one quota in the set: give each role one`;
    let spec: QuotaSpec;
    try {
      spec = quotaSpecOf(q.guarantees ?? [], q.limits ?? []);
    } catch (err) {
      return `role '${role}': ${(err as Error).message}`;
    }
    specs.set(role, spec);
  }
  return quotaViolation(specs);
}
