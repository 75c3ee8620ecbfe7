// The allocator checks of who gets offered what: Mesos's hierarchical allocator semantics for offers,
// declines and filters, suppression, activation, reservations, GPUs and quota limits. Each check opens
// a stream of its own with a snapshot of its own, and reasons by seq: an offer carries the last input
// the module had applied, so "no offers to fw-1 after it suppressed at seq 5" is `o.seq >= 5`.
import { expectNoOffers, type AllocatorProbe, type AllocatorStream } from './allocator-probe';
import { agent, amount, describeOffers, describeQuantities, framework, offered, reservationRole, resources, type Offer } from './allocator-resources';
import { fail, type Check } from './runner';

type AllocatorCheck = Check<AllocatorProbe>;

/** AGENT is the kit's usual agent: nothing reserved, no GPUs. */
export const AGENT = 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]';

/** to selects offers to a framework (on an agent), made once the module had applied input `since`. */
export const to =
  (fw: string, agentId?: string, since = 0) =>
  (o: Offer): boolean =>
    o.frameworkId === fw && (agentId === undefined || o.agentId === agentId) && o.seq >= since;

/**
 * expectOffered fails the check unless the offers matching `which` hold at least `min` (e.g. {cpus: 4});
 * `what` says what the kit expected and why, for the message.
 */
export function expectOffered(offers: readonly Offer[], which: (o: Offer) => boolean, min: Record<string, number>, what: string): void {
  const got = offered(offers, which);
  const short = Object.entries(min).filter(([name, n]) => amount(got, name) < n);
  if (short.length) {
    fail(`${what}: expected at least ${short.map(([k, v]) => `${k}:${v}`).join(';')}, got ${describeQuantities(got)} (all offers seen: ${describeOffers(offers)})`);
  }
}

// first runs the first tick of a check and makes sure `fw` got `agentId`, which the check builds on.
async function firstOffer(s: AllocatorStream, fw: string, agentId: string): Promise<Offer[]> {
  const offers = await s.tick();
  expectOffered(offers, to(fw, agentId), { cpus: 4, mem: 4096 }, `the first tick must offer all of agent ${agentId} to ${fw}, its only active framework`);
  return offers.filter(to(fw, agentId));
}

const offersAfterTick: AllocatorCheck = {
  id: 'offers-after-tick',
  title: "a tick is answered by offers of every agent's available resources, then a cycle_done",
  async run(p) {
    const s = await p.stream('offers-after-tick', { agents: [agent('a1', AGENT), agent('a2', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const offers = await s.tick();
    for (const id of ['a1', 'a2']) {
      expectOffered(offers, (o) => o.agentId === id, { cpus: 4, mem: 4096 }, `agent ${id} (${AGENT}, nothing used or offered) must be offered whole to fw-1, the only framework, after a tick`);
    }
    expectNoOffers(offers, (o) => o.role !== 'analytics', 'fw-1 subscribes to role analytics only, so its offers must be in that role');
    return describeOffers(offers);
  },
};

const noDoubleOffer: AllocatorCheck = {
  id: 'no-double-offer',
  title: 'offered resources are not offered again while outstanding, over several ticks',
  async run(p) {
    const s = await p.stream('no-double-offer', {
      agents: [agent('a1', AGENT)],
      frameworks: [framework('fw-1', ['analytics']), framework('fw-2', ['web'])],
    });
    const offers = [...(await s.tick()), ...(await s.tick()), ...(await s.tick())];
    if (!offers.length) fail('three ticks offered nothing of agent a1 to fw-1 or fw-2: offer available resources to an active framework at each cycle');
    return `over 3 ticks: ${describeOffers(offers)}; nothing offered twice`;
  },
};

const declineRefuseZero: AllocatorCheck = {
  id: 'decline-refuse-zero',
  title: 'resources declined with refuse_seconds 0, or without filters, are offered again at the next cycle',
  async run(p) {
    const s = await p.stream('decline-refuse-zero', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const first = await firstOffer(s, 'fw-1', 'a1');
    const zero = await s.recover(first, { refuseSeconds: 0 });
    const again = await s.tick();
    expectOffered(again, to('fw-1', 'a1', zero), { cpus: 4, mem: 4096 }, `after fw-1 declined a1 with refuse_seconds 0 (seq ${zero}), the next tick must offer it again: refuse_seconds 0 sets no filter`);
    const none = await s.recover(s.outstanding(to('fw-1', 'a1')));
    const third = await s.tick();
    expectOffered(third, to('fw-1', 'a1', none), { cpus: 4, mem: 4096 }, `after fw-1 gave a1 back without filters (seq ${none}), the next tick must offer it again: absent filters set no filter`);
  },
};

const declineFilter: AllocatorCheck = {
  id: 'decline-filter',
  title: 'resources declined with refuse_seconds 3600 are not offered to that framework again, but to others',
  async run(p) {
    const s = await p.stream('decline-filter', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const declined = await s.recover(await firstOffer(s, 'fw-1', 'a1'), { refuseSeconds: 3600 });
    const added = await s.send({ addFramework: { framework: framework('fw-2', ['web']) } });
    const offers = [...(await s.tick()), ...(await s.tick())];
    expectNoOffers(offers, to('fw-1', 'a1', declined), `fw-1 declined agent a1 with refuse_seconds 3600 at seq ${declined}, so a1 must not be offered to fw-1 for an hour, unless it revives`);
    expectOffered(offers, to('fw-2', 'a1', added), { cpus: 4, mem: 4096 }, `a filter holds resources back from the framework that declined them only: a1 must be offered to fw-2 (added at seq ${added})`);
  },
};

const reviveClearsFilter: AllocatorCheck = {
  id: 'revive-clears-filter',
  title: "revive_offers clears the framework's filters: declined resources are offered again",
  async run(p) {
    const s = await p.stream('revive-clears-filter', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const declined = await s.recover(await firstOffer(s, 'fw-1', 'a1'), { refuseSeconds: 3600 });
    expectNoOffers(await s.tick(), to('fw-1', 'a1', declined), `fw-1 declined agent a1 with refuse_seconds 3600 at seq ${declined}, so the next tick must not offer it a1`);
    const revived = await s.send({ reviveOffers: { frameworkId: 'fw-1', roles: [] } });
    expectOffered(await s.tick(), to('fw-1', 'a1', revived), { cpus: 4, mem: 4096 }, `revive_offers (seq ${revived}, no roles: all of fw-1's roles) clears fw-1's filters, so the next tick must offer it a1 again`);
  },
};

const suppressRevive: AllocatorCheck = {
  id: 'suppress-revive',
  title: 'suppress_offers stops offers in the roles named (all when none); revive_offers resumes them',
  async run(p) {
    const s = await p.stream('suppress-revive', {
      agents: [agent('a1', AGENT), agent('a2', AGENT)],
      frameworks: [framework('fw-1', ['analytics', 'web'])],
    });
    const first = await s.tick();
    if (!first.some(to('fw-1'))) fail(`the first tick offered nothing to fw-1, the only framework (${describeOffers(first)}): offer available resources at each cycle`);
    const suppressed = await s.send({ suppressOffers: { frameworkId: 'fw-1', roles: [] } });
    await s.recover(s.outstanding(), { refuseSeconds: 0 });
    expectNoOffers(await s.tick(), to('fw-1', undefined, suppressed), `fw-1 suppressed offers in all its roles at seq ${suppressed} (suppress_offers without roles), so it must get no offers until it revives`);
    const revived = await s.send({ reviveOffers: { frameworkId: 'fw-1', roles: ['web'] } });
    const after = await s.tick();
    expectNoOffers(after, (o) => to('fw-1', undefined, revived)(o) && o.role !== 'web', `fw-1 revived role web only (seq ${revived}); its role analytics stays suppressed`);
    expectOffered(after, to('fw-1', undefined, revived), { cpus: 8, mem: 8192 }, `after revive_offers of role web (seq ${revived}), agents a1 and a2 must be offered to fw-1 in role web`);
  },
};

const inactiveFramework: AllocatorCheck = {
  id: 'inactive-framework',
  title: 'an inactive framework (active unset in the snapshot, or deactivated) gets no offers; activate_framework resumes them',
  async run(p) {
    const s = await p.stream('inactive-framework', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'], { active: false })] });
    expectNoOffers(await s.tick(), to('fw-1'), 'fw-1 is inactive (the snapshot leaves `active` unset, which proto3 reads as false), so it must get no offers');
    const activated = await s.send({ activateFramework: { frameworkId: 'fw-1' } });
    expectOffered(await s.tick(), to('fw-1', 'a1', activated), { cpus: 4 }, `activate_framework (seq ${activated}) makes fw-1 active: the next tick must offer it a1`);
    const deactivated = await s.send({ deactivateFramework: { frameworkId: 'fw-1' } });
    await s.recover(s.outstanding(), { refuseSeconds: 0 });
    expectNoOffers(await s.tick(), to('fw-1', undefined, deactivated), `deactivate_framework (seq ${deactivated}) makes fw-1 inactive: it must get no offers`);
  },
};

const inactiveAgent: AllocatorCheck = {
  id: 'inactive-agent',
  title: 'an inactive agent (active unset in the snapshot, or deactivated) is not offered; activate_agent resumes it',
  async run(p) {
    const s = await p.stream('inactive-agent', { agents: [agent('a1', AGENT, { active: false }), agent('a2', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const first = await s.tick();
    expectNoOffers(first, (o) => o.agentId === 'a1', 'agent a1 is inactive (the snapshot leaves `active` unset, which proto3 reads as false), so it must not be offered');
    expectOffered(first, to('fw-1', 'a2'), { cpus: 4 }, 'agent a2 is active and must be offered to fw-1');
    const activated = await s.send({ activateAgent: { agentId: 'a1' } });
    expectOffered(await s.tick(), to('fw-1', 'a1', activated), { cpus: 4 }, `activate_agent (seq ${activated}) makes a1 active: the next tick must offer it`);
    const deactivated = await s.send({ deactivateAgent: { agentId: 'a1' } });
    await s.recover(s.outstanding((o) => o.agentId === 'a1'), { refuseSeconds: 0 });
    expectNoOffers(await s.tick(), (o) => o.agentId === 'a1' && o.seq >= deactivated, `deactivate_agent (seq ${deactivated}) makes a1 inactive: it must not be offered`);
  },
};

const reservationsRoleOnly: AllocatorCheck = {
  id: 'reservations-role-only',
  title: 'resources reserved for a role are offered only within that role or its descendants',
  async run(p) {
    // ops-east is no descendant of ops, whatever its name starts with; ops/team is.
    const s = await p.stream('reservations-role-only', {
      agents: [agent('a1', 'cpus:2;mem:2048;cpus(ops):2;mem(ops):2048')],
      frameworks: [framework('fw-1', ['analytics']), framework('fw-2', ['ops-east']), framework('fw-3', ['ops/team'])],
    });
    const offers = [...(await s.tick()), ...(await s.tick())];
    const reserved = offers.map((o) => ({ ...o, resources: o.resources.filter((r) => reservationRole(r) === 'ops') }));
    expectOffered(reserved, to('fw-3'), { cpus: 2, mem: 2048 }, "cpus(ops):2;mem(ops):2048 of a1 are reserved for role ops: they must be offered to fw-3, whose role ops/team is ops's descendant");
    return describeOffers(offers);
  },
};

const gpuFilter: AllocatorCheck = {
  id: 'gpu-filter',
  title: 'an agent with GPUs is offered only to frameworks with the GPU_RESOURCES capability',
  async run(p) {
    const hint = p.parameters === undefined ? '' : ' (the kit checks the default --filter_gpu_resources=true; parameters that turn it off fail this check)';
    const s = await p.stream('gpu-filter', { agents: [agent('g1', 'cpus:4;mem:4096;gpus:1'), agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const first = await s.tick();
    expectNoOffers(first, to('fw-1', 'g1'), `fw-1 lacks the GPU_RESOURCES capability, so agent g1, which has gpus, must not be offered to it at all (Mesos's --filter_gpu_resources)${hint}`);
    expectOffered(first, to('fw-1', 'a1'), { cpus: 4 }, 'agent a1 has no GPUs and must be offered to fw-1');
    const added = await s.send({ addFramework: { framework: framework('fw-gpu', ['analytics'], { capabilities: ['GPU_RESOURCES'] }) } });
    expectOffered(await s.tick(), to('fw-gpu', 'g1', added), { gpus: 1, cpus: 4 }, `fw-gpu (added at seq ${added}) has GPU_RESOURCES: agent g1 must be offered to it`);
  },
};

const quotaLimit: AllocatorCheck = {
  id: 'quota-limit',
  title: "a role's quota limit is never exceeded by what is offered and allocated to it",
  async run(p) {
    const s = await p.stream('quota-limit', {
      agents: [agent('a1', AGENT, { used: [{ framework: 'fw-1', role: 'capped', resources: 'cpus:1;mem:512' }] }), agent('a2', AGENT)],
      frameworks: [framework('fw-1', ['capped'])],
      quotas: [{ role: 'capped', guarantees: [], limits: resources('cpus:3') }],
    });
    const offers = [...(await s.tick()), ...(await s.tick())];
    const cpus = amount(offered(offers, (o) => o.role === 'capped'), 'cpus');
    if (cpus + 1 > 3) {
      fail(
        `role capped has a quota limit of cpus:3 and uses cpus:1 on a1, yet it was offered cpus:${cpus} (${describeOffers(offers)}): ` +
          'cut offers to a role with limits down to what keeps offered + used within the limit',
      );
    }
    if (cpus <= 0) fail(`role capped may still get cpus:2 under its limit of cpus:3, but was offered none (${describeOffers(offers)}): limits cap offers, they do not stop them`);
    return `offered cpus:${cpus} to role capped (limit cpus:3, used cpus:1)`;
  },
};

const removeAgentFramework: AllocatorCheck = {
  id: 'remove-agent-framework',
  title: 'after remove_agent and remove_framework, no offer names them',
  async run(p) {
    const s = await p.stream('remove-agent-framework', {
      agents: [agent('a1', AGENT), agent('a2', AGENT)],
      frameworks: [framework('fw-1', ['analytics']), framework('fw-2', ['web'], { active: false })],
    });
    // fw-1 holds a1; a2 goes to fw-2, so that both a removed agent and a removed framework held something.
    const first = await s.tick();
    expectOffered(first, to('fw-1', 'a2'), { cpus: 4 }, 'the first tick must offer a2 to fw-1, the only active framework');
    await s.recover(s.outstanding(to('fw-1', 'a2')), { refuseSeconds: 3600 });
    const activated = await s.send({ activateFramework: { frameworkId: 'fw-2' } });
    expectOffered(await s.tick(), to('fw-2', 'a2', activated), { cpus: 4 }, `a2, declined by fw-1 with a filter, must be offered to fw-2 once activated (seq ${activated})`);
    // As the master does: a framework's offers come back (here with a filter) before it is removed.
    await s.recover(s.outstanding(to('fw-2')), { refuseSeconds: 3600 });
    const removedFramework = await s.send({ removeFramework: { frameworkId: 'fw-2' } });
    const removedAgent = await s.send({ removeAgent: { agentId: 'a2' } });
    // Reviving fw-1 lifts its filter on a2: a module that forgot the removal would offer a2 again.
    const revived = await s.send({ reviveOffers: { frameworkId: 'fw-1', roles: [] } });
    await s.recover(s.outstanding(to('fw-1', 'a1')), { refuseSeconds: 0 });
    const offers = [...(await s.tick()), ...(await s.tick())];
    expectNoOffers(offers, to('fw-2', undefined, removedFramework), `fw-2 was removed at seq ${removedFramework}: offer nothing to a removed framework`);
    expectNoOffers(offers, (o) => o.agentId === 'a2' && o.seq >= removedAgent, `agent a2 was removed at seq ${removedAgent}: never offer a removed agent`);
    expectOffered(offers, to('fw-1', 'a1', revived), { cpus: 4, mem: 4096 }, 'agent a1, given back by fw-1 with refuse_seconds 0, must be offered to fw-1 again');
  },
};

/** OFFER_CHECKS are the checks of who is offered what, in the order they run. */
export const OFFER_CHECKS: readonly AllocatorCheck[] = [
  offersAfterTick,
  noDoubleOffer,
  declineRefuseZero,
  declineFilter,
  reviveClearsFilter,
  suppressRevive,
  inactiveFramework,
  inactiveAgent,
  reservationsRoleOnly,
  gpuFilter,
  quotaLimit,
  removeAgentFramework,
];
