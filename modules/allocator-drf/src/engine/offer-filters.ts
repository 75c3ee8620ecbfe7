/**
 * Refused-offer filters on one agent, as Mesos's RefusedOfferFilter.
 *
 * When a framework declines (or partly accepts) an offer with `refuse_seconds` > 0, the allocator stops
 * offering it those resources of that agent, in that role, until the filter expires. A filter applies
 * when the refused resources contain everything that would be offered: once the agent has more to
 * offer (a task finished), the framework sees an offer again before expiry, as in Mesos.
 *
 * Filters live with the agent, keyed by the refusing party (the engine uses a framework's membership
 * in a role), because the allocation cycle asks "who refuses this agent?" once per agent. The answer
 * for the agent's whole available resources is cached until those resources, the filters or the
 * earliest expiry change: when every candidate refuses an agent, a cycle skips it in O(1) instead of
 * walking every framework.
 *
 * Time is whatever the caller says it is: a filter with `expiresAtMs` is in force while
 * `nowMs < expiresAtMs`. Expired filters are dropped by {@link AgentFilters.sweep} and cache rebuilds;
 * when that leaves a party without filters here, the `onGone` callback given to the constructor hears
 * of it, so that an index of "where does this party have filters" never keeps a stale entry, whichever
 * path dropped the filters.
 */
import type { Resources } from './resources';

/** One filter: refused resources (without allocation role) and when it stops applying. */
export interface FilterEntry {
  /** The refused resources, unallocated. */
  readonly resources: Resources;
  /** Unix time in milliseconds from which the filter no longer applies. */
  readonly expiresAtMs: number;
}

/** The offer filters on one agent, by refusing party `K`; see the module comment. */
export class AgentFilters<K> {
  private readonly byKey = new Map<K, FilterEntry[]>();
  private count = 0;
  // Cache of refusingAll(): the parties whose filters cover `coveredFor`, valid before `coveredUntil`.
  private covering = new Set<K>();
  private coveredFor: Resources | null = null;
  private coveredUntil = -Infinity;
  private version = 0;

  /**
   * Creates an empty set of filters; `onGone(key)` is called when expiry drops the last filter of
   * `key` (not on {@link remove}, whose caller knows).
   */
  constructor(private readonly onGone: ((key: K) => void) | null = null) {}

  /** Changes whenever the answer of {@link refusingAll} may have changed. */
  get coveringVersion(): number {
    return this.version;
  }

  /** How many filters are stored (expired ones included until swept). */
  get size(): number {
    return this.count;
  }

  /** The refusing parties that have filters here. */
  keys(): IterableIterator<K> {
    return this.byKey.keys();
  }

  /** The filters of every refusing party. */
  entries(): IterableIterator<[K, FilterEntry[]]> {
    return this.byKey.entries();
  }

  /** Adds a filter of `key`. */
  add(key: K, resources: Resources, expiresAtMs: number): void {
    const list = this.byKey.get(key);
    if (list === undefined) this.byKey.set(key, [{ resources, expiresAtMs }]);
    else list.push({ resources, expiresAtMs });
    this.count++;
    // Keep the cache: one check of the new filter updates it.
    if (this.coveredFor !== null) {
      if (resources.contains(this.coveredFor) && !this.covering.has(key)) {
        this.covering.add(key);
        this.version++;
      }
      if (expiresAtMs < this.coveredUntil) this.coveredUntil = expiresAtMs;
    }
  }

  /** Removes every filter of `key` (revive, deactivation, leaving a role). */
  remove(key: K): void {
    const list = this.byKey.get(key);
    if (list === undefined) return;
    this.count -= list.length;
    this.byKey.delete(key);
    if (this.covering.delete(key)) this.version++;
  }

  /** Whether `key` refuses `offer` (unallocated resources of this agent) at `nowMs`. */
  isFiltered(key: K, offer: Resources, nowMs: number): boolean {
    const list = this.byKey.get(key);
    if (list === undefined) return false;
    for (const f of list) if (f.expiresAtMs > nowMs && f.resources.contains(offer)) return true;
    return false;
  }

  /**
   * The parties refusing all of `available` (the agent's available resources) at `nowMs`. Cached
   * while the available resources keep their content and no filter expires; filters added meanwhile
   * update the cache one by one.
   */
  refusingAll(available: Resources, nowMs: number): ReadonlySet<K> {
    if (nowMs < this.coveredUntil && this.coveredFor !== null) {
      if (this.coveredFor.entries === available.entries) return this.covering;
      // Resources that were offered and declined come back as equal, not identical, bags.
      if (this.coveredFor.equals(available)) {
        this.coveredFor = available.clone();
        return this.covering;
      }
    }
    this.sweep(nowMs);
    const covering = new Set<K>();
    let until = Infinity;
    for (const [key, list] of this.byKey) {
      for (const f of list) {
        // Any expiry may change the answer, covering or not (a covering filter may be the only one).
        if (f.expiresAtMs < until) until = f.expiresAtMs;
        if (f.resources.contains(available)) covering.add(key);
      }
    }
    this.covering = covering;
    this.coveredFor = available.clone();
    this.coveredUntil = until;
    this.version++;
    return covering;
  }

  /** Drops the filters expired at `nowMs`; returns the earliest expiry left (Infinity when none). */
  sweep(nowMs: number): number {
    let earliest = Infinity;
    for (const [key, list] of this.byKey) {
      let expired = 0;
      for (const f of list) {
        if (f.expiresAtMs <= nowMs) expired++;
        else if (f.expiresAtMs < earliest) earliest = f.expiresAtMs;
      }
      if (expired === 0) continue;
      this.count -= expired;
      this.coveredFor = null;
      if (expired === list.length) {
        this.byKey.delete(key);
        if (this.onGone !== null) this.onGone(key);
      } else {
        this.byKey.set(key, list.filter((f) => f.expiresAtMs > nowMs));
      }
    }
    return earliest;
  }
}
