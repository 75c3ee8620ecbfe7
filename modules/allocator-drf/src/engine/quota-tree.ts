/**
 * Quota accounting over the role tree, as Mesos's RoleTree.
 *
 * A role consumes quota through its reservations (allocated or not: reservations are bound to the
 * role) and through the unreserved, non-revocable scalars offered or allocated to it, both summed over
 * the role and its descendants:
 *
 *     consumed(role) = reservations(role subtree) + unreserved allocation(role subtree)
 *
 * Guarantees are the minimum the allocator sets aside for a role; limits the maximum it may consume.
 * Both are per resource name. The tree is kept up to date incrementally by the allocator, so reading a
 * role's consumption or remaining limit never sums over agents, and the required headroom (the unmet
 * guarantees, which the allocation cycle reads after every allocation) never sums over roles: every
 * change of a guaranteed role's consumption adjusts it by the change of that role's unmet guarantee.
 * Only a change of guarantees recomputes it, lazily, because it can change which roles count.
 *
 * Quota changes are checked against the hierarchical quota rules (quota-rules.ts) before any of them
 * applies, so a refused change leaves the tree as it was.
 */
import { ANY_ROLE } from './kinds';
import { addAt, at, QuantityVector } from './quantities';
import { isDefaultQuota, QuotaSpec, quotaViolation } from './quota-rules';
import type { Resources } from './resources';

/** One role of the tree; handed out by {@link QuotaTree.pin} as an opaque handle. */
class QuotaNode {
  /** Scalars reserved to this role or a descendant, milli-units by name id. */
  readonly reserved: QuantityVector = [];
  /** Unreserved non-revocable scalars offered or allocated to this role or a descendant. */
  readonly allocated: QuantityVector = [];
  /** Guaranteed quantities, or null when the role has none. */
  guarantees: QuantityVector | null = null;
  /** Limits by name id, or null when the role has none; names absent are unlimited. */
  limits: Map<number, number> | null = null;
  /** Child roles present in the tree. */
  children = 0;
  /** Holders that keep the node alive while empty (the allocator pins roles that have frameworks). */
  pins = 0;
  /**
   * Whether the node has guarantees and no ancestor has: its unmet guarantee is part of the required
   * headroom. Set by {@link QuotaTree.requiredHeadroomOf}'s recomputation; cleared with the guarantees.
   */
  top = false;

  constructor(
    /** The role path. */
    readonly role: string,
    /** The parent role, or null for a top-level role. */
    readonly parent: QuotaNode | null,
  ) {}

  /** Consumed quota of one resource name. */
  consumed(id: number): number {
    return at(this.reserved, id) + at(this.allocated, id);
  }

  isIdle(): boolean {
    return (
      this.pins === 0 &&
      this.children === 0 &&
      this.guarantees === null &&
      this.limits === null &&
      this.reserved.every((v) => v === 0) &&
      this.allocated.every((v) => v === 0)
    );
  }
}

/** An opaque handle to a pinned role of the quota tree. */
export interface QuotaHandle {
  /** The role path. */
  readonly role: string;
}

/** The quota accounting tree; see the module comment. */
export class QuotaTree {
  private readonly nodes = new Map<string, QuotaNode>();
  private readonly withGuarantees = new Set<QuotaNode>();
  private readonly withLimits = new Set<QuotaNode>();
  /** The required headroom by name id (see {@link requiredHeadroom}), unless `requiredStale`. */
  private readonly required: QuantityVector = [];
  private requiredStale = false;

  /** The node of `role`, creating it and its ancestors as needed. */
  private ensure(role: string): QuotaNode {
    let node = this.nodes.get(role);
    if (node !== undefined) return node;
    const slash = role.lastIndexOf('/');
    const parent = slash > 0 ? this.ensure(role.slice(0, slash)) : null;
    node = new QuotaNode(role, parent);
    if (parent) parent.children++;
    this.nodes.set(role, node);
    return node;
  }

  /** Removes `node` and its ancestors while they hold nothing. */
  private prune(node: QuotaNode | null): void {
    while (node !== null && node.isIdle()) {
      this.nodes.delete(node.role);
      if (node.parent) node.parent.children--;
      node = node.parent;
    }
  }

  /**
   * Keeps `role` in the tree while pinned (1) until unpinned (-1); returns the role's handle, valid
   * while pinned, for {@link trackAllocatedAt}.
   */
  pin(role: string, delta: 1 | -1): QuotaHandle {
    const node = this.ensure(role);
    node.pins += delta;
    if (delta < 0) this.prune(node);
    return node;
  }

  /** Adds (1) or removes (-1) the reserved scalars of an agent total to their reservation roles. */
  trackReservations(total: Resources, sign: 1 | -1): void {
    for (const e of total.entries) {
      if (!e.kind.reserved || e.kind.valueKind !== 0) continue;
      const leaf = this.ensure(e.kind.reservationRole);
      for (let n: QuotaNode | null = leaf; n !== null; n = n.parent) this.consume(n, n.reserved, e.kind.nameId, sign * e.milli);
      if (sign < 0) this.prune(leaf);
    }
  }

  /**
   * Adds (1) or removes (-1) resources offered or allocated to the pinned role `handle` (only quota
   * scalars count). Pinned nodes are never pruned, so nothing else needs doing.
   */
  trackAllocatedAt(handle: QuotaHandle, resources: Resources, sign: 1 | -1): void {
    for (const e of resources.entries) {
      if (!e.kind.quotaScalar) continue;
      for (let n: QuotaNode | null = handle as QuotaNode; n !== null; n = n.parent) this.consume(n, n.allocated, e.kind.nameId, sign * e.milli);
    }
  }

  /** Adds `milli` of name `id` to one of `node`'s consumption vectors, keeping the required headroom. */
  private consume(node: QuotaNode, vector: QuantityVector, id: number, milli: number): void {
    if (node.top && !this.requiredStale) {
      const g = at(node.guarantees!, id);
      if (g > 0) {
        const before = Math.max(0, g - node.consumed(id));
        addAt(vector, id, milli);
        const after = Math.max(0, g - node.consumed(id));
        if (after !== before) addAt(this.required, id, after - before);
        return;
      }
    }
    addAt(vector, id, milli);
  }

  /**
   * Sets a role's quota; empty guarantees and no limits clear it (Mesos's default quota). Throws, and
   * changes nothing, when the result breaks the hierarchical quota rules (quota-rules.ts).
   */
  setQuota(role: string, guarantees: QuantityVector, limits: ReadonlyMap<number, number>): void {
    this.setQuotas([{ role, guarantees, limits }]);
  }

  /**
   * Sets several roles' quotas at once (a later entry for the same role wins), checking the rules on
   * the result only: a parent and a child may have to change together. Throws, and changes nothing,
   * when the result breaks them.
   */
  setQuotas(updates: readonly (QuotaSpec & { readonly role: string })[]): void {
    if (updates.length === 0) return;
    const next = this.quotas();
    for (const u of updates) {
      if (isDefaultQuota(u)) next.delete(u.role);
      else next.set(u.role, u);
    }
    // Roles set to the default quota are gone from `next`, so "*" and "" need their own check.
    for (const u of updates) if (u.role === '' || u.role === ANY_ROLE) throw new Error(`quota cannot be set on role '${u.role}': name a role`);
    const violation = quotaViolation(next);
    if (violation !== null) throw new Error(violation);
    for (const u of updates) this.apply(u.role, u.guarantees, u.limits);
  }

  /** Every role's quota (roles with the default quota left out), by role. */
  quotas(): Map<string, QuotaSpec> {
    const out = new Map<string, QuotaSpec>();
    for (const set of [this.withGuarantees, this.withLimits]) {
      for (const node of set) {
        if (!out.has(node.role)) out.set(node.role, { guarantees: node.guarantees ?? [], limits: node.limits ?? new Map() });
      }
    }
    return out;
  }

  private apply(role: string, guarantees: QuantityVector, limits: ReadonlyMap<number, number>): void {
    const node = this.ensure(role);
    const hasGuarantee = guarantees.some((v) => v > 0);
    node.guarantees = hasGuarantee ? guarantees.slice() : null;
    node.top = false;
    // Which roles count (the topmost guaranteed ones) may have changed: recompute on the next read.
    this.requiredStale = true;
    node.limits = limits.size > 0 ? new Map(limits) : null;
    if (node.limits !== null) this.withLimits.add(node);
    else this.withLimits.delete(node);
    if (hasGuarantee) this.withGuarantees.add(node);
    else this.withGuarantees.delete(node);
    this.prune(node);
  }

  /** The handle of a role with a guarantee (for the allocation cycle), or undefined. */
  handleOf(role: string): QuotaHandle | undefined {
    const node = this.nodes.get(role);
    return node !== undefined && node.guarantees !== null ? node : undefined;
  }

  /** Whether any role has a guarantee. */
  hasGuarantees(): boolean {
    return this.withGuarantees.size > 0;
  }

  /** Whether any role has a limit. */
  hasLimits(): boolean {
    return this.withLimits.size > 0;
  }

  /** Roles with a guarantee. */
  guaranteedRoles(): string[] {
    return Array.from(this.withGuarantees, (n) => n.role);
  }

  /** A role's guarantees (empty when none). */
  guarantees(role: string): readonly number[] {
    return this.nodes.get(role)?.guarantees ?? [];
  }

  /** A role's consumed quota, milli-units by name id. */
  consumed(role: string): QuantityVector {
    const node = this.nodes.get(role);
    if (!node) return [];
    const n = Math.max(node.reserved.length, node.allocated.length);
    const out: QuantityVector = [];
    for (let i = 0; i < n; i++) out.push(node.consumed(i));
    return out;
  }

  /** How much of name `id` the role still lacks to meet its guarantee (0 when met or none). */
  unsatisfied(role: string, id: number): number {
    const node = this.nodes.get(role);
    if (!node || node.guarantees === null) return 0;
    return Math.max(0, at(node.guarantees, id) - node.consumed(id));
  }

  /** Whether the role lacks anything to meet its guarantee. */
  isUnsatisfied(role: string): boolean {
    const node = this.nodes.get(role);
    return node !== undefined && this.isUnsatisfiedAt(node);
  }

  /** {@link isUnsatisfied} for a pinned role, without looking it up. */
  isUnsatisfiedAt(handle: QuotaHandle): boolean {
    const node = handle as QuotaNode;
    const g = node.guarantees;
    if (g === null) return false;
    for (let id = 0; id < g.length; id++) if (g[id] > node.consumed(id)) return true;
    return false;
  }

  /**
   * How much more of name `id` the role may consume before it or an ancestor reaches its limit:
   * Infinity when no limit applies, 0 when already at or above one.
   */
  limitRemaining(role: string, id: number): number {
    if (this.withLimits.size === 0) return Infinity;
    const found = this.nodes.get(role);
    if (found === undefined) {
      // A role unknown to the tree has consumed nothing, but its ancestors' limits still apply.
      const slash = role.lastIndexOf('/');
      return slash <= 0 ? Infinity : this.limitRemaining(role.slice(0, slash), id);
    }
    let remaining = Infinity;
    for (let node: QuotaNode | null = found; node !== null; node = node.parent) {
      const limit = node.limits?.get(id);
      if (limit !== undefined) remaining = Math.min(remaining, Math.max(0, limit - node.consumed(id)));
    }
    return remaining;
  }

  /**
   * The unreserved headroom the allocator must keep free for unmet guarantees: the sum, over roles with
   * a guarantee and no guaranteed ancestor, of guarantee − consumed (never negative). A child's
   * guarantee is part of its parent's, so counting only the topmost guaranteed roles avoids counting
   * it twice. A copy, by name id.
   */
  requiredHeadroom(): QuantityVector {
    this.refreshRequired();
    return this.required.slice();
  }

  /** The required headroom of name `id` (see {@link requiredHeadroom}); O(1) between quota changes. */
  requiredHeadroomOf(id: number): number {
    if (this.requiredStale) this.refreshRequired();
    return at(this.required, id);
  }

  /** Recomputes the required headroom and which roles count in it, after guarantees changed. */
  private refreshRequired(): void {
    if (!this.requiredStale) return;
    this.required.length = 0;
    for (const node of this.withGuarantees) {
      let covered = false;
      for (let p = node.parent; p !== null; p = p.parent) if (p.guarantees !== null) covered = true;
      node.top = !covered;
      if (covered) continue;
      const g = node.guarantees!;
      for (let id = 0; id < g.length; id++) {
        const need = g[id] - node.consumed(id);
        if (need > 0) addAt(this.required, id, need);
      }
    }
    this.requiredStale = false;
  }
}
