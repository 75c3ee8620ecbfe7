/**
 * Quota through the whole engine: guarantees are served before fair sharing and protected by headroom;
 * limits are never exceeded, by a role or by the sum of its descendants.
 */
import { DrfAllocator } from './allocator';
import { parseResources } from './resource-text';
import { agentMsg, declineAll, finishTask, frameworkMsg, launchFromOffer, offeredTo, Rng, SimTask } from './test-support';

const T0 = 1_700_000_000_000;

describe('quota guarantees', () => {
  it('are met in the first cycle although fair sharing would put the role last', () => {
    const e = new DrfAllocator();
    for (let i = 0; i < 10; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    for (const role of ['x', 'y', 'q']) e.addFramework(frameworkMsg(`f-${role}`, [role]));
    // q already runs something, so by DRF alone it would come after x and y on every agent.
    e.updateAllocation({ frameworkId: 'f-q', agentId: 'a0', role: 'q', resources: parseResources('cpus:1;mem:1024') });
    e.updateQuota('q', parseResources('cpus:20'), []);
    const offers = offeredTo(e.allocate(T0));
    expect(offers.get('f-q')!.cpus + 1).toBeGreaterThanOrEqual(20);
    expect((offers.get('f-x')?.cpus ?? 0) + (offers.get('f-y')?.cpus ?? 0)).toBeLessThanOrEqual(40 - 20);
  });

  it('are met before any fair-share allocation, for random clusters and guarantees', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = new Rng(seed);
      const e = new DrfAllocator({ shuffleSeed: seed });
      let totalCpus = 0;
      for (let i = rng.int(3, 20); i > 0; i--) {
        const cpus = rng.int(1, 16);
        totalCpus += cpus;
        e.addAgent(agentMsg(`a${i}`, `cpus:${cpus};mem:${rng.int(1, 16) * 1024}`));
      }
      const others = rng.int(1, 6);
      for (let i = 0; i < others; i++) e.addFramework(frameworkMsg(`other-${i}`, [`role-${i}`]));
      e.addFramework(frameworkMsg('quota-fw', ['q']));
      const guarantee = Math.floor(totalCpus * rng.int(10, 80)) / 100;
      e.updateQuota('q', parseResources(`cpus:${guarantee}`), []);
      const offers = offeredTo(e.allocate(T0));
      expect(offers.get('quota-fw')?.cpus ?? 0).toBeGreaterThanOrEqual(guarantee - 1e-9);
      const toOthers = Array.from(offers).reduce((sum, [id, q]) => (id === 'quota-fw' ? sum : sum + (q.cpus ?? 0)), 0);
      expect(toOthers).toBeLessThanOrEqual(totalCpus - guarantee + 1e-9);
    }
  });

  it('hold back headroom while the guaranteed role declines, and release it once the guarantee is met', () => {
    const e = new DrfAllocator();
    for (let i = 0; i < 4; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    e.addFramework(frameworkMsg('f-q', ['q']));
    e.addFramework(frameworkMsg('f-x', ['x']));
    e.updateQuota('q', parseResources('cpus:6'), []);
    e.suppressOffers('f-q');
    const first = offeredTo(e.allocate(T0));
    // 16 cpus in all, 6 guaranteed to q: x gets at most 10, although q wants nothing right now.
    expect(first.get('f-x')!.cpus).toBe(10);
    expect(first.has('f-q')).toBe(false);
    expect(e.roleConsumedQuota('q')).toEqual({});
    // q's guarantee becomes satisfied by reservations: no headroom is needed any more.
    e.updateQuota('q', parseResources('cpus:6'), []);
    e.addAgent(agentMsg('reserved', 'cpus(q):6;mem(q):1024'));
    expect(e.roleConsumedQuota('q')).toEqual({ cpus: 6, mem: 1024 });
    const second = offeredTo(e.allocate(T0 + 1000));
    expect(second.get('f-x')!.cpus).toBe(6);
  });
});

describe('quota headroom', () => {
  it('is held back on every agent while still offering reservations and whatever exceeds it', () => {
    const e = new DrfAllocator({ shuffleSeed: null });
    for (let i = 0; i < 6; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:1024;ports:[31000-31009]'));
    e.addAgent(agentMsg('reserved', 'cpus:4;mem:1024;cpus(r1):2;mem(r1):256'));
    e.addFramework(frameworkMsg('f-q', ['q']));
    e.suppressOffers('f-q');
    // 28 cpus and 7 GB in all, 20 cpus and 6 GB held for q: 8 cpus and 1 GB may go to the others.
    e.updateQuota('q', parseResources('cpus:20;mem:6144'), []);
    for (let i = 0; i < 20; i++) e.addFramework(frameworkMsg(`f${i}`, [`r${i}`]));
    const offers = e.allocate(T0);
    const total = (name: string): number =>
      Array.from(offeredTo(offers).values()).reduce((sum, q) => sum + (q[name] ?? 0), 0);
    expect(total('cpus')).toBe(8 + 2);
    expect(total('mem')).toBe(1024 + 256);
    // The reservation goes to its role although no unreserved resources may.
    expect(offers.some((o) => o.agentId === 'reserved' && o.role === 'r1')).toBe(true);
    // Agents whose scalars are all held back offer nothing, not even their ports (below the minimum).
    expect(new Set(offers.map((o) => o.agentId)).size).toBeLessThan(7);
  });
});

describe('quota limits', () => {
  it('chop offers so that a role never exceeds its limit', () => {
    const e = new DrfAllocator();
    for (let i = 0; i < 5; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    e.addFramework(frameworkMsg('f', ['capped']));
    e.updateQuota('capped', [], parseResources('cpus:6;mem:5000'));
    const offers = e.allocate(T0);
    expect(offeredTo(offers).get('f')).toEqual({ cpus: 6, mem: 5000 });
    expect(e.roleConsumedQuota('capped')).toEqual({ cpus: 6, mem: 5000 });
    // Nothing more while the offers are out; the same amount again once they are declined.
    expect(e.allocate(T0 + 1000)).toEqual([]);
    declineAll(e, offers, 0, T0 + 1000);
    expect(offeredTo(e.allocate(T0 + 2000)).get('f')).toEqual({ cpus: 6, mem: 5000 });
  });

  it('a limit of 0 is a limit: the role is offered none of that resource', () => {
    const e = new DrfAllocator();
    e.addAgent(agentMsg('a0', 'cpus:4;mem:4096'));
    e.addFramework(frameworkMsg('f', ['frozen']));
    e.updateQuota('frozen', [], [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0 } }]);
    expect(offeredTo(e.allocate(T0)).get('f')?.cpus ?? 0).toBe(0);
  });

  it('are never exceeded over random launch, decline and finish cycles', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed * 31);
      const e = new DrfAllocator({ shuffleSeed: seed });
      for (let i = rng.int(2, 12); i > 0; i--) e.addAgent(agentMsg(`a${i}`, `cpus:${rng.int(2, 16)};mem:${rng.int(2, 32) * 512};disk:50`));
      const eng = { cpus: rng.int(2, 30), mem: rng.int(2, 40) * 512 };
      // A child's limit fits in its parent's, its guarantee in its parent's guarantee (Mesos's rules).
      const limits = {
        eng,
        'eng/ml': { cpus: rng.int(1, eng.cpus), mem: rng.int(1, eng.mem / 512) * 512 },
        ops: { cpus: rng.int(1, 10), mem: rng.int(1, 10) * 512 },
      };
      let engGuarantee = 0;
      for (const [role, l] of Object.entries(limits)) {
        const most = role === 'eng/ml' ? Math.min(l.cpus, engGuarantee) : Math.min(l.cpus, rng.int(0, 4));
        const cpus = rng.next() < 0.5 ? most : 0;
        if (role === 'eng') engGuarantee = cpus;
        e.updateQuota(role, parseResources(cpus > 0 ? `cpus:${cpus}` : ''), parseResources(`cpus:${l.cpus};mem:${l.mem}`));
      }
      const roles = ['eng', 'eng/ml', 'eng/web', 'ops', 'free'];
      roles.forEach((role, i) => e.addFramework(frameworkMsg(`f${i}`, [role])));
      const running: SimTask[] = [];
      for (let cycle = 0; cycle < 60; cycle++) {
        const now = T0 + cycle * 1000;
        const offers = e.allocate(now);
        for (const [role, l] of Object.entries(limits)) {
          const used = e.roleConsumedQuota(role);
          expect(used.cpus ?? 0).toBeLessThanOrEqual(l.cpus);
          expect(used.mem ?? 0).toBeLessThanOrEqual(l.mem);
        }
        for (const o of offers) {
          const shape = { cpus: rng.int(1, 20) / 10, mem: rng.int(1, 8) * 128 };
          running.push(...launchFromOffer(e, o, shape, rng.int(0, 3), rng.pick([0, 0, 1, 3]), now));
        }
        for (let i = running.length - 1; i >= 0; i--) {
          if (rng.next() < 0.2) {
            finishTask(e, running[i], now);
            running.splice(i, 1);
          }
        }
      }
    }
  });

  it('apply to descendants: children together stay within the parent limit', () => {
    const e = new DrfAllocator();
    for (let i = 0; i < 6; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    e.addFramework(frameworkMsg('ml', ['eng/ml']));
    e.addFramework(frameworkMsg('web', ['eng/web']));
    e.updateQuota('eng', [], parseResources('cpus:10'));
    const offers = offeredTo(e.allocate(T0));
    expect((offers.get('ml')?.cpus ?? 0) + (offers.get('web')?.cpus ?? 0)).toBe(10);
    expect(e.roleConsumedQuota('eng').cpus).toBe(10);
  });
});
