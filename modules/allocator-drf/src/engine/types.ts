/**
 * The ABI messages the engine reads and writes are the generated types of `@tessera/modules-api`
 * (camelCase, enums as strings, every field optional as proto3 makes it), so what the allocator stream
 * decodes goes straight into the engine. Only the engine's own output shape is declared here.
 */
import type * as Abi from '@tessera/modules-api';

export type ValueType = Abi.ValueType;
export type ReservationType = Abi.ResourceReservationInfoType;
export type Label = Abi.Label;
export type ReservationInfo = Abi.ResourceReservationInfo;
export type ValueRange = Abi.ValueRange;
export type Resource = Abi.Resource;
export type FrameworkInfo = Abi.FrameworkInfo;
export type AgentInfo = Abi.AgentInfo;
export type FrameworkResources = Abi.FrameworkResources;
export type AllocatorAgent = Abi.AllocatorAgent;
export type OfferFilter = Abi.OfferFilter;
export type AllocatorFramework = Abi.AllocatorFramework;
export type Quota = Abi.Quota;
export type Weight = Abi.Weight;
/** Resources of one agent given to one framework in one role, as read from the master. */
export type AllocationMessage = Abi.Allocation;
export type Snapshot = Abi.Snapshot;
export type Filters = Abi.Filters;
export type UpdateAgent = Abi.UpdateAgent;

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

