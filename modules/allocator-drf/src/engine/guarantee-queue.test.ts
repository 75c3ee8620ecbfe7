/**
 * Stage 1's role queue must visit, in every agent's turn, the roles with unmet guarantees in exactly
 * the order a sort at the start of the turn gives (weighted dominant share, then name), however the
 * turns allocate; and the whole engine must serve thousands of guaranteed roles.
 */
import * as agents from './agent-inputs';
import { DrfAllocator } from './allocator';
import { EngineState } from './engine-state';
import * as frameworks from './framework-inputs';
import { GuaranteeQueue } from './guarantee-queue';
import { resolveOptions } from './options';
import { QuantityVector } from './quantities';
import { parseResources } from './resource-text';
import { Resources } from './resources';
import { agentMsg, frameworkMsg, offeredTo, Rng } from './test-support';

const T0 = 1_700_000_000_000;

function vector(text: string): QuantityVector {
  const v: QuantityVector = [];
  Resources.fromProto(parseResources(text)).addScalarsTo(v, 1);
  return v;
}

/**
 * The naive stage 1 order: roles with an unmet guarantee and an active framework in their subtree,
 * sorted by weighted share, then name.
 */
function sortedCandidates(s: EngineState): string[] {
  const key = (role: string): number => s.roleSorter.dominantShare(role) / (s.weights.get(role) ?? 1);
  const activeBelow = (role: string): boolean =>
    Array.from(s.roles.values()).some((rs) => (rs.name === role || rs.name.startsWith(`${role}/`)) && rs.sorter.activeCount > 0);
  return s.quota
    .guaranteedRoles()
    .filter((role) => activeBelow(role) && s.quota.isUnsatisfied(role))
    .map((role) => ({ role, key: key(role) }))
    .sort((a, b) => a.key - b.key || (a.role < b.role ? -1 : 1))
    .map((x) => x.role);
}

/**
 * Random guarantees that follow the hierarchical rules: roles come parents first, and a child gets a
 * part of what its parent's guarantee has left after its elder siblings.
 */
function randomGuarantees(rng: Rng, roles: readonly string[]): Map<string, { cpus: number; mem: number }> {
  const out = new Map<string, { cpus: number; mem: number }>();
  const left = new Map<string, { cpus: number; mem: number }>();
  for (const role of roles) {
    if (rng.next() >= 0.7) continue;
    const parent = role.includes('/') ? role.slice(0, role.lastIndexOf('/')) : null;
    const room = parent === null ? { cpus: 40, mem: 40 * 256 } : left.get(parent);
    if (room === undefined) continue;
    const g = { cpus: rng.int(0, room.cpus), mem: Math.floor(rng.int(0, room.mem) / 256) * 256 };
    if (g.cpus === 0 && g.mem === 0) continue;
    room.cpus -= parent === null ? 0 : g.cpus;
    room.mem -= parent === null ? 0 : g.mem;
    out.set(role, g);
    left.set(role, { ...g });
  }
  return out;
}

/** Part of an agent's unreserved scalars (a random fraction of each), or null when it has none. */
function somePart(rng: Rng, available: Resources): Resources | null {
  const entries = available.entries
    .filter((e) => e.kind.quotaScalar)
    .map((e) => ({ kind: e.kind, milli: Math.ceil((e.milli * rng.int(1, 4)) / 4), ranges: null, items: null }));
  return entries.length === 0 ? null : Resources.fromEntries(entries);
}

describe('GuaranteeQueue', () => {
  it('visits roles in the order of a per-turn sort, under random allocations to nested and weighted roles', () => {
    const roles = ['a', 'a/b', 'a/b/c', 'a/d', 'x', 'x/y', 'z', 'w', 'v'];
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const s = new EngineState(resolveOptions({}));
      for (let i = rng.int(3, 12); i > 0; i--) agents.addAgent(s, agentMsg(`a${i}`, `cpus:${rng.int(4, 32)};mem:${rng.int(4, 32) * 256}`));
      roles.forEach((role, i) => {
        if (rng.next() < 0.8) frameworks.addFramework(s, frameworkMsg(`f${i}`, [role]));
        if (rng.next() < 0.3) frameworks.addFramework(s, frameworkMsg(`g${i}`, [role], [], { active: rng.next() < 0.5 }));
        if (rng.next() < 0.3) {
          const w = rng.int(1, 4) / 2;
          s.weights.set(role, w);
          s.roleSorter.setWeight(role, w);
        }
      });
      for (const [role, g] of randomGuarantees(rng, roles)) s.quota.setQuota(role, vector(`cpus:${g.cpus};mem:${g.mem}`), new Map());
      const queue = new GuaranteeQueue(s);
      for (let turn = 0; turn < 50; turn++) {
        const agent = rng.pick(s.agentList);
        const expected = sortedCandidates(s);
        if (expected.length > 0) expect(queue.isEmpty()).toBe(false);
        let i = 0;
        for (let q = queue.next(); q !== null; q = queue.next()) {
          // Roles satisfied since the turn began (by a descendant's allocation) are skipped.
          while (i < expected.length && !s.quota.isUnsatisfied(expected[i])) i++;
          expect(q.role).toBe(expected[i]);
          i++;
          const part = rng.next() < 0.6 ? somePart(rng, agent.available) : null;
          if (part !== null) {
            // Stage 1 serves a guarantee to the role's frameworks or to its descendants'.
            const members = Array.from(s.frameworks.values())
              .flatMap((fw) => Array.from(fw.memberships.values()))
              .filter((m) => m.client.active && (m.rs.name === q.role || m.rs.name.startsWith(`${q.role}/`)));
            const member = rng.pick(members);
            s.allocate(agent, member, part);
            queue.allocatedTo(q, member.rs.name);
          }
          if (rng.next() < 0.25) break;
        }
        queue.endTurn();
      }
      // Whatever is left is exactly the unmet roles, in order.
      const left: string[] = [];
      for (let q = queue.next(); q !== null; q = queue.next()) left.push(q.role);
      queue.endTurn();
      expect(left).toEqual(sortedCandidates(s));
    }
  });

  it("meets every guarantee of hundreds of roles in one cycle (the shape of Mesos's LargeAndSmallQuota)", () => {
    const e = new DrfAllocator();
    const roles = 400;
    for (let i = 0; i < roles; i++) {
      e.updateQuota(`role-${i}`, parseResources(i % 2 === 0 ? 'cpus:24;mem:4096' : 'cpus:1;mem:128'), []);
      e.addFramework(frameworkMsg(`f${i}`, [`role-${i}`]));
    }
    for (let i = 0; i < roles; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:48;mem:8192;disk:4096'));
    const offers = e.allocate(T0);
    expect(offers.length).toBe(roles);
    const got = offeredTo(offers);
    for (let i = 0; i < roles; i++) {
      expect(got.get(`f${i}`)!.cpus).toBeGreaterThanOrEqual(i % 2 === 0 ? 24 : 1);
      expect(e.roleConsumedQuota(`role-${i}`).mem).toBeGreaterThanOrEqual(i % 2 === 0 ? 4096 : 128);
    }
  });
});
