import type { Resource } from '../master/model/mesos';
import { describeScalars, fits, pickResources, usableScalars } from './offer-fit';

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, allocation_info: { role: 'ops' }, ...extra });
const reserved = (name: string, value: number): Resource => scalar(name, value, { reservations: [{ type: 'STATIC', role: 'ops' }] });
const needs = (cpus: number, mem: number, gpus = 0, disk = 0) => ({ cpus, mem, gpus, disk });

describe('offer fit', () => {
  it('sums only plain scalars: not revocable, shared, or volumes', () => {
    const offer = [scalar('cpus', 1), reserved('cpus', 0.5), scalar('cpus', 8, { revocable: {} }), scalar('disk', 100), scalar('disk', 500, { disk: { persistence: { id: 'v' } } }), scalar('mem', 64, { shared: {} }), scalar('mem', 128)];
    expect(usableScalars(offer)).toEqual({ cpus: 1.5, mem: 128, disk: 100, gpus: 0 });
    expect(describeScalars(usableScalars(offer), true)).toBe('cpus:1.5;mem:128;disk:100;gpus:0');
    expect(describeScalars(needs(0.1, 32))).toBe('cpus:0.1;mem:32');
  });

  it('compares in thousandths, so 0.1 + 0.2 covers 0.3', () => {
    expect(fits([scalar('cpus', 0.1), reserved('cpus', 0.2), scalar('mem', 32)], needs(0.3, 32))).toBe(true);
    expect(fits([scalar('cpus', 0.3), scalar('mem', 31.999)], needs(0.3, 32))).toBe(false);
  });

  it('takes reserved entries first and keeps their reservations and allocation role', () => {
    const picked = pickResources([scalar('cpus', 4), reserved('cpus', 1), scalar('mem', 1024), scalar('gpus', 2)], needs(1.5, 256, 1));
    expect(picked).toEqual([reserved('cpus', 1), scalar('cpus', 0.5), scalar('mem', 256), scalar('gpus', 1)]);
  });

  it('leaves out what is asked for zero, and answers undefined when the offer is too small', () => {
    expect(pickResources([scalar('cpus', 1), scalar('mem', 64), scalar('gpus', 1)], needs(0.1, 0))).toEqual([scalar('cpus', 0.1)]);
    expect(pickResources([scalar('cpus', 1), scalar('mem', 64)], needs(0.1, 32, 1))).toBeUndefined();
    expect(pickResources(undefined, needs(0.1, 32))).toBeUndefined();
  });
});
