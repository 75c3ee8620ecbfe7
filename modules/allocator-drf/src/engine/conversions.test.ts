// An ACCEPT's RESERVE or UNRESERVE as the master tells the allocator (core/src/master/agent-reservations.ts):
// recover the accepted offer (no filter), update the agent's total, then update_allocation with
// everything the framework holds on the agent in the offer's role, the converted offer included.
import { DrfAllocator } from './allocator';
import { parseResources } from './resource-text';
import { agentMsg, frameworkMsg, qty } from './test-support';
import type { Allocation, Resource } from './types';

const T0 = 1_700_000_000_000;
const dyn = (role: string) => ({ type: 'DYNAMIC' as const, role, principal: 'p' });
const reserved = (text: string, role: string): Resource[] => parseResources(text).map((r) => ({ ...r, reservations: [dyn(role)] }));
const allocated = (rs: Resource[], role: string): Resource[] => rs.map((r) => ({ ...r, allocationInfo: { role } }));

// The master's sequence for one ACCEPT that converted `offer` into `held` (both with allocation roles).
function convert(e: DrfAllocator, offer: Allocation, total: Resource[], held: Resource[], alsoHeld: Resource[] = []): void {
  e.recoverResources(offer.frameworkId, offer.agentId, offer.resources);
  e.updateAgent({ agentId: offer.agentId, total });
  e.updateAllocation({ frameworkId: offer.frameworkId, agentId: offer.agentId, role: '', resources: [...held, ...alsoHeld] });
}

function setup(): { e: DrfAllocator; offer: Allocation } {
  const e = new DrfAllocator();
  e.addAgent(agentMsg('a1', 'cpus:4;mem:1024'));
  e.addFramework(frameworkMsg('db-fw', ['db']));
  const [offer] = e.allocate(T0);
  expect(offer).toMatchObject({ frameworkId: 'db-fw', role: 'db' });
  return { e, offer };
}

describe('conversions (RESERVE, UNRESERVE) through recover + updateAgent + updateAllocation', () => {
  it("turns the framework's unreserved holding into a reserved one and changes the agent's total", () => {
    const { e, offer } = setup();
    const total = [...parseResources('cpus:3;mem:1024'), ...reserved('cpus:1', 'db')];
    const held = allocated([...parseResources('cpus:3;mem:1024'), ...reserved('cpus:1', 'db')], 'db');
    convert(e, offer, total, held);
    const holding = e.frameworkResources('db-fw', 'a1');
    expect(holding.filter((r) => r.reservations?.length)).toEqual([expect.objectContaining({ name: 'cpus', scalar: { value: 1 }, reservations: [expect.objectContaining({ type: 'DYNAMIC', role: 'db' })] })]);
    expect(qty(holding)).toEqual({ cpus: 4, mem: 1024 });
    expect(e.agentAvailable('a1')).toEqual([]);
    expect(e.roleAllocation('db')).toEqual({ cpus: 4, mem: 1024 });
    expect(e.clusterTotals()).toMatchObject({ cpus: 4, mem: 1024 });
  });

  it('offers the reserved resources, once recovered, to the role only', () => {
    const { e, offer } = setup();
    e.addFramework(frameworkMsg('web-fw', ['web']));
    const total = [...parseResources('cpus:3;mem:1024'), ...reserved('cpus:1', 'db')];
    const held = allocated([...parseResources('cpus:3;mem:1024'), ...reserved('cpus:1', 'db')], 'db');
    convert(e, offer, total, held);
    // The framework launches nothing and declines the converted offer without a filter.
    e.recoverResources('db-fw', 'a1', held, { refuseSeconds: 0 }, T0);
    e.suppressOffers('db-fw');
    const toWeb = e.allocate(T0 + 1000);
    expect(toWeb).toHaveLength(1);
    expect(toWeb[0].frameworkId).toBe('web-fw');
    expect(qty(toWeb[0].resources)).toEqual({ cpus: 3, mem: 1024 });
    expect(toWeb[0].resources.some((r) => r.reservations?.length)).toBe(false);
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 1 }); // the reservation waits for its role
    e.reviveOffers('db-fw');
    const toDb = e.allocate(T0 + 2000);
    expect(toDb.map((o) => [o.frameworkId, qty(o.resources)])).toEqual([['db-fw', { cpus: 1 }]]);
    expect(toDb[0].resources[0].reservations).toEqual([expect.objectContaining({ type: 'DYNAMIC', role: 'db' })]);
  });

  it('unreserves: the resources are unreserved again for every role', () => {
    const { e, offer } = setup();
    const reservedTotal = [...parseResources('cpus:3;mem:1024'), ...reserved('cpus:1', 'db')];
    const converted = allocated(reservedTotal, 'db');
    convert(e, offer, reservedTotal, converted);
    // UNRESERVE in a later ACCEPT of the same offer contents.
    convert(e, { frameworkId: 'db-fw', agentId: 'a1', role: 'db', resources: converted }, parseResources('cpus:4;mem:1024'), allocated(parseResources('cpus:4;mem:1024'), 'db'));
    expect(e.frameworkResources('db-fw', 'a1').some((r) => r.reservations?.length)).toBe(false);
    expect(qty(e.frameworkResources('db-fw', 'a1'))).toEqual({ cpus: 4, mem: 1024 });
    e.removeFramework('db-fw');
    e.addFramework(frameworkMsg('web-fw', ['web']));
    expect(qty(e.allocate(T0 + 1000)[0].resources)).toEqual({ cpus: 4, mem: 1024 });
  });

  it('keeps a second outstanding offer of the same kind held (update_allocation names the whole holding)', () => {
    const e = new DrfAllocator();
    e.addAgent(agentMsg('a1', 'cpus:4;mem:1024', { total: [...parseResources('cpus:2;mem:1024'), ...reserved('cpus:2', 'db')] }));
    e.addFramework(frameworkMsg('db-fw', ['db']));
    const [first] = e.allocate(T0);
    // The framework answers part of the offer (keeps 1 reserved cpu offered), the rest comes back as a second offer.
    e.recoverResources('db-fw', 'a1', allocated([...parseResources('cpus:2;mem:1024'), ...reserved('cpus:1', 'db')], 'db'), { refuseSeconds: 0 }, T0);
    void first;
    const [second] = e.allocate(T0 + 1000);
    expect(qty(second.resources)).toEqual({ cpus: 3, mem: 1024 });
    // RESERVE 1 more cpu from the second offer: the first offer's reserved cpu stays named in the holding.
    const total = [...parseResources('cpus:1;mem:1024'), ...reserved('cpus:3', 'db')];
    const held = allocated([...parseResources('cpus:1;mem:1024'), ...reserved('cpus:2', 'db')], 'db');
    convert(e, second, total, held, allocated(reserved('cpus:1', 'db'), 'db'));
    expect(qty(e.frameworkResources('db-fw', 'a1'))).toEqual({ cpus: 4, mem: 1024 });
    expect(e.agentAvailable('a1')).toEqual([]);
    expect(e.allocate(T0 + 2000)).toEqual([]);
  });
});

describe('snapshot outstanding offers', () => {
  it('are held on top of the same framework\'s used resources of the same kind', () => {
    const e = new DrfAllocator();
    const used = allocated(parseResources('cpus:1'), 'web');
    e.loadSnapshot(
      {
        agents: [agentMsg('a1', 'cpus:4;mem:1024', { used: [{ frameworkId: 'f1', resources: used }] })],
        frameworks: [frameworkMsg('f1', ['web']), frameworkMsg('f2', ['web'])],
        outstandingOffers: [{ frameworkId: 'f1', agentId: 'a1', role: 'web', resources: allocated(parseResources('cpus:1;mem:512'), 'web') }],
      },
      T0,
    );
    expect(qty(e.frameworkResources('f1', 'a1'))).toEqual({ cpus: 2, mem: 512 });
    expect(qty(e.agentAvailable('a1'))).toEqual({ cpus: 2, mem: 512 });
  });
});
