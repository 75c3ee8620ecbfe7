/**
 * Hierarchical quota through the whole engine: a guarantee on a parent role is met by allocations to
 * its descendants, whose frameworks stage 1 serves towards it, as in Mesos 1.9+.
 */
import { DrfAllocator } from './allocator';
import { parseResources } from './resource-text';
import { agentMsg, frameworkMsg, offeredTo } from './test-support';

const T0 = 1_700_000_000_000;

function cluster(agents: number): DrfAllocator {
  const e = new DrfAllocator({ shuffleSeed: null });
  for (let i = 0; i < agents; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
  return e;
}

const cpus = (offers: Map<string, Record<string, number>>, fw: string): number => offers.get(fw)?.cpus ?? 0;

describe('a guarantee on a parent role', () => {
  it('is met by the frameworks of its child roles, before fair sharing', () => {
    const e = cluster(4);
    e.addFramework(frameworkMsg('f-ml', ['eng/ml']));
    e.addFramework(frameworkMsg('f-other', ['other']));
    // f-ml already runs something, so by DRF alone it would come after f-other on every agent.
    e.updateAllocation({ frameworkId: 'f-ml', agentId: 'a0', role: 'eng/ml', resources: parseResources('cpus:2;mem:2048') });
    e.updateQuota('eng', parseResources('cpus:10'), []);
    const offers = offeredTo(e.allocate(T0));
    expect(cpus(offers, 'f-ml') + 2).toBeGreaterThanOrEqual(10);
    expect(e.roleConsumedQuota('eng').cpus).toBeGreaterThanOrEqual(10);
    expect(cpus(offers, 'f-other')).toBeLessThanOrEqual(16 - 10);
  });

  it('is shared by the frameworks of the role and of its descendants, in hierarchical DRF order', () => {
    const e = cluster(4);
    e.addFramework(frameworkMsg('f-eng', ['eng']));
    e.addFramework(frameworkMsg('f-ml', ['eng/ml']));
    e.addFramework(frameworkMsg('f-web', ['eng/web']));
    e.addFramework(frameworkMsg('f-other', ['other']));
    e.updateQuota('eng', parseResources('cpus:12'), []);
    const offers = offeredTo(e.allocate(T0));
    const eng = ['f-eng', 'f-ml', 'f-web'].map((fw) => cpus(offers, fw));
    expect(eng.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    // Whole agents of 4 cpus: each of the three gets one before anyone gets a second.
    expect(eng).toEqual([4, 4, 4]);
  });

  it('holds headroom only while its subtree wants nothing, and is met once a child framework revives', () => {
    const e = cluster(4);
    e.addFramework(frameworkMsg('f-ml', ['eng/ml']));
    e.addFramework(frameworkMsg('f-other', ['other']));
    e.updateQuota('eng', parseResources('cpus:8'), []);
    e.suppressOffers('f-ml');
    const first = offeredTo(e.allocate(T0));
    expect(cpus(first, 'f-other')).toBe(8);
    e.reviveOffers('f-ml');
    const second = offeredTo(e.allocate(T0 + 1000));
    expect(cpus(second, 'f-ml')).toBe(8);
    expect(e.roleConsumedQuota('eng').cpus).toBe(8);
  });

  it("counts a child's own guarantee towards its parent's, without serving the parent twice", () => {
    const e = cluster(4);
    e.addFramework(frameworkMsg('f-ml', ['eng/ml']));
    e.addFramework(frameworkMsg('f-web', ['eng/web']));
    e.addFramework(frameworkMsg('f-other', ['other']));
    e.updateQuotas([
      { role: 'eng', guarantees: parseResources('cpus:8'), limits: [] },
      { role: 'eng/ml', guarantees: parseResources('cpus:4'), limits: [] },
    ]);
    const offers = offeredTo(e.allocate(T0));
    expect(cpus(offers, 'f-ml')).toBeGreaterThanOrEqual(4);
    expect(cpus(offers, 'f-ml') + cpus(offers, 'f-web')).toBeGreaterThanOrEqual(8);
    expect(cpus(offers, 'f-other')).toBeLessThanOrEqual(8);
  });
});
