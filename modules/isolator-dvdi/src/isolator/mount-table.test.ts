import { MountTable } from './mount-table';

describe('MountTable', () => {
  it('counts users per volume and forgets a volume when dropped', () => {
    const t = new MountTable();
    t.add('c1', 'd', 'v', 'm1', '/mnt/v');
    const use = t.add('c2', 'd', 'v', 'other-id');
    expect(use).toMatchObject({ mountId: 'm1', mountpoint: '/mnt/v' });
    expect([...use.users]).toEqual(['c1', 'c2']);
    expect(t.get('d', 'w')).toBeUndefined();
    t.drop('d', 'v');
    expect(t.all()).toEqual([]);
  });

  it('runs the tasks of one volume one at a time, in order, also after a failure; other volumes in parallel', async () => {
    const t = new MountTable();
    const log: string[] = [];
    const step = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
    };
    const a1 = t.withLock('d', 'a', step('a1', 30, true));
    const a2 = t.withLock('d', 'a', step('a2', 1));
    const b1 = t.withLock('d', 'b', step('b1', 1));
    await expect(a1).rejects.toThrow('a1');
    await Promise.all([a2, b1]);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
  });
});
