/**
 * Hierarchical weighted Dominant Resource Fairness sorter, after Mesos's DRFSorter.
 *
 * Clients are paths ("eng/ml"); every path segment is a node of a tree whose internal nodes carry the
 * sum of their subtree's allocation. A node's dominant share is the largest, over resource names not
 * excluded from fairness, of allocated / cluster total; its key is that share divided by the weight of
 * its path (default 1). Siblings are ordered by (weighted share, times chosen, name) — the middle term
 * is Mesos's tie-breaker that rotates clients of equal share — and the client order is the depth-first
 * walk of the tree. A path that is both a client and a parent ("eng" next to "eng/ml") gets a virtual
 * leaf child "." holding the client's own allocation, whose weight is 1 as in Mesos.
 *
 * Cost model: each internal node keeps its active children in a binary heap. An allocation updates the
 * leaf and its ancestors and re-sifts each in its parent's heap, O(depth · log siblings), instead of
 * Mesos's full re-sort. The allocation cycle walks clients in order with {@link DrfSorter.beginWalk} /
 * {@link DrfSorter.nextInWalk}: visited nodes are popped, so the walk costs O(log n) per client
 * visited and stops as soon as the caller is done (an agent with nothing left), and popped nodes are
 * pushed back with their new keys by {@link DrfSorter.endWalk}. The walk visits clients in the order
 * that held when it began, as Mesos's per-agent `sort()` does. A change of cluster totals or weights
 * changes every share; it only marks the sorter dirty, and the next walk recomputes all shares and
 * re-heapifies in O(n).
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
class SorterNode<T> {
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

type AnyNode = SorterNode<unknown>;

function less(a: AnyNode, b: AnyNode): boolean {
  if (a.share !== b.share) return a.share < b.share;
  if (a.count !== b.count) return a.count < b.count;
  return a.name < b.name;
}

function siftUp(heap: AnyNode[], pos: number): void {
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

function siftDown(heap: AnyNode[], pos: number): void {
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

function heapPush(heap: AnyNode[], node: AnyNode): void {
  heap.push(node);
  siftUp(heap, heap.length - 1);
}

function heapRemoveAt<N extends AnyNode>(heap: N[], pos: number): N {
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

/** Weighted hierarchical DRF sorter whose clients carry owners of type T; see the module comment. */
export class DrfSorter<T> {
  private readonly root = new SorterNode<T>('', '', null, false, null);
  private readonly clients = new Map<string, SorterNode<T>>();
  private readonly internals = new Map<string, SorterNode<T>>();
  private readonly weights = new Map<string, number>();
  private seenVersion = -1;
  private dirty = true;
  private walking = false;
  private walkDepth = -1;
  private walkSingle: SorterNode<T> | null = null;
  private readonly frames: SorterNode<T>[] = [];
  private readonly popped: SorterNode<T>[][] = [];

  /**
   * Creates an empty sorter over `basis`. With `hierarchical` false, client names are flat (framework
   * ids) and "/" has no meaning.
   */
  constructor(
    private readonly basis: ShareBasis,
    private readonly hierarchical: boolean,
  ) {
    this.root.children = new Map();
    this.internals.set('', this.root);
  }

  /** Adds an inactive client with no allocation, owned by `owner`; throws if it exists. */
  add(path: string, owner: T): SorterClient<T> {
    this.assertNotWalking();
    if (this.clients.has(path)) throw new Error(`sorter client '${path}' already exists`);
    const labels = this.hierarchical ? path.split('/') : [path];
    let node = this.root;
    let prefix = '';
    for (let i = 0; i < labels.length - 1; i++) {
      prefix = i === 0 ? labels[0] : `${prefix}/${labels[i]}`;
      let child = node.children!.get(labels[i]);
      if (child === undefined) {
        child = new SorterNode<T>(labels[i], prefix, node, false, null);
        child.children = new Map();
        child.weight = this.weights.get(prefix) ?? 1;
        node.children!.set(labels[i], child);
        this.internals.set(prefix, child);
      } else if (child.isLeaf) {
        child = this.splitLeaf(child);
      }
      node = child;
    }
    const label = labels[labels.length - 1];
    const existing = node.children!.get(label);
    const leaf = new SorterNode<T>(existing ? '.' : label, path, existing ?? node, true, owner);
    if (existing) {
      // `path` is already an internal node: the client becomes its virtual leaf.
      existing.children!.set('.', leaf);
    } else {
      leaf.weight = this.weights.get(path) ?? 1;
      node.children!.set(label, leaf);
    }
    this.clients.set(path, leaf);
    this.dirty = true;
    return leaf;
  }

  /** Turns client leaf `leaf` into an internal node with the client as its virtual leaf "." child. */
  private splitLeaf(leaf: SorterNode<T>): SorterNode<T> {
    const parent = leaf.parent!;
    const inner = new SorterNode<T>(leaf.name, leaf.path, parent, false, null);
    inner.children = new Map([['.', leaf]]);
    inner.alloc = leaf.alloc.slice();
    inner.count = leaf.count;
    inner.weight = leaf.weight;
    inner.share = leaf.share;
    inner.activeLeaves = leaf.activeLeaves;
    parent.children!.set(leaf.name, inner);
    if (leaf.heapPos >= 0) {
      parent.heap[leaf.heapPos] = inner;
      inner.heapPos = leaf.heapPos;
      leaf.heapPos = -1;
    }
    if (leaf.active) {
      inner.heap.push(leaf);
      leaf.heapPos = 0;
    }
    leaf.name = '.';
    leaf.parent = inner;
    leaf.weight = 1;
    this.internals.set(inner.path, inner);
    this.dirty = true;
    return inner;
  }

  /** Removes a client, taking its allocation out of its ancestors. */
  remove(handle: SorterClient<T>): void {
    const client = handle as SorterNode<T>;
    this.assertNotWalking();
    this.deactivate(client);
    for (let n = client.parent; n !== null && n.parent !== null; n = n.parent) {
      for (let i = 0; i < client.alloc.length; i++) n.alloc[i] -= client.alloc[i];
    }
    this.clients.delete(client.path);
    let parent = client.parent!;
    parent.children!.delete(client.name);
    // Collapse internal nodes left with no children, or with only their virtual leaf.
    while (parent !== this.root) {
      const grand = parent.parent!;
      if (parent.children!.size === 0) {
        grand.children!.delete(parent.name);
        this.internals.delete(parent.path);
      } else if (parent.children!.size === 1 && parent.children!.has('.')) {
        const leaf = parent.children!.get('.')!;
        leaf.name = parent.name;
        leaf.parent = grand;
        leaf.weight = this.weights.get(leaf.path) ?? 1;
        grand.children!.set(leaf.name, leaf);
        this.internals.delete(parent.path);
        if (parent.heapPos >= 0) heapRemoveAt(grand.heap, parent.heapPos);
        leaf.heapPos = -1;
        if (leaf.active) heapPush(grand.heap, leaf);
      } else {
        break;
      }
      parent = grand;
    }
    this.dirty = true;
  }

  /** Makes a client eligible for walks and sort(). */
  activate(handle: SorterClient<T>): void {
    const client = handle as SorterNode<T>;
    if (!client.active) {
      this.assertNotWalking();
      client.active = true;
      this.propagateActive(client, 1);
    }
  }

  /** Keeps a client (and its allocation) but skips it in walks and sort(). */
  deactivate(handle: SorterClient<T>): void {
    const client = handle as SorterNode<T>;
    if (client.active) {
      this.assertNotWalking();
      client.active = false;
      this.propagateActive(client, -1);
    }
  }

  private propagateActive(leaf: SorterNode<T>, delta: 1 | -1): void {
    for (let n: SorterNode<T> | null = leaf; n !== null; n = n.parent) {
      const before = n.activeLeaves;
      n.activeLeaves += delta;
      const p = n.parent;
      if (p === null) break;
      if (before === 0 && n.activeLeaves > 0) heapPush(p.heap, n);
      else if (before > 0 && n.activeLeaves === 0 && n.heapPos >= 0) heapRemoveAt(p.heap, n.heapPos);
    }
  }

  /** Sets the weight of a path (clients and internal nodes alike); weights must be > 0. */
  setWeight(path: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`weight of '${path}' must be a finite number > 0`);
    this.assertNotWalking();
    this.weights.set(path, weight);
    const internal = this.internals.get(path);
    if (internal) internal.weight = weight;
    const leaf = this.clients.get(path);
    if (leaf && leaf.name !== '.') leaf.weight = weight;
    this.dirty = true;
  }

  /** Records that `resources` (their scalars) were allocated (sign 1) to or taken back (-1) from a client. */
  allocated(client: SorterClient<T>, resources: Resources, sign: 1 | -1): void {
    const stale = this.dirty || this.seenVersion !== this.basis.version;
    const entries = resources.entries;
    // The root's allocation is never compared, so it is not kept (hence `n.parent !== null`).
    for (let n = client as SorterNode<T>; n.parent !== null; n = n.parent) {
      const alloc = n.alloc;
      for (const e of entries) {
        if (e.kind.valueKind !== 0) continue;
        const id = e.kind.nameId;
        while (alloc.length <= id) alloc.push(0);
        alloc[id] += sign * e.milli;
      }
      if (sign > 0) n.count++;
      if (!stale) {
        n.share = this.basis.dominantShare(alloc) / n.weight;
        if (n.heapPos >= 0) {
          const heap = n.parent.heap;
          siftUp(heap, n.heapPos);
          siftDown(heap, n.heapPos);
        }
      }
    }
  }

  /** Recomputes every share and rebuilds every heap when totals, weights or the tree changed. */
  private clean(): void {
    if (!this.dirty && this.seenVersion === this.basis.version) return;
    const visit = (node: SorterNode<T>): void => {
      node.heap.length = 0;
      for (const child of node.children!.values()) {
        child.share = this.basis.dominantShare(child.alloc) / child.weight;
        child.heapPos = -1;
        if (child.children !== null) visit(child);
        if (child.activeLeaves > 0) node.heap.push(child);
      }
      const heap = node.heap;
      for (let i = 0; i < heap.length; i++) heap[i].heapPos = i;
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    };
    visit(this.root);
    this.seenVersion = this.basis.version;
    this.dirty = false;
  }

  /**
   * Starts an in-order walk of the active clients, over the whole tree or the subtree at `path`.
   * While walking, only {@link allocated} may change the sorter.
   */
  beginWalk(path?: string): void {
    this.assertNotWalking();
    this.clean();
    this.walking = true;
    this.walkSingle = null;
    this.walkDepth = -1;
    const start = path === undefined ? this.root : this.internals.get(path) ?? this.clients.get(path);
    if (start === undefined) return;
    if (start.isLeaf) {
      if (start.active) this.walkSingle = start;
      return;
    }
    this.walkDepth = 0;
    this.frames[0] = start;
    if (this.popped.length === 0) this.popped.push([]);
    this.popped[0].length = 0;
  }

  /** The next active client of the walk, or null when there is none. */
  nextInWalk(): SorterClient<T> | null {
    if (this.walkSingle !== null) {
      const leaf = this.walkSingle;
      this.walkSingle = null;
      return leaf;
    }
    while (this.walkDepth >= 0) {
      const d = this.walkDepth;
      const node = this.frames[d];
      if (node.heap.length === 0) {
        this.finishFrame(d);
        this.walkDepth--;
        continue;
      }
      const child = heapRemoveAt(node.heap, 0);
      this.popped[d].push(child);
      if (child.isLeaf) return child;
      this.walkDepth = d + 1;
      this.frames[d + 1] = child;
      if (this.popped.length <= d + 1) this.popped.push([]);
      this.popped[d + 1].length = 0;
    }
    return null;
  }

  private finishFrame(d: number): void {
    const heap = this.frames[d].heap;
    const popped = this.popped[d];
    for (const child of popped) heapPush(heap, child);
    popped.length = 0;
  }

  /** Ends the walk, restoring every visited node to its heap under its new key. */
  endWalk(): void {
    for (let d = this.walkDepth; d >= 0; d--) this.finishFrame(d);
    this.walkDepth = -1;
    this.walkSingle = null;
    this.walking = false;
  }

  private assertNotWalking(): void {
    if (this.walking) throw new Error('the sorter cannot change structure during a walk');
  }

  /** Active client paths in DRF order (a full sort; for inspection and tests). */
  sort(): string[] {
    this.assertNotWalking();
    this.clean();
    const out: string[] = [];
    const visit = (node: SorterNode<T>): void => {
      for (const child of node.heap.slice().sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0))) {
        if (child.isLeaf) out.push(child.path);
        else visit(child);
      }
    };
    visit(this.root);
    return out;
  }

  /** The client at `path`, if any. */
  client(path: string): SorterClient<T> | undefined {
    return this.clients.get(path);
  }

  /** How many clients the sorter holds. */
  get size(): number {
    return this.clients.size;
  }

  /** How many clients are active. */
  get activeCount(): number {
    return this.root.activeLeaves;
  }

  /** Allocation (milli-units by name id) of a client or of the subtree at a non-root internal path. */
  allocation(path: string): readonly number[] {
    return (path === '' ? undefined : this.internals.get(path) ?? this.clients.get(path))?.alloc ?? [];
  }

  /** Unweighted dominant share of a client or of the subtree at an internal path. */
  dominantShare(path: string): number {
    return this.basis.dominantShare(this.allocation(path));
  }

}
