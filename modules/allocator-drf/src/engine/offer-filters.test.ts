import { AgentFilters } from './offer-filters';
import { parseResources } from './resource-text';
import { Resources } from './resources';

const r = (text: string): Resources => Resources.fromProto(parseResources(text));

describe('AgentFilters', () => {
  it('filters offers contained in the refused resources, until expiry', () => {
    const f = new AgentFilters<string>();
    f.add('fw', r('cpus:4;mem:1024'), 10_000);
    expect(f.isFiltered('fw', r('cpus:4;mem:1024'), 0)).toBe(true);
    expect(f.isFiltered('fw', r('cpus:1'), 9_999)).toBe(true);
    expect(f.isFiltered('fw', r('cpus:5'), 0)).toBe(false);
    expect(f.isFiltered('fw', r('cpus:1'), 10_000)).toBe(false);
    expect(f.isFiltered('other', r('cpus:1'), 0)).toBe(false);
  });

  it('answers who refuses all of the available resources, following additions, removals, expiry and content', () => {
    const f = new AgentFilters<string>();
    const available = r('cpus:4;mem:1024');
    f.add('a', r('cpus:4;mem:1024'), 10_000);
    f.add('b', r('cpus:2'), 10_000);
    expect(Array.from(f.refusingAll(available, 0))).toEqual(['a']);
    const v0 = f.coveringVersion;
    f.add('c', r('cpus:8;mem:2048'), 5_000);
    expect(f.coveringVersion).not.toBe(v0);
    expect(Array.from(f.refusingAll(available, 0)).sort()).toEqual(['a', 'c']);
    // An equal bag (declined resources come back as new objects) keeps the answer.
    expect(Array.from(f.refusingAll(r('cpus:4;mem:1024'), 1)).sort()).toEqual(['a', 'c']);
    // More resources than were refused: nobody refuses them all.
    expect(f.refusingAll(r('cpus:4;mem:1024;disk:1'), 1).size).toBe(0);
    expect(Array.from(f.refusingAll(available, 2)).sort()).toEqual(['a', 'c']);
    // Expiry, without any sweep from outside.
    expect(Array.from(f.refusingAll(available, 5_000))).toEqual(['a']);
    const v1 = f.coveringVersion;
    f.remove('a');
    expect(f.coveringVersion).not.toBe(v1);
    expect(f.refusingAll(available, 5_001).size).toBe(0);
    expect(f.size).toBe(1);
  });

  it('sweeps expired filters and reports the earliest expiry left', () => {
    const f = new AgentFilters<string>();
    f.add('a', r('cpus:1'), 1_000);
    f.add('a', r('cpus:2'), 3_000);
    f.add('b', r('cpus:1'), 2_000);
    expect(f.sweep(1_500)).toBe(2_000);
    expect(f.size).toBe(2);
    expect(f.sweep(5_000)).toBe(Infinity);
    expect(f.size).toBe(0);
    expect(Array.from(f.keys())).toEqual([]);
  });

  it('tells its owner when expiry drops the last filter of a party, whether a sweep or a cache rebuild drops it', () => {
    const gone: string[] = [];
    const f = new AgentFilters<string>((key) => gone.push(key));
    f.add('short', r('cpus:4'), 1_000);
    f.add('long', r('cpus:1'), 9_000);
    f.add('long', r('cpus:2'), 9_000);
    f.sweep(2_000);
    // The other party's two filters outnumber this one's: only the key set tells who is gone.
    expect(gone).toEqual(['short']);
    f.add('again', r('cpus:4'), 3_000);
    expect(f.refusingAll(r('cpus:4'), 3_000).size).toBe(0);
    expect(gone).toEqual(['short', 'again']);
    f.remove('long');
    expect(gone).toEqual(['short', 'again']);
  });
});
