/**
 * The records the allocator keeps: agents, frameworks, roles, a framework's membership in a role, and
 * what a framework holds on an agent. {@link EngineState} keeps them consistent with each other.
 */
import type { AgentFilters } from './offer-filters';
import type { QuotaHandle } from './quota-tree';
import type { Resources } from './resources';
import { DrfSorter, ShareBasis, SorterClient } from './sorter';

/** What one framework holds on one agent in one role (unallocated resources). */
export interface HoldingRecord {
  /** The framework id. */
  readonly frameworkId: string;
  /** The role the resources are allocated to. */
  readonly role: string;
  /** The resources, without allocation role; mutated in place as offers and recoveries come. */
  readonly res: Resources;
  /** The framework's membership in the role; null while the framework is unknown (an orphan). */
  member: Membership | null;
}

/** One agent. */
export interface AgentState {
  /** The agent id. */
  readonly id: string;
  /** Position in {@link EngineState.agentList}. */
  listIndex: number;
  /** All resources, without allocation roles. */
  total: Resources;
  /** What is neither offered nor used: total minus every holding. */
  available: Resources;
  /** Offered or used resources, per framework and role (few per agent, hence an array). */
  readonly holdings: HoldingRecord[];
  /** Whether the total no longer contains what is held (it shrank); recovery then recomputes. */
  overcommitted: boolean;
  /** Whether the agent may receive offers. */
  active: boolean;
  /** Whether the total has GPUs (Mesos offers such agents only to GPU_RESOURCES frameworks). */
  hasGpu: boolean;
  /** Agent capabilities as reported. */
  capabilities: string[];
  /** Refused-offer filters on this agent, by membership; null until the first one. */
  filters: AgentFilters<Membership> | null;
  /** The last answer of {@link EngineState.refusedByAll}, with what it depended on. */
  refusal: { version: number; epoch: number; refused: boolean } | null;
}

/** One framework. */
export interface FrameworkState {
  /** The framework id. */
  readonly id: string;
  /** Subscribed roles. */
  roles: Set<string>;
  /** Subscribed roles whose offers are suppressed. */
  suppressed: Set<string>;
  /** Whether the framework may receive offers (connected). */
  active: boolean;
  /** GPU_RESOURCES capability. */
  gpu: boolean;
  /** REVOCABLE_RESOURCES capability. */
  revocable: boolean;
  /** SHARED_RESOURCES capability. */
  shared: boolean;
  /** RESERVATION_REFINEMENT capability. */
  refinement: boolean;
  /** Memberships by role. */
  readonly memberships: Map<string, Membership>;
}

/** A framework's part in one role. */
export class Membership {
  /** The framework's client in the role's sorter. */
  readonly client: SorterClient<Membership>;
  /** Holding records of the framework in this role (one per agent). */
  records = 0;
  /**
   * Agents on which this membership has refused-offer filters: kept exact (expiry and agent removal
   * take agents out), since revive and deactivation clear the filters through it.
   */
  readonly filteredAgents = new Set<AgentState>();

  /** Creates the membership and its (inactive) client in the role's sorter. */
  constructor(
    /** The framework. */
    readonly fw: FrameworkState,
    /** The role. */
    readonly rs: RoleState,
  ) {
    this.client = rs.sorter.add(fw.id, this);
  }
}

/** One role that has frameworks. */
export class RoleState {
  /** The role's frameworks, by DRF share within the role. */
  readonly sorter: DrfSorter<Membership>;
  /** The role's client in the role sorter. */
  readonly client: SorterClient<RoleState>;
  /** Active GPU_RESOURCES frameworks of the role (lets GPU agents skip roles that cannot use them). */
  gpuActive = 0;

  /** Creates the role with an empty framework sorter and an (inactive) client in the role sorter. */
  constructor(
    /** The role path. */
    readonly name: string,
    roleSorter: DrfSorter<RoleState>,
    basis: ShareBasis,
    /** The role's node in the quota tree (pinned while the role exists). */
    readonly quota: QuotaHandle,
  ) {
    this.sorter = new DrfSorter<Membership>(basis, false);
    this.client = roleSorter.add(name, this);
  }
}
