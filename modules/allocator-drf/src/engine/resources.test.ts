import { toMilli } from './quantities';
import { minAllocatableFrom } from './quantities';
import { parseResources } from './resource-text';
import {
  addResources,
  containsResources,
  filterByReservationRole,
  isAllocatable,
  isEmptyResources,
  Resources,
  scalarQuantities,
  subtractResources,
} from './resources';
import { Rng } from './test-support';
import type { Resource } from './types';
import { ResourceError } from './values';

const r = (text: string): Resources => Resources.fromProto(parseResources(text));
const cpus = (value: number): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value } });

describe('fixed-point scalars', () => {
  it('adds 0.1 ten times to exactly 1', () => {
    let sum = Resources.empty();
    for (let i = 0; i < 10; i++) sum = sum.plus(Resources.fromProto([cpus(0.1)]));
    expect(sum.scalarQuantities()).toEqual({ cpus: 1 });
    expect(sum.equals(Resources.fromProto([cpus(1)]))).toBe(true);
    // The float sum drifts; the resource sum does not.
    expect([...Array(10)].reduce((acc: number) => acc + 0.1, 0)).not.toBe(1);
  });

  it('returns exactly to zero after 1000 random additions and subtractions', () => {
    const rng = new Rng(42);
    const amounts = Array.from({ length: 500 }, () => rng.int(1, 99999) / 1000);
    let bag = Resources.empty();
    for (const a of amounts) bag = bag.plus(Resources.fromProto([cpus(a), { name: 'mem', scalar: { value: a * 3 } }]));
    for (const a of amounts.slice().reverse().sort(() => rng.next() - 0.5)) {
      const part = Resources.fromProto([cpus(a), { name: 'mem', scalar: { value: a * 3 } }]);
      expect(bag.contains(part)).toBe(true);
      bag = bag.minus(part);
    }
    expect(bag.isEmpty()).toBe(true);
    expect(bag.scalarQuantities()).toEqual({});
  });

  it('rounds to three decimals as Mesos does and rejects invalid values', () => {
    expect(toMilli(0.0004)).toBe(0);
    expect(toMilli(0.0005)).toBe(1);
    expect(toMilli(1.2345)).toBe(1235);
    expect(Resources.fromProto([cpus(0.0001)]).isEmpty()).toBe(true);
    expect(() => Resources.fromProto([cpus(-1)])).toThrow(ResourceError);
    expect(() => Resources.fromProto([cpus(NaN)])).toThrow(ResourceError);
    expect(() => Resources.fromProto([{ name: 'x', type: 'TEXT' }])).toThrow(ResourceError);
    expect(() => Resources.fromProto([{ scalar: { value: 1 } }])).toThrow(ResourceError);
  });
});

describe('Resources', () => {
  it('adds and subtracts scalars, ranges and sets together', () => {
    const a = r('cpus:4;mem:1024;ports:[31000-31009];zones:{a,b}');
    const b = r('cpus:1.5;ports:[31005-31006];zones:{b}');
    expect(a.contains(b)).toBe(true);
    const rest = a.minus(b);
    expect(rest.toString()).toBe('cpus:2.5;mem:1024;ports:[31000-31004, 31007-31009];zones:{a}');
    expect(rest.plus(b).equals(a)).toBe(true);
    expect(rest.contains(b)).toBe(false);
  });

  it('merges duplicates and drops empty amounts when parsing', () => {
    const bag = Resources.fromProto([cpus(1), cpus(2), { name: 'mem', scalar: { value: 0 } }, { name: 'ports', type: 'RANGES', ranges: { range: [] } }]);
    expect(bag.toString()).toBe('cpus:3');
  });

  it('keeps resources of different reservations or allocation roles apart', () => {
    const unreserved = r('cpus:4');
    const reserved = r('cpus(eng):4');
    expect(unreserved.contains(reserved)).toBe(false);
    expect(reserved.contains(unreserved)).toBe(false);
    const both = unreserved.plus(reserved);
    expect(both.entries).toHaveLength(2);
    expect(both.scalarQuantities()).toEqual({ cpus: 8 });
    const allocated = unreserved.allocate('eng');
    expect(allocated.contains(unreserved)).toBe(false);
    expect(allocated.unallocate().equals(unreserved)).toBe(true);
    expect(allocated.toProto()[0].allocationInfo).toEqual({ role: 'eng' });
  });

  it('subtracts with saturation: what is absent is ignored, nothing goes negative', () => {
    expect(r('cpus:1').minus(r('cpus:3;mem:5')).isEmpty()).toBe(true);
    expect(r('cpus:3').minus(r('cpus(eng):3')).toString()).toBe('cpus:3');
  });

  it('offers reservations to their role and its descendants only', () => {
    const bag = r('cpus:1;cpus(eng):2;cpus(eng/ml):3;cpus(engineering):4');
    expect(bag.allocatableTo('eng').scalarQuantities()).toEqual({ cpus: 3 });
    expect(bag.allocatableTo('eng/ml').scalarQuantities()).toEqual({ cpus: 6 });
    expect(bag.allocatableTo('eng/ml/x').scalarQuantities()).toEqual({ cpus: 6 });
    expect(bag.allocatableTo('sales').scalarQuantities()).toEqual({ cpus: 1 });
    expect(bag.reserved('eng').scalarQuantities()).toEqual({ cpus: 2 });
    expect(bag.unreserved().scalarQuantities()).toEqual({ cpus: 1 });
  });

  it('groups by allocation role', () => {
    const bag = r('cpus:1').allocate('a').plus(r('mem:2').allocate('b')).plus(r('disk:3'));
    const groups = bag.byAllocationRole();
    expect(Array.from(groups.keys()).sort()).toEqual([null, 'a', 'b'].sort());
    expect(groups.get('b')!.unallocate().toString()).toBe('mem:2');
    const byRole = Resources.fromProtoByRole(bag.toProto());
    expect(byRole.get('a')!.toString()).toBe('cpus:1');
    expect(byRole.get(null)!.toString()).toBe('disk:3');
  });

  it('measures allocatable size against alternatives of minimums', () => {
    const mesosDefault = minAllocatableFrom([{ cpus: 0.01 }, { mem: 32 }]);
    expect(r('cpus:0.01').meets(mesosDefault)).toBe(true);
    expect(r('mem:32').meets(mesosDefault)).toBe(true);
    expect(r('cpus:0.009;mem:31;disk:1000').meets(mesosDefault)).toBe(false);
    expect(r('ports:[1-10]').meets(minAllocatableFrom([{ ports: 10 }]))).toBe(true);
    expect(r('ports:[1-9]').meets(minAllocatableFrom([{ ports: 10 }]))).toBe(false);
    expect(r('disk:1').meets([])).toBe(true);
    expect(Resources.empty().meets([])).toBe(false);
  });

  it('round-trips through proto', () => {
    const proto: Resource[] = [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2.5 }, reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }] },
      { name: 'gpus', type: 'SCALAR', scalar: { value: 1 }, revocable: true },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 5 }] }, allocationInfo: { role: 'eng' } },
    ];
    const bag = Resources.fromProto(proto);
    expect(Resources.fromProto(bag.toProto()).equals(bag)).toBe(true);
    expect(bag.toProto()).toEqual(expect.arrayContaining(proto));
  });
});

describe('proto helpers', () => {
  const a = parseResources('cpus:2;mem:512;ports:[1-10];cpus(eng):1');
  const b = parseResources('cpus:0.5;ports:[3-4]');

  it('add, subtract, contain and measure proto resources', () => {
    expect(scalarQuantities(addResources(a, b))).toEqual({ cpus: 3.5, mem: 512 });
    expect(scalarQuantities(subtractResources(a, b))).toEqual({ cpus: 2.5, mem: 512 });
    expect(containsResources(a, b)).toBe(true);
    expect(containsResources(b, a)).toBe(false);
    expect(isEmptyResources(subtractResources(b, b))).toBe(true);
    expect(isEmptyResources(a)).toBe(false);
  });

  it('filter by reservation role ("*" for unreserved)', () => {
    expect(scalarQuantities(filterByReservationRole(a, 'eng'))).toEqual({ cpus: 1 });
    expect(scalarQuantities(filterByReservationRole(a, '*'))).toEqual({ cpus: 2, mem: 512 });
  });

  it('checks the minimum allocatable size', () => {
    expect(isAllocatable(parseResources('mem:16'), minAllocatableFrom([{ cpus: 0.01 }, { mem: 32 }]))).toBe(false);
    expect(isAllocatable(parseResources('mem:16;cpus:0.5'), minAllocatableFrom([{ cpus: 0.01 }, { mem: 32 }]))).toBe(true);
  });

  it('parse Mesos resource text', () => {
    expect(parseResources('cpus(eng):1.5; ports:[1-2, 5-6]; zones:{a, b}')).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 }, reservations: [{ type: 'STATIC', role: 'eng' }] },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }, { begin: 5, end: 6 }] } },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
    ]);
    expect(() => parseResources('cpus')).toThrow(ResourceError);
    expect(() => parseResources('cpus:x')).toThrow(ResourceError);
  });
});
