/**
 * Interned resource identities ("kinds").
 *
 * Two Mesos resources can be added together only when everything but their amount is equal: name,
 * value type, reservations, allocation role, shared and revocable flags, provider. The engine interns
 * each such combination once as a {@link ResourceKind} with a small integer id, so the hot path
 * compares integers instead of protobuf metadata, and keeps per-kind facts precomputed (is it an
 * unreserved non-revocable scalar? which role is it reserved for?).
 *
 * The registry is process-wide on purpose: kinds are immutable facts about resource metadata, not
 * allocator state, and the set of distinct combinations in a cluster is small (names × reservation
 * roles × allocation roles). Resource names are interned the same way to dense ids used as indices of
 * quantity vectors.
 */
import { ResourceError } from './values';
import type { Label, ReservationInfo, ReservationType, Resource } from './types';

/** A scalar value (cpus:1.5). */
export const SCALAR = 0;
/** A list of ranges (ports:[31000-32000]). */
export const RANGES = 1;
/** A set of strings. */
export const SET = 2;
/** The value representation of a kind. */
export type ValueKind = typeof SCALAR | typeof RANGES | typeof SET;

/** The role name Mesos uses for unreserved resources and for frameworks that name no role. */
export const ANY_ROLE = '*';

const nameIds = new Map<string, number>();
const names: string[] = [];

/** The dense id of a resource name, registering it on first use. */
export function nameId(name: string): number {
  let id = nameIds.get(name);
  if (id === undefined) {
    id = names.length;
    names.push(name);
    nameIds.set(name, id);
  }
  return id;
}

/** The name registered under a dense id. */
export function nameOf(id: number): string {
  return names[id];
}

// The common names get the first ids so the usual quantity vectors stay short.
for (const n of ['cpus', 'mem', 'disk', 'gpus', 'ports']) nameId(n);

/** A reservation as stored on a kind: normalized, frozen, shared by every resource of the kind. */
export interface NormalizedReservation {
  /** STATIC, DYNAMIC or UNKNOWN (absent). */
  readonly type: ReservationType;
  /** The role reserved for. */
  readonly role: string;
  /** The principal of a dynamic reservation, if any. */
  readonly principal?: string;
  /** Labels of a dynamic reservation, if any. */
  readonly labels?: readonly Label[];
}

/** An interned resource identity: everything about a resource except its amount. */
export class ResourceKind {
  /** The kinds this one becomes when allocated to a role, by role, created on first use. */
  private readonly allocatedTo = new Map<string, ResourceKind>();

  /**
   * Created only by the registry ({@link internKind}); `unallocated` is the same kind without an
   * allocation role (this kind itself when it has none).
   */
  constructor(
    /** Dense id; entries of a resource bag are ordered by it. */
    readonly id: number,
    /** The identity as a string, the registry's key. */
    readonly key: string,
    /** The resource name. */
    readonly name: string,
    /** The dense id of the name. */
    readonly nameId: number,
    /** SCALAR, RANGES or SET. */
    readonly valueKind: ValueKind,
    /** The reservation stack, innermost last; empty when unreserved. */
    readonly reservations: readonly NormalizedReservation[],
    /** The role offered or allocated to, or null for resources not allocated. */
    readonly allocationRole: string | null,
    /** Whether it is a shared resource. */
    readonly shared: boolean,
    /** Whether it is revocable. */
    readonly revocable: boolean,
    /** The provider id, or '' when none. */
    readonly providerId: string,
    unallocated: ResourceKind | null,
  ) {
    this.unallocated = unallocated ?? this;
    this.reserved = reservations.length > 0;
    this.reservationRole = this.reserved ? reservations[reservations.length - 1].role : ANY_ROLE;
    this.refined = reservations.length > 1;
    this.quotaScalar = valueKind === SCALAR && !this.reserved && !revocable;
    this.plain = !this.reserved && !shared && !revocable && providerId === '';
  }

  /** Whether the kind carries no metadata but its name, type and allocation role. */
  readonly plain: boolean;

  /** The same kind with no allocation role. */
  readonly unallocated: ResourceKind;
  /** Whether the resource is reserved (static or dynamic). */
  readonly reserved: boolean;
  /** The innermost reservation's role, or "*" when unreserved. */
  readonly reservationRole: string;
  /** Whether the reservation is refined (more than one reservation in the stack). */
  readonly refined: boolean;
  /**
   * Whether it is an unreserved, non-revocable scalar: the resources that count towards quota
   * consumption and headroom, and that quota limits chop.
   */
  readonly quotaScalar: boolean;

  /** This kind allocated to `role` (the unallocated kind when role is null). */
  withAllocationRole(role: string | null): ResourceKind {
    if (role === null) return this.unallocated;
    if (role === this.allocationRole) return this;
    const base = this.unallocated;
    let k = base.allocatedTo.get(role);
    if (k === undefined) {
      k = internKind(base.name, base.valueKind, base.reservations, role, base.shared, base.revocable, base.providerId);
      base.allocatedTo.set(role, k);
    }
    return k;
  }

  /**
   * Whether resources of this kind may be offered to a framework in `role`: unreserved resources go
   * to any role, reserved ones to their role and its descendants (hierarchical reservations).
   */
  allocatableTo(role: string): boolean {
    if (!this.reserved) return true;
    const r = this.reservationRole;
    return role === r || (role.length > r.length && role.charCodeAt(r.length) === 47 /* '/' */ && role.startsWith(r));
  }

  /**
   * A fresh proto Resource with this kind's metadata and no amount. The nested `reservations` and
   * `allocationInfo` objects are frozen and shared by every resource of the kind: offers are built by
   * the tens of thousands per cycle, and their readers (protobuf encoding) never mutate them.
   */
  protoBase(): Resource {
    const r: Resource = { name: this.name, type: this.valueKind === SCALAR ? 'SCALAR' : this.valueKind === RANGES ? 'RANGES' : 'SET' };
    if (this.reserved) r.reservations = this.protoMeta().reservations;
    if (this.allocationRole !== null) r.allocationInfo = this.protoMeta().allocationInfo;
    if (this.shared) r.shared = true;
    if (this.revocable) r.revocable = true;
    if (this.providerId !== '') r.providerId = this.providerId;
    return r;
  }

  /** Proto metadata shared by every resource of the kind, built on first use. */
  private meta: { reservations?: ReservationInfo[]; allocationInfo?: { role?: string } } | null = null;

  private protoMeta(): { reservations?: ReservationInfo[]; allocationInfo?: { role?: string } } {
    if (this.meta === null) {
      this.meta = {};
      if (this.reserved) this.meta.reservations = deepFreeze(this.reservations.map(reservationToProto));
      if (this.allocationRole !== null) this.meta.allocationInfo = allocationInfoOf(this.allocationRole);
    }
    return this.meta;
  }
}

const allocationInfos = new Map<string, { readonly role: string }>();

/** The frozen `allocationInfo` proto object of a role, shared by every resource allocated to it. */
export function allocationInfoOf(role: string): { readonly role: string } {
  let info = allocationInfos.get(role);
  if (info === undefined) {
    info = Object.freeze({ role });
    allocationInfos.set(role, info);
  }
  return info;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

function reservationToProto(r: NormalizedReservation): ReservationInfo {
  const out: ReservationInfo = { type: r.type, role: r.role };
  if (r.principal !== undefined) out.principal = r.principal;
  if (r.labels !== undefined) out.labels = { labels: r.labels.map((l) => ({ key: l.key, value: l.value })) };
  return out;
}

const kindsByKey = new Map<string, ResourceKind>();

function reservationsKey(reservations: readonly NormalizedReservation[]): string {
  let key = '';
  for (const r of reservations) {
    key += `${r.type}\u0002${r.role}\u0002${r.principal ?? ''}\u0002`;
    if (r.labels) for (const l of r.labels) key += `${l.key ?? ''}=${l.value ?? ''}\u0003`;
    key += '\u0004';
  }
  return key;
}

/** Interns the kind with the given metadata, creating it on first use. */
function internKind(
  name: string,
  valueKind: ValueKind,
  reservations: readonly NormalizedReservation[],
  allocationRole: string | null,
  shared: boolean,
  revocable: boolean,
  providerId: string,
): ResourceKind {
  const key =
    `${name}\u0001${valueKind}\u0001${reservations.length === 0 ? '' : reservationsKey(reservations)}\u0001` +
    `${allocationRole ?? '\u0000'}\u0001${shared ? 1 : 0}${revocable ? 1 : 0}\u0001${providerId}`;
  let kind = kindsByKey.get(key);
  if (kind === undefined) {
    const unallocated =
      allocationRole === null ? null : internKind(name, valueKind, reservations, null, shared, revocable, providerId);
    kind = new ResourceKind(
      kindsByKey.size,
      key,
      name,
      nameId(name),
      valueKind,
      Object.freeze(reservations.slice()),
      allocationRole,
      shared,
      revocable,
      providerId,
      unallocated,
    );
    kindsByKey.set(key, kind);
  }
  return kind;
}

const NO_RESERVATIONS: readonly NormalizedReservation[] = Object.freeze([]);

function normalizeReservations(list: readonly ReservationInfo[] | undefined): readonly NormalizedReservation[] {
  if (!list || list.length === 0) return NO_RESERVATIONS;
  return list.map((r) => {
    const role = r.role ?? '';
    if (role === '' || role === ANY_ROLE) throw new ResourceError(`a reservation must name a role other than "*"`);
    const out: { type: ReservationType; role: string; principal?: string; labels?: Label[] } = {
      type: r.type ?? 'UNKNOWN',
      role,
    };
    if (r.principal) out.principal = r.principal;
    const labels = r.labels?.labels;
    if (labels && labels.length > 0) out.labels = labels.map((l) => ({ key: l.key ?? '', value: l.value ?? '' }));
    return out;
  });
}

/** The value representation of a proto resource; proto3 leaves the default SCALAR type absent. */
function valueKindOf(r: Resource): ValueKind {
  switch (r.type) {
    case 'SCALAR':
      return SCALAR;
    case 'RANGES':
      return RANGES;
    case 'SET':
      return SET;
    case undefined:
    case null:
      // Tolerate writers that set the member but not the type.
      if (r.scalar == null && r.ranges != null) return RANGES;
      if (r.scalar == null && r.set != null) return SET;
      return SCALAR;
    default:
      throw new ResourceError(`resource '${r.name ?? ''}' has type ${String(r.type)}; resources are SCALAR, RANGES or SET`);
  }
}

/**
 * Unreserved, unflagged kinds by value kind and name: the common case (cpus, mem, ports...) is found
 * without building a key string, and its allocated variants through {@link ResourceKind.withAllocationRole}.
 */
const plainKinds: Map<string, ResourceKind>[] = [new Map(), new Map(), new Map()];

/** The allocation role of a proto resource, or null when it has none. */
export function allocationRoleOf(r: Resource): string | null {
  const role = r.allocationInfo?.role;
  return role === undefined || role === null || role === '' ? null : role;
}

/**
 * The interned kind of a proto resource (its metadata; the amount is read separately). With
 * `ignoreAllocation`, the kind without allocation role, whatever the resource says.
 */
export function kindOf(r: Resource, ignoreAllocation = false): ResourceKind {
  const name = r.name ?? '';
  if (name === '') throw new ResourceError('a resource must have a name');
  const allocationRole = ignoreAllocation ? null : allocationRoleOf(r);
  const valueKind = valueKindOf(r);
  const providerId = r.providerId ?? '';
  if ((r.reservations == null || r.reservations.length === 0) && r.shared !== true && r.revocable !== true && providerId === '') {
    const plain = plainKinds[valueKind];
    let base = plain.get(name);
    if (base === undefined) {
      base = internKind(name, valueKind, NO_RESERVATIONS, null, false, false, '');
      plain.set(name, base);
    }
    return allocationRole === null ? base : base.withAllocationRole(allocationRole);
  }
  return internKind(
    name,
    valueKind,
    normalizeReservations(r.reservations),
    allocationRole,
    r.shared === true,
    r.revocable === true,
    providerId,
  );
}
