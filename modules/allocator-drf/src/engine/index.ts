/**
 * Public surface of the DRF allocation engine: the {@link DrfAllocator} itself, the resource arithmetic
 * it is built on, and the sorter, for callers that want fair ordering without the allocator.
 *
 * @packageDocumentation
 */
export { DrfAllocator } from './allocator';
export { AllocatorError, type AllocatorOptions } from './options';
export { validateQuotas } from './quota-rules';
export {
  Resources,
  type ResourceEntry,
  entryQuantity,
  addResources,
  subtractResources,
  containsResources,
  isEmptyResources,
  scalarQuantities,
  filterByReservationRole,
  isAllocatable,
} from './resources';
export { parseResources } from './resource-text';
export {
  ResourceError,
  rangesFromProto,
  rangesToProto,
  unionRanges,
  subtractRanges,
  containsRanges,
  rangesSize,
  type RangeList,
} from './values';
export { ResourceKind, ANY_ROLE, SCALAR, RANGES, SET, type ValueKind, nameId, nameOf } from './kinds';
export {
  MILLI,
  toMilli,
  fromMilli,
  minAllocatableFrom,
  DEFAULT_MIN_ALLOCATABLE_RECORDS,
  type MinAllocatable,
  type Requirement,
  type QuantityVector,
} from './quantities';
export { DrfSorter, ShareBasis, type SorterClient } from './sorter';
export type * from './types';
