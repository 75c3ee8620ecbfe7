/**
 * Resource arithmetic on Mesos-shaped resources, as the master needs it to validate launches: is what a
 * task asks for inside what the offer holds, and what is left. Resources are keyed the way Mesos keys
 * them (name, reservation role, allocation role, revocable, shared); scalars are added in thousandths
 * (Mesos's fixed point) so 0.1 + 0.2 is exactly 0.3; ranges and sets are merged.
 */
import type { Range, Resource } from './mesos';

const MILLI = 1000;

/** Stable key of a resource: what must match for two resources to be added. */
function keyOf(r: Resource): string {
  const reservations = (r.reservations ?? []).map((x) => `${x.type ?? ''}:${x.role ?? ''}:${x.principal ?? ''}${x.labels?.labels?.length ? `:${JSON.stringify(x.labels.labels)}` : ''}`).join('/');
  return `${r.name}|${r.type}|${reservations || r.role || '*'}|${r.allocation_info?.role ?? ''}|${r.revocable ? 'r' : ''}|${r.shared ? 's' : ''}|${r.disk ? JSON.stringify(r.disk) : ''}`;
}

/** Normalises a range list: sorted, merged, adjacent ranges joined. */
function normalise(ranges: readonly Range[]): Range[] {
  const sorted = ranges.map((x) => ({ begin: x.begin, end: x.end })).sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.begin <= last.end + 1) last.end = Math.max(last.end, x.end);
    else out.push(x);
  }
  return out;
}

function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  const o = normalise(outer);
  return normalise(inner).every((x) => o.some((y) => y.begin <= x.begin && x.end <= y.end));
}

function subtractRanges(from: readonly Range[], take: readonly Range[]): Range[] {
  let out = normalise(from);
  for (const t of normalise(take)) {
    const next: Range[] = [];
    for (const x of out) {
      if (t.end < x.begin || t.begin > x.end) next.push(x);
      else {
        if (x.begin < t.begin) next.push({ begin: x.begin, end: t.begin - 1 });
        if (t.end < x.end) next.push({ begin: t.end + 1, end: x.end });
      }
    }
    out = next;
  }
  return out;
}

/** A bag of resources keyed as Mesos keys them. */
export class ResourceBag {
  private readonly items = new Map<string, Resource>();

  /** Builds a bag from resources (merging equal keys). */
  static of(resources: readonly Resource[] = []): ResourceBag {
    const bag = new ResourceBag();
    for (const r of resources) bag.add(r);
    return bag;
  }

  /** Adds one resource. */
  add(r: Resource): void {
    const k = keyOf(r);
    const have = this.items.get(k);
    if (!have) {
      this.items.set(k, structuredClone(r));
      return;
    }
    if (r.type === 'SCALAR') have.scalar = { value: Math.round(((have.scalar?.value ?? 0) + (r.scalar?.value ?? 0)) * MILLI) / MILLI };
    else if (r.type === 'RANGES') have.ranges = { range: normalise([...(have.ranges?.range ?? []), ...(r.ranges?.range ?? [])]) };
    else if (r.type === 'SET') have.set = { item: [...new Set([...(have.set?.item ?? []), ...(r.set?.item ?? [])])] };
  }

  /** Whether every resource of `other` is inside this bag. */
  contains(other: readonly Resource[]): boolean {
    for (const r of ResourceBag.of(other).items.values()) {
      const have = this.items.get(keyOf(r));
      if (!have) return false;
      if (r.type === 'SCALAR' && Math.round((r.scalar?.value ?? 0) * MILLI) > Math.round((have.scalar?.value ?? 0) * MILLI)) return false;
      if (r.type === 'RANGES' && !rangesContain(have.ranges?.range ?? [], r.ranges?.range ?? [])) return false;
      if (r.type === 'SET' && !(r.set?.item ?? []).every((i) => (have.set?.item ?? []).includes(i))) return false;
    }
    return true;
  }

  /** Removes `other`, which must be contained. */
  subtract(other: readonly Resource[]): void {
    for (const r of ResourceBag.of(other).items.values()) {
      const k = keyOf(r);
      const have = this.items.get(k);
      if (!have) continue;
      if (r.type === 'SCALAR') {
        const left = Math.round((have.scalar?.value ?? 0) * MILLI) - Math.round((r.scalar?.value ?? 0) * MILLI);
        if (left <= 0) this.items.delete(k);
        else have.scalar = { value: left / MILLI };
      } else if (r.type === 'RANGES') {
        const left = subtractRanges(have.ranges?.range ?? [], r.ranges?.range ?? []);
        if (left.length === 0) this.items.delete(k);
        else have.ranges = { range: left };
      } else if (r.type === 'SET') {
        const left = (have.set?.item ?? []).filter((i) => !(r.set?.item ?? []).includes(i));
        if (left.length === 0) this.items.delete(k);
        else have.set = { item: left };
      }
    }
  }

  /** Whether the bag holds nothing. */
  get empty(): boolean {
    return this.items.size === 0;
  }

  /** The resources, as a list. */
  toList(): Resource[] {
    return [...this.items.values()].map((r) => structuredClone(r));
  }

  /** The scalar total of one resource name (all roles). */
  scalar(name: string): number {
    let milli = 0;
    for (const r of this.items.values()) if (r.name === name && r.type === 'SCALAR') milli += Math.round((r.scalar?.value ?? 0) * MILLI);
    return milli / MILLI;
  }
}

/**
 * sumScalars adds up the plain scalar resources of a list (no reservation, disk, revocable or shared
 * flag) that share a name, role and allocation role, in thousandths as Mesos does; every other resource
 * is kept as it is. What an agent's tasks use reaches the allocator as such a sum (Mesos's allocator
 * takes used resources as one Resources value): 10,000 re-registering agents' tasks then cost the
 * allocator module a few resources per agent instead of every task's.
 */
export function sumScalars(resources: readonly Resource[]): Resource[] {
  const out: Resource[] = [];
  // The sums so far: few per list (one per name in practice), so a scan beats building keys.
  const sums: Array<{ index: number; milli: number; r: Resource }> = [];
  for (const r of resources) {
    if (r.type !== 'SCALAR' || r.reservations?.length || r.disk || r.revocable || r.shared || r.scalar === undefined) {
      out.push(r);
      continue;
    }
    const sum = sums.find((x) => x.r.name === r.name && x.r.role === r.role && x.r.allocation_info?.role === r.allocation_info?.role && (x.r.allocation_info === undefined) === (r.allocation_info === undefined));
    if (sum === undefined) {
      sums.push({ index: out.length, milli: Math.round(r.scalar.value * MILLI), r });
      out.push(r);
    } else {
      sum.milli += Math.round(r.scalar.value * MILLI);
      out[sum.index] = { ...sum.r, scalar: { value: sum.milli / MILLI } };
    }
  }
  return out;
}

/** Flattens resources to the legacy `/state` form: `{"cpus": 2, "mem": 1024, "ports": "[31000-32000]"}`. */
export function flattenResources(resources: readonly Resource[] = []): Record<string, number | string> {
  const out: Record<string, number | string> = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  const bag = ResourceBag.of(resources.map((r) => ({ ...r, reservations: undefined, role: undefined, allocation_info: undefined })));
  for (const r of bag.toList()) {
    if (r.type === 'SCALAR') out[r.name] = r.scalar?.value ?? 0;
    else if (r.type === 'RANGES') out[r.name] = `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
    else if (r.type === 'SET') out[r.name] = `{${(r.set?.item ?? []).join(', ')}}`;
  }
  return out;
}

/**
 * describeResources writes resources the way error messages show them: `cpus(db):1;mem:64;ports:[31000-31009]`,
 * the role in parentheses being the innermost reservation's (or the legacy `role`).
 */
export function describeResources(resources: readonly Resource[]): string {
  return resources
    .map((r) => {
      const role = r.reservations?.length ? r.reservations[r.reservations.length - 1].role : r.role !== undefined && r.role !== '*' ? r.role : undefined;
      const value = r.type === 'SCALAR' ? r.scalar?.value : r.type === 'RANGES' ? `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(',')}]` : `{${(r.set?.item ?? []).join(',')}}`;
      return `${r.name}${role !== undefined ? `(${role})` : ''}:${value}`;
    })
    .join(';');
}
