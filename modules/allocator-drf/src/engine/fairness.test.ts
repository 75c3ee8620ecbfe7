/**
 * Dominant Resource Fairness through the whole engine: frameworks launch tasks from their offers and
 * decline the rest, cycle after cycle, and their dominant shares must stay as DRF says.
 */
import { DrfAllocator } from './allocator';
import { parseResources } from './resource-text';
import { agentMsg, frameworkMsg, launchFromOffer, Rng, TaskShape, taskShare } from './test-support';

const T0 = 1_700_000_000_000;

interface Contender {
  readonly id: string;
  readonly role: string;
  readonly weight: number;
  readonly shape: TaskShape;
}

function randomShape(rng: Rng): TaskShape {
  return { cpus: rng.int(1, 40) / 10, mem: rng.int(64, 4096) };
}

/**
 * Runs allocate/launch cycles, one agent per cycle (as Mesos allocates when one agent frees resources),
 * each framework launching one task per offer and declining the rest without a filter. After every
 * cycle, the weighted dominant shares (per role, or per framework when they share a role) must be
 * within one task's weighted share of each other. Returns the tasks launched per framework.
 */
function runCycles(seed: number, contenders: Contender[], sameRole: boolean): Map<string, number> {
  const rng = new Rng(seed);
  const engine = new DrfAllocator({ shuffleSeed: seed });
  const agentIds: string[] = [];
  for (let i = rng.int(4, 12); i > 0; i--) {
    const id = `agent-${i}`;
    agentIds.push(id);
    engine.addAgent(agentMsg(id, `cpus:${rng.int(4, 32)};mem:${rng.int(4, 64) * 1024};disk:100`));
  }
  const weights = contenders.filter((c) => c.weight !== 1).map((c) => ({ role: c.role, weight: c.weight }));
  if (weights.length > 0) engine.updateWeights(weights);
  for (const c of contenders) engine.addFramework(frameworkMsg(c.id, [c.role]));
  const totals = engine.clusterTotals();
  const bound = Math.max(...contenders.map((c) => taskShare(c.shape, totals) / c.weight));
  const share = (c: Contender): number =>
    (sameRole ? engine.frameworkShare(c.id, c.role) : engine.roleShare(c.role)) / c.weight;
  const launched = new Map(contenders.map((c) => [c.id, 0]));
  let idle = 0;
  for (let cycle = 0; idle < 4 * agentIds.length && cycle < 3000; cycle++) {
    const now = T0 + cycle * 1000;
    let progress = false;
    for (const offer of engine.allocate(now, [rng.pick(agentIds)])) {
      const c = contenders.find((x) => x.id === offer.frameworkId)!;
      const tasks = launchFromOffer(engine, offer, c.shape, 1, 0, now);
      launched.set(c.id, launched.get(c.id)! + tasks.length);
      progress = progress || tasks.length > 0;
    }
    idle = progress ? 0 : idle + 1;
    const shares = contenders.map(share);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(bound + 1e-9);
  }
  return launched;
}

describe('DRF fairness', () => {
  it('reproduces the DRF paper example: <1 CPU, 4 GB> and <3 CPUs, 1 GB> tasks on <9 CPUs, 18 GB>', () => {
    const engine = new DrfAllocator();
    engine.addAgent(agentMsg('m', 'cpus:9;mem:18432'));
    engine.addFramework(frameworkMsg('A', ['a']));
    engine.addFramework(frameworkMsg('B', ['b']));
    const shapes: Record<string, TaskShape> = { A: { cpus: 1, mem: 4096 }, B: { cpus: 3, mem: 1024 } };
    const count: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 20; i++) {
      for (const offer of engine.allocate(T0 + i * 1000)) {
        count[offer.frameworkId] += launchFromOffer(engine, offer, shapes[offer.frameworkId], 1, 0, T0 + i * 1000).length;
      }
    }
    // DRF equalizes dominant shares at 2/3: A runs 3 tasks (12 of 18 GB), B runs 2 (6 of 9 CPUs).
    expect(count).toEqual({ A: 3, B: 2 });
    expect(engine.roleShare('a')).toBeCloseTo(2 / 3);
    expect(engine.roleShare('b')).toBeCloseTo(2 / 3);
  });

  it('keeps two roles of equal weight within one task of each other (random clusters and tasks)', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rng = new Rng(seed * 7919);
      const launched = runCycles(
        seed,
        [
          { id: 'f1', role: 'r1', weight: 1, shape: randomShape(rng) },
          { id: 'f2', role: 'r2', weight: 1, shape: randomShape(rng) },
        ],
        false,
      );
      expect(launched.get('f1')! + launched.get('f2')!).toBeGreaterThan(5);
    }
  });

  it('keeps two frameworks of one role within one task of each other', () => {
    for (let seed = 1; seed <= 15; seed++) {
      const rng = new Rng(seed * 104729);
      runCycles(
        seed,
        [
          { id: 'f1', role: 'shared', weight: 1, shape: randomShape(rng) },
          { id: 'f2', role: 'shared', weight: 1, shape: randomShape(rng) },
        ],
        true,
      );
    }
  });

  it('gives weights 2:1 dominant shares 2:1, within one task', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const shape: TaskShape = { cpus: 0.5, mem: 256 };
      const launched = runCycles(
        seed,
        [
          { id: 'heavy', role: 'gold', weight: 2, shape },
          { id: 'light', role: 'bronze', weight: 1, shape },
        ],
        false,
      );
      // Same task shape, so the 2:1 share ratio shows as a 2:1 task count (within one task each way).
      const heavy = launched.get('heavy')!;
      const light = launched.get('light')!;
      expect(light).toBeGreaterThan(3);
      expect(Math.abs(heavy - 2 * light)).toBeLessThanOrEqual(2);
    }
  });

  it('shares between subtrees first: eng/ml and eng/web together get what sales gets', () => {
    const engine = new DrfAllocator();
    for (let i = 0; i < 40; i++) engine.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    engine.addFramework(frameworkMsg('ml', ['eng/ml']));
    engine.addFramework(frameworkMsg('web', ['eng/web']));
    engine.addFramework(frameworkMsg('sales', ['sales']));
    const perRole = new Map<string, number>();
    for (const o of engine.allocate(T0)) perRole.set(o.role, (perRole.get(o.role) ?? 0) + 1);
    expect(perRole.get('sales')).toBe(20);
    expect(perRole.get('eng/ml')).toBe(10);
    expect(perRole.get('eng/web')).toBe(10);
    expect(engine.roleShare('eng')).toBeCloseTo(0.5);
    engine.updateWeights([{ role: 'eng', weight: 3 }]);
    expect(engine.roleOrder()[0]).toMatch(/^eng\//);
  });

  it('leaves excluded resource names out of dominant shares', () => {
    const run = (excluded: string[]): string => {
      const engine = new DrfAllocator({ fairnessExcludeResourceNames: excluded });
      engine.addAgent(agentMsg('big', 'cpus:100;mem:100000;disk:1000000'));
      engine.addAgent(agentMsg('next', 'cpus:1;mem:1'));
      engine.addFramework(frameworkMsg('disky', ['d']));
      engine.addFramework(frameworkMsg('cpuy', ['c']));
      // disky holds most of the disk, cpuy a fifth of the cpus.
      engine.updateAllocation({ frameworkId: 'disky', agentId: 'big', role: 'd', resources: parseResources('disk:900000') });
      engine.updateAllocation({ frameworkId: 'cpuy', agentId: 'big', role: 'c', resources: parseResources('cpus:20') });
      return engine.allocate(T0, ['next'])[0].frameworkId;
    };
    expect(run([])).toBe('cpuy');
    expect(run(['disk'])).toBe('disky');
  });

  it('spreads a whole cycle of equal agents evenly between equal roles', () => {
    const engine = new DrfAllocator();
    for (let i = 0; i < 100; i++) engine.addAgent(agentMsg(`a${i}`, 'cpus:8;mem:8192'));
    for (let f = 0; f < 4; f++) engine.addFramework(frameworkMsg(`f${f}`, [`r${f}`]));
    const offers = engine.allocate(T0);
    const perFramework = new Map<string, number>();
    for (const o of offers) perFramework.set(o.frameworkId, (perFramework.get(o.frameworkId) ?? 0) + 1);
    expect(Array.from(perFramework.values())).toEqual([25, 25, 25, 25]);
  });
});
