/**
 * Benchmark of the allocation engine alone (no gRPC), in the shape of Mesos's
 * HierarchicalAllocator_BENCHMARK_Test.DeclineOffers: every agent has cpus:24, mem:4096, disk:4096,
 * ports:[31000-32000]; every framework has a role of its own; every cycle offers everything and every
 * framework declines every offer. The declines use refuse_seconds 0, so each cycle offers the whole
 * cluster again (with Mesos's default 5 s filters, cycles within 5 s would offer nothing).
 *
 * Prints one line per figure:
 *   ENGINE add-agents 10000 <ms> ms
 *   ENGINE cycle agents=10000 frameworks=1000 <ms> ms      (median allocate() of the measured cycles)
 *   ENGINE decline agents=10000 frameworks=1000 <ms> ms    (median time to recover every offer)
 *
 * and, for comparison with Mesos's own benchmark of that name (200 frameworks in role "*", 2000 agents
 * each with 16 cpus, some memory and disk and 16 ports in use, every offer declined for good with
 * refuse_seconds INT_MAX, 400 rounds):
 *   ENGINE mesos-decline-offers agents=2000 frameworks=200 rounds=400 median=<ms> ms max=<ms> ms total=<ms> ms
 *
 * and Mesos's LargeAndSmallQuota shape, as `npm run bench -- drf` runs it through gRPC: 3000 agents of
 * cpus:48;mem:8192;disk:4096, 3000 roles with quota guarantees (even roles cpus:24;mem:4096, odd ones
 * cpus:1;mem:128), one framework per role, loaded by snapshot; every offer is declined
 * (refuse_seconds 0) and the next cycle re-offers everything:
 *   ENGINE quota agents=3000 roles=3000 cycle <ms> ms (median; rounds ...)
 *
 * and headroom held back on most of the cluster: 3000 such agents, a suppressed role guaranteed 60% of
 * them, 3000 other roles with a framework each declining every offer (refuse_seconds 0):
 *   ENGINE quota-headroom agents=3000 roles=3000 cycle <ms> ms (median; rounds ...)
 *
 * and the sorter alone: one "visit the first client in DRF order, charge it, end the walk" step, the
 * sorter's share of every agent of a cycle, among 5000 hierarchical roles:
 *   ENGINE sorter clients=5000 walk+allocate <ns> ns/op
 *
 * Run: npx esbuild modules/allocator-drf/bench/engine-bench.ts --bundle --platform=node \
 *        --outfile=/tmp/engine-bench.js && node /tmp/engine-bench.js
 * Optional arguments: `agents frameworks` pairs to run instead of the defaults, e.g. `2000 200`, or
 * `quota [agents roles]` to run only the two quota scenarios (for profiling).
 */
import { DrfAllocator, DrfSorter, parseResources, Resources, ShareBasis } from '../src/engine';
import type { Allocation } from '../src/engine';

const AGENT_RESOURCES = parseResources('cpus:24;mem:4096;disk:4096;ports:[31000-32000]');
const CYCLES = 7;

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

function addFrameworks(engine: DrfAllocator, frameworks: number): void {
  for (let i = 0; i < frameworks; i++) {
    engine.addFramework({ info: { id: `framework-${i}`, roles: [`role-${i}`] }, active: true });
  }
}

function addAgents(engine: DrfAllocator, agents: number): number {
  const t0 = now();
  for (let i = 0; i < agents; i++) {
    engine.addAgent({ info: { id: `agent-${i}`, hostname: `host-${i}` }, total: AGENT_RESOURCES, active: true });
  }
  return now() - t0;
}

function declineAll(engine: DrfAllocator, offers: Allocation[], clockMs: number): void {
  for (const o of offers) engine.recoverResources(o.frameworkId, o.agentId, o.resources, { refuseSeconds: 0 }, clockMs);
}

function run(agents: number, frameworks: number, reportAdd: boolean): void {
  const engine = new DrfAllocator();
  addFrameworks(engine, frameworks);
  const addMs = addAgents(engine, agents);
  if (reportAdd) console.log(`ENGINE add-agents ${agents} ${addMs.toFixed(1)} ms`);
  const cycleMs: number[] = [];
  const declineMs: number[] = [];
  let clock = 1_000_000;
  // The first cycle warms up the JIT and is not counted.
  for (let c = 0; c <= CYCLES; c++) {
    clock += 1000;
    const t0 = now();
    const offers = engine.allocate(clock);
    const t1 = now();
    if (offers.length !== agents) throw new Error(`expected one offer per agent, got ${offers.length}`);
    declineAll(engine, offers, clock);
    const t2 = now();
    if (c > 0) {
      cycleMs.push(t1 - t0);
      declineMs.push(t2 - t1);
    }
  }
  console.log(`ENGINE cycle agents=${agents} frameworks=${frameworks} ${median(cycleMs).toFixed(1)} ms`);
  console.log(`ENGINE decline agents=${agents} frameworks=${frameworks} ${median(declineMs).toFixed(1)} ms`);
}

/** Mesos's HierarchicalAllocator_BENCHMARK_Test.DeclineOffers, driven through the engine. */
function mesosDeclineOffers(agents: number, frameworks: number): void {
  const engine = new DrfAllocator();
  for (let i = 0; i < frameworks; i++) engine.addFramework({ info: { id: `framework-${i}`, roles: ['*'] }, active: true });
  const ports = Array.from({ length: 16 }, (_, k) => `${31000 + k * 60}-${31000 + k * 60}`).join(',');
  const used = parseResources(`cpus:16;mem:2014;disk:1024;ports:[${ports}]`).map((r) => ({ ...r, allocationInfo: { role: '*' } }));
  for (let i = 0; i < agents; i++) {
    engine.addAgent({
      info: { id: `agent-${i}` },
      total: AGENT_RESOURCES,
      used: [{ frameworkId: `framework-${i % frameworks}`, resources: used }],
      active: true,
    });
  }
  let clock = 1_000_000;
  let offers: Allocation[] = [];
  const times: number[] = [];
  const rounds = frameworks * 2;
  for (let round = 0; round < rounds; round++) {
    for (const o of offers) engine.recoverResources(o.frameworkId, o.agentId, o.resources, { refuseSeconds: 2 ** 31 - 1 }, clock);
    clock += 1000;
    const t0 = now();
    offers = engine.allocate(clock);
    times.push(now() - t0);
  }
  const max = Math.max(...times);
  const total = times.reduce((a, b) => a + b, 0);
  console.log(
    `ENGINE mesos-decline-offers agents=${agents} frameworks=${frameworks} rounds=${rounds} ` +
      `median=${median(times).toFixed(1)} ms max=${max.toFixed(1)} ms (round ${times.indexOf(max)}) total=${total.toFixed(1)} ms`,
  );
}

/** Mesos's LargeAndSmallQuota shape; see the module comment. */
function quotaRoles(agents: number, roles: number, rounds = CYCLES): void {
  const scalar = (name: string, value: number) => ({ name, type: 'SCALAR' as const, scalar: { value } });
  const total = [scalar('cpus', 48), scalar('mem', 8192), scalar('disk', 4096)];
  const engine = new DrfAllocator();
  engine.loadSnapshot({
    quotas: Array.from({ length: roles }, (_, i) => ({
      role: `role-${i}`,
      guarantees: i % 2 === 0 ? [scalar('cpus', 24), scalar('mem', 4096)] : [scalar('cpus', 1), scalar('mem', 128)],
      limits: [],
    })),
    agents: Array.from({ length: agents }, (_, i) => ({ info: { id: `agent-${i}`, hostname: `host-${i}` }, total, active: true })),
    frameworks: Array.from({ length: roles }, (_, i) => ({ info: { id: `framework-${i}`, roles: [`role-${i}`] }, active: true })),
  });
  let clock = 1_000_000;
  let offers = engine.allocate(clock);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    declineAll(engine, offers, clock);
    clock += 1000;
    const t0 = now();
    offers = engine.allocate(clock);
    times.push(now() - t0);
    if (offers.length !== agents) throw new Error(`expected one offer per agent, got ${offers.length}`);
  }
  console.log(`ENGINE quota agents=${agents} roles=${roles} cycle ${median(times).toFixed(1)} ms (rounds ${times.map((t) => t.toFixed(0)).join(', ')})`);
}

/** Headroom for a suppressed guaranteed role held back on most agents; see the module comment. */
function quotaHeadroom(agents: number, roles: number, rounds = CYCLES): void {
  const engine = new DrfAllocator();
  engine.updateQuota('held', parseResources(`cpus:${48 * agents * 0.6};mem:${8192 * agents * 0.6}`), []);
  engine.addFramework({ info: { id: 'held-framework', roles: ['held'] }, active: true, suppressedRoles: ['held'] });
  for (let i = 0; i < roles; i++) engine.addFramework({ info: { id: `framework-${i}`, roles: [`role-${i}`] }, active: true });
  const total = parseResources('cpus:48;mem:8192;disk:4096');
  for (let i = 0; i < agents; i++) engine.addAgent({ info: { id: `agent-${i}` }, total, active: true });
  let clock = 1_000_000;
  let offers = engine.allocate(clock);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    declineAll(engine, offers, clock);
    clock += 1000;
    const t0 = now();
    offers = engine.allocate(clock);
    times.push(now() - t0);
  }
  console.log(`ENGINE quota-headroom agents=${agents} roles=${roles} cycle ${median(times).toFixed(1)} ms (rounds ${times.map((t) => t.toFixed(0)).join(', ')})`);
}

/** The sorter's incremental update: per step, take the first client of a walk and charge it. */
function sorterSteps(clients: number, steps: number): void {
  const basis = new ShareBasis();
  basis.update(Resources.fromProto(parseResources(`cpus:${24 * steps};mem:${4096 * steps}`)), 1);
  const sorter = new DrfSorter<number>(basis, true);
  for (let i = 0; i < clients; i++) sorter.activate(sorter.add(`group-${i % 50}/role-${i}`, i));
  const agent = Resources.fromProto(AGENT_RESOURCES);
  const t0 = now();
  for (let i = 0; i < steps; i++) {
    sorter.beginWalk();
    const first = sorter.nextInWalk()!;
    sorter.allocated(first, agent, 1);
    sorter.endWalk();
  }
  const ns = ((now() - t0) * 1e6) / steps;
  console.log(`ENGINE sorter clients=${clients} walk+allocate ${ns.toFixed(0)} ns/op`);
}

function main(): void {
  if (process.argv[2] === 'quota') {
    const [agents, roles] = process.argv.slice(3).map(Number);
    quotaRoles(agents || 3000, roles || 3000);
    quotaHeadroom(agents || 3000, roles || 3000);
    return;
  }
  const args = process.argv.slice(2).map(Number);
  if (args.length >= 2) {
    for (let i = 0; i + 1 < args.length; i += 2) run(args[i], args[i + 1], true);
    return;
  }
  run(10_000, 1_000, true);
  run(50_000, 5_000, false);
  mesosDeclineOffers(2_000, 200);
  quotaRoles(3_000, 3_000);
  quotaHeadroom(3_000, 3_000);
  sorterSteps(5_000, 200_000);
}

main();
