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
import { heapPush, heapRemoveAt, less, ShareBasis, siftDown, siftUp, SorterClient, SorterNode } from './sorter-tree';
import type { Resources } from './resources';

export { ShareBasis } from './sorter-tree';
export type { SorterClient } from './sorter-tree';

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
  // Per walk depth, the nodes popped so far; counted rather than truncated (setting an array's length
  // is slow in V8), and overwritten by later walks.
  private readonly popped: SorterNode<T>[][] = [];
  private readonly poppedCount: number[] = [];

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
    if (this.popped.length === 0) {
      this.popped.push([]);
      this.poppedCount.push(0);
    }
    this.poppedCount[0] = 0;
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
      this.popped[d][this.poppedCount[d]++] = child;
      if (child.isLeaf) return child;
      this.walkDepth = d + 1;
      this.frames[d + 1] = child;
      if (this.popped.length <= d + 1) {
        this.popped.push([]);
        this.poppedCount.push(0);
      }
      this.poppedCount[d + 1] = 0;
    }
    return null;
  }

  private finishFrame(d: number): void {
    const heap = this.frames[d].heap;
    const popped = this.popped[d];
    const n = this.poppedCount[d];
    for (let i = 0; i < n; i++) heapPush(heap, popped[i]);
    this.poppedCount[d] = 0;
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

  /** How many clients are active at `path`: the client itself and every client below it. */
  activeCountAt(path: string): number {
    return (this.internals.get(path) ?? this.clients.get(path))?.activeLeaves ?? 0;
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
