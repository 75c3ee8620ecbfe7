// Resources, agents and frameworks for the allocator checks, written compactly in Mesos's text form
// ("cpus:4;mem:4096;ports:[31000-32000];cpus(ops):2"), and the arithmetic the checks reason with:
// quantities per resource name, rounded to the thousandths Mesos keeps.
import type * as T from '../generated/types';

/** Quantities maps a resource name to an amount: the scalar, the number of ports in ranges, the items of a set. */
export type Quantities = Map<string, number>;

/** Offer is one allocation the module offered, with the seq of the output that carried it. */
export interface Offer {
  /** seq is the last input the module had applied when it made the offer. */
  seq: number;
  frameworkId: string;
  agentId: string;
  role: string;
  resources: T.Resource[];
}

/**
 * resources parses Mesos's text form: `name[(role)]:value` joined by ";", where value is a number,
 * `[a-b,c-d]` (ranges) or `{x,y}` (a set); `(role)` reserves the resource statically for role.
 *
 * ```ts
 * resources('cpus:4;mem:4096;ports:[31000-32000];cpus(ops):2');
 * ```
 */
export function resources(text: string): T.Resource[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([a-z_][\w.-]*)(?:\(([^)]+)\))?:(.+)$/i.exec(part);
      if (!m) throw new Error(`bad resource "${part}": expected name[(role)]:value`);
      const [, name, role, value] = m;
      const r: T.Resource = { name, ...parseValue(name, value.trim()) };
      if (role) r.reservations = [{ type: 'STATIC', role }];
      return r;
    });
}

function parseValue(name: string, v: string): Pick<T.Resource, 'type' | 'scalar' | 'ranges' | 'set'> {
  if (v.startsWith('[')) {
    const range = v
      .slice(1, -1)
      .split(',')
      .map((s) => {
        const [begin, end] = s.split('-').map((x) => Number(x.trim()));
        if (!Number.isInteger(begin) || !Number.isInteger(end)) throw new Error(`bad range "${s}" of ${name}`);
        return { begin, end };
      });
    return { type: 'RANGES', ranges: { range } };
  }
  if (v.startsWith('{')) return { type: 'SET', set: { item: v.slice(1, -1).split(',').map((s) => s.trim()) } };
  if (!Number.isFinite(Number(v))) throw new Error(`bad scalar "${v}" of ${name}`);
  return { type: 'SCALAR', scalar: { value: Number(v) } };
}

/** allocated marks resources as allocated to `role` (allocation_info), as offers and used resources carry them. */
export function allocated(list: T.Resource[] | string, role: string): T.Resource[] {
  return (typeof list === 'string' ? resources(list) : list).map((r) => ({ ...r, allocationInfo: { role } }));
}

/** AgentOptions tune {@link agent}. */
export interface AgentOptions {
  /** active: default true; false leaves the field out, as proto3 does. */
  active?: boolean;
  /** used lists what frameworks already use on the agent: `{ framework, role, resources: 'cpus:1;mem:512' }`. */
  used?: { framework: string; role: string; resources: string }[];
}

/** agent builds an AllocatorAgent: `agent('a1', 'cpus:4;mem:4096;disk:1000;ports:[31000-32000]')`. */
export function agent(id: string, total: string, opts: AgentOptions = {}): T.AllocatorAgent {
  return {
    info: { id, hostname: `${id}.conformance.invalid`, port: 5051 },
    total: resources(total),
    used: (opts.used ?? []).map((u) => ({ frameworkId: u.framework, resources: allocated(u.resources, u.role) })),
    ...(opts.active === false ? {} : { active: true }),
  };
}

/** FrameworkOptions tune {@link framework}. */
export interface FrameworkOptions {
  /** active: default true; false leaves the field out, as proto3 does. */
  active?: boolean;
  /** capabilities, e.g. GPU_RESOURCES; MULTI_ROLE is always given. */
  capabilities?: string[];
  suppressedRoles?: string[];
}

/** framework builds an AllocatorFramework subscribed to `roles`: `framework('fw-1', ['analytics'])`. */
export function framework(id: string, roles: string[], opts: FrameworkOptions = {}): T.AllocatorFramework {
  return {
    info: { id, name: `conformance ${id}`, user: 'nobody', roles, capabilities: ['MULTI_ROLE', ...(opts.capabilities ?? [])] },
    ...(opts.active === false ? {} : { active: true }),
    suppressedRoles: opts.suppressedRoles ?? [],
  };
}

/** round keeps the three decimal digits Mesos keeps, so sums of floats compare exactly. */
export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** quantities sums resources per name: scalars, ports in ranges, items of sets. */
export function quantities(list: readonly T.Resource[] | undefined, into: Quantities = new Map()): Quantities {
  for (const r of list ?? []) {
    const name = r.name ?? '';
    let n = 0;
    if (r.scalar) n = r.scalar.value ?? 0;
    else if (r.ranges) n = (r.ranges.range ?? []).reduce((sum, x) => sum + (x.end ?? 0) - (x.begin ?? 0) + 1, 0);
    else if (r.set) n = (r.set.item ?? []).length;
    into.set(name, round((into.get(name) ?? 0) + n));
  }
  return into;
}

/** offered sums what `offers` hold per name, optionally only those matching `which`. */
export function offered(offers: readonly Offer[], which: (o: Offer) => boolean = () => true): Quantities {
  const q: Quantities = new Map();
  for (const o of offers) if (which(o)) quantities(o.resources, q);
  return q;
}

/** amount is a name's amount in `q`, 0 when absent. */
export function amount(q: Quantities, name: string): number {
  return q.get(name) ?? 0;
}

/** describeQuantities renders quantities as "cpus:4;mem:4096" for messages. */
export function describeQuantities(q: Quantities): string {
  return [...q].map(([k, v]) => `${k}:${v}`).join(';') || 'nothing';
}

/** describeOffers renders offers for messages: "fw-1/analytics on a1: cpus:4;mem:4096 (seq 3)". */
export function describeOffers(offers: readonly Offer[]): string {
  if (!offers.length) return 'no offers';
  return offers.map((o) => `${o.frameworkId}/${o.role} on ${o.agentId}: ${describeQuantities(quantities(o.resources))} (seq ${o.seq})`).join(', ');
}

/** without is `list` less the scalar amounts in `less` (resources it drains are dropped), for a partial recover. */
export function without(list: readonly T.Resource[], less: Quantities): T.Resource[] {
  const left = new Map(less);
  const out: T.Resource[] = [];
  for (const r of list) {
    const take = r.scalar ? Math.min(left.get(r.name ?? '') ?? 0, r.scalar.value ?? 0) : 0;
    if (take > 0) left.set(r.name ?? '', round((left.get(r.name ?? '') ?? 0) - take));
    const rest = r.scalar ? round((r.scalar.value ?? 0) - take) : 1;
    if (rest > 0) out.push(take > 0 ? { ...r, scalar: { value: rest } } : r);
  }
  return out;
}

/** reservationRole is the role a resource is reserved for (its innermost reservation), or undefined when unreserved. */
export function reservationRole(r: T.Resource): string | undefined {
  const res = r.reservations ?? [];
  return res.length ? res[res.length - 1].role : undefined;
}

/** withinRole tells whether `role` is `ancestor` or one of its descendants ("a/b" is within "a"). */
export function withinRole(role: string, ancestor: string): boolean {
  return role === ancestor || role.startsWith(`${ancestor}/`);
}
