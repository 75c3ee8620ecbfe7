/**
 * Arithmetic on the non-scalar resource values: inclusive integer ranges (ports) and string sets.
 *
 * Ranges are kept as one flat, sorted, coalesced array `[b0, e0, b1, e1, ...]` with `e_i + 1 < b_{i+1}`:
 * adjacent and overlapping ranges are merged, as Mesos does, so that equal sets of values always have
 * the same representation and comparisons are linear merges. Sets are sorted arrays of unique strings.
 * Every function returns a new array and never mutates its inputs.
 */
import type { ValueRange } from './types';

/** Raised for malformed resource values (negative, non-integer or reversed ranges, NaN scalars...). */
export class ResourceError extends Error {
  /** Creates the error with a message naming the offending value. */
  constructor(message: string) {
    super(message);
    this.name = 'ResourceError';
  }
}

/** A flat, sorted, coalesced list of inclusive ranges: `[b0, e0, b1, e1, ...]`. */
export type RangeList = readonly number[];

function checkBound(value: number | undefined, what: string): number {
  const v = value ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new ResourceError(`range ${what} must be a non-negative integer, got ${String(value)}`);
  }
  return v;
}

/**
 * Builds a range list from proto ranges in any order; overlapping and adjacent ranges are merged.
 * Throws ResourceError for begin > end or bounds that are not non-negative safe integers.
 */
export function rangesFromProto(ranges: readonly ValueRange[] | undefined): number[] {
  if (!ranges || ranges.length === 0) return [];
  if (ranges.length === 1) {
    const b = checkBound(ranges[0].begin, 'begin');
    const e = checkBound(ranges[0].end, 'end');
    if (b > e) throw new ResourceError(`invalid range [${b}-${e}]: begin is after end`);
    return [b, e];
  }
  const pairs: [number, number][] = [];
  for (const r of ranges) {
    const b = checkBound(r.begin, 'begin');
    const e = checkBound(r.end, 'end');
    if (b > e) throw new ResourceError(`invalid range [${b}-${e}]: begin is after end`);
    pairs.push([b, e]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [b, e] of pairs) appendRange(out, b, e);
  return out;
}

/** Renders a range list as proto ranges. */
export function rangesToProto(ranges: RangeList): ValueRange[] {
  const out: ValueRange[] = [];
  for (let i = 0; i < ranges.length; i += 2) out.push({ begin: ranges[i], end: ranges[i + 1] });
  return out;
}

/** Appends [b, e] to a sorted list whose last range starts at or before b, merging when they touch. */
function appendRange(out: number[], b: number, e: number): void {
  const n = out.length;
  if (n > 0 && b <= out[n - 1] + 1) {
    if (e > out[n - 1]) out[n - 1] = e;
  } else {
    out.push(b, e);
  }
}

/** The union of two range lists. */
export function unionRanges(a: RangeList, b: RangeList): number[] {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a.slice();
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      appendRange(out, a[i], a[i + 1]);
      i += 2;
    } else {
      appendRange(out, b[j], b[j + 1]);
      j += 2;
    }
  }
  return out;
}

/** The values of `a` that are not in `b`. */
export function subtractRanges(a: RangeList, b: RangeList): number[] {
  if (a.length === 0 || b.length === 0) return a.slice();
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let begin = a[i];
    const end = a[i + 1];
    // Skip subtrahend ranges entirely before this one; they cannot affect later ranges either.
    while (j < b.length && b[j + 1] < begin) j += 2;
    let k = j;
    while (k < b.length && b[k] <= end && begin <= end) {
      if (b[k] > begin) out.push(begin, b[k] - 1);
      begin = Math.max(begin, b[k + 1] + 1);
      k += 2;
    }
    if (begin <= end) out.push(begin, end);
  }
  return out;
}

/** Whether every value of `b` is in `a`. */
export function containsRanges(a: RangeList, b: RangeList): boolean {
  let i = 0;
  for (let j = 0; j < b.length; j += 2) {
    while (i < a.length && a[i + 1] < b[j]) i += 2;
    // Lists are coalesced, so a range of b must fit inside a single range of a.
    if (i >= a.length || a[i] > b[j] || a[i + 1] < b[j + 1]) return false;
  }
  return true;
}

/** The number of values in a range list (e.g. how many ports). */
export function rangesSize(ranges: RangeList): number {
  let n = 0;
  for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1] - ranges[i] + 1;
  return n;
}

/** Whether two range lists hold the same values. */
export function equalRanges(a: RangeList, b: RangeList): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Renders a range list as Mesos text: `[31000-31005, 31010-31010]`. */
export function formatRanges(ranges: RangeList): string {
  const parts: string[] = [];
  for (let i = 0; i < ranges.length; i += 2) parts.push(`${ranges[i]}-${ranges[i + 1]}`);
  return `[${parts.join(', ')}]`;
}

/** A sorted array of unique strings. */
export type ItemSet = readonly string[];

/** Builds a set from proto items in any order, dropping duplicates. */
export function setFromProto(items: readonly string[] | undefined): string[] {
  if (!items || items.length === 0) return [];
  return Array.from(new Set(items)).sort();
}

/** The union of two sets. */
export function unionSets(a: ItemSet, b: ItemSet): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}

/** The items of `a` that are not in `b`. */
export function subtractSets(a: ItemSet, b: ItemSet): string[] {
  const out: string[] = [];
  let j = 0;
  for (const item of a) {
    while (j < b.length && b[j] < item) j++;
    if (j >= b.length || b[j] !== item) out.push(item);
  }
  return out;
}

/** Whether every item of `b` is in `a`. */
export function containsSet(a: ItemSet, b: ItemSet): boolean {
  let i = 0;
  for (const item of b) {
    while (i < a.length && a[i] < item) i++;
    if (i >= a.length || a[i] !== item) return false;
  }
  return true;
}

/** Whether two sets hold the same items. */
export function equalSets(a: ItemSet, b: ItemSet): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
