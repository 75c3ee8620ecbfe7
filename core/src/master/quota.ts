/**
 * Quota as Mesos's master checks it before it stores it and tells the allocator (Mesos 1.9+:
 * src/master/quota.cpp `quota::validate`, quota_handler.cpp `QuotaTree` and the capacity heuristic):
 * a role's quota is a guarantee (scalar resources set aside for the role) and a limit (the most the role
 * may consume), per resource name. Everything here is pure; quota-changes.ts applies what passes.
 *
 * - A config names a valid role other than "*", scalar resource names only, finite non-negative amounts
 *   below Mesos's bounds (1 exabyte of mem/disk in MB, 10^12 of anything else), and guarantees within
 *   its limits.
 * - Over the role tree, a role's guarantees hold the sum of its children's (a role without quota holds
 *   none), and a child's limit is at most each ancestor's limit of the same resource: the allocator
 *   counts a child's consumption against its ancestors.
 * - Unless forced, the guarantees of the top-level roles (which hold their children's) fit in what the
 *   registered agents hold (non-revocable scalars, reserved ones included).
 *
 * ```ts
 * const q = fromWireConfig({ role: 'db', guarantees: { cpus: { value: 2 } } });
 * const problem = configProblem(q, new Set(['ports'])) ?? treeProblem(new Map([[q.role, q]]));
 * ```
 */
import type * as Abi from '@tessera/modules-api';
import type { Resource } from './model/mesos';
import { roleProblem, upgradeResource } from './reservations';

/** Quantities are amounts by resource name (`{"cpus": 2, "mem": 1024}`). */
export type Quantities = Record<string, number>;

/** RoleQuota is a role's quota as the master keeps it (and the registry stores it). */
export interface RoleQuota {
  role: string;
  /** Set aside for the role; names absent: nothing. */
  guarantees: Quantities;
  /** The most the role may consume; names absent: no limit. */
  limits: Quantities;
}

/** A `mesos.v1.quota.QuotaConfig` in the wire layer's plain shape. */
export interface WireQuotaConfig {
  role: string;
  guarantees?: Record<string, { value: number }>;
  limits?: Record<string, { value: number }>;
}

/** A `mesos.v1.quota.QuotaRequest` (SET_QUOTA, `POST /quota`) in the wire layer's plain shape. */
export interface WireQuotaRequest {
  force?: boolean;
  role?: string;
  guarantee?: Resource[];
}

// Mesos's bounds (quota.cpp): beyond them its fixed-point scalars overflow.
const EXABYTE_IN_MB = 1024 ** 4;
const OTHER_BOUND = 1e12;
const milli = (v: number): number => Math.round(v * 1000);

/**
 * fromWireConfig is the quota of a QuotaConfig. A guarantee of 0 sets nothing aside and is dropped, as
 * Mesos's ResourceQuantities drop zeros; a limit of 0 stays ("none of this resource").
 */
export function fromWireConfig(w: WireQuotaConfig): RoleQuota {
  const amounts = (m: Record<string, { value: number }> | undefined, keepZero: boolean): Quantities =>
    Object.fromEntries(Object.entries(m ?? {}).filter(([, s]) => keepZero || s.value !== 0).map(([name, s]) => [name, s.value]));
  return { role: w.role, guarantees: amounts(w.guarantees, false), limits: amounts(w.limits, true) };
}

/** toWireConfig is the QuotaConfig of a quota (empty maps left out). */
export function toWireConfig(q: RoleQuota): WireQuotaConfig {
  const scalars = (m: Quantities) => Object.fromEntries(sortedNames(m).map((name) => [name, { value: m[name] }]));
  return { role: q.role, ...(hasAny(q.guarantees) ? { guarantees: scalars(q.guarantees) } : {}), ...(hasAny(q.limits) ? { limits: scalars(q.limits) } : {}) };
}

/** quotaInfoOf is the quota in the form before Mesos 1.9 (`QuotaInfo`: the guarantees as resources). */
export function quotaInfoOf(q: RoleQuota): { role: string; guarantee: Resource[] } {
  return { role: q.role, guarantee: sortedNames(q.guarantees).map((name) => ({ name, type: 'SCALAR', scalar: { value: q.guarantees[name] } })) };
}

/** isDefaultQuota says whether a quota is Mesos's default: no guarantees and no limits (no quota at all). */
export function isDefaultQuota(q: RoleQuota): boolean {
  return !hasAny(q.guarantees) && !hasAny(q.limits);
}

/**
 * toAbiQuota is the allocator ABI's Quota of a role. Zero guarantees are left out (they set nothing
 * aside); limits are sent as they are, a limit of 0 meaning "none of it".
 */
export function toAbiQuota(q: RoleQuota): Abi.Quota {
  const list = (m: Quantities, keepZero: boolean): Abi.Resource[] =>
    sortedNames(m)
      .filter((name) => keepZero || m[name] > 0)
      .map((name) => ({ name, type: 'SCALAR', scalar: { value: m[name] } }));
  return { role: q.role, guarantees: list(q.guarantees, false), limits: list(q.limits, true) };
}

/** describeQuantities writes amounts as error messages show them: `cpus:2;mem:1024` (by name). */
export function describeQuantities(m: Quantities): string {
  return sortedNames(m)
    .map((name) => `${name}:${m[name]}`)
    .join(';');
}

/**
 * configProblem says what is wrong with one role's quota, or undefined. `nonScalar` are the resource
 * names the cluster knows as ranges or sets (e.g. "ports"): quota counts scalars only.
 */
export function configProblem(q: RoleQuota, nonScalar: ReadonlySet<string>): string | undefined {
  if (q.role === '*') return `quota cannot be set on role '*' (the role of unreserved resources): set it on a role frameworks subscribe with`;
  const bad = roleProblem(q.role);
  if (bad) return `'QuotaConfig.role' is invalid: ${bad}`;
  for (const [field, m] of [['guarantees', q.guarantees], ['limits', q.limits]] as const) {
    for (const [name, value] of Object.entries(m)) {
      const where = `role '${q.role}': ${field} {'${name}': ${value}}`;
      if (name === '') return `role '${q.role}': ${field} name a resource with an empty name: use resource names such as "cpus" or "mem"`;
      if (nonScalar.has(name)) return `${where} is invalid: '${name}' is not a scalar resource in this cluster, and quota counts scalar resources only (cpus, mem, disk, gpus, custom scalars)`;
      if (!Number.isFinite(value)) return `${where} is invalid: the amount must be a finite number`;
      if (value < 0) return `${where} is invalid: the amount must not be negative`;
      const bound = name === 'mem' || name === 'disk' ? EXABYTE_IN_MB : OTHER_BOUND;
      if (value > bound) return `${where} is invalid: values greater than ${name === 'mem' || name === 'disk' ? `1 exabyte (${bound} MB)` : `1 trillion (${bound})`} are not supported`;
    }
  }
  for (const [name, g] of Object.entries(q.guarantees)) {
    const limit = q.limits[name];
    if (limit !== undefined && milli(g) > milli(limit)) {
      return `role '${q.role}': the guarantee ${name}:${g} is above the limit ${name}:${limit}: 'QuotaConfig.guarantees' must be within 'QuotaConfig.limits'; raise the limit or lower the guarantee`;
    }
  }
  return undefined;
}

/**
 * treeProblem checks the quotas of all roles together (Mesos's QuotaTree): each role's guarantees hold
 * the sum of its children's — a role without quota, named or only implied by a nested role, holds none —
 * and a role's limit is at most every ancestor's limit of the same resource.
 */
export function treeProblem(quotas: ReadonlyMap<string, RoleQuota>): string | undefined {
  const children = new Map<string, string[]>();
  for (const role of quotas.keys()) {
    for (let child = role, cut = role.lastIndexOf('/'); cut > 0; child = child.slice(0, cut), cut = child.lastIndexOf('/')) {
      const parent = child.slice(0, cut);
      const list = children.get(parent) ?? [];
      if (!list.includes(child)) list.push(child);
      children.set(parent, list);
    }
  }
  for (const [parent, kids] of [...children].sort(([a], [b]) => a.localeCompare(b))) {
    const sum: Quantities = {};
    for (const kid of kids) for (const [name, v] of Object.entries(quotas.get(kid)?.guarantees ?? {})) sum[name] = (milli(sum[name] ?? 0) + milli(v)) / 1000;
    const own = quotas.get(parent)?.guarantees ?? {};
    for (const name of sortedNames(sum)) {
      if (milli(sum[name]) > milli(own[name] ?? 0)) {
        const kidsWith = kids.filter((k) => (quotas.get(k)?.guarantees[name] ?? 0) > 0).sort();
        return (
          `the guarantees of role '${parent}' (${describeQuantities(own) || 'none'}) do not hold the sum of its children's guarantees ` +
          `(${name}:${sum[name]}, of ${kidsWith.map((k) => `'${k}'`).join(', ')}): a child's guarantee is part of its parent's. ` +
          `Give '${parent}' a guarantee of at least ${name}:${sum[name]} (in the same call if you like), or lower the children's`
        );
      }
    }
  }
  for (const q of [...quotas.values()].sort((a, b) => a.role.localeCompare(b.role))) {
    for (let cut = q.role.lastIndexOf('/'); cut > 0; cut = q.role.lastIndexOf('/', cut - 1)) {
      const ancestor = quotas.get(q.role.slice(0, cut));
      if (!ancestor) continue;
      for (const name of sortedNames(q.limits)) {
        const cap = ancestor.limits[name];
        if (cap !== undefined && milli(q.limits[name]) > milli(cap)) {
          return `the limit ${name}:${q.limits[name]} of role '${q.role}' is above the limit ${name}:${cap} of its ancestor role '${ancestor.role}': a role consumes within its ancestors' limits; lower it to at most ${cap}`;
        }
      }
    }
  }
  return undefined;
}

/**
 * totalGuarantees is what all quotas set aside: the guarantees of the top-level roles, which hold their
 * descendants' (check {@link treeProblem} first).
 */
export function totalGuarantees(quotas: ReadonlyMap<string, RoleQuota>): Quantities {
  const total: Quantities = {};
  for (const q of quotas.values()) {
    if (q.role.includes('/')) continue;
    for (const [name, v] of Object.entries(q.guarantees)) if (v > 0) total[name] = (milli(total[name] ?? 0) + milli(v)) / 1000;
  }
  return total;
}

/** clusterCapacity is what agents hold for quota: their non-revocable scalars, by name (reserved ones included, as Mesos counts them). */
export function clusterCapacity(totals: Iterable<readonly Resource[]>): Quantities {
  const out: Quantities = {};
  for (const total of totals) {
    for (const r of total) if (r.type === 'SCALAR' && !r.revocable && r.scalar) out[r.name] = (milli(out[r.name] ?? 0) + milli(r.scalar.value)) / 1000;
  }
  return out;
}

/** overcommitted lists the resources whose total guarantee exceeds the capacity (`cpus: 6 guaranteed, 4 in the cluster`), or undefined. */
export function overcommitted(total: Quantities, capacity: Quantities): string | undefined {
  const over = sortedNames(total).filter((name) => milli(total[name]) > milli(capacity[name] ?? 0));
  if (over.length === 0) return undefined;
  return over.map((name) => `${name}: ${total[name]} guaranteed, ${capacity[name] ?? 0} in the cluster`).join('; ');
}

/**
 * fromQuotaRequest checks a deprecated SET_QUOTA's QuotaRequest as Mesos does (quota.cpp
 * `validation::quotaInfo`) and turns it into a quota whose limits are its guarantees (what SET_QUOTA
 * has meant since Mesos 1.9). Returns the quota or what is wrong.
 */
export function fromQuotaRequest(request: WireQuotaRequest): RoleQuota | string {
  if (request.role === undefined || request.role === null) return 'QuotaInfo must specify a role: set "role"';
  if (request.role === '*') return `QuotaInfo with invalid role: quota cannot be set on role '*'`;
  const bad = roleProblem(request.role);
  if (bad) return `QuotaInfo with invalid role: ${bad}`;
  const guarantee = request.guarantee ?? [];
  if (guarantee.length === 0) return `QuotaInfo with empty 'guarantee': list the guaranteed resources, e.g. {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}`;
  const amounts: Quantities = {};
  for (const raw of guarantee) {
    const r = upgradeResource(raw);
    if (typeof r === 'string') return `QuotaInfo with invalid resource: ${r}`;
    if (r.reservations?.length) return `QuotaInfo must not contain any ReservationInfo (resource '${r.name}' is reserved): quota applies to unreserved resources`;
    if (r.disk) return `QuotaInfo must not contain DiskInfo (resource '${r.name}')`;
    if (r.revocable) return `QuotaInfo must not contain RevocableInfo (resource '${r.name}')`;
    if (r.type !== 'SCALAR' || !r.scalar) return `QuotaInfo must not include non-scalar resources (resource '${r.name}' is ${r.type})`;
    if (r.name in amounts) return `QuotaInfo contains duplicate resource name '${r.name}'`;
    amounts[r.name] = r.scalar.value;
  }
  return { role: request.role, guarantees: amounts, limits: { ...amounts } };
}

/**
 * quotaMetrics are Mesos's allocator gauges of the quotas, for `/metrics/snapshot`:
 * `allocator/mesos/quota/roles/<role>/resources/<name>/guarantee` and `.../limit`.
 */
export function quotaMetrics(quotas: ReadonlyMap<string, RoleQuota>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of quotas.values()) {
    for (const [name, v] of Object.entries(q.guarantees)) out[`allocator/mesos/quota/roles/${q.role}/resources/${name}/guarantee`] = v;
    for (const [name, v] of Object.entries(q.limits)) out[`allocator/mesos/quota/roles/${q.role}/resources/${name}/limit`] = v;
  }
  return out;
}

function hasAny(m: Quantities): boolean {
  return Object.keys(m).length > 0;
}

function sortedNames(m: Quantities): string[] {
  return Object.keys(m).sort();
}
