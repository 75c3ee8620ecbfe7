import { DrfAllocator } from './allocator';
import { AllocatorError } from './options';
import { parseResources } from './resource-text';
import { agentMsg, declineAll, frameworkMsg, offeredTo, qty } from './test-support';
import type { Allocation } from './types';

const T0 = 1_700_000_000_000;

function engineWith(agents: [string, string][], frameworks: [string, string[], string[]?][], options = {}): DrfAllocator {
  const e = new DrfAllocator(options);
  for (const [id, res] of agents) e.addAgent(agentMsg(id, res));
  for (const [id, roles, caps] of frameworks) e.addFramework(frameworkMsg(id, roles, caps ?? []));
  return e;
}

function byAgent(offers: readonly Allocation[]): Map<string, Allocation> {
  return new Map(offers.map((o) => [o.agentId, o]));
}

describe('DrfAllocator basics', () => {
  it('offers every available resource, with the role as allocation role', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024;ports:[31000-31009]']], [['f1', ['web']]]);
    const offers = e.allocate(T0);
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ frameworkId: 'f1', agentId: 'a1', role: 'web' });
    expect(qty(offers[0].resources)).toEqual({ cpus: 4, mem: 1024 });
    expect(offers[0].resources.every((r) => r.allocationInfo?.role === 'web')).toBe(true);
    expect(offers[0].resources.find((r) => r.name === 'ports')!.ranges).toEqual({ range: [{ begin: 31000, end: 31009 }] });
  });

  it('keeps offered resources out of later cycles until they are recovered', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']], ['f2', ['db']]]);
    const first = e.allocate(T0);
    expect(first).toHaveLength(1);
    expect(e.agentAvailable('a1')).toEqual([]);
    expect(e.allocate(T0 + 1000)).toEqual([]);
    declineAll(e, first, 0, T0 + 1000);
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 4, mem: 1024 });
    const second = e.allocate(T0 + 2000);
    expect(second).toHaveLength(1);
    // The other framework now has the lower share (nothing), so it gets the agent.
    expect(second[0].frameworkId).not.toBe(first[0].frameworkId);
  });

  it('re-offers what a task gave back, and only that', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    const [offer] = e.allocate(T0);
    // The framework launches a task on cpus:1;mem:256 and declines the rest without a filter.
    const task = parseResources('cpus:1;mem:256').map((r) => ({ ...r, allocationInfo: { role: 'web' } }));
    e.recoverResources('f1', 'a1', parseResources('cpus:3;mem:768').map((r) => ({ ...r, allocationInfo: { role: 'web' } })), { refuseSeconds: 0 });
    expect(qty(e.frameworkResources('f1', 'a1'))).toEqual({ cpus: 1, mem: 256 });
    expect(e.roleAllocation('web')).toEqual({ cpus: 1, mem: 256 });
    expect(qty(e.allocate(T0 + 1000)[0].resources)).toEqual({ cpus: 3, mem: 768 });
    expect(offer.resources).toHaveLength(2);
    e.recoverResources('f1', 'a1', task, undefined, T0 + 2000);
    expect(qty(e.frameworkResources('f1', 'a1'))).toEqual({ cpus: 3, mem: 768 });
  });

  it('rejects recovering resources the framework does not hold', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    e.allocate(T0);
    const tooMuch = parseResources('cpus:5').map((r) => ({ ...r, allocationInfo: { role: 'web' } }));
    expect(() => e.recoverResources('f1', 'a1', tooMuch, undefined)).toThrow(AllocatorError);
    // Unknown agents and frameworks are races with removal, not errors.
    expect(() => e.recoverResources('f1', 'gone', tooMuch, undefined)).not.toThrow();
    expect(() => e.recoverResources('gone', 'a1', tooMuch, undefined)).not.toThrow();
  });

  it('infers the allocation role of a single-role framework', () => {
    // Fairness is between roles: f2's two roles come first (by name), then web.
    const e = engineWith([['a1', 'cpus:4;mem:1024'], ['a2', 'cpus:4;mem:1024'], ['a3', 'cpus:4;mem:1024']], [['f1', ['web']], ['f2', ['a', 'b']]]);
    const offers = new Map(e.allocate(T0).map((o) => [o.frameworkId, o]));
    const f1 = offers.get('f1')!;
    const f2 = offers.get('f2')!;
    e.recoverResources('f1', f1.agentId, parseResources('cpus:4;mem:1024'), undefined);
    expect(qty(e.agentAvailable(f1.agentId))).toEqual({ cpus: 4, mem: 1024 });
    expect(() => e.recoverResources('f2', f2.agentId, parseResources('cpus:1'), undefined)).toThrow(/allocation role/);
  });

  it('gives inactive frameworks and agents nothing, and resumes on activation', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024'], ['a2', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    e.deactivateFramework('f1');
    expect(e.allocate(T0)).toEqual([]);
    e.activateFramework('f1');
    e.deactivateAgent('a2');
    expect(e.allocate(T0 + 1000).map((o) => o.agentId)).toEqual(['a1']);
    e.activateAgent('a2');
    expect(e.allocate(T0 + 2000).map((o) => o.agentId)).toEqual(['a2']);
    expect(e.clusterTotals()).toEqual({ cpus: 8, mem: 2048 });
  });

  it('treats an absent active flag as false, as proto3 does', () => {
    const e = new DrfAllocator();
    e.addAgent({ info: { id: 'a1' }, total: parseResources('cpus:1') });
    e.addFramework({ info: { id: 'f1' } });
    expect(e.allocate(T0)).toEqual([]);
    e.activateAgent('a1');
    e.activateFramework('f1');
    expect(e.allocate(T0)[0].role).toBe('*');
  });

  it('pauses and resumes', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    e.pause();
    expect(e.paused).toBe(true);
    expect(e.allocate(T0)).toEqual([]);
    e.resume();
    expect(e.allocate(T0)).toHaveLength(1);
  });

  it('allocates only the named agents when a tick names some', () => {
    const e = engineWith([['a1', 'cpus:1'], ['a2', 'cpus:1'], ['a3', 'cpus:1']], [['f1', ['web']]]);
    expect(e.allocate(T0, ['a2', 'nope']).map((o) => o.agentId)).toEqual(['a2']);
    expect(e.allocate(T0, []).map((o) => o.agentId).sort()).toEqual(['a1', 'a3']);
  });

  it('frees everything of a removed framework and forgets removed agents', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024'], ['a2', 'cpus:2;mem:512']], [['f1', ['web']]]);
    e.allocate(T0);
    e.removeFramework('f1');
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 4, mem: 1024 });
    expect(e.roleOrder()).toEqual([]);
    expect(e.stats()).toMatchObject({ frameworks: 0, roles: 0 });
    e.addFramework(frameworkMsg('f2', ['db']));
    e.allocate(T0 + 1000);
    e.removeAgent('a1');
    expect(e.clusterTotals()).toEqual({ cpus: 2, mem: 512 });
    expect(e.roleAllocation('db')).toEqual({ cpus: 2, mem: 512 });
    expect(() => e.removeAgent('a1')).not.toThrow();
    expect(() => e.removeFramework('nope')).not.toThrow();
  });

  it('keeps held resources when an agent total changes, and never re-grows a shrunk total', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    const [offer] = e.allocate(T0);
    e.updateAgent({ agentId: 'a1', total: parseResources('cpus:2;mem:1024') });
    expect(e.agentAvailable('a1')).toEqual([]);
    declineAll(e, [offer], 0, T0);
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 2, mem: 1024 });
    e.updateAgent({ agentId: 'a1', total: parseResources('cpus:8;mem:1024') });
    expect(qty(e.allocate(T0 + 1000)[0].resources)).toEqual({ cpus: 8, mem: 1024 });
  });

  it('rejects inputs that contradict the state', () => {
    const e = engineWith([['a1', 'cpus:4']], [['f1', ['web']]]);
    expect(() => e.addAgent(agentMsg('a1', 'cpus:1'))).toThrow(AllocatorError);
    expect(() => e.addFramework(frameworkMsg('f1', ['x']))).toThrow(AllocatorError);
    expect(() => e.activateFramework('nope')).toThrow(AllocatorError);
    expect(() => e.suppressOffers('nope')).toThrow(AllocatorError);
    expect(() => e.updateAgent({ agentId: 'nope' })).toThrow(AllocatorError);
    expect(() => e.updateWeights([{ role: 'web', weight: 0 }])).toThrow(AllocatorError);
    expect(() => e.updateQuota('web', parseResources('cpus:10'), parseResources('cpus:5'))).toThrow(AllocatorError);
    expect(() => new DrfAllocator({ defaultRefuseSeconds: -1 })).toThrow(AllocatorError);
  });
});

describe('suppression and roles', () => {
  it('gives suppressed roles no offers and revive restores them', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024'], ['a2', 'cpus:4;mem:1024']], [['f1', ['a', 'b']]]);
    e.suppressOffers('f1', ['a']);
    const offers = e.allocate(T0);
    expect(offers.every((o) => o.role === 'b')).toBe(true);
    declineAll(e, offers, 0, T0);
    e.suppressOffers('f1');
    expect(e.allocate(T0 + 1000)).toEqual([]);
    e.reviveOffers('f1', ['a']);
    const revived = e.allocate(T0 + 2000);
    expect(revived.length).toBe(2);
    expect(revived.every((o) => o.role === 'a')).toBe(true);
  });

  it('follows role changes of a MULTI_ROLE framework', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['a']]]);
    const [offer] = e.allocate(T0);
    e.updateFramework(frameworkMsg('f1', ['b'], [], { suppressedRoles: [] }));
    // Still charged to a while it holds resources there, offered in b from now on.
    expect(e.roleAllocation('a')).toEqual({ cpus: 4, mem: 1024 });
    declineAll(e, [offer], 0, T0);
    expect(e.roleOrder()).toEqual(['b']);
    expect(e.allocate(T0 + 1000)[0].role).toBe('b');
    e.updateFramework(frameworkMsg('f1', ['b', 'c'], [], { suppressedRoles: ['b'] }));
    expect(e.roleOrder()).toEqual(['c']);
  });

  it('offers reserved resources only to their role and its descendants', () => {
    const e = engineWith(
      [['a1', 'cpus(eng):2;mem(eng):256;cpus(ops):3;cpus:1;mem:128']],
      [['f-sales', ['sales']], ['f-ml', ['eng/ml']], ['f-ops', ['ops']]],
    );
    const offers = offeredTo(e.allocate(T0));
    const sales = offers.get('f-sales') ?? {};
    expect(sales.cpus ?? 0).toBeLessThanOrEqual(1);
    expect(offers.get('f-ml')?.cpus ?? 0).toBeGreaterThanOrEqual(2);
    expect(offers.get('f-ops')?.cpus ?? 0).toBeGreaterThanOrEqual(3);
  });

  it('never offers a reservation to another role, over many random cycles', () => {
    const e = engineWith(
      [
        ['a1', 'cpus(eng):2;mem(eng):256;cpus:1;mem:128'],
        ['a2', 'cpus(ops):3;mem(ops):512'],
        ['a3', 'cpus:4;mem:1024;cpus(eng/ml):1'],
      ],
      [['f-sales', ['sales']], ['f-ml', ['eng/ml']], ['f-eng', ['eng']], ['f-ops', ['ops']]],
    );
    for (let i = 0; i < 50; i++) {
      const offers = e.allocate(T0 + i * 1000);
      for (const o of offers) {
        for (const r of o.resources) {
          const reservedTo = r.reservations?.[r.reservations.length - 1]?.role;
          if (reservedTo !== undefined) expect(o.role === reservedTo || o.role.startsWith(`${reservedTo}/`)).toBe(true);
        }
      }
      declineAll(e, offers, 0, T0 + i * 1000);
    }
  });

  it('leaves out revocable resources for frameworks without REVOCABLE_RESOURCES', () => {
    const e = new DrfAllocator();
    e.addAgent({ info: { id: 'a1' }, active: true, total: [...parseResources('cpus:2;mem:512'), { name: 'cpus', scalar: { value: 8 }, revocable: true }] });
    e.addFramework(frameworkMsg('plain', ['x']));
    const [offer] = e.allocate(T0);
    expect(offer.resources.some((r) => r.revocable)).toBe(false);
    e.addFramework(frameworkMsg('capable', ['y'], ['REVOCABLE_RESOURCES']));
    const [second] = e.allocate(T0 + 1);
    expect(second.frameworkId).toBe('capable');
    expect(qty(second.resources)).toEqual({ cpus: 8 });
  });
});

describe('GPU agents and minimum offer size', () => {
  it('offers GPU agents only to GPU_RESOURCES frameworks by default', () => {
    const e = engineWith(
      [['gpu', 'cpus:8;mem:4096;gpus:2'], ['cpu', 'cpus:8;mem:4096']],
      [['plain', ['x']], ['ml', ['y'], ['GPU_RESOURCES']]],
    );
    for (let i = 0; i < 6; i++) {
      const offers = byAgent(e.allocate(T0 + i));
      if (offers.has('gpu')) expect(offers.get('gpu')!.frameworkId).toBe('ml');
      declineAll(e, Array.from(offers.values()), 0, T0 + i);
    }
    const only = engineWith([['gpu', 'cpus:8;mem:4096;gpus:2']], [['plain', ['x']]]);
    expect(only.allocate(T0)).toEqual([]);
  });

  it('offers GPU agents to everyone when filterGpuResources is false', () => {
    const e = engineWith([['gpu', 'cpus:8;mem:4096;gpus:2']], [['plain', ['x']]], { filterGpuResources: false });
    const [offer] = e.allocate(T0);
    expect(qty(offer.resources)).toEqual({ cpus: 8, mem: 4096, gpus: 2 });
  });

  it('does not offer less than the minimum allocatable size', () => {
    const e = engineWith([['a1', 'cpus:0.005;mem:16;disk:1000'], ['a2', 'cpus:0.01'], ['a3', 'mem:32']], [['f1', ['x']]]);
    expect(e.allocate(T0).map((o) => o.agentId).sort()).toEqual(['a2', 'a3']);
    const custom = engineWith([['a1', 'cpus:1;mem:64']], [['f1', ['x']]], { minAllocatableResources: [{ cpus: 2 }, { mem: 128 }] });
    expect(custom.allocate(T0)).toEqual([]);
    const any = engineWith([['a1', 'disk:1']], [['f1', ['x']]], { minAllocatableResources: [] });
    expect(any.allocate(T0)).toHaveLength(1);
  });
});

describe('snapshots and reported usage', () => {
  it('rebuilds state from a snapshot, counting used resources and outstanding offers', () => {
    const e = new DrfAllocator();
    e.loadSnapshot({
      agents: [
        agentMsg('a1', 'cpus:8;mem:4096', {
          used: [{ frameworkId: 'f1', resources: parseResources('cpus:2;mem:1024').map((r) => ({ ...r, allocationInfo: { role: 'web' } })) }],
        }),
        agentMsg('a2', 'cpus:8;mem:4096'),
      ],
      frameworks: [frameworkMsg('f1', ['web']), frameworkMsg('f2', ['db'])],
      weights: [{ role: 'db', weight: 2 }],
      outstandingOffers: [{ frameworkId: 'f2', agentId: 'a2', role: 'db', resources: parseResources('cpus:8;mem:4096') }],
      paused: false,
    });
    expect(e.roleAllocation('web')).toEqual({ cpus: 2, mem: 1024 });
    expect(e.roleAllocation('db')).toEqual({ cpus: 8, mem: 4096 });
    const offers = e.allocate(T0);
    expect(offers).toHaveLength(1);
    expect(qty(offers[0].resources)).toEqual({ cpus: 6, mem: 3072 });
    expect(offers[0].frameworkId).toBe('f1');
  });

  it('charges usage reported before its framework is known once the framework arrives', () => {
    const e = new DrfAllocator();
    const used = parseResources('cpus:3').map((r) => ({ ...r, allocationInfo: { role: 'web' } }));
    e.addAgent(agentMsg('a1', 'cpus:4;mem:1024', { used: [{ frameworkId: 'late', resources: used }] }));
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 1, mem: 1024 });
    expect(e.roleAllocation('web')).toEqual({});
    e.addFramework(frameworkMsg('late', ['web']));
    expect(e.roleAllocation('web')).toEqual({ cpus: 3 });
    e.recoverResources('late', 'a1', used, undefined, T0);
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 4, mem: 1024 });
  });

  it('records accepted resources it did not know of, and rejects what is not there', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    e.updateAllocation({ frameworkId: 'f1', agentId: 'a1', role: 'web', resources: parseResources('cpus:1') });
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 3, mem: 1024 });
    e.updateAllocation({ frameworkId: 'f1', agentId: 'a1', role: 'web', resources: parseResources('cpus:1') });
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 3, mem: 1024 });
    expect(() => e.updateAllocation({ frameworkId: 'f1', agentId: 'a1', role: 'web', resources: parseResources('cpus:9') })).toThrow(
      AllocatorError,
    );
  });
});
