/**
 * Agent and resource inputs of the allocator: add, remove and update agents; recover resources;
 * record allocations the master reports.
 *
 * Held resources arrive as proto resources with `allocationInfo.role` set (an agent's used resources,
 * an outstanding offer, a recovery). Resources without one take the role the message names or, failing
 * that, the framework's only role; otherwise the input is rejected, since the allocator cannot know
 * which role's share to charge.
 */
import { AgentState, EngineState } from './engine-state';
import { nameId } from './kinds';
import { AllocatorError } from './options';
import { Resources } from './resources';
import type { AllocationMessage, AllocatorAgent, Filters, Resource, UpdateAgent } from './types';

/** Refusals longer than this are capped, as Mesos caps refuse_seconds at 365 days. */
const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

function hasGpus(total: Resources): boolean {
  return total.quantityMilli(nameId('gpus')) > 0;
}

/** The agent `id`, or an AllocatorError naming the operation. */
export function agentOf(s: EngineState, id: string, op: string): AgentState {
  const agent = s.agents.get(id);
  if (agent === undefined) throw new AllocatorError(`${op}: unknown agent '${id}'`);
  return agent;
}

/**
 * Parses held resources into unallocated bags by allocation role. Resources without one take `role`
 * when given, else the framework's only role; throws when neither settles it.
 */
function heldByRole(
  s: EngineState,
  list: readonly Resource[] | undefined,
  frameworkId: string,
  role: string | null,
  op: string,
): Map<string, Resources> {
  const groups = Resources.fromProtoByRole(list);
  const unassigned = groups.get(null);
  groups.delete(null);
  const out = groups as Map<string, Resources>;
  if (unassigned === undefined) return out;
  let fallback = role;
  if (fallback === null) {
    const fw = s.frameworks.get(frameworkId);
    if (fw !== undefined && fw.roles.size === 1) fallback = fw.roles.values().next().value!;
  }
  if (fallback === null) {
    throw new AllocatorError(`${op}: resources ${unassigned.toString()} of framework ${frameworkId} name no allocation role`);
  }
  out.set(fallback, (out.get(fallback) ?? Resources.empty()).plus(unassigned));
  return out;
}

/** Adds an agent with its total and what frameworks already use on it. */
export function addAgent(s: EngineState, agent: AllocatorAgent): void {
  const id = agent.info?.id ?? '';
  if (id === '') throw new AllocatorError('addAgent: the agent has no id');
  if (s.agents.has(id)) throw new AllocatorError(`addAgent: agent ${id} already exists`);
  const total = Resources.fromProto(agent.total).unallocate();
  const state: AgentState = {
    id,
    listIndex: -1,
    total,
    available: Resources.empty(),
    holdings: [],
    overcommitted: false,
    active: agent.active === true,
    hasGpu: hasGpus(total),
    capabilities: (agent.capabilities ?? []).slice(),
    filters: null,
    refusal: null,
  };
  // Parse everything first so that a malformed input leaves no half-added agent behind.
  const used = (agent.used ?? []).map((u) => ({
    frameworkId: u.frameworkId ?? '',
    parts: heldByRole(s, u.resources, u.frameworkId ?? '', null, 'addAgent'),
  }));
  s.agents.set(id, state);
  s.listAgent(state);
  s.trackTotal(total, 1);
  s.setAvailable(state, total.clone());
  for (const u of used) for (const [role, res] of u.parts) s.hold(state, u.frameworkId, role, res);
}

/** Removes an agent, with everything offered or used on it and every filter naming it. No-op if unknown. */
export function removeAgent(s: EngineState, agentId: string): void {
  const agent = s.agents.get(agentId);
  if (agent === undefined) return;
  for (const record of agent.holdings.slice()) s.release(agent, record, record.res.clone());
  s.setAvailable(agent, Resources.empty());
  s.trackTotal(agent.total, -1);
  s.clearAgentFilters(agent);
  s.unlistAgent(agent);
  s.agents.delete(agentId);
}

/** Changes an agent's total (and capabilities when given); offered and used resources stay held. */
export function updateAgent(s: EngineState, update: UpdateAgent): void {
  const agent = agentOf(s, update.agentId ?? '', 'updateAgent');
  const total = Resources.fromProto(update.total).unallocate();
  s.trackTotal(agent.total, -1);
  agent.total = total;
  agent.hasGpu = hasGpus(total);
  agent.refusal = null;
  s.trackTotal(total, 1);
  s.setAvailable(agent, s.recomputeAvailable(agent));
  agent.overcommitted = !total.contains(s.heldOn(agent));
  if (update.capabilities && update.capabilities.length > 0) agent.capabilities = update.capabilities.slice();
}

/**
 * Gives back resources a framework held on an agent; see {@link DrfAllocator.recoverResources}.
 * Throws when the framework does not hold them; no-op for a removed agent or framework.
 */
export function recoverResources(
  s: EngineState,
  frameworkId: string,
  agentId: string,
  resources: readonly Resource[],
  filters: Filters | null | undefined,
  nowMs: number,
): void {
  const agent = s.agents.get(agentId);
  if (agent === undefined) return;
  const fw = s.frameworks.get(frameworkId);
  if (fw === undefined && !s.orphans.has(frameworkId)) return;
  const parts = heldByRole(s, resources, frameworkId, null, 'recoverResources');
  const records = Array.from(parts, ([role, res]) => {
    const record = s.findRecord(agent, frameworkId, role);
    if (record === undefined || !record.res.contains(res)) {
      throw new AllocatorError(
        `recoverResources: framework ${frameworkId} does not hold ${res.toString()} in role ${role} on agent ${agentId}` +
          ` (holds ${record?.res.toString() ?? 'nothing'} there)`,
      );
    }
    return record;
  });
  let i = 0;
  for (const res of parts.values()) s.release(agent, records[i++], res);
  if (fw === undefined || filters === undefined || filters === null) return;
  let refuse = filters.refuseSeconds ?? s.options.defaultRefuseSeconds;
  if (Number.isNaN(refuse) || refuse < 0) refuse = s.options.defaultRefuseSeconds;
  refuse = Math.min(refuse, MAX_REFUSE_SECONDS);
  if (refuse === 0) return;
  // As Mesos (timeout = max(allocationInterval, timeout)): a filter outlives the next full cycle, so
  // the framework is not offered what it just declined at once. Recovery asks for no cycle of its own.
  const lifeMs = Math.max(refuse * 1000, s.allocationIntervalMs);
  for (const [role, res] of parts) {
    // A framework that left the role and holds nothing there any more is no longer offered it.
    const m = fw.memberships.get(role);
    if (m !== undefined) s.addFilter(agent, m, res, nowMs + lifeMs);
  }
}

/**
 * Records that a framework holds resources on an agent; see {@link DrfAllocator.updateAllocation}.
 * An unknown agent is an error: the master removes an agent's offers with the agent, so it never
 * converts offered resources of an agent it already removed.
 */
export function updateAllocation(s: EngineState, allocation: AllocationMessage): void {
  const frameworkId = allocation.frameworkId ?? '';
  const agent = agentOf(s, allocation.agentId ?? '', 'updateAllocation');
  const missing: [string, Resources][] = [];
  let needed = Resources.empty();
  for (const [role, res] of heldByRole(s, allocation.resources, frameworkId, allocation.role || null, 'updateAllocation')) {
    const part = res.minus(s.findRecord(agent, frameworkId, role)?.res ?? Resources.empty());
    if (part.isEmpty()) continue;
    missing.push([role, part]);
    needed = needed.plus(part);
  }
  if (!agent.available.contains(needed)) {
    throw new AllocatorError(
      `updateAllocation: agent ${agent.id} has neither offered nor available ${needed.toString()} for framework ${frameworkId}`,
    );
  }
  for (const [role, part] of missing) s.hold(agent, frameworkId, role, part);
}

/**
 * Records an outstanding offer of a snapshot: held in addition to what the framework already holds on
 * the agent (the `used` of its tasks, its other offers), taken from the agent's available resources,
 * which must contain it. Unlike {@link updateAllocation}, nothing held already is subtracted: an offer
 * and a task of one framework in one role on one agent are different resources.
 */
export function holdOutstandingOffer(s: EngineState, offer: AllocationMessage): void {
  const frameworkId = offer.frameworkId ?? '';
  const agent = agentOf(s, offer.agentId ?? '', 'snapshot outstanding_offers');
  const parts = heldByRole(s, offer.resources, frameworkId, offer.role || null, 'snapshot outstanding_offers');
  let needed = Resources.empty();
  for (const res of parts.values()) needed = needed.plus(res);
  if (!agent.available.contains(needed)) {
    throw new AllocatorError(
      `snapshot outstanding_offers: the offer of ${needed.toString()} to framework ${frameworkId} on agent ${agent.id} is more than the agent has neither used nor offered (${agent.available.toString()})`,
    );
  }
  for (const [role, res] of parts) s.hold(agent, frameworkId, role, res);
}
