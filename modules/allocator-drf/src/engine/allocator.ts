/**
 * The allocation engine of `@tessera/allocator-drf`: Mesos's hierarchical DRF allocator as a pure,
 * synchronous object.
 *
 * Each input method mirrors one member of the ABI's `AllocatorInput` oneof;
 * {@link DrfAllocator.allocate} runs one cycle (a `tick`) and returns the offers. The engine never reads
 * a clock: time comes in as `nowMs` (Unix milliseconds) with every cycle and every recovery that may
 * create a filter, so runs are deterministic. It performs no I/O and holds no timers; the module layer
 * owns the stream and the allocation interval.
 *
 * Inputs that contradict the state (an unknown framework, resources a framework does not hold) raise
 * {@link AllocatorError}; removals of unknown ids and recoveries for removed frameworks or agents are
 * no-ops, because the master may race them with its own removals, as Mesos tolerates.
 *
 * Boolean `active` fields follow proto3: absent means false, so a master must say `active: true`.
 */
import * as agents from './agent-inputs';
import { runCycle } from './allocation-cycle';
import { EngineState } from './engine-state';
import * as frameworks from './framework-inputs';
import { AllocatorError, AllocatorOptions, checkAllocationInterval, resolveOptions } from './options';
import { vectorToRecord } from './quantities';
import { quotaSpecOf } from './quota-rules';
import { Resources } from './resources';
import type {
  Allocation,
  AllocationMessage,
  AllocatorAgent,
  AllocatorFramework,
  Filters,
  OfferFilter,
  Quota,
  Resource,
  Snapshot,
  UpdateAgent,
  Weight,
} from './types';

/** The engine; see the module comment. */
export class DrfAllocator {
  private state: EngineState;
  /** Set by {@link setAllocationInterval}; outlives snapshots. */
  private allocationIntervalMs: number | undefined;

  /** Creates an empty allocator (no agents, no frameworks, not paused); throws for invalid options. */
  constructor(private readonly options: AllocatorOptions = {}) {
    this.state = new EngineState(resolveOptions(options));
  }

  /**
   * Replaces the whole state with a snapshot (the first input of every stream). `nowMs` sets the
   * engine's clock, against which snapshot filters that already expired are dropped.
   */
  loadSnapshot(snapshot: Snapshot, nowMs?: number): void {
    const s = new EngineState(resolveOptions(this.options));
    if (nowMs !== undefined) s.clockMs = nowMs;
    if (this.allocationIntervalMs !== undefined) s.allocationIntervalMs = this.allocationIntervalMs;
    this.state = s;
    this.updateWeights(snapshot.weights ?? []);
    // Checked as a whole: the rules relate roles to each other, and the snapshot's order is arbitrary.
    this.setQuotas('snapshot quotas', snapshot.quotas ?? []);
    for (const a of snapshot.agents ?? []) agents.addAgent(s, a);
    for (const f of snapshot.frameworks ?? []) frameworks.addFramework(s, f);
    for (const o of snapshot.outstandingOffers ?? []) agents.holdOutstandingOffer(s, o);
    s.paused = snapshot.paused === true;
  }

  // ---- frameworks --------------------------------------------------------------------------------

  /** Adds a framework with what it already holds (`used`, per agent); its filters are kept. */
  addFramework(framework: AllocatorFramework, used: readonly AllocationMessage[] = []): void {
    const fw = frameworks.addFramework(this.state, framework);
    for (const u of used) agents.updateAllocation(this.state, { ...u, frameworkId: fw.id });
  }

  /** Removes a framework and frees everything it holds. No-op for an unknown framework. */
  removeFramework(frameworkId: string): void {
    frameworks.removeFramework(this.state, frameworkId);
  }

  /** Marks a framework connected: it gets offers again in its unsuppressed roles. */
  activateFramework(frameworkId: string): void {
    frameworks.activateFramework(this.state, frameworkId);
  }

  /** Marks a framework disconnected: no offers until activated; its filters are dropped, as Mesos does. */
  deactivateFramework(frameworkId: string): void {
    frameworks.deactivateFramework(this.state, frameworkId);
  }

  /**
   * Updates a framework's roles, capabilities and suppressed roles (MULTI_ROLE). Roles it leaves lose
   * their filters; roles it stops suppressing are revived. `active` is ignored (see activate/deactivate).
   */
  updateFramework(framework: AllocatorFramework): void {
    frameworks.updateFramework(this.state, framework);
  }

  /** Stops offers to a framework in the given roles (all of its roles when empty). */
  suppressOffers(frameworkId: string, roles: readonly string[] = []): void {
    frameworks.suppressOffers(this.state, frameworkId, roles);
  }

  /** Resumes offers in the given roles (all when empty) and clears their refused-offer filters. */
  reviveOffers(frameworkId: string, roles: readonly string[] = []): void {
    frameworks.reviveOffers(this.state, frameworkId, roles);
  }

  // ---- agents and resources ----------------------------------------------------------------------

  /** Adds an agent with its total and what frameworks already use on it (`used`, with allocation roles). */
  addAgent(agent: AllocatorAgent): void {
    agents.addAgent(this.state, agent);
  }

  /** Removes an agent, with everything offered or used on it and every filter naming it. */
  removeAgent(agentId: string): void {
    agents.removeAgent(this.state, agentId);
  }

  /** Changes an agent's total (and capabilities when given); offered and used resources stay held. */
  updateAgent(update: UpdateAgent): void {
    agents.updateAgent(this.state, update);
  }

  /** Lets an agent receive offers again. */
  activateAgent(agentId: string): void {
    agents.agentOf(this.state, agentId, 'activateAgent').active = true;
  }

  /** Stops offers of an agent; its resources still count in the cluster totals. */
  deactivateAgent(agentId: string): void {
    agents.agentOf(this.state, agentId, 'deactivateAgent').active = false;
  }

  /**
   * Gives back resources a framework held on an agent: an unused or declined offer, or a finished
   * task's. `filters` (from DECLINE or ACCEPT) refuse these resources, in their role, to the framework
   * for `refuseSeconds` from `nowMs` (default 5 s; 0 creates no filter; negative or NaN take the
   * default; at most 365 days), and at least for the allocation interval, as Mesos does. Absent filters
   * create none (finished tasks). `nowMs` defaults to the time of the latest cycle; the module layer
   * should pass the current time. Recovery never runs a cycle: the resources wait for the next one.
   */
  recoverResources(frameworkId: string, agentId: string, resources: readonly Resource[], filters?: Filters | null, nowMs?: number): void {
    agents.recoverResources(this.state, frameworkId, agentId, resources, filters, nowMs ?? this.state.clockMs);
  }

  /**
   * Records that a framework holds resources on an agent in a role (an ACCEPT turned offered
   * resources into used ones). What it already holds there stays held; any part the allocator did not
   * know of is taken from the agent's available resources, which must contain it.
   *
   * With `recoverResources` and `updateAgent` it applies an ACCEPT's conversion (RESERVE, UNRESERVE):
   * the master recovers the accepted offer, sends the agent's new total, then names everything the
   * framework holds on the agent in the offer's role (the converted offer included): what the
   * framework holds afterwards, and the agent's available resources, reflect the reservation.
   */
  updateAllocation(allocation: AllocationMessage): void {
    agents.updateAllocation(this.state, allocation);
  }

  // ---- quota, weights, pause ---------------------------------------------------------------------

  /**
   * Sets a role's quota (scalar guarantees and limits, by name); both empty clears it. Throws
   * AllocatorError, naming the roles and amounts, when the result breaks Mesos's hierarchical quota
   * rules ({@link validateQuotas}): a child's guarantee must fit in its parent's, a child's limit in
   * its ancestors'.
   */
  updateQuota(role: string, guarantees: readonly Resource[], limits: readonly Resource[]): void {
    this.setQuotas('updateQuota', [{ role, guarantees: guarantees.slice(), limits: limits.slice() }]);
  }

  /**
   * Sets several roles' quotas at once, checking the rules on the result only (a parent and its child
   * raised together, a guarantee moved between siblings): nothing changes when it throws.
   */
  updateQuotas(quotas: readonly Quota[]): void {
    this.setQuotas('updateQuotas', quotas);
  }

  private setQuotas(op: string, quotas: readonly Quota[]): void {
    try {
      this.state.quota.setQuotas(quotas.map((q) => ({ role: q.role ?? '', ...quotaSpecOf(q.guarantees ?? [], q.limits ?? []) })));
    } catch (err) {
      throw new AllocatorError(`${op}: ${(err as Error).message}`);
    }
  }

  /** Sets role weights (each a finite number > 0); roles not named keep theirs. */
  updateWeights(weights: readonly Weight[]): void {
    for (const w of weights) {
      const role = w.role ?? '';
      const weight = w.weight ?? 0;
      if (role === '' || !(weight > 0) || !Number.isFinite(weight)) {
        throw new AllocatorError(`updateWeights: role '${role}' needs a finite weight > 0, got ${String(w.weight)}`);
      }
    }
    for (const w of weights) {
      this.state.weights.set(w.role!, w.weight!);
      this.state.roleSorter.setWeight(w.role!, w.weight!);
    }
  }

  /**
   * Sets the longest time between two full cycles, the shortest life of a new refused-offer filter
   * (see {@link AllocatorOptions.allocationIntervalMs}); filters already set keep their expiry. The
   * module sets it when the core's ticks turn out to be further apart than its own interval.
   */
  setAllocationInterval(ms: number): void {
    checkAllocationInterval(ms);
    this.allocationIntervalMs = ms;
    this.state.allocationIntervalMs = ms;
  }

  /** Pauses allocation: cycles return no offers until resumed. */
  pause(): void {
    this.state.paused = true;
  }

  /** Resumes allocation. */
  resume(): void {
    this.state.paused = false;
  }

  /** Whether allocation is paused. */
  get paused(): boolean {
    return this.state.paused;
  }

  // ---- the cycle ---------------------------------------------------------------------------------

  /** Runs one allocation cycle at `nowMs` over `agentIds` (all agents when absent or empty). */
  allocate(nowMs: number, agentIds?: readonly string[]): Allocation[] {
    const s = this.state;
    s.clockMs = nowMs;
    s.sweepFilters(nowMs);
    return runCycle(s, nowMs, agentIds);
  }

  // ---- inspection --------------------------------------------------------------------------------

  /** A role's dominant share (unweighted: its subtree's allocation over the cluster total). */
  roleShare(role: string): number {
    return this.state.roleSorter.dominantShare(role);
  }

  /** A framework's dominant share within one of its roles. */
  frameworkShare(frameworkId: string, role: string): number {
    return this.state.roles.get(role)?.sorter.dominantShare(frameworkId) ?? 0;
  }

  /** The scalars offered or allocated to a role and its descendants, by name. */
  roleAllocation(role: string): Record<string, number> {
    return vectorToRecord(this.state.roleSorter.allocation(role));
  }

  /** A role's consumed quota (reservations plus unreserved allocation, with descendants), by name. */
  roleConsumedQuota(role: string): Record<string, number> {
    return vectorToRecord(this.state.quota.consumed(role));
  }

  /** Active roles in DRF order. */
  roleOrder(): string[] {
    return this.state.roleSorter.sort();
  }

  /** An agent's resources neither offered nor used. */
  agentAvailable(agentId: string): Resource[] {
    return this.state.agents.get(agentId)?.available.toProto() ?? [];
  }

  /** What a framework holds (offered or used) on an agent, with allocation roles. */
  frameworkResources(frameworkId: string, agentId: string): Resource[] {
    const agent = this.state.agents.get(agentId);
    if (agent === undefined) return [];
    let out = Resources.empty();
    for (const r of agent.holdings) if (r.frameworkId === frameworkId) out = out.plus(r.res.allocate(r.role));
    return out.toProto();
  }

  /** The cluster's scalar totals, by name. */
  clusterTotals(): Record<string, number> {
    return vectorToRecord(this.state.basis.totals);
  }

  /** Offer filters in force at `nowMs` (default: the latest cycle's time), as ABI messages. */
  offerFilters(nowMs?: number): OfferFilter[] {
    const at = nowMs ?? this.state.clockMs;
    const out: OfferFilter[] = [];
    for (const agent of this.state.filteredAgents) {
      for (const [m, list] of agent.filters!.entries()) {
        for (const f of list) {
          if (f.expiresAtMs <= at) continue;
          out.push({ frameworkId: m.fw.id, agentId: agent.id, resources: f.resources.toProto(m.rs.name), expiresAtMs: f.expiresAtMs });
        }
      }
    }
    return out;
  }

  /** Counts, for metrics. */
  stats(): { agents: number; frameworks: number; roles: number; filters: number } {
    let filters = 0;
    for (const agent of this.state.filteredAgents) filters += agent.filters!.size;
    return { agents: this.state.agents.size, frameworks: this.state.frameworks.size, roles: this.state.roles.size, filters };
  }
}
