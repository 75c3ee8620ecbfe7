import type { Gpu } from '../discovery/gpu';
import { Assignments } from './assignments';

const gpu = (index: number, minor: number, health: Gpu['health'] = 'HEALTHY'): Gpu => ({ index, minor, uuid: `GPU-${index}`, health });

describe('Assignments', () => {
  it('hands out free GPUs lowest index first, never one GPU twice, and names the holders when too few are free', () => {
    const t = new Assignments([gpu(1, 3), gpu(0, 2), gpu(2, 0)]);
    expect(t.assign('a', 2, true).minors).toEqual([2, 3]);
    expect(t.assign('b', 0, false).minors).toEqual([]);
    expect(t.holderOf(3)).toBe('a');
    expect(() => t.assign('c', 2, false)).toThrow(/asks for 2 GPU\(s\), but 1 of this agent's 3 are free \(GPU 0 \(minor 2, GPU-0\) to container a; GPU 1 \(minor 3, GPU-1\) to container a\)/);
    expect(t.get('c')).toBeUndefined();
    expect(t.release('a')?.minors).toEqual([2, 3]);
    expect(t.free().map((g) => g.minor)).toEqual([2, 3, 0]);
  });

  it('skips unhealthy GPUs, and counts an unhealthy one as offerable only while a container holds it', () => {
    const t = new Assignments([gpu(0, 0), gpu(1, 1)]);
    t.assign('a', 1, false);
    t.setGpus([gpu(0, 0, 'UNHEALTHY'), gpu(1, 1, 'UNHEALTHY')]);
    expect(t.offerable()).toBe(1);
    expect(() => t.assign('b', 1, false)).toThrow(/GPU 1 \(minor 1, GPU-1\) unhealthy/);
    t.release('a');
    expect(t.offerable()).toBe(0);
    t.setGpus([gpu(0, 0, 'UNKNOWN'), gpu(1, 1)]);
    expect(t.offerable()).toBe(2);
  });

  it('resizes a container (Update) and refuses to take a GPU held elsewhere (Recover)', () => {
    const t = new Assignments([gpu(0, 0), gpu(1, 1), gpu(2, 2)]);
    t.assign('a', 1, false);
    expect(t.resize('a', 3)).toEqual({ added: [1, 2], removed: [] });
    expect(() => t.assign('b', 1, false)).toThrow(/0 of this agent's 3 are free/);
    expect(t.resize('a', 1)).toEqual({ added: [], removed: [1, 2] });
    expect(() => t.resize('a', 4)).toThrow(/updated to 4 GPU\(s\) from 1, but only 2 more are free/);
    expect(t.get('a')?.minors).toEqual([0]);
    expect(() => t.take({ containerId: 'b', minors: [0], ownsCgroup: false })).toThrow(/recorded for both container a and container b/);
  });
});
