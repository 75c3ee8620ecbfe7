import { parseResources } from './resource-text';
import { Resources } from './resources';
import { DrfSorter, ShareBasis, SorterClient } from './sorter';
import { Rng } from './test-support';

const r = (text: string): Resources => Resources.fromProto(parseResources(text));

function sorterWith(total: string, hierarchical = true, excluded: string[] = []): { basis: ShareBasis; sorter: DrfSorter<string> } {
  const basis = new ShareBasis(excluded);
  basis.update(r(total), 1);
  return { basis, sorter: new DrfSorter<string>(basis, hierarchical) };
}

function addActive(sorter: DrfSorter<string>, path: string): SorterClient<string> {
  const c = sorter.add(path, path);
  sorter.activate(c);
  return c;
}

/** The walk order, visiting everything. */
function walk(sorter: DrfSorter<string>, path?: string): string[] {
  const out: string[] = [];
  sorter.beginWalk(path);
  for (let c = sorter.nextInWalk(); c !== null; c = sorter.nextInWalk()) out.push(c.owner!);
  sorter.endWalk();
  return out;
}

describe('DrfSorter', () => {
  it('orders clients by dominant share, then by times chosen, then by name', () => {
    const { sorter } = sorterWith('cpus:100;mem:1000');
    const a = addActive(sorter, 'a');
    const b = addActive(sorter, 'b');
    const c = addActive(sorter, 'c');
    expect(sorter.sort()).toEqual(['a', 'b', 'c']);
    sorter.allocated(a, r('cpus:10'), 1); // a: 0.1
    sorter.allocated(b, r('mem:50'), 1); // b: 0.05
    expect(sorter.sort()).toEqual(['c', 'b', 'a']);
    sorter.allocated(c, r('cpus:5;mem:200'), 1); // c: 0.2 (mem is dominant)
    expect(sorter.sort()).toEqual(['b', 'a', 'c']);
    expect(sorter.dominantShare('c')).toBeCloseTo(0.2);
    // Equal shares: the client chosen fewer times goes first (Mesos's tie-breaker).
    sorter.allocated(b, r('mem:50'), 1); // b: 0.1, chosen twice
    expect(sorter.sort()).toEqual(['a', 'b', 'c']);
    sorter.allocated(a, r('cpus:10'), -1);
    expect(sorter.sort()).toEqual(['a', 'b', 'c']);
    expect(sorter.dominantShare('a')).toBe(0);
  });

  it('divides shares by weights', () => {
    const { sorter } = sorterWith('cpus:100');
    const a = addActive(sorter, 'a');
    const b = addActive(sorter, 'b');
    sorter.setWeight('a', 2);
    sorter.allocated(a, r('cpus:30'), 1); // 0.3 / 2 = 0.15
    sorter.allocated(b, r('cpus:20'), 1); // 0.2
    expect(sorter.sort()).toEqual(['a', 'b']);
    sorter.setWeight('a', 1);
    expect(sorter.sort()).toEqual(['b', 'a']);
  });

  it('ignores resources excluded from fairness', () => {
    const { sorter } = sorterWith('cpus:100;gpus:4', true, ['gpus']);
    const a = addActive(sorter, 'a');
    const b = addActive(sorter, 'b');
    sorter.allocated(a, r('gpus:4;cpus:1'), 1);
    sorter.allocated(b, r('cpus:2'), 1);
    expect(sorter.sort()).toEqual(['a', 'b']);
    expect(sorter.dominantShare('a')).toBeCloseTo(0.01);
  });

  it('walks the role tree depth first, siblings by subtree share', () => {
    const { sorter } = sorterWith('cpus:100');
    const ml = addActive(sorter, 'eng/ml');
    const web = addActive(sorter, 'eng/web');
    const sales = addActive(sorter, 'sales');
    sorter.allocated(ml, r('cpus:10'), 1);
    sorter.allocated(web, r('cpus:5'), 1);
    sorter.allocated(sales, r('cpus:12'), 1);
    // eng's subtree (15) is above sales (12), although each of its roles is below.
    expect(sorter.sort()).toEqual(['sales', 'eng/web', 'eng/ml']);
    expect(sorter.dominantShare('eng')).toBeCloseTo(0.15);
    expect(walk(sorter, 'eng')).toEqual(['eng/web', 'eng/ml']);
  });

  it('gives a role that also has children a virtual leaf of weight 1', () => {
    const { sorter } = sorterWith('cpus:100');
    const eng = addActive(sorter, 'eng');
    const ml = addActive(sorter, 'eng/ml');
    sorter.setWeight('eng', 10);
    sorter.allocated(eng, r('cpus:10'), 1);
    sorter.allocated(ml, r('cpus:5'), 1);
    expect(sorter.sort()).toEqual(['eng/ml', 'eng']);
    sorter.remove(ml);
    expect(sorter.sort()).toEqual(['eng']);
    expect(sorter.dominantShare('eng')).toBeCloseTo(0.1);
    // A client added below an existing leaf turns it into a parent.
    const deep = addActive(sorter, 'eng/x/y');
    expect(sorter.sort()).toEqual(['eng/x/y', 'eng']);
    sorter.deactivate(deep);
    expect(sorter.sort()).toEqual(['eng']);
  });

  it('visits only active clients and keeps inactive allocations in their parents', () => {
    const { sorter } = sorterWith('cpus:100');
    const a = addActive(sorter, 'x/a');
    addActive(sorter, 'x/b');
    addActive(sorter, 'y');
    sorter.allocated(a, r('cpus:50'), 1);
    sorter.deactivate(a);
    expect(sorter.sort()).toEqual(['y', 'x/b']);
    expect(sorter.activeCount).toBe(2);
  });

  it('walks in the order that held when the walk began, and can stop early', () => {
    const { sorter } = sorterWith('cpus:100');
    const clients = ['a', 'b', 'c', 'd'].map((p) => addActive(sorter, p));
    sorter.beginWalk();
    const first = sorter.nextInWalk()!;
    expect(first.owner).toBe('a');
    sorter.allocated(first, r('cpus:50'), 1); // now the largest, but already visited
    expect(sorter.nextInWalk()!.owner).toBe('b');
    expect(() => sorter.add('e', 'e')).toThrow();
    sorter.endWalk();
    expect(sorter.sort()).toEqual(['b', 'c', 'd', 'a']);
    expect(clients).toHaveLength(4);
  });

  it('matches a full recomputation after random incremental changes', () => {
    const rng = new Rng(1234);
    const names = ['cpus', 'mem', 'disk', 'gpus'];
    const paths = ['a', 'b', 'a/x', 'a/y', 'a/x/1', 'b/z', 'c', 'd/e', 'd/f', 'g'];
    for (let round = 0; round < 40; round++) {
      const basis = new ShareBasis(rng.next() < 0.3 ? ['gpus'] : []);
      basis.update(r('cpus:1000;mem:100000;disk:50000;gpus:16'), 1);
      const sorter = new DrfSorter<string>(basis, true);
      const model = new Map<string, { alloc: number[]; count: number; active: boolean }>();
      const clients = new Map<string, SorterClient<string>>();
      const weights = new Map<string, number>();
      for (let step = 0; step < 120; step++) {
        const path = rng.pick(paths);
        const op = rng.next();
        if (!clients.has(path)) {
          clients.set(path, sorter.add(path, path));
          model.set(path, { alloc: [0, 0, 0, 0], count: 0, active: false });
        } else if (op < 0.15) {
          const active = !model.get(path)!.active;
          if (active) sorter.activate(clients.get(path)!);
          else sorter.deactivate(clients.get(path)!);
          model.get(path)!.active = active;
        } else if (op < 0.2) {
          const w = rng.int(1, 4);
          const target = rng.pick(paths.concat(['a', 'd']));
          sorter.setWeight(target, w);
          weights.set(target, w);
        } else if (op < 0.25) {
          basis.update(r(`cpus:${rng.int(1, 100)}`), 1);
        } else {
          const m = model.get(path)!;
          const i = rng.int(0, 3);
          const amount = rng.int(1, 50);
          const sign = m.alloc[i] >= amount && rng.next() < 0.4 ? -1 : 1;
          sorter.allocated(clients.get(path)!, r(`${names[i]}:${amount}`), sign);
          m.alloc[i] += sign * amount * 1000;
          if (sign > 0) m.count++;
        }
        if (step % 10 === 9) {
          const expected = referenceOrder(model, weights, basis);
          expect(sorter.sort()).toEqual(expected);
          expect(walk(sorter)).toEqual(expected);
        }
      }
    }
  });
});

/**
 * A straightforward DRF order: build the tree from client paths, sum allocations and counts, sort each
 * node's children by (share / weight, count, name) and read leaves depth first.
 */
function referenceOrder(
  clients: Map<string, { alloc: number[]; count: number; active: boolean }>,
  weights: Map<string, number>,
  basis: ShareBasis,
): string[] {
  interface N {
    name: string;
    path: string;
    children: Map<string, N>;
    client: string | null;
    alloc: number[];
    count: number;
    active: boolean;
  }
  const mk = (name: string, path: string): N => ({ name, path, children: new Map(), client: null, alloc: [0, 0, 0, 0], count: 0, active: false });
  const root = mk('', '');
  for (const [path, c] of clients) {
    let node = root;
    for (const label of path.split('/')) {
      if (!node.children.has(label)) node.children.set(label, mk(label, node === root ? label : `${node.path}/${label}`));
      node = node.children.get(label)!;
    }
    node.client = path;
    node.alloc = c.alloc.slice();
    node.count = c.count;
    node.active = c.active;
  }
  // A node with both a client and children gets a virtual "." leaf holding the client.
  const expand = (node: N): void => {
    for (const child of node.children.values()) expand(child);
    if (node.client !== null && node.children.size > 0) {
      const leaf = mk('.', `${node.path}/.`);
      leaf.client = node.client;
      leaf.alloc = node.alloc;
      leaf.count = node.count;
      leaf.active = node.active;
      node.client = null;
      node.children.set('.', leaf);
    }
    if (node.children.size > 0) {
      node.alloc = [0, 0, 0, 0];
      node.count = 0;
      node.active = false;
      for (const child of node.children.values()) {
        child.alloc.forEach((v, i) => (node.alloc[i] += v));
        node.count += child.count;
        node.active = node.active || child.active;
      }
    }
  };
  expand(root);
  const key = (n: N): number => basis.dominantShare(n.alloc) / (n.name === '.' ? 1 : weights.get(n.path) ?? 1);
  const out: string[] = [];
  const visit = (node: N): void => {
    const kids = Array.from(node.children.values()).filter((c) => c.active);
    kids.sort((x, y) => key(x) - key(y) || x.count - y.count || (x.name < y.name ? -1 : 1));
    for (const k of kids) {
      if (k.children.size === 0) out.push(k.client!);
      else visit(k);
    }
  };
  visit(root);
  return out;
}
