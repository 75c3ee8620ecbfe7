/**
 * One allocation cycle, with the semantics of Mesos's hierarchical allocator (`__generateOffers`).
 *
 * Agents are visited in a (seeded) random order. Stage 1 serves roles whose quota guarantees are not
 * met: for each agent, those roles by weighted dominant share (kept in a heap for the cycle, see
 * {@link GuaranteeQueue}), the frameworks of the role and its descendants in hierarchical DRF order
 * (allocations to descendants count towards an ancestor's guarantee), each offered its role's
 * reservations plus unreserved scalars up to the unmet guarantee, plus — only when it makes progress
 * on the guarantee — the other resources of the agent within the role's limits and the global headroom.
 * Stage 2 is fair sharing: for each agent, every role in hierarchical DRF order and its frameworks in
 * DRF order, each offered everything it may have: reservations of its role or an ancestor, non-scalar
 * and revocable resources, and unreserved scalars cut down so that the role and its ancestors stay
 * within their limits and enough unreserved resources stay free for unmet guarantees (headroom; the
 * quota tree keeps the required amount up to date, so reading it after each allocation is O(1)).
 *
 * A framework is skipped when it is inactive or its role suppressed (it is then inactive in its role's
 * sorter), when the agent has GPUs and it is not GPU_RESOURCES capable (with filterGpuResources), when
 * the offer would be smaller than the minimum allocatable size, or when a refused-offer filter covers
 * it. Resources it lacks the capability for (revocable, shared, refined reservations) are left out.
 * Offered resources leave the agent's available resources until recovered. An agent that every active
 * framework refuses outright (filters covering all it has, or the GPU rule) is skipped without walking
 * the roles, in both stages, which keeps cycles cheap when frameworks decline for long periods instead
 * of suppressing.
 */
import type { AgentState, EngineState, FrameworkState, Membership, RoleState } from './engine-state';
import { type Candidate, GuaranteeQueue } from './guarantee-queue';
import { at } from './quantities';
import { ResourceEntry, Resources } from './resources';
import type { SorterClient } from './sorter';
import type { Allocation } from './types';

/** Offers made during a cycle, merged per (framework, agent, role). */
class OfferBook {
  private readonly offers: { frameworkId: string; agentId: string; role: string; resources: Resources }[] = [];
  private index: Map<string, number> | null = null;

  /**
   * Adds an offer of unallocated `resources` (not mutated afterwards by the caller); merges with an
   * earlier one of the same framework, agent and role once merging is on.
   */
  add(frameworkId: string, agentId: string, role: string, resources: Resources): void {
    if (this.index !== null) {
      const key = `${frameworkId}\u0000${agentId}\u0000${role}`;
      const at = this.index.get(key);
      if (at !== undefined) {
        this.offers[at].resources = this.offers[at].resources.plus(resources);
        return;
      }
      this.index.set(key, this.offers.length);
    }
    this.offers.push({ frameworkId, agentId, role, resources });
  }

  /** Starts merging: after stage 1, a framework may get a second offer for the same agent and role. */
  enableMerging(): void {
    if (this.index !== null || this.offers.length === 0) return;
    this.index = new Map();
    this.offers.forEach((o, i) => this.index!.set(`${o.frameworkId}\u0000${o.agentId}\u0000${o.role}`, i));
  }

  /** The offers as ABI messages. */
  toAllocations(): Allocation[] {
    return this.offers.map((o) => ({ frameworkId: o.frameworkId, agentId: o.agentId, role: o.role, resources: o.resources.toProto(o.role) }));
  }
}

/**
 * How much unreserved non-revocable `id` may be given away without eating into unmet guarantees (the
 * quota tree keeps the required headroom up to date with every allocation).
 */
function surplus(state: EngineState, id: number): number {
  const need = state.quota.requiredHeadroomOf(id);
  return need === 0 ? Infinity : Math.max(0, at(state.freeQuotaScalars, id) - need);
}

/** Per-name budget while cutting one offer down (tiny: an offer names a handful of resources). */
class Budget {
  private readonly ids: number[] = [];
  private readonly used: number[] = [];
  // Counted rather than truncated: setting an array's length is slow in V8.
  private count = 0;

  /** Starts a new offer. */
  reset(): void {
    this.count = 0;
  }

  /** How much of name `id` the offer already took. */
  taken(id: number): number {
    for (let i = 0; i < this.count; i++) if (this.ids[i] === id) return this.used[i];
    return 0;
  }

  /** Records that the offer took `milli` of name `id`. */
  take(id: number, milli: number): void {
    for (let i = 0; i < this.count; i++) {
      if (this.ids[i] === id) {
        this.used[i] += milli;
        return;
      }
    }
    this.ids[this.count] = id;
    this.used[this.count++] = milli;
  }
}

/** Runs one allocation cycle at `nowMs` over the given agents (all when absent); returns the offers. */
export function runCycle(state: EngineState, nowMs: number, agentIds?: readonly string[]): Allocation[] {
  if (state.paused) return [];
  const agents = candidateAgents(state, agentIds);
  const book = new OfferBook();
  if (agents.length === 0) return [];
  if (state.quota.hasGuarantees()) {
    stage1(state, agents, nowMs, book);
    book.enableMerging();
    // Reshuffle so that stage 1's preference for the first agents does not carry over (as Mesos).
    shuffle(state, agents);
  }
  stage2(state, agents, nowMs, book);
  return book.toAllocations();
}

function candidateAgents(state: EngineState, agentIds?: readonly string[]): AgentState[] {
  let agents: AgentState[];
  if (agentIds !== undefined && agentIds.length > 0) {
    const seen = new Set<AgentState>();
    for (const id of agentIds) {
      const a = state.agents.get(id);
      if (a !== undefined && a.active) seen.add(a);
    }
    agents = Array.from(seen);
  } else {
    agents = state.agentList.filter((a) => a.active);
  }
  shuffle(state, agents);
  return agents;
}

function shuffle(state: EngineState, agents: AgentState[]): void {
  if (state.options.shuffleSeed === null) return;
  for (let i = agents.length - 1; i > 0; i--) {
    const j = state.random(i + 1);
    const t = agents[i];
    agents[i] = agents[j];
    agents[j] = t;
  }
}

/** Leaves out what the framework cannot take: revocable, shared, refined reservations. */
function stripIncapable(offer: Resources, fw: FrameworkState): Resources {
  if (fw.revocable && fw.shared && fw.refinement) return offer;
  const keep = (e: ResourceEntry): boolean =>
    (fw.revocable || !e.kind.revocable) && (fw.shared || !e.kind.shared) && (fw.refinement || !e.kind.refined);
  for (const e of offer.entries) if (!keep(e)) return offer.filter(keep);
  return offer;
}

function isFilteredOut(state: EngineState, m: Membership, agent: AgentState, offer: Resources, nowMs: number): boolean {
  return !offer.meets(state.options.minAllocatable) || state.isFiltered(agent, m, offer, nowMs);
}

function gpuBlocked(state: EngineState, agent: AgentState, fw: FrameworkState): boolean {
  return state.options.filterGpuResources && agent.hasGpu && !fw.gpu;
}

/**
 * Stage 1: roles with unmet guarantees get up to their guarantee first. For each agent, those roles in
 * the order (weighted dominant share, name) that holds when the agent's turn begins; see
 * {@link GuaranteeQueue}. An agent that every active framework refuses outright cannot be offered to
 * any of them, whatever the role (a stage 1 offer is part of what the agent has), so it is skipped.
 */
function stage1(state: EngineState, agents: AgentState[], nowMs: number, book: OfferBook): void {
  const queue = new GuaranteeQueue(state);
  const budget = new Budget();
  const extraBudget = new Budget();
  for (const agent of agents) {
    if (queue.isEmpty()) return;
    if (agent.available.isEmpty() || state.refusedByAll(agent, nowMs)) continue;
    for (let q = queue.next(); q !== null; q = queue.next()) {
      serveGuarantee(state, agent, q, queue, nowMs, book, budget, extraBudget);
      if (agent.available.isEmpty()) break;
    }
    // The queue lives for this cycle only, so an error above leaves nothing inconsistent behind.
    queue.endTurn();
  }
}

/**
 * Offers `agent` towards the unmet guarantee of candidate `q`'s role, to the frameworks of the role and
 * of its descendants (whose allocations count towards it, as in Mesos's hierarchical quota), roles in
 * hierarchical DRF order and each role's frameworks in DRF order, until the guarantee is met or the
 * agent has nothing left. A guaranteed parent whose frameworks all live in child roles is served so.
 */
function serveGuarantee(
  state: EngineState,
  agent: AgentState,
  q: Candidate,
  queue: GuaranteeQueue,
  nowMs: number,
  book: OfferBook,
  budget: Budget,
  extraBudget: Budget,
): void {
  const quota = state.quota;
  const roleSorter = state.roleSorter;
  roleSorter.beginWalk(q.role);
  try {
    for (let rc = roleSorter.nextInWalk(); rc !== null; rc = roleSorter.nextInWalk()) {
      const rs = rc.owner!;
      if (state.options.filterGpuResources && agent.hasGpu && rs.gpuActive === 0) continue;
      const sorter = rs.sorter;
      sorter.beginWalk();
      try {
        for (let c = sorter.nextInWalk(); c !== null; c = sorter.nextInWalk()) {
          if (!quota.isUnsatisfiedAt(q.quota) || agent.available.isEmpty()) return;
          const m = c.owner!;
          const fw = m.fw;
          if (gpuBlocked(state, agent, fw)) continue;
          const offer = stripIncapable(guaranteeOffer(state, agent, q.role, rs.name, budget, extraBudget), fw);
          if (offer.isEmpty() || isFilteredOut(state, m, agent, offer, nowMs)) continue;
          state.allocate(agent, m, offer);
          book.add(fw.id, agent.id, rs.name, offer);
          queue.allocatedTo(q, rs.name);
        }
      } finally {
        sorter.endWalk();
      }
    }
  } finally {
    roleSorter.endWalk();
  }
}

/**
 * The stage 1 offer of `agent` to `role` towards the guarantee of `target` (the role itself or an
 * ancestor): unreserved scalars up to the target's unmet guarantee, and only when there are some, also
 * the role's own reservations, non-scalar and revocable resources, and further unreserved scalars
 * within the role's limits and the headroom surplus. Empty when it makes no progress.
 */
function guaranteeOffer(
  state: EngineState,
  agent: AgentState,
  target: string,
  role: string,
  budget: Budget,
  extraBudget: Budget,
): Resources {
  const quota = state.quota;
  const guaranteed: ResourceEntry[] = [];
  const rest: ResourceEntry[] = [];
  budget.reset();
  extraBudget.reset();
  for (const e of agent.available.entries) {
    const k = e.kind;
    if (!k.quotaScalar) {
      if (k.reserved ? k.reservationRole === role : true) rest.push(e);
      continue;
    }
    // Valid quota has guarantees within limits, but an ancestor's limit may be the tighter one.
    const g = Math.min(e.milli, Math.min(quota.unsatisfied(target, k.nameId), quota.limitRemaining(role, k.nameId)) - budget.taken(k.nameId));
    if (g > 0) {
      guaranteed.push(g === e.milli ? e : { kind: k, milli: g, ranges: null, items: null });
      budget.take(k.nameId, g);
    }
    const extra = e.milli - Math.max(0, g);
    if (extra > 0) rest.push({ kind: k, milli: extra, ranges: null, items: null });
  }
  if (guaranteed.length === 0) return Resources.empty();
  // Non-guaranteed unreserved scalars are cut to the limits (less what the guarantee part takes) and
  // to the headroom surplus (the guarantee part lowers free and required headroom alike, so it does
  // not count there); reservations, non-scalars and revocable resources are always included.
  const extras: ResourceEntry[] = [];
  for (const e of rest) {
    if (!e.kind.quotaScalar) {
      extras.push(e);
      continue;
    }
    const id = e.kind.nameId;
    const amount = Math.min(
      e.milli,
      quota.limitRemaining(role, id) - budget.taken(id),
      surplus(state, id) - extraBudget.taken(id),
    );
    if (amount > 0) {
      extras.push(amount === e.milli ? e : { kind: e.kind, milli: amount, ranges: null, items: null });
      budget.take(id, amount);
      extraBudget.take(id, amount);
    }
  }
  return Resources.fromEntries(guaranteed.concat(extras));
}

/**
 * The stage 2 offer of `agent` to `role` before framework capabilities: reservations of the role or an
 * ancestor, non-scalar and revocable resources, and unreserved scalars within limits and headroom.
 */
function fairShareOffer(state: EngineState, agent: AgentState, role: string, budget: Budget): Resources {
  const entries = agent.available.entries;
  const quota = state.quota;
  const limited = quota.hasLimits();
  const guarded = quota.hasGuarantees();
  let simple = !limited && !guarded;
  if (simple) for (const e of entries) if (e.kind.reserved) simple = false;
  if (simple) return agent.available.clone();
  const out: ResourceEntry[] = [];
  budget.reset();
  for (const e of entries) {
    const k = e.kind;
    if (k.reserved) {
      if (k.allocatableTo(role)) out.push(e);
      continue;
    }
    if (!k.quotaScalar) {
      out.push(e);
      continue;
    }
    const id = k.nameId;
    let amount = e.milli;
    if (limited) amount = Math.min(amount, quota.limitRemaining(role, id) - budget.taken(id));
    if (guarded) amount = Math.min(amount, surplus(state, id) - budget.taken(id));
    if (amount > 0) {
      out.push(amount === e.milli ? e : { kind: k, milli: amount, ranges: null, items: null });
      budget.take(id, amount);
    }
  }
  // A subset of a bag in kind order is still in kind order.
  return Resources.fromSortedEntries(out);
}

/**
 * Which part of the role tree can use the agent: all of it when something unreserved is left, only the
 * subtree of the reservation role when everything left is reserved to one role, nothing when empty.
 */
function walkScope(agent: AgentState): string | undefined {
  let role: string | null = null;
  for (const e of agent.available.entries) {
    if (!e.kind.reserved) return undefined;
    if (role === null) role = e.kind.reservationRole;
    else if (role !== e.kind.reservationRole) return undefined;
  }
  return role ?? undefined;
}

/**
 * Whether headroom leaves no role anything worth offering on the agent. Without reservations on it,
 * every role's offer is at most the agent's non-scalar and revocable resources plus its unreserved
 * scalars cut to the headroom surplus; when even that is below the minimum allocatable size, every
 * framework would refuse it. Saves walking every role on every agent once what is left free is held
 * for unmet guarantees (a guaranteed role that declines or is suppressed).
 */
function heldForGuarantees(state: EngineState, agent: AgentState): boolean {
  if (!state.quota.hasGuarantees()) return false;
  const bound: ResourceEntry[] = [];
  for (const e of agent.available.entries) {
    const k = e.kind;
    if (k.reserved) return false;
    if (!k.quotaScalar) {
      bound.push(e);
      continue;
    }
    const free = surplus(state, k.nameId);
    if (free >= e.milli) bound.push(e);
    else if (free > 0) bound.push({ kind: k, milli: free, ranges: null, items: null });
  }
  return !Resources.fromSortedEntries(bound).meets(state.options.minAllocatable);
}

/** Stage 2: fair sharing by hierarchical DRF. */
function stage2(state: EngineState, agents: AgentState[], nowMs: number, book: OfferBook): void {
  const roleSorter = state.roleSorter;
  const budget = new Budget();
  for (const agent of agents) {
    if (agent.available.isEmpty() || state.refusedByAll(agent, nowMs) || heldForGuarantees(state, agent)) continue;
    roleSorter.beginWalk(walkScope(agent));
    try {
      for (let rc = roleSorter.nextInWalk(); rc !== null; rc = roleSorter.nextInWalk()) {
        const rs = rc.owner!;
        if (state.options.filterGpuResources && agent.hasGpu && rs.gpuActive === 0) continue;
        const offer = fairShareOffer(state, agent, rs.name, budget);
        if (offer.isEmpty()) continue;
        offerToFrameworks(state, agent, rs, offer, nowMs, book, budget);
        if (agent.available.isEmpty()) break;
      }
    } finally {
      roleSorter.endWalk();
    }
  }
}

/** Offers a role's share of an agent to the role's frameworks in DRF order. */
function offerToFrameworks(
  state: EngineState,
  agent: AgentState,
  rs: RoleState,
  offer: Resources,
  nowMs: number,
  book: OfferBook,
  budget: Budget,
): void {
  const sorter = rs.sorter;
  sorter.beginWalk();
  try {
    for (let c: SorterClient<Membership> | null = sorter.nextInWalk(); c !== null; c = sorter.nextInWalk()) {
      const m = c.owner!;
      const fw = m.fw;
      if (gpuBlocked(state, agent, fw)) continue;
      const toOffer = stripIncapable(offer, fw);
      if (toOffer.isEmpty() || isFilteredOut(state, m, agent, toOffer, nowMs)) continue;
      state.allocate(agent, m, toOffer);
      book.add(fw.id, agent.id, rs.name, toOffer);
      if (agent.available.isEmpty()) return;
      // Limits and headroom moved, and the framework may have left some resources out.
      offer = fairShareOffer(state, agent, rs.name, budget);
      if (offer.isEmpty()) break;
    }
  } finally {
    sorter.endWalk();
  }
}
