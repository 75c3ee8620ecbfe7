import type { Resource } from './mesos';
import { sumScalars } from './resources';

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...extra });

describe('sumScalars', () => {
  test('adds plain scalars of one name, role and allocation role, in thousandths, in order of first appearance', () => {
    const tasks = [scalar('cpus', 0.1), scalar('mem', 128), scalar('cpus', 0.2), scalar('mem', 64), scalar('gpus', 1)];
    expect(sumScalars(tasks)).toEqual([scalar('cpus', 0.3), scalar('mem', 192), scalar('gpus', 1)]);
  });

  test('keeps apart what differs in role, allocation role, or has no allocation info', () => {
    const list = [
      scalar('cpus', 1, { allocation_info: { role: 'a' } }),
      scalar('cpus', 1, { allocation_info: { role: 'b' } }),
      scalar('cpus', 1),
      scalar('cpus', 1, { role: 'db' }),
      scalar('cpus', 2, { allocation_info: { role: 'a' } }),
    ];
    expect(sumScalars(list)).toEqual([scalar('cpus', 3, { allocation_info: { role: 'a' } }), scalar('cpus', 1, { allocation_info: { role: 'b' } }), scalar('cpus', 1), scalar('cpus', 1, { role: 'db' })]);
  });

  test('leaves reserved, revocable, shared, disk, range and set resources as they are, and its input untouched', () => {
    const reserved = scalar('cpus', 1, { reservations: [{ type: 'DYNAMIC', role: 'db' }] });
    const revocable = scalar('cpus', 1, { revocable: {} });
    const volume = scalar('disk', 10, { disk: { persistence: { id: 'v1' } } });
    const ports: Resource = { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31000 }] } };
    const first = scalar('mem', 1);
    const input = [first, reserved, reserved, revocable, volume, ports, ports, scalar('mem', 2)];
    expect(sumScalars(input)).toEqual([scalar('mem', 3), reserved, reserved, revocable, volume, ports, ports]);
    expect(first).toEqual(scalar('mem', 1));
  });
});
