/**
 * Mesos-style resource arithmetic.
 *
 * {@link Resources} is an immutable-by-default bag of resource entries, one per interned
 * {@link ResourceKind} (name, reservations, allocation role, flags), ordered by kind id so that every
 * binary operation is one linear merge. Scalars are integer thousandths (see quantities.ts), ranges are
 * coalesced flat lists and sets sorted arrays (see values.ts). Entries are immutable and shared
 * between bags, so filtering and copying never clone amounts. The in-place operations
 * ({@link Resources.addInPlace}, {@link Resources.subtractInPlace}) exist for the allocator's
 * bookkeeping of agent and framework totals.
 *
 * Shared resources are treated as ordinary resources: one copy each (Mesos counts copies of shared
 * volumes; Tessera does not offer a shared volume to several frameworks at once).
 */
import { allocationInfoOf, allocationRoleOf, RANGES, SCALAR } from './kinds';
import { addAt, fromMilli, MinAllocatable, QuantityVector, vectorToRecord } from './quantities';
import {
  entryFromProto,
  entryQuantity,
  entryToProto,
  equalEntries,
  formatEntry,
  mergeAdd,
  mergeSubtract,
  normalize,
  ResourceEntry,
  containsEntry,
} from './resource-entries';
import type { Resource } from './types';
import { rangesToProto } from './values';

export { entryQuantity, type ResourceEntry } from './resource-entries';

/** A bag of resources with Mesos semantics; see the module comment. */
export class Resources {
  private list: readonly ResourceEntry[];

  private constructor(entries: readonly ResourceEntry[]) {
    this.list = entries;
  }

  /** An empty bag. */
  static empty(): Resources {
    return new Resources([]);
  }

  /** Parses proto resources (any order, duplicates merged, empty amounts dropped). */
  static fromProto(list: readonly Resource[] | undefined | null): Resources {
    if (!list || list.length === 0) return new Resources([]);
    return new Resources(normalize(list.map((r) => entryFromProto(r))));
  }

  /**
   * Parses proto resources into bags of unallocated resources, one per allocation role (null for
   * resources without one): how the allocator reads back what frameworks held.
   */
  static fromProtoByRole(list: readonly Resource[] | undefined | null): Map<string | null, Resources> {
    const out = new Map<string | null, Resources>();
    if (!list || list.length === 0) return out;
    const role = allocationRoleOf(list[0]);
    if (list.every((r) => allocationRoleOf(r) === role)) {
      // The usual case (one role): parse straight to unallocated kinds.
      const bag = new Resources(normalize(list.map((r) => entryFromProto(r, true))));
      if (!bag.isEmpty()) out.set(role, bag);
      return out;
    }
    for (const [r, bag] of new Resources(normalize(list.map((r) => entryFromProto(r)))).byAllocationRole()) out.set(r, bag.unallocate());
    return out;
  }

  /** A bag of the given entries (any order; duplicates merged, empty ones dropped). */
  static fromEntries(entries: readonly ResourceEntry[]): Resources {
    return new Resources(normalize(entries.slice()));
  }

  /** A bag of entries already ordered by kind id, unique and non-empty; the caller guarantees it. */
  static fromSortedEntries(entries: readonly ResourceEntry[]): Resources {
    return new Resources(entries);
  }

  /** The entries, ordered by kind id. */
  get entries(): readonly ResourceEntry[] {
    return this.list;
  }

  /** Whether the bag holds nothing. */
  isEmpty(): boolean {
    return this.list.length === 0;
  }

  /** A copy that can be mutated independently. */
  clone(): Resources {
    return new Resources(this.list);
  }

  /** `this + other`. */
  plus(other: Resources): Resources {
    return new Resources(mergeAdd(this.list, other.list));
  }

  /** `this - other`: amounts not present are ignored, amounts that would go negative become empty. */
  minus(other: Resources): Resources {
    return new Resources(mergeSubtract(this.list, other.list));
  }

  /** Adds `other` to this bag. */
  addInPlace(other: Resources): void {
    if (other.list.length > 0) this.list = mergeAdd(this.list, other.list);
  }

  /** Subtracts `other` from this bag, with the saturating semantics of {@link minus}. */
  subtractInPlace(other: Resources): void {
    // Offering everything an agent has subtracts a bag sharing the agent's own entries.
    if (other.list === this.list) this.list = [];
    else if (other.list.length > 0 && this.list.length > 0) this.list = mergeSubtract(this.list, other.list);
  }

  /** Whether this bag holds at least everything in `other` (this ⊇ other). */
  contains(other: Resources): boolean {
    const a = this.list;
    const b = other.list;
    let i = 0;
    for (const e of b) {
      while (i < a.length && a[i].kind.id < e.kind.id) i++;
      if (i >= a.length || a[i].kind !== e.kind || !containsEntry(a[i], e)) return false;
    }
    return true;
  }

  /** Whether both bags hold exactly the same resources. */
  equals(other: Resources): boolean {
    if (this.list.length !== other.list.length) return false;
    for (let i = 0; i < this.list.length; i++) if (!equalEntries(this.list[i], other.list[i])) return false;
    return true;
  }

  /** The entries for which `keep` is true. */
  filter(keep: (e: ResourceEntry) => boolean): Resources {
    return new Resources(this.list.filter(keep));
  }

  /** The unreserved resources. */
  unreserved(): Resources {
    return this.filter((e) => !e.kind.reserved);
  }

  /** The reserved resources: all of them, or those whose innermost reservation is exactly `role`. */
  reserved(role?: string): Resources {
    return this.filter((e) => e.kind.reserved && (role === undefined || e.kind.reservationRole === role));
  }

  /** The resources a framework in `role` may be offered: unreserved, or reserved to role or an ancestor. */
  allocatableTo(role: string): Resources {
    return this.filter((e) => e.kind.allocatableTo(role));
  }

  /** The non-revocable resources. */
  nonRevocable(): Resources {
    return this.filter((e) => !e.kind.revocable);
  }

  /** The scalar resources. */
  scalars(): Resources {
    return this.filter((e) => e.kind.valueKind === SCALAR);
  }

  /** The same resources allocated to `role` (allocationInfo.role set). */
  allocate(role: string): Resources {
    return this.withAllocationRole(role);
  }

  /** The same resources without allocation role. */
  unallocate(): Resources {
    return this.withAllocationRole(null);
  }

  private withAllocationRole(role: string | null): Resources {
    const list = this.list;
    let same = true;
    for (const e of list) if (e.kind.allocationRole !== role) same = false;
    if (same) return this.clone();
    return new Resources(
      normalize(list.map((e) => ({ kind: e.kind.withAllocationRole(role), milli: e.milli, ranges: e.ranges, items: e.items }))),
    );
  }

  /**
   * The allocation role all entries share: a role, null when none has one, undefined when they differ
   * (or the bag is empty).
   */
  commonAllocationRole(): string | null | undefined {
    if (this.list.length === 0) return undefined;
    const role = this.list[0].kind.allocationRole;
    for (const e of this.list) if (e.kind.allocationRole !== role) return undefined;
    return role;
  }

  /** The resources grouped by allocation role (null for unallocated ones); may share this bag. */
  byAllocationRole(): Map<string | null, Resources> {
    const common = this.commonAllocationRole();
    if (common !== undefined) return new Map([[common, this]]);
    const groups = new Map<string | null, ResourceEntry[]>();
    for (const e of this.list) {
      const role = e.kind.allocationRole;
      const g = groups.get(role);
      if (g) g.push(e);
      else groups.set(role, [e]);
    }
    const out = new Map<string | null, Resources>();
    // Filtering keeps kind order, so each group is already normalized.
    for (const [role, entries] of groups) out.set(role, new Resources(entries));
    return out;
  }

  /** The total quantity of resource `name` in milli-units (range values and set items count as 1 each). */
  quantityMilli(nameId: number): number {
    let q = 0;
    for (const e of this.list) if (e.kind.nameId === nameId) q += entryQuantity(e);
    return q;
  }

  /** Adds `sign ×` every scalar amount to a quantity vector indexed by name id. */
  addScalarsTo(v: QuantityVector, sign: 1 | -1): void {
    for (const e of this.list) if (e.kind.valueKind === SCALAR) addAt(v, e.kind.nameId, sign * e.milli);
  }

  /** Scalar quantities by name, ignoring metadata: `{cpus: 2.5, mem: 1024}`. */
  scalarQuantities(): Record<string, number> {
    const v: QuantityVector = [];
    this.addScalarsTo(v, 1);
    return vectorToRecord(v);
  }

  /** Whether the bag meets at least one alternative of the minimum (any non-empty bag when there are none). */
  meets(min: MinAllocatable): boolean {
    if (this.list.length === 0) return false;
    if (min.length === 0) return true;
    for (const alternative of min) {
      let ok = true;
      for (const req of alternative) {
        if (this.quantityMilli(req.nameId) < req.milli) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  }

  /**
   * The resources as proto messages, allocated to `role` when given (else with their own allocation
   * roles). The top-level objects are fresh; nested metadata is frozen and shared (see
   * {@link ResourceKind.protoBase}).
   */
  toProto(role?: string): Resource[] {
    const out: Resource[] = new Array(this.list.length);
    const info = role === undefined ? undefined : allocationInfoOf(role);
    for (let i = 0; i < this.list.length; i++) {
      const e = this.list[i];
      const k = e.kind;
      if (info !== undefined && k.plain && k.valueKind === SCALAR) {
        // The shape of nearly every offered resource, built as one literal (a fixed hidden class).
        out[i] = { name: k.name, type: 'SCALAR', scalar: { value: fromMilli(e.milli) }, allocationInfo: info };
      } else if (info !== undefined && k.plain && k.valueKind === RANGES) {
        out[i] = { name: k.name, type: 'RANGES', ranges: { range: rangesToProto(e.ranges!) }, allocationInfo: info };
      } else {
        out[i] = entryToProto(e, info === undefined ? k : k.withAllocationRole(role!));
      }
    }
    return out;
  }

  /** Mesos-style text, e.g. `cpus:2;mem(eng):512;ports:[31000-31005]`, for logs and errors. */
  toString(): string {
    return this.list.map(formatEntry).join(';');
  }
}

/** `a + b` on proto resources. */
export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return Resources.fromProto(a).plus(Resources.fromProto(b)).toProto();
}

/** `a - b` on proto resources (saturating; see {@link Resources.minus}). */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return Resources.fromProto(a).minus(Resources.fromProto(b)).toProto();
}

/** Whether proto resources `a` contain `b` (a ⊇ b). */
export function containsResources(a: readonly Resource[], b: readonly Resource[]): boolean {
  return Resources.fromProto(a).contains(Resources.fromProto(b));
}

/** Whether proto resources hold nothing (after dropping zero amounts). */
export function isEmptyResources(a: readonly Resource[]): boolean {
  return Resources.fromProto(a).isEmpty();
}

/** Scalar quantities of proto resources by name, e.g. `{cpus: 4, mem: 2048}`. */
export function scalarQuantities(a: readonly Resource[]): Record<string, number> {
  return Resources.fromProto(a).scalarQuantities();
}

/** The proto resources whose innermost reservation is `role`, or the unreserved ones for `"*"`. */
export function filterByReservationRole(a: readonly Resource[], role: string): Resource[] {
  return Resources.fromProto(a)
    .filter((e) => e.kind.reservationRole === role)
    .toProto();
}

/** Whether proto resources meet a minimum allocatable size (see {@link MinAllocatable}). */
export function isAllocatable(a: readonly Resource[], min: MinAllocatable): boolean {
  return Resources.fromProto(a).meets(min);
}

