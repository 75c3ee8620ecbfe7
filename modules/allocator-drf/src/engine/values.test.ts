import { Rng } from './test-support';
import {
  containsRanges,
  containsSet,
  rangesFromProto,
  rangesSize,
  rangesToProto,
  ResourceError,
  setFromProto,
  subtractRanges,
  subtractSets,
  unionRanges,
  unionSets,
} from './values';

/** The values of a range list, as a plain set (the reference model). */
function valuesOf(ranges: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < ranges.length; i += 2) for (let v = ranges[i]; v <= ranges[i + 1]; v++) out.add(v);
  return out;
}

function randomRanges(rng: Rng): number[] {
  const n = rng.int(0, 5);
  return rangesFromProto(
    Array.from({ length: n }, () => {
      const b = rng.int(0, 60);
      return { begin: b, end: b + rng.int(0, 8) };
    }),
  );
}

function isCanonical(ranges: readonly number[]): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] > ranges[i + 1]) return false;
    if (i > 0 && ranges[i] <= ranges[i - 1] + 1) return false;
  }
  return true;
}

describe('ranges', () => {
  it('coalesces overlapping and adjacent ranges given in any order', () => {
    expect(rangesFromProto([{ begin: 10, end: 12 }, { begin: 1, end: 3 }, { begin: 4, end: 5 }, { begin: 11, end: 20 }])).toEqual([1, 5, 10, 20]);
    expect(rangesToProto([31000, 32000])).toEqual([{ begin: 31000, end: 32000 }]);
  });

  it('rejects reversed, negative and fractional bounds', () => {
    expect(() => rangesFromProto([{ begin: 5, end: 4 }])).toThrow(ResourceError);
    expect(() => rangesFromProto([{ begin: -1, end: 4 }])).toThrow(ResourceError);
    expect(() => rangesFromProto([{ begin: 1.5, end: 4 }, { begin: 7, end: 8 }])).toThrow(ResourceError);
  });

  it('adds, subtracts and compares ports as Mesos does', () => {
    const ports = rangesFromProto([{ begin: 31000, end: 32000 }]);
    const some = rangesFromProto([{ begin: 31000, end: 31009 }, { begin: 31500, end: 31500 }]);
    const rest = subtractRanges(ports, some);
    expect(rest).toEqual([31010, 31499, 31501, 32000]);
    expect(rangesSize(rest)).toBe(1001 - 11);
    expect(containsRanges(ports, some)).toBe(true);
    expect(containsRanges(rest, some)).toBe(false);
    expect(unionRanges(rest, some)).toEqual(ports);
  });

  it('agrees with a set-of-values model on random inputs', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 500; i++) {
      const a = randomRanges(rng);
      const b = randomRanges(rng);
      const va = valuesOf(a);
      const vb = valuesOf(b);
      const union = unionRanges(a, b);
      const diff = subtractRanges(a, b);
      expect(isCanonical(union)).toBe(true);
      expect(isCanonical(diff)).toBe(true);
      expect(valuesOf(union)).toEqual(new Set([...va, ...vb]));
      expect(valuesOf(diff)).toEqual(new Set([...va].filter((v) => !vb.has(v))));
      expect(containsRanges(a, b)).toBe([...vb].every((v) => va.has(v)));
      expect(rangesSize(a)).toBe(va.size);
    }
  });
});

describe('sets', () => {
  it('normalizes, adds, subtracts and compares items', () => {
    const a = setFromProto(['b', 'a', 'b', 'c']);
    expect(a).toEqual(['a', 'b', 'c']);
    expect(unionSets(a, setFromProto(['d', 'a']))).toEqual(['a', 'b', 'c', 'd']);
    expect(subtractSets(a, setFromProto(['z', 'b']))).toEqual(['a', 'c']);
    expect(containsSet(a, ['a', 'c'])).toBe(true);
    expect(containsSet(a, ['a', 'd'])).toBe(false);
  });
});
