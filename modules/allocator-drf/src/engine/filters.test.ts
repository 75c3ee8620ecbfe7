/**
 * Refused-offer filters: their Mesos semantics case by case, then against a model: random declines
 * (with random refuse_seconds), launches, task ends, revives, suppressions, (de)activations and agents
 * removed (and added again under the same id); after
 * every cycle the offers must respect every live filter, and whatever is left unoffered must be refused
 * by every framework that could take it.
 */
import { DrfAllocator } from './allocator';
import type { AllocatorOptions } from './options';
import { parseResources } from './resource-text';
import { Resources } from './resources';
import { agentMsg, declineAll, finishTask, frameworkMsg, qty, Rng, SimTask } from './test-support';
import type { Allocation } from './types';

const T0 = 1_700_000_000_000;

function engineWith(agents: [string, string][], frameworks: [string, string[], string[]?][], options: AllocatorOptions = {}): DrfAllocator {
  const e = new DrfAllocator(options);
  for (const [id, res] of agents) e.addAgent(agentMsg(id, res));
  for (const [id, roles, caps] of frameworks) e.addFramework(frameworkMsg(id, roles, caps ?? []));
  return e;
}

describe('offer filters', () => {
  const setup = (): DrfAllocator => engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);

  it('does not re-offer refused resources before refuse_seconds, and does after', () => {
    const e = setup();
    declineAll(e, e.allocate(T0), 10, T0);
    expect(e.allocate(T0 + 5_000)).toEqual([]);
    expect(e.allocate(T0 + 9_999)).toEqual([]);
    expect(e.offerFilters(T0 + 9_999)).toHaveLength(1);
    expect(e.allocate(T0 + 10_000)).toHaveLength(1);
    expect(e.stats().filters).toBe(0);
  });

  it("uses Mesos's 5 second default, none for refuse_seconds 0 and none without filters", () => {
    const e = setup();
    e.recoverResources('f1', 'a1', e.allocate(T0)[0].resources, {}, T0);
    expect(e.allocate(T0 + 4_999)).toEqual([]);
    const again = e.allocate(T0 + 5_000);
    expect(again).toHaveLength(1);
    declineAll(e, again, 0, T0 + 5_000);
    const third = e.allocate(T0 + 5_001);
    expect(third).toHaveLength(1);
    e.recoverResources('f1', 'a1', third[0].resources, undefined, T0 + 5_001);
    expect(e.allocate(T0 + 5_002)).toHaveLength(1);
    const negative = setup();
    declineAll(negative, negative.allocate(T0), -3, T0);
    expect(negative.allocate(T0 + 4_000)).toEqual([]);
    expect(negative.allocate(T0 + 5_000)).toHaveLength(1);
  });

  it('keeps a refusal shorter than the allocation interval for the interval, as Mesos does', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]], { allocationIntervalMs: 1000 });
    declineAll(e, e.allocate(T0), 0.2, T0);
    expect(e.offerFilters()[0].expiresAtMs).toBe(T0 + 1000);
    expect(e.allocate(T0 + 500)).toEqual([]);
    const again = e.allocate(T0 + 1000);
    expect(again).toHaveLength(1);
    // The interval may change (the module follows the core's ticks); refuse_seconds 0 still sets nothing.
    e.setAllocationInterval(3000);
    declineAll(e, again, 0.2, T0 + 1000);
    expect(e.offerFilters()[0].expiresAtMs).toBe(T0 + 4000);
    e.reviveOffers('f1');
    declineAll(e, e.allocate(T0 + 1001), 0, T0 + 1001);
    expect(e.offerFilters()).toEqual([]);
    expect(() => e.setAllocationInterval(Number.NaN)).toThrow(/allocationIntervalMs must be a finite number of milliseconds >= 0, got NaN/);
  });

  it('offers again before expiry when more resources became available', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']]]);
    const [offer] = e.allocate(T0);
    // Launch a task on half, refuse the other half for an hour.
    const half = parseResources('cpus:2;mem:512').map((r) => ({ ...r, allocationInfo: { role: 'web' } }));
    e.recoverResources('f1', 'a1', half, { refuseSeconds: 3600 }, T0);
    expect(e.allocate(T0 + 1000)).toEqual([]);
    // The task finishes: cpus:4;mem:1024 is more than was refused, so it is offered.
    e.recoverResources('f1', 'a1', half, undefined, T0 + 2000);
    expect(qty(e.allocate(T0 + 3000)[0].resources)).toEqual({ cpus: 4, mem: 1024 });
    expect(offer.resources).toHaveLength(2);
  });

  it('filters per framework: others still get the agent', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']], ['f2', ['web']]]);
    const [first] = e.allocate(T0);
    declineAll(e, [first], 60, T0);
    const [second] = e.allocate(T0 + 1000);
    expect(second.frameworkId).not.toBe(first.frameworkId);
    declineAll(e, [second], 60, T0 + 1000);
    expect(e.allocate(T0 + 2000)).toEqual([]);
  });

  it('drops filters on revive and on deactivation', () => {
    const e = setup();
    declineAll(e, e.allocate(T0), 3600, T0);
    e.reviveOffers('f1');
    declineAll(e, e.allocate(T0 + 1), 3600, T0 + 1);
    e.deactivateFramework('f1');
    e.activateFramework('f1');
    expect(e.allocate(T0 + 2)).toHaveLength(1);
  });

  it('offers an agent everyone refused again as soon as one refusal ends, whatever ends it', () => {
    const e = engineWith([['a1', 'cpus:4;mem:1024']], [['f1', ['web']], ['f2', ['db']]]);
    const refuseAll = (now: number, seconds: number): void => {
      for (let i = 0; i < 3; i++) declineAll(e, e.allocate(now), seconds, now);
      expect(e.allocate(now + 1)).toEqual([]);
    };
    // Expiry.
    refuseAll(T0, 10);
    expect(e.allocate(T0 + 5_000)).toEqual([]);
    const afterExpiry = e.allocate(T0 + 10_000);
    expect(afterExpiry).toHaveLength(1);
    declineAll(e, afterExpiry, 0, T0 + 10_000);
    // A framework that has refused nothing arrives.
    refuseAll(T0 + 20_000, 3600);
    e.addFramework(frameworkMsg('f3', ['batch']));
    const [toNew] = e.allocate(T0 + 20_002);
    expect(toNew.frameworkId).toBe('f3');
    declineAll(e, [toNew], 3600, T0 + 20_002);
    expect(e.allocate(T0 + 20_003)).toEqual([]);
    // A revive.
    e.reviveOffers('f2');
    const [toRevived] = e.allocate(T0 + 20_004);
    expect(toRevived.frameworkId).toBe('f2');
    declineAll(e, [toRevived], 3600, T0 + 20_004);
    expect(e.allocate(T0 + 20_005)).toEqual([]);
    // A deactivation (which drops the framework's filters) and reactivation.
    e.deactivateFramework('f1');
    expect(e.allocate(T0 + 20_006)).toEqual([]);
    e.activateFramework('f1');
    expect(e.allocate(T0 + 20_007)[0].frameworkId).toBe('f1');
  });

  it('counts GPU-less frameworks as refusing a GPU agent', () => {
    const e = engineWith([['gpu', 'cpus:4;mem:1024;gpus:1']], [['plain', ['x']], ['ml', ['y'], ['GPU_RESOURCES']]]);
    declineAll(e, e.allocate(T0), 60, T0);
    expect(e.allocate(T0 + 1000)).toEqual([]);
    e.addFramework(frameworkMsg('plain2', ['z']));
    expect(e.allocate(T0 + 2000)).toEqual([]);
    e.addFramework(frameworkMsg('ml2', ['w'], ['GPU_RESOURCES']));
    expect(e.allocate(T0 + 3000)[0].frameworkId).toBe('ml2');
  });

  it('keeps snapshot filters that have not expired', () => {
    const e = new DrfAllocator();
    e.loadSnapshot(
      {
        agents: [agentMsg('a1', 'cpus:4;mem:1024')],
        frameworks: [
          frameworkMsg('f1', ['web'], [], {
            filters: [
              { frameworkId: 'f1', agentId: 'a1', resources: parseResources('cpus:8;mem:2048'), expiresAtMs: T0 + 10_000 },
              { frameworkId: 'f1', agentId: 'a1', resources: parseResources('cpus:8;mem:2048'), expiresAtMs: T0 - 1 },
            ],
          }),
        ],
      },
      T0,
    );
    expect(e.offerFilters()).toHaveLength(1);
    expect(e.allocate(T0 + 1000)).toEqual([]);
    expect(e.allocate(T0 + 10_000)).toHaveLength(1);
  });
});


describe('offer filters when agents go away', () => {
  const held = (text: string): ReturnType<typeof parseResources> => parseResources(text).map((r) => ({ ...r, allocationInfo: { role: 'r' } }));

  // f1 refuses part of x briefly, f2 refuses two parts for long: f2's two filters outnumber f1's one,
  // which is what used to hide f1's expiry from the bookkeeping.
  function expiredNextToOthers(): DrfAllocator {
    const e = engineWith([['x', 'cpus:4;mem:400'], ['y', 'cpus:4;mem:400']], [['f1', ['r']], ['f2', ['r']]]);
    e.updateAllocation({ frameworkId: 'f1', agentId: 'x', role: 'r', resources: held('cpus:1;mem:100') });
    e.updateAllocation({ frameworkId: 'f2', agentId: 'x', role: 'r', resources: held('cpus:2;mem:200') });
    e.recoverResources('f1', 'x', held('cpus:1;mem:100'), { refuseSeconds: 1 }, T0);
    e.recoverResources('f2', 'x', held('cpus:1;mem:100'), { refuseSeconds: 100 }, T0);
    e.recoverResources('f2', 'x', held('cpus:1;mem:100'), { refuseSeconds: 100 }, T0);
    e.suppressOffers('f1');
    e.suppressOffers('f2');
    e.allocate(T0 + 2_000); // f1's filter expires and is swept; f2's stay
    expect(e.offerFilters().map((f) => f.frameworkId)).toEqual(['f2', 'f2']);
    e.removeAgent('x');
    expect(e.offerFilters()).toEqual([]);
    return e;
  }

  it.each([
    ['revive', (e: DrfAllocator) => e.reviveOffers('f1')],
    ['deactivation', (e: DrfAllocator) => e.deactivateFramework('f1')],
    ['leaving the role', (e: DrfAllocator) => e.updateFramework(frameworkMsg('f1', ['other']))],
    ['framework removal', (e: DrfAllocator) => e.removeFramework('f1')],
  ])('forgets a removed agent for frameworks whose filters on it had expired (%s after removal)', (_what, act) => {
    const e = expiredNextToOthers();
    expect(() => act(e)).not.toThrow();
    // The engine goes on: y is offered, and an agent added again under the old id is too.
    e.reviveOffers('f2');
    e.addAgent(agentMsg('x', 'cpus:2;mem:200'));
    const offers = e.allocate(T0 + 3_000);
    expect(offers.map((o) => o.agentId).sort()).toEqual(['x', 'y']);
    expect(e.stats().filters).toBe(0);
  });

  it('keeps the filters of other frameworks and agents when an agent is removed', () => {
    const e = engineWith([['x', 'cpus:4;mem:400'], ['y', 'cpus:4;mem:400']], [['f1', ['r']]], { shuffleSeed: null });
    declineAll(e, e.allocate(T0), 60, T0);
    expect(e.offerFilters().map((f) => f.agentId).sort()).toEqual(['x', 'y']);
    e.removeAgent('x');
    expect(e.offerFilters().map((f) => f.agentId)).toEqual(['y']);
    expect(e.allocate(T0 + 1_000)).toEqual([]);
    e.reviveOffers('f1');
    expect(e.allocate(T0 + 2_000).map((o) => o.agentId)).toEqual(['y']);
  });
});

interface ModelFilter {
  frameworkId: string;
  role: string;
  agentId: string;
  resources: Resources;
  expiresAtMs: number;
}

interface ModelFramework {
  id: string;
  roles: string[];
  suppressed: Set<string>;
  active: boolean;
}

function isCovered(filters: ModelFilter[], fw: string, role: string, agent: string, res: Resources, now: number): boolean {
  return filters.some(
    (f) => f.frameworkId === fw && f.role === role && f.agentId === agent && f.expiresAtMs > now && f.resources.contains(res),
  );
}

describe('offer filters (model-based)', () => {
  it('respect every live filter and never leave an unrefused agent unoffered', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const rng = new Rng(seed * 977);
      // Half of the runs decline mostly with filters, so that agents are often refused by everyone.
      const refusals: (number | null | undefined)[] = seed % 2 === 0 ? [undefined, 0, 1, 5, 30, -1, null] : [5, 5, 30, undefined, 2];
      const e = new DrfAllocator({ shuffleSeed: seed });
      const agentIds: string[] = [];
      for (let i = rng.int(2, 8); i > 0; i--) {
        agentIds.push(`a${i}`);
        e.addAgent(agentMsg(`a${i}`, `cpus:${rng.int(1, 8)};mem:${rng.int(1, 8) * 512}`));
      }
      const fws: ModelFramework[] = [];
      for (let i = rng.int(1, seed % 2 === 0 ? 6 : 3); i > 0; i--) {
        const roles = rng.next() < 0.3 ? [`r${i}`, 'common'] : [rng.pick(['r1', 'r2', `own${i}`])];
        fws.push({ id: `f${i}`, roles, suppressed: new Set(), active: true });
        e.addFramework(frameworkMsg(`f${i}`, roles));
      }
      let filters: ModelFilter[] = [];
      const tasks: SimTask[] = [];
      let now = T0;
      for (let step = 0; step < 80; step++) {
        now += rng.pick([0, 500, 1000, 1000, 3000, 6000]);
        const offers = e.allocate(now);
        checkCycle(e, offers, fws, filters, agentIds, now);
        for (const o of offers) {
          const offered = Resources.fromProto(o.resources);
          let declined = offered;
          if (rng.next() < 0.3) {
            // Launch a task on a slice of the offer.
            const take = Resources.fromProto([{ name: 'cpus', scalar: { value: 0.5 }, allocationInfo: { role: o.role } }]);
            if (offered.contains(take)) {
              tasks.push({ frameworkId: o.frameworkId, agentId: o.agentId, resources: take.toProto() });
              declined = offered.minus(take);
            }
          }
          if (declined.isEmpty()) continue;
          const refuse = rng.pick(refusals);
          const withFilters = refuse !== null;
          e.recoverResources(o.frameworkId, o.agentId, declined.toProto(), withFilters ? { refuseSeconds: refuse } : undefined, now);
          const seconds = refuse === undefined || refuse === null || refuse < 0 ? 5 : refuse;
          if (withFilters && seconds > 0) {
            filters.push({ frameworkId: o.frameworkId, role: o.role, agentId: o.agentId, resources: declined.unallocate(), expiresAtMs: now + seconds * 1000 });
          }
        }
        for (let i = tasks.length - 1; i >= 0; i--) {
          if (rng.next() < 0.25) {
            finishTask(e, tasks[i], now);
            tasks.splice(i, 1);
          }
        }
        const fw = rng.pick(fws);
        const action = rng.next();
        if (action < 0.1) {
          const roles = rng.next() < 0.5 ? [] : [rng.pick(fw.roles)];
          e.reviveOffers(fw.id, roles);
          for (const r of roles.length > 0 ? roles : fw.roles) fw.suppressed.delete(r);
          filters = filters.filter((f) => !(f.frameworkId === fw.id && (roles.length === 0 || roles.includes(f.role))));
        } else if (action < 0.17) {
          const role = rng.pick(fw.roles);
          e.suppressOffers(fw.id, [role]);
          fw.suppressed.add(role);
        } else if (action < 0.22) {
          if (fw.active) {
            e.deactivateFramework(fw.id);
            filters = filters.filter((f) => f.frameworkId !== fw.id);
          } else {
            e.activateFramework(fw.id);
          }
          fw.active = !fw.active;
        } else if (action < 0.3 && agentIds.length > 1) {
          // An agent goes away (often after some filters on it expired) and may come back under the
          // same id: later revives and deactivations must not trip over it.
          const gone = agentIds.splice(rng.int(0, agentIds.length - 1), 1)[0];
          e.removeAgent(gone);
          filters = filters.filter((f) => f.agentId !== gone);
          for (let i = tasks.length - 1; i >= 0; i--) if (tasks[i].agentId === gone) tasks.splice(i, 1);
          if (rng.next() < 0.5) {
            agentIds.push(gone);
            e.addAgent(agentMsg(gone, `cpus:${rng.int(1, 8)};mem:${rng.int(1, 8) * 512}`));
          }
        }
      }
    }
  });
});

function checkCycle(e: DrfAllocator, offers: Allocation[], fws: ModelFramework[], filters: ModelFilter[], agentIds: string[], now: number): void {
  for (const o of offers) {
    const res = Resources.fromProto(o.resources).unallocate();
    expect(isCovered(filters, o.frameworkId, o.role, o.agentId, res, now)).toBe(false);
    const fw = fws.find((f) => f.id === o.frameworkId)!;
    expect(fw.active && !fw.suppressed.has(o.role)).toBe(true);
  }
  for (const agentId of agentIds) {
    const left = Resources.fromProto(e.agentAvailable(agentId));
    if (left.isEmpty() || !(left.quantityMilli(0) >= 10 || left.quantityMilli(1) >= 32_000)) continue;
    for (const fw of fws) {
      if (!fw.active) continue;
      for (const role of fw.roles) {
        if (fw.suppressed.has(role)) continue;
        // This framework could have taken what is left unless it refused it.
        expect({ agentId, fw: fw.id, role, refused: isCovered(filters, fw.id, role, agentId, left, now) }).toEqual({
          agentId,
          fw: fw.id,
          role,
          refused: true,
        });
      }
    }
  }
}
