/**
 * Plain TypeScript shapes of the allocator ABI messages the engine reads and writes.
 *
 * They mirror `tessera/modules/v1/types.proto` and `allocator.proto` in camelCase, exactly as protobufjs
 * renders them (enums as strings, every field optional as proto3 makes it). The engine deliberately
 * depends on no other package; when the module is wired to the SDK these interfaces are swapped for the
 * generated types of the same shape, so every field here must keep the generated name and type.
 */

/** How a value is represented (Value.Type). TEXT is valid for attributes only, never for resources. */
export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';

/** The kind of a reservation (Resource.ReservationInfo.Type). */
export type ReservationType = 'UNKNOWN' | 'STATIC' | 'DYNAMIC';

/** A key/value label, as Mesos's Label. */
export interface Label {
  /** The key. */
  key?: string;
  /** The value. */
  value?: string;
}

/** One reservation of a resource; a list of them is innermost last ("refinements"). */
export interface ReservationInfo {
  /** STATIC (operator, agent flag) or DYNAMIC (RESERVE operation). */
  type?: ReservationType;
  /** The role the resource is reserved for. */
  role?: string;
  /** The principal that made a dynamic reservation. */
  principal?: string;
  /** Labels of a dynamic reservation. */
  labels?: { labels?: Label[] };
}

/** One inclusive integer range. */
export interface ValueRange {
  /** First value, inclusive. */
  begin?: number;
  /** Last value, inclusive. */
  end?: number;
}

/**
 * An amount of a named resource, as Mesos's Resource: `cpus:1.5`, `ports:[31000-32000]`,
 * `disk(eng):100` (reserved for role eng). Absent reservations mean unreserved ("*").
 */
export interface Resource {
  /** cpus, mem, disk, ports, gpus or any custom name. Required; absent is rejected. */
  name?: string;
  /** Which member holds the amount; proto3's default is SCALAR. */
  type?: ValueType;
  /** Amount of a scalar resource; Mesos keeps three decimal digits. */
  scalar?: { value?: number };
  /** Amount of a range resource. */
  ranges?: { range?: ValueRange[] };
  /** Amount of a set resource. */
  set?: { item?: string[] };
  /** Reservations, innermost last; empty or absent means unreserved. */
  reservations?: ReservationInfo[];
  /** The role this resource is offered or allocated to. */
  allocationInfo?: { role?: string };
  /** Whether several tasks may share it (persistent volumes). */
  shared?: boolean;
  /** Whether it is revocable (oversubscription). */
  revocable?: boolean;
  /** The module or provider that contributed it. */
  providerId?: string;
}

/** The parts of Mesos's FrameworkInfo the allocator reads. */
export interface FrameworkInfo {
  /** The framework's id. */
  id?: string;
  /** Display name. */
  name?: string;
  /** Roles the framework subscribes to; empty means the default role "*". */
  roles?: string[];
  /** Capability names of Mesos's enum: GPU_RESOURCES, REVOCABLE_RESOURCES, SHARED_RESOURCES, ... */
  capabilities?: string[];
  /** The principal the framework authenticated as. */
  principal?: string;
}

/** The parts of Mesos's AgentInfo the allocator reads. */
export interface AgentInfo {
  /** The agent's id. */
  id?: string;
  /** The agent's hostname. */
  hostname?: string;
}

/** Resources held by one framework (AllocatorAgent.used). */
export interface FrameworkResources {
  /** The framework. */
  frameworkId?: string;
  /** The resources, with allocationInfo.role set. */
  resources?: Resource[];
}

/** One agent as the allocator sees it. */
export interface AllocatorAgent {
  /** The agent; `info.id` is required. */
  info?: AgentInfo;
  /** All of the agent's resources. */
  total?: Resource[];
  /** Resources in use per framework (tasks and executors, not outstanding offers). */
  used?: FrameworkResources[];
  /** Whether the agent may receive offers. */
  active?: boolean;
  /** Agent capabilities, e.g. MULTI_ROLE. */
  capabilities?: string[];
}

/** "Do not offer these resources of this agent to this framework until". */
export interface OfferFilter {
  /** The framework. */
  frameworkId?: string;
  /** The agent. */
  agentId?: string;
  /** The refused resources, with allocationInfo.role naming the role the filter applies to. */
  resources?: Resource[];
  /** Unix time in milliseconds when the filter expires. */
  expiresAtMs?: number;
}

/** One framework as the allocator sees it. */
export interface AllocatorFramework {
  /** The framework; `info.id` is required. */
  info?: FrameworkInfo;
  /** Whether the framework may receive offers. */
  active?: boolean;
  /** Roles whose offers are suppressed. */
  suppressedRoles?: string[];
  /** Offer filters in force. */
  filters?: OfferFilter[];
}

/** A role's quota: guarantees (minimum) and limits (maximum) of scalar resources. */
export interface Quota {
  /** The role. */
  role?: string;
  /** Scalar resources guaranteed to the role. */
  guarantees?: Resource[];
  /** Scalar resources the role may never exceed. */
  limits?: Resource[];
}

/** A role's weight (> 0, default 1). */
export interface Weight {
  /** The role. */
  role?: string;
  /** The weight. */
  weight?: number;
}

/** Resources of one agent given to one framework in one role, as read from the master. */
export interface AllocationMessage {
  /** The framework. */
  frameworkId?: string;
  /** The agent. */
  agentId?: string;
  /** The role. */
  role?: string;
  /** The resources, with allocationInfo.role set. */
  resources?: Resource[];
}

/**
 * Resources of one agent given to one framework in one role, as produced by the engine. Every field is
 * set, which makes it assignable to the generated `Allocation` message.
 */
export interface Allocation {
  /** The framework. */
  frameworkId: string;
  /** The agent. */
  agentId: string;
  /** The role the resources are allocated to. */
  role: string;
  /** The resources, with allocationInfo.role set to `role`. */
  resources: Resource[];
}

/** The whole allocator state, sent first on every stream. */
export interface Snapshot {
  /** Every registered agent. */
  agents?: AllocatorAgent[];
  /** Every registered framework. */
  frameworks?: AllocatorFramework[];
  /** Quotas. */
  quotas?: Quota[];
  /** Weights. */
  weights?: Weight[];
  /** Offers sent and not yet answered. */
  outstandingOffers?: AllocationMessage[];
  /** Whether allocation is paused. */
  paused?: boolean;
}

/** Offer filters from DECLINE or ACCEPT, as Mesos's Filters. */
export interface Filters {
  /** Seconds before refused resources are offered again to the framework; Mesos's default is 5. */
  refuseSeconds?: number;
}

/** A change of an agent's total resources (UpdateAgent). */
export interface UpdateAgent {
  /** The agent. */
  agentId?: string;
  /** The new total. */
  total?: Resource[];
  /** New capabilities; absent or empty keeps the old ones. */
  capabilities?: string[];
}
