/**
 * The quota tree's required headroom is kept incrementally; it must always equal the sum, over the
 * topmost guaranteed roles, of their unmet guarantees computed from scratch.
 */
import { QuantityVector } from './quantities';
import { QuotaHandle, QuotaTree } from './quota-tree';
import { parseResources } from './resource-text';
import { Resources } from './resources';
import { Rng } from './test-support';

const r = (text: string): Resources => Resources.fromProto(parseResources(text));

function vector(text: string): QuantityVector {
  const v: QuantityVector = [];
  r(text).addScalarsTo(v, 1);
  return v;
}

/** Drops trailing zeros, so that vectors of different lengths compare by value. */
function trimmed(v: readonly number[]): number[] {
  const out = v.slice();
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

/** The required headroom from scratch, through the tree's public readings only. */
function naiveRequired(tree: QuotaTree): number[] {
  const guaranteed = new Set(tree.guaranteedRoles());
  const out: number[] = [];
  for (const role of guaranteed) {
    const labels = role.split('/');
    const covered = labels.slice(0, -1).some((_, i) => guaranteed.has(labels.slice(0, i + 1).join('/')));
    if (covered) continue;
    const g = tree.guarantees(role);
    const consumed = tree.consumed(role);
    for (let id = 0; id < g.length; id++) {
      const need = g[id] - (consumed[id] ?? 0);
      if (need > 0) {
        while (out.length <= id) out.push(0);
        out[id] += need;
      }
    }
  }
  return trimmed(out);
}

describe('QuotaTree required headroom', () => {
  it('sums the unmet guarantees of the topmost guaranteed roles', () => {
    const tree = new QuotaTree();
    tree.setQuota('eng', vector('cpus:10;mem:100'), new Map());
    tree.setQuota('eng/ml', vector('cpus:4'), new Map());
    tree.setQuota('ops', vector('cpus:2'), new Map());
    const ml = tree.pin('eng/ml', 1);
    expect(trimmed(tree.requiredHeadroom())).toEqual(trimmed(vector('cpus:12;mem:100')));
    // An allocation to eng/ml counts against eng's guarantee (eng/ml's is part of it).
    tree.trackAllocatedAt(ml, r('cpus:6;mem:40'), 1);
    expect(trimmed(tree.requiredHeadroom())).toEqual(trimmed(vector('cpus:6;mem:60')));
    // Beyond the guarantee, nothing more is required, and giving back the excess changes nothing.
    tree.trackAllocatedAt(ml, r('cpus:10'), 1);
    expect(tree.requiredHeadroomOf(0)).toBe(2000);
    tree.trackAllocatedAt(ml, r('cpus:6'), -1);
    expect(tree.requiredHeadroomOf(0)).toBe(2000);
    // Reservations count like allocations; eng's guarantee may shrink to its child's, no further.
    tree.trackReservations(r('cpus(ops):1'), 1);
    tree.setQuota('eng', vector('cpus:4'), new Map());
    expect(trimmed(tree.requiredHeadroom())).toEqual(trimmed(vector('cpus:1')));
    expect(() => tree.setQuota('eng', [], new Map())).toThrow(/role 'eng' with guarantees none does not contain the sum of its children's guarantees cpus:4/);
    // Cleared together, children first or not, they are valid again.
    tree.setQuotas([
      { role: 'eng', guarantees: [], limits: new Map() },
      { role: 'eng/ml', guarantees: [], limits: new Map() },
    ]);
    expect(tree.guaranteedRoles()).toEqual(['ops']);
  });

  it('matches a from-scratch computation under random quota changes, reservations and allocations', () => {
    const roles = ['a', 'a/b', 'a/b/c', 'a/d', 'x', 'x/y', 'z'];
    let accepted = 0;
    let nested = 0;
    for (let seed = 1; seed <= 25; seed++) {
      const rng = new Rng(seed);
      const tree = new QuotaTree();
      const pinned = new Map<string, { handle: QuotaHandle; held: Resources[] }>();
      const reservations: Resources[] = [];
      for (let step = 0; step < 200; step++) {
        const role = rng.pick(roles);
        const op = rng.int(0, 9);
        if (op === 0) {
          // Children get smaller amounts, so that many nested guarantees fit in their parents'.
          const depth = role.split('/').length;
          const g = rng.next() < 0.2 ? '' : `cpus:${rng.int(0, 24 >> depth)};mem:${rng.int(0, 16 >> depth) * 128}`;
          const limits = rng.next() < 0.3 ? new Map([[0, 20_000]]) : new Map<number, number>();
          const before = tree.quotas();
          try {
            tree.setQuota(role, vector(g), limits);
            accepted++;
          } catch {
            // A change that breaks the hierarchical rules is refused and changes nothing.
            expect(tree.quotas()).toEqual(before);
          }
        } else if (op === 1 && !pinned.has(role)) {
          pinned.set(role, { handle: tree.pin(role, 1), held: [] });
        } else if (op === 2 && pinned.has(role)) {
          const p = pinned.get(role)!;
          for (const res of p.held) tree.trackAllocatedAt(p.handle, res, -1);
          tree.pin(role, -1);
          pinned.delete(role);
        } else if (op === 3) {
          const res = r(`cpus(${role}):${rng.int(1, 5)};mem(${role}):${rng.int(1, 4) * 64};disk(${role}):3`);
          tree.trackReservations(res, 1);
          reservations.push(res);
        } else if (op === 4 && reservations.length > 0) {
          tree.trackReservations(reservations.splice(rng.int(0, reservations.length - 1), 1)[0], -1);
        } else if (op <= 7 && pinned.size > 0) {
          const p = rng.pick(Array.from(pinned.values()));
          const res = r(`cpus:${rng.int(1, 8) / 2};mem:${rng.int(0, 4) * 100};ports:[1-3]`);
          tree.trackAllocatedAt(p.handle, res, 1);
          p.held.push(res);
        } else if (pinned.size > 0) {
          const p = rng.pick(Array.from(pinned.values()));
          if (p.held.length > 0) tree.trackAllocatedAt(p.handle, p.held.splice(rng.int(0, p.held.length - 1), 1)[0], -1);
        }
        // Reading only now and then also covers changes made while the requirement is stale.
        if (rng.next() < 0.7) {
          const expected = naiveRequired(tree);
          expect(trimmed(tree.requiredHeadroom())).toEqual(expected);
          for (let id = 0; id < 4; id++) expect(tree.requiredHeadroomOf(id)).toBe(expected[id] ?? 0);
        }
      }
      nested += tree.guaranteedRoles().filter((r) => r.includes('/')).length;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(nested).toBeGreaterThan(10);
  });
});
