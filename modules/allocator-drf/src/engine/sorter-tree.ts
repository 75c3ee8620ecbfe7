/**
 * The data structures of a DRF sorter: the share basis (cluster totals that dominant shares are
 * measured against, shared by every sorter of an allocator as Mesos adds each agent's total to every
 * sorter, with the resource names excluded from fairness), the tree nodes, and the binary heap that
 * keeps a node's active children in order.
 *
 * The heap order is the DRF order of siblings: weighted dominant share, then times chosen (Mesos's
 * tie-breaker, which rotates clients of equal share), then name. Every node records its position in
 * its parent's heap, so a node whose key changed is re-sifted in O(log n) and any node can be removed.
 */
import type { QuantityVector } from './quantities';
import type { Resources } from './resources';
import { nameId } from './kinds';

/** Cluster totals shared by all sorters of an allocator, with the names excluded from fairness. */
export class ShareBasis {
  /** Total of every scalar resource in the cluster, milli-units by name id. */
  readonly totals: QuantityVector = [];
  /** Bumped on every change; sorters compare it to know their shares are stale. */
  version = 0;
  private readonly excluded: boolean[] = [];

  /** Creates an empty basis; `excludedNames` never count towards a dominant share. */
  constructor(excludedNames: readonly string[] = []) {
    for (const n of excludedNames) {
      const id = nameId(n);
      while (this.excluded.length <= id) this.excluded.push(false);
      this.excluded[id] = true;
    }
  }

  /** Adds (sign 1) or removes (sign -1) an agent's total. */
  update(total: Resources, sign: 1 | -1): void {
    if (total.isEmpty()) return;
    total.addScalarsTo(this.totals, sign);
    this.version++;
  }

  /** The dominant share of an allocation vector: max over non-excluded names of allocated / total. */
  dominantShare(alloc: readonly number[]): number {
    const totals = this.totals;
    const n = Math.min(alloc.length, totals.length);
    let share = 0;
    for (let i = 0; i < n; i++) {
      const a = alloc[i];
      const t = totals[i];
      if (a > 0 && t > 0 && !(i < this.excluded.length && this.excluded[i])) {
        const s = a / t;
        if (s > share) share = s;
      }
    }
    return share;
  }
}

/** A node of the sorter tree; clients are handed out as their leaf node ({@link SorterClient}). */
export class SorterNode<T> {
  /** Children by label; null for leaves. */
  children: Map<string, SorterNode<T>> | null = null;
  /** Active children (those with an active leaf below) in heap order; internal nodes only. */
  heap: SorterNode<T>[] = [];
  /** Position in the parent's heap, or -1 when not in it (inactive, or popped by a walk). */
  heapPos = -1;
  /** Whether this leaf's client is active (leaves only). */
  active = false;
  /** Active leaves in this subtree. */
  activeLeaves = 0;
  /** Allocation of the subtree, milli-units by name id. */
  alloc: number[] = [];
  /** Times the subtree was allocated to (Mesos's tie-breaker). */
  count = 0;
  /** Weighted dominant share, the primary sort key. */
  share = 0;
  /** The weight dividing the share. */
  weight = 1;

  constructor(
    /** Label among siblings; "." for a virtual leaf. */
    public name: string,
    /** Full path; for a leaf, its client path. */
    readonly path: string,
    /** The parent; null for the root. */
    public parent: SorterNode<T> | null,
    /** Whether the node is a client leaf. */
    readonly isLeaf: boolean,
    /** What the caller attached to a client (null for internal nodes). */
    readonly owner: T | null,
  ) {}
}

/**
 * A handle to a sorter client, stable for the client's lifetime: its path, the owner the caller attached
 * when adding it, and whether it is active.
 */
export interface SorterClient<T> {
  /** The client's path. */
  readonly path: string;
  /** The value given to {@link DrfSorter.add}. */
  readonly owner: T | null;
  /** Whether the client is active. */
  readonly active: boolean;
}

/** A node of any owner type (heap code does not look at owners). */
export type AnyNode = SorterNode<unknown>;

/** Whether `a` comes before `b` among siblings: lower weighted share, then chosen fewer times, then name. */
export function less(a: AnyNode, b: AnyNode): boolean {
  if (a.share !== b.share) return a.share < b.share;
  if (a.count !== b.count) return a.count < b.count;
  return a.name < b.name;
}

/** Moves the node at `pos` up until its parent comes before it. */
export function siftUp(heap: AnyNode[], pos: number): void {
  const node = heap[pos];
  while (pos > 0) {
    const up = (pos - 1) >> 1;
    const parent = heap[up];
    if (!less(node, parent)) break;
    heap[pos] = parent;
    parent.heapPos = pos;
    pos = up;
  }
  heap[pos] = node;
  node.heapPos = pos;
}

/** Moves the node at `pos` down until it comes before both children. */
export function siftDown(heap: AnyNode[], pos: number): void {
  const node = heap[pos];
  const n = heap.length;
  for (;;) {
    let child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && less(heap[child + 1], heap[child])) child++;
    if (!less(heap[child], node)) break;
    heap[pos] = heap[child];
    heap[pos].heapPos = pos;
    pos = child;
  }
  heap[pos] = node;
  node.heapPos = pos;
}

/** Inserts a node. */
export function heapPush(heap: AnyNode[], node: AnyNode): void {
  heap.push(node);
  siftUp(heap, heap.length - 1);
}

/** Removes and returns the node at `pos` (0: the first in order); its position becomes -1. */
export function heapRemoveAt<N extends AnyNode>(heap: N[], pos: number): N {
  const node = heap[pos];
  const last = heap.pop()!;
  if (last !== node) {
    heap[pos] = last;
    last.heapPos = pos;
    siftDown(heap, pos);
    if (last.heapPos === pos) siftUp(heap, pos);
  }
  node.heapPos = -1;
  return node;
}
