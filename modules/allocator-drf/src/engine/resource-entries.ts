/**
 * Resource entries: one kind of resource with its amount, and the arithmetic on entries and on lists of
 * entries ordered by kind id that {@link Resources} is built from. Entries are immutable, so lists may
 * share them.
 */
import { kindOf, RANGES, ResourceKind, SCALAR } from './kinds';
import { fromMilli, MILLI, toMilli } from './quantities';
import type { Resource } from './types';
import {
  containsRanges,
  containsSet,
  equalRanges,
  equalSets,
  formatRanges,
  rangesFromProto,
  rangesSize,
  rangesToProto,
  setFromProto,
  subtractRanges,
  subtractSets,
  unionRanges,
  unionSets,
} from './values';

/** One resource of a bag: a kind and its amount in the member matching the kind's value type. */
export interface ResourceEntry {
  /** The interned identity. */
  readonly kind: ResourceKind;
  /** Scalar amount in milli-units (0 for ranges and sets). */
  readonly milli: number;
  /** Coalesced ranges for RANGES kinds, else null. */
  readonly ranges: readonly number[] | null;
  /** Sorted items for SET kinds, else null. */
  readonly items: readonly string[] | null;
}

/** A scalar entry of `milli` thousandths. */
function scalarEntry(kind: ResourceKind, milli: number): ResourceEntry {
  return { kind, milli, ranges: null, items: null };
}


/** Whether an entry holds nothing (a bag never keeps such entries). */
function isEmptyEntry(e: ResourceEntry): boolean {
  return e.kind.valueKind === SCALAR ? e.milli <= 0 : e.kind.valueKind === RANGES ? e.ranges!.length === 0 : e.items!.length === 0;
}

/** `a + b` for entries of the same kind. */
function addEntries(a: ResourceEntry, b: ResourceEntry): ResourceEntry {
  switch (a.kind.valueKind) {
    case SCALAR:
      return scalarEntry(a.kind, a.milli + b.milli);
    case RANGES:
      return { kind: a.kind, milli: 0, ranges: unionRanges(a.ranges!, b.ranges!), items: null };
    default:
      return { kind: a.kind, milli: 0, ranges: null, items: unionSets(a.items!, b.items!) };
  }
}

/** `a - b` for entries of the same kind, saturating at empty. */
function subtractEntries(a: ResourceEntry, b: ResourceEntry): ResourceEntry {
  switch (a.kind.valueKind) {
    case SCALAR:
      return scalarEntry(a.kind, Math.max(0, a.milli - b.milli));
    case RANGES:
      return { kind: a.kind, milli: 0, ranges: subtractRanges(a.ranges!, b.ranges!), items: null };
    default:
      return { kind: a.kind, milli: 0, ranges: null, items: subtractSets(a.items!, b.items!) };
  }
}

/** Whether entry `a` holds at least entry `b` (same kind). */
export function containsEntry(a: ResourceEntry, b: ResourceEntry): boolean {
  switch (a.kind.valueKind) {
    case SCALAR:
      return a.milli >= b.milli;
    case RANGES:
      return containsRanges(a.ranges!, b.ranges!);
    default:
      return containsSet(a.items!, b.items!);
  }
}

/** Whether two entries are of the same kind and amount. */
export function equalEntries(a: ResourceEntry, b: ResourceEntry): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind.valueKind) {
    case SCALAR:
      return a.milli === b.milli;
    case RANGES:
      return equalRanges(a.ranges!, b.ranges!);
    default:
      return equalSets(a.items!, b.items!);
  }
}

/** The quantity of an entry in milli-units: the scalar, or the number of range values or set items. */
export function entryQuantity(e: ResourceEntry): number {
  const k = e.kind.valueKind;
  return k === SCALAR ? e.milli : k === RANGES ? rangesSize(e.ranges!) * MILLI : e.items!.length * MILLI;
}

/** Merges two entry lists ordered by kind id, adding amounts of equal kinds. */
export function mergeAdd(a: readonly ResourceEntry[], b: readonly ResourceEntry[]): ResourceEntry[] {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const out: ResourceEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ka = a[i].kind.id;
    const kb = b[j].kind.id;
    if (ka < kb) out.push(a[i++]);
    else if (kb < ka) out.push(b[j++]);
    else out.push(addEntries(a[i++], b[j++]));
  }
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** Subtracts entry list b from a (both ordered by kind id), dropping entries that become empty. */
export function mergeSubtract(a: readonly ResourceEntry[], b: readonly ResourceEntry[]): ResourceEntry[] {
  if (b.length === 0) return a.slice();
  const out: ResourceEntry[] = [];
  let j = 0;
  for (const e of a) {
    while (j < b.length && b[j].kind.id < e.kind.id) j++;
    if (j < b.length && b[j].kind === e.kind) {
      // A scalar taken whole (the usual recovery) leaves nothing to build.
      if (e.kind.valueKind === SCALAR && b[j].milli >= e.milli) continue;
      const d = subtractEntries(e, b[j]);
      if (!isEmptyEntry(d)) out.push(d);
    } else {
      out.push(e);
    }
  }
  return out;
}

/** Whether entries are strictly ordered by kind id and none is empty (the bag invariant). */
function isNormal(entries: readonly ResourceEntry[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    if (isEmptyEntry(entries[i]) || (i > 0 && entries[i - 1].kind.id >= entries[i].kind.id)) return false;
  }
  return true;
}

/** Orders entries by kind id and merges duplicates; drops empty entries. */
export function normalize(entries: ResourceEntry[]): ResourceEntry[] {
  // Bags are small and usually already in order (proto lists we produced, remapped kinds).
  if (isNormal(entries)) return entries;
  entries.sort((x, y) => x.kind.id - y.kind.id);
  const out: ResourceEntry[] = [];
  for (const e of entries) {
    if (isEmptyEntry(e)) continue;
    const last = out.length > 0 ? out[out.length - 1] : null;
    if (last !== null && last.kind === e.kind) out[out.length - 1] = addEntries(last, e);
    else out.push(e);
  }
  return out;
}

/**
 * Parses one proto resource into an entry (without its allocation role when `unallocated`); throws
 * ResourceError when malformed.
 */
export function entryFromProto(r: Resource, unallocated = false): ResourceEntry {
  const kind = kindOf(r, unallocated);
  switch (kind.valueKind) {
    case SCALAR:
      return scalarEntry(kind, toMilli(r.scalar?.value ?? 0));
    case RANGES:
      return { kind, milli: 0, ranges: rangesFromProto(r.ranges?.range), items: null };
    default:
      return { kind, milli: 0, ranges: null, items: setFromProto(r.set?.item) };
  }
}

/** Renders an entry with the metadata of `kind` (the entry's kind, or its variant with an allocation role). */
export function entryToProto(e: ResourceEntry, kind: ResourceKind): Resource {
  const r = kind.protoBase();
  if (kind.valueKind === SCALAR) r.scalar = { value: fromMilli(e.milli) };
  else if (kind.valueKind === RANGES) r.ranges = { range: rangesToProto(e.ranges!) };
  else r.set = { item: e.items!.slice() };
  return r;
}

/** An entry in Mesos text, e.g. `cpus(eng,allocated:web):2` or `ports:[1-5]`. */
export function formatEntry(e: ResourceEntry): string {
  const k = e.kind;
  let label = k.name;
  const tags: string[] = [];
  if (k.reserved) tags.push(k.reservations.map((r) => r.role).join('>'));
  if (k.allocationRole !== null) tags.push(`allocated:${k.allocationRole}`);
  if (k.revocable) tags.push('revocable');
  if (k.shared) tags.push('shared');
  if (tags.length > 0) label += `(${tags.join(',')})`;
  const value = k.valueKind === SCALAR ? String(fromMilli(e.milli)) : k.valueKind === RANGES ? formatRanges(e.ranges!) : `{${e.items!.join(',')}}`;
  return `${label}:${value}`;
}
