/**
 * The allocator's state and the bookkeeping that keeps its views consistent.
 *
 * Every resource the allocator knows of lives in one place: an agent's `available` bag or one of its
 * holding records (what one framework holds there in one role, offered or in use). Every change of
 * those goes through this class, which keeps the derived views in step: the role sorter and the
 * per-role framework sorters (DRF shares), the quota tree (consumed quota) and `freeQuotaScalars` (the
 * cluster's unallocated, unreserved, non-revocable scalars: Mesos's "available headroom").
 *
 * A framework takes part in a role through a {@link Membership}: its client in the role's sorter and a
 * count of its holding records there. It stays a member while subscribed or while it still holds
 * resources in the role (after unsubscribing), as in Mesos.
 *
 * Agents may report resources used by frameworks the allocator has not been told about yet (after a
 * master failover the agents re-register first). Those records are "orphans": counted as unavailable
 * on the agent, but entering the sorters only once the framework is added, as in Mesos.
 */
import { DrfSorter, ShareBasis } from './sorter';
import { QuotaTree } from './quota-tree';
import { AgentFilters } from './offer-filters';
import { Resources } from './resources';
import { addAt, QuantityVector } from './quantities';
import type { ResolvedOptions } from './options';
import { AgentState, FrameworkState, HoldingRecord, Membership, RoleState } from './state-types';

export { Membership, RoleState, type AgentState, type FrameworkState, type HoldingRecord } from './state-types';

/** The allocator's state; see the module comment. */
export class EngineState {
  /** Cluster totals shared by all sorters. */
  readonly basis: ShareBasis;
  /** Roles by DRF share. */
  readonly roleSorter: DrfSorter<RoleState>;
  /** Quota accounting. */
  readonly quota = new QuotaTree();
  /** Agents by id. */
  readonly agents = new Map<string, AgentState>();
  /** Agents in the order added (a removed agent's place is taken by the last one). */
  readonly agentList: AgentState[] = [];
  /** Frameworks by id. */
  readonly frameworks = new Map<string, FrameworkState>();
  /** Roles that have frameworks, by name. */
  readonly roles = new Map<string, RoleState>();
  /** Role weights as set by the operator. */
  readonly weights = new Map<string, number>();
  /** For framework ids not (yet) known, the agents holding resources of them. */
  readonly orphans = new Map<string, Set<AgentState>>();
  /** Unallocated unreserved non-revocable scalars over all agents (available quota headroom). */
  readonly freeQuotaScalars: QuantityVector = [];
  /** Agents that have filters. */
  readonly filteredAgents = new Set<AgentState>();
  /** The earliest filter expiry (ms) at the last sweep or since; a cycle at or after it sweeps. */
  nextFilterExpiryMs = Infinity;
  /** Active memberships (framework active, role subscribed and not suppressed), all roles together. */
  activeMembers = 0;
  /** Active memberships of frameworks without GPU_RESOURCES. */
  activeNonGpuMembers = 0;
  /** Bumped whenever a membership becomes active or inactive. */
  activityEpoch = 0;
  /** Whether allocation is paused. */
  paused = false;
  /** The latest time the engine was told (ms); default time of filters created without one. */
  clockMs = 0;
  /** The shortest life of a refused-offer filter (ms); see {@link ResolvedOptions.allocationIntervalMs}. */
  allocationIntervalMs: number;
  private rng: number;

  /** Creates an empty state with resolved options. */
  constructor(readonly options: ResolvedOptions) {
    this.basis = new ShareBasis(options.fairnessExcludeResourceNames);
    this.roleSorter = new DrfSorter<RoleState>(this.basis, true);
    this.rng = (options.shuffleSeed ?? 1) >>> 0 || 1;
    this.allocationIntervalMs = options.allocationIntervalMs;
  }

  /** A deterministic pseudo-random integer in [0, n) (mulberry32). */
  random(n: number): number {
    this.rng = (this.rng + 0x6d2b79f5) >>> 0;
    let t = this.rng;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  }

  // ---- memberships -------------------------------------------------------------------------------

  /** The framework's membership in `role`, creating it (and the role) when needed; inactive when new. */
  join(fw: FrameworkState, role: string): Membership {
    const existing = fw.memberships.get(role);
    if (existing !== undefined) return existing;
    let rs = this.roles.get(role);
    if (rs === undefined) {
      rs = new RoleState(role, this.roleSorter, this.basis, this.quota.pin(role, 1));
      this.roles.set(role, rs);
    }
    const m = new Membership(fw, rs);
    fw.memberships.set(role, m);
    return m;
  }

  /** Ends a membership unless the framework is subscribed or holds resources in the role (or `force`). */
  leaveIfIdle(m: Membership, force = false): void {
    const { fw, rs } = m;
    if (!force && (fw.roles.has(rs.name) || m.records > 0)) return;
    this.setActive(m, false);
    this.clearFilters(m);
    rs.sorter.remove(m.client);
    fw.memberships.delete(rs.name);
    if (rs.sorter.size === 0) {
      this.roleSorter.remove(rs.client);
      this.roles.delete(rs.name);
      this.quota.pin(rs.name, -1);
    }
  }

  /** Makes a member active in its role exactly when the framework is active, subscribed and not suppressed. */
  refresh(m: Membership): void {
    const role = m.rs.name;
    this.setActive(m, m.fw.active && m.fw.roles.has(role) && !m.fw.suppressed.has(role));
  }

  /** Sets a member's activity; a role is active in the role sorter while it has active members. */
  setActive(m: Membership, active: boolean): void {
    if (m.client.active === active) return;
    const rs = m.rs;
    if (active) rs.sorter.activate(m.client);
    else rs.sorter.deactivate(m.client);
    const delta = active ? 1 : -1;
    this.activityEpoch++;
    this.activeMembers += delta;
    if (m.fw.gpu) rs.gpuActive += delta;
    else this.activeNonGpuMembers += delta;
    if (rs.sorter.activeCount > 0) this.roleSorter.activate(rs.client);
    else this.roleSorter.deactivate(rs.client);
  }

  // ---- filters -----------------------------------------------------------------------------------

  /** Refuses `res` (unallocated) of `agent` to member `m` until `expiresAtMs`. */
  addFilter(agent: AgentState, m: Membership, res: Resources, expiresAtMs: number): void {
    // A member whose last filter on the agent expires leaves the agent's place in its index at once,
    // whether a sweep or a cache rebuild in refusingAll() dropped it.
    if (agent.filters === null) agent.filters = new AgentFilters<Membership>((gone) => gone.filteredAgents.delete(agent));
    agent.filters.add(m, res, expiresAtMs);
    m.filteredAgents.add(agent);
    this.filteredAgents.add(agent);
    if (expiresAtMs < this.nextFilterExpiryMs) this.nextFilterExpiryMs = expiresAtMs;
  }

  /** Removes every filter of a member (revive, deactivation, leaving the role, removal). */
  clearFilters(m: Membership): void {
    for (const agent of m.filteredAgents) {
      // Removing an agent takes it out of every member's index; a null here would be a bookkeeping
      // bug, and revive or deactivation must not fail the stream (and lose every filter) for it.
      const filters = agent.filters;
      if (filters === null) continue;
      filters.remove(m);
      if (filters.size === 0) this.filteredAgents.delete(agent);
    }
    m.filteredAgents.clear();
  }

  /**
   * Removes every filter on an agent (the agent is removed). As Mesos's removeFilters(slaveId), every
   * member forgets the agent, not only those that still have filters on it: removal is rare, and the
   * index must never point at a removed agent.
   */
  clearAgentFilters(agent: AgentState): void {
    // Without filters ever (`filters` is created by the first one), no member's index names the agent.
    if (agent.filters === null) return;
    for (const fw of this.frameworks.values()) for (const m of fw.memberships.values()) m.filteredAgents.delete(agent);
    agent.filters = null;
    this.filteredAgents.delete(agent);
  }

  /** Drops filters expired at `nowMs` when any may have (cheap otherwise). */
  sweepFilters(nowMs: number): void {
    if (nowMs < this.nextFilterExpiryMs) return;
    let earliest = Infinity;
    for (const agent of this.filteredAgents) {
      const filters = agent.filters!;
      // Members left without filters here leave their index through the AgentFilters callback.
      earliest = Math.min(earliest, filters.sweep(nowMs));
      if (filters.size === 0) this.filteredAgents.delete(agent);
    }
    this.nextFilterExpiryMs = earliest;
  }

  /**
   * Whether every active member refuses the agent outright: by a filter covering all its available
   * resources, or (with filterGpuResources) by lacking GPU_RESOURCES on a GPU agent. Such an agent
   * cannot be offered to anyone this cycle, whatever the order.
   */
  refusedByAll(agent: AgentState, nowMs: number): boolean {
    if (agent.filters === null || agent.filters.size === 0) return false;
    const refusing = agent.filters.refusingAll(agent.available, nowMs);
    const memo = agent.refusal;
    const version = agent.filters.coveringVersion;
    if (memo !== null && memo.version === version && memo.epoch === this.activityEpoch) return memo.refused;
    const gpuBlocks = this.options.filterGpuResources && agent.hasGpu;
    const needed = gpuBlocks ? this.activeMembers - this.activeNonGpuMembers : this.activeMembers;
    let n = 0;
    if (refusing.size >= needed) for (const m of refusing) if (m.client.active && (!gpuBlocks || m.fw.gpu)) n++;
    const refused = n >= needed;
    agent.refusal = { version, epoch: this.activityEpoch, refused };
    return refused;
  }

  /** Whether member `m` refuses `offer` (unallocated resources of `agent`) at `nowMs`. */
  isFiltered(agent: AgentState, m: Membership, offer: Resources, nowMs: number): boolean {
    const filters = agent.filters;
    if (filters === null || filters.size === 0) return false;
    // An offer of everything available is answered from the agent's cache.
    if (offer.entries === agent.available.entries) return filters.refusingAll(agent.available, nowMs).has(m);
    return filters.isFiltered(m, offer, nowMs);
  }

  // ---- holdings ----------------------------------------------------------------------------------

  /** The record of what a framework holds on an agent in a role, if any. */
  findRecord(agent: AgentState, frameworkId: string, role: string): HoldingRecord | undefined {
    for (const r of agent.holdings) if (r.frameworkId === frameworkId && r.role === role) return r;
    return undefined;
  }

  /**
   * Offers `toOffer` (unallocated, contained in the agent's available resources) of `agent` to member
   * `m`. This is the allocation cycle's hot path.
   */
  allocate(agent: AgentState, m: Membership, toOffer: Resources): void {
    agent.available.subtractInPlace(toOffer);
    for (const e of toOffer.entries) if (e.kind.quotaScalar) addAt(this.freeQuotaScalars, e.kind.nameId, -e.milli);
    const record = this.findRecord(agent, m.fw.id, m.rs.name);
    if (record !== undefined) record.res.addInPlace(toOffer);
    else this.addRecord(agent, m.fw.id, m.rs.name, toOffer, m);
    this.track(m, toOffer, 1);
  }

  private addRecord(agent: AgentState, frameworkId: string, role: string, res: Resources, member: Membership | null): void {
    agent.holdings.push({ frameworkId, role, res: res.clone(), member });
    if (member !== null) {
      member.records++;
      return;
    }
    let set = this.orphans.get(frameworkId);
    if (set === undefined) this.orphans.set(frameworkId, (set = new Set()));
    set.add(agent);
  }

  /**
   * Records unallocated resources as held by a framework in `role` on an agent, taking them from the
   * agent's available resources as far as they are there (agent reports are authoritative).
   */
  hold(agent: AgentState, frameworkId: string, role: string, res: Resources): void {
    if (res.isEmpty()) return;
    const fw = this.frameworks.get(frameworkId);
    const m = fw === undefined ? null : this.join(fw, role);
    const record = this.findRecord(agent, frameworkId, role);
    if (record !== undefined) record.res.addInPlace(res);
    else this.addRecord(agent, frameworkId, role, res, m);
    this.setAvailable(agent, agent.available.minus(res));
    agent.overcommitted = !agent.total.contains(this.heldOn(agent));
    if (m !== null) {
      this.track(m, res, 1);
      this.refresh(m);
    }
  }

  /** Gives back resources of a holding record (the caller checked it contains them). */
  release(agent: AgentState, record: HoldingRecord, res: Resources): void {
    record.res.subtractInPlace(res);
    if (record.res.isEmpty()) {
      const i = agent.holdings.indexOf(record);
      const last = agent.holdings.pop()!;
      if (last !== record) agent.holdings[i] = last;
      if (record.member !== null) record.member.records--;
      else {
        const set = this.orphans.get(record.frameworkId)!;
        set.delete(agent);
        if (set.size === 0) this.orphans.delete(record.frameworkId);
      }
    }
    if (agent.overcommitted) {
      // The total shrank under the holdings (updateAgent): recovery must not grow it back.
      this.setAvailable(agent, this.recomputeAvailable(agent));
      agent.overcommitted = !agent.total.contains(this.heldOn(agent));
    } else {
      agent.available.addInPlace(res);
      for (const e of res.entries) if (e.kind.quotaScalar) addAt(this.freeQuotaScalars, e.kind.nameId, e.milli);
      // An idle agent shares its total's entries again instead of keeping the ones parsed from the
      // recovery: one set of entries per agent instead of two (MBs with tens of thousands of agents).
      if (agent.holdings.length === 0 && agent.available.equals(agent.total)) agent.available = agent.total.clone();
    }
    if (record.member !== null) {
      this.track(record.member, res, -1);
      this.leaveIfIdle(record.member);
    }
  }

  /** Turns the orphan records of a newly added framework into memberships; returns their count. */
  adopt(fw: FrameworkState): number {
    const agents = this.orphans.get(fw.id);
    if (agents === undefined) return 0;
    this.orphans.delete(fw.id);
    let n = 0;
    for (const agent of agents) {
      for (const record of agent.holdings) {
        if (record.frameworkId !== fw.id) continue;
        const m = this.join(fw, record.role);
        record.member = m;
        m.records++;
        this.track(m, record.res, 1);
        n++;
      }
    }
    return n;
  }

  /** Adds (1) or removes (-1) a member's held resources to the sorters and quota tree. */
  track(m: Membership, res: Resources, sign: 1 | -1): void {
    this.roleSorter.allocated(m.rs.client, res, sign);
    m.rs.sorter.allocated(m.client, res, sign);
    this.quota.trackAllocatedAt(m.rs.quota, res, sign);
  }

  /** Everything held on an agent, unallocated. */
  heldOn(agent: AgentState): Resources {
    let held = Resources.empty();
    for (const record of agent.holdings) held = held.plus(record.res);
    return held;
  }

  /** Total minus everything held on the agent (saturating). */
  recomputeAvailable(agent: AgentState): Resources {
    return agent.total.minus(this.heldOn(agent));
  }

  /** Replaces an agent's available resources, keeping the free quota scalars in step. */
  setAvailable(agent: AgentState, available: Resources): void {
    for (const e of agent.available.entries) if (e.kind.quotaScalar) addAt(this.freeQuotaScalars, e.kind.nameId, -e.milli);
    for (const e of available.entries) if (e.kind.quotaScalar) addAt(this.freeQuotaScalars, e.kind.nameId, e.milli);
    agent.available = available;
  }

  // ---- agents ------------------------------------------------------------------------------------

  /** Adds an agent's total to the cluster (sorter totals, reservations) or removes it (sign -1). */
  trackTotal(total: Resources, sign: 1 | -1): void {
    this.basis.update(total, sign);
    this.quota.trackReservations(total, sign);
  }

  /** Appends an agent to the visiting order. */
  listAgent(agent: AgentState): void {
    agent.listIndex = this.agentList.length;
    this.agentList.push(agent);
  }

  /** Removes an agent from the visiting order in O(1) (the last agent takes its place). */
  unlistAgent(agent: AgentState): void {
    const last = this.agentList.pop()!;
    if (last !== agent) {
      this.agentList[agent.listIndex] = last;
      last.listIndex = agent.listIndex;
    }
  }
}
