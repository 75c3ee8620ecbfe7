/**
 * The order in which stage 1 of an allocation cycle serves roles with unmet quota guarantees.
 *
 * For each agent, stage 1 visits the roles whose guarantee is unmet and that have an active framework
 * in their subtree (a guarantee is served to the frameworks of the role and of its descendants, whose
 * allocations count towards it) in the order that holds when the agent's turn begins: weighted
 * dominant share (of the role with its descendants, over the cluster totals), then name. Sorting those
 * roles again for every agent costs O(agents · roles · log roles), which with thousands of guaranteed
 * roles is most of a cycle. The queue instead keeps them in one
 * binary heap for the whole cycle. An agent's turn pops roles in order only as far as it gets (usually
 * the first role takes everything the agent can give); when the turn ends, the popped roles go back
 * and the roles whose key changed are re-sifted, O(log roles) each.
 *
 * Keys change only when a role or one of its descendants is allocated to, because cluster totals and
 * weights are constant during a cycle; so the roles allocated to during a turn and their guaranteed
 * ancestors are the only ones to re-key. Roles not yet popped keep their key until the turn ends,
 * which is exactly the order a sort at the start of the turn gives. Consumption only grows during a
 * cycle, so a role found satisfied when popped is dropped for good.
 */
import type { EngineState } from './engine-state';
import type { QuotaHandle } from './quota-tree';

/** A role of the queue. */
export class Candidate {
  /** Weighted dominant share when last keyed. */
  key = 0;
  /** Position in the heap; -1 while popped by the current turn. */
  heapPos = -1;
  /** Whether the current turn changed the key (it is then in the queue's `charged` list). */
  charged = false;
  /** Candidates for ancestor roles, whose keys include this role's allocation. */
  readonly ancestors: Candidate[] = [];

  constructor(
    /** The role path. */
    readonly role: string,
    /** The role's node in the quota tree. */
    readonly quota: QuotaHandle,
  ) {}
}

function before(a: Candidate, b: Candidate): boolean {
  return a.key < b.key || (a.key === b.key && a.role < b.role);
}

/** The stage 1 role order of one cycle; see the module comment. */
export class GuaranteeQueue {
  private readonly heap: Candidate[] = [];
  private readonly popped: Candidate[] = [];
  private readonly charged: Candidate[] = [];
  private readonly byName = new Map<string, Candidate>();

  /** Queues the roles of `state` whose guarantee is unmet and that have active frameworks in their subtree. */
  constructor(private readonly state: EngineState) {
    const quota = state.quota;
    const byName = this.byName;
    for (const name of quota.guaranteedRoles()) {
      const handle = quota.handleOf(name);
      if (handle !== undefined && state.roleSorter.activeCountAt(name) > 0 && quota.isUnsatisfiedAt(handle)) {
        byName.set(name, new Candidate(name, handle));
      }
    }
    for (const c of byName.values()) {
      const name = c.role;
      for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
        const ancestor = byName.get(name.slice(0, i));
        if (ancestor !== undefined) c.ancestors.push(ancestor);
      }
      c.key = this.keyOf(name);
      c.heapPos = this.heap.length;
      this.heap.push(c);
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Whether no role is left (roles satisfied but not yet popped still count). */
  isEmpty(): boolean {
    return this.heap.length === 0 && this.popped.length === 0;
  }

  /** The next role of the current agent's turn whose guarantee is still unmet, or null. */
  next(): Candidate | null {
    const quota = this.state.quota;
    while (this.heap.length > 0) {
      const c = this.removeFirst();
      if (!quota.isUnsatisfiedAt(c.quota)) continue;
      this.popped.push(c);
      return c;
    }
    return null;
  }

  /**
   * Records that the turn allocated to `role` (`c`'s role or a descendant, serving `c`'s guarantee):
   * the keys of the candidates from `role` up to the root change.
   */
  allocatedTo(c: Candidate, role: string): void {
    if (role !== c.role) {
      // `role` and the candidates between it and `c` are below `c`, so not among its ancestors.
      for (let p = role; p.length > c.role.length; p = p.slice(0, p.lastIndexOf('/'))) {
        const below = this.byName.get(p);
        if (below !== undefined) this.mark(below);
      }
    }
    this.mark(c);
    for (const a of c.ancestors) this.mark(a);
  }

  /** Ends the agent's turn: re-keys the charged roles and puts the popped ones back. */
  endTurn(): void {
    for (const c of this.charged) {
      c.charged = false;
      const old = c.key;
      c.key = this.keyOf(c.role);
      if (c.heapPos >= 0 && c.key !== old) {
        this.siftUp(c.heapPos);
        this.siftDown(c.heapPos);
      }
    }
    this.charged.length = 0;
    for (const c of this.popped) {
      c.heapPos = this.heap.length;
      this.heap.push(c);
      this.siftUp(c.heapPos);
    }
    this.popped.length = 0;
  }

  private mark(c: Candidate): void {
    if (c.charged) return;
    c.charged = true;
    this.charged.push(c);
  }

  /** The stage 1 key of a role: its unweighted dominant share (with its descendants) over its weight. */
  private keyOf(role: string): number {
    return this.state.roleSorter.dominantShare(role) / (this.state.weights.get(role) ?? 1);
  }

  private removeFirst(): Candidate {
    const heap = this.heap;
    const first = heap[0];
    const last = heap.pop()!;
    if (last !== first) {
      heap[0] = last;
      last.heapPos = 0;
      this.siftDown(0);
    }
    first.heapPos = -1;
    return first;
  }

  private siftUp(pos: number): void {
    const heap = this.heap;
    const c = heap[pos];
    while (pos > 0) {
      const up = (pos - 1) >> 1;
      const parent = heap[up];
      if (!before(c, parent)) break;
      heap[pos] = parent;
      parent.heapPos = pos;
      pos = up;
    }
    heap[pos] = c;
    c.heapPos = pos;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const c = heap[pos];
    const n = heap.length;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], c)) break;
      heap[pos] = heap[child];
      heap[pos].heapPos = pos;
      pos = child;
    }
    heap[pos] = c;
    c.heapPos = pos;
  }
}
