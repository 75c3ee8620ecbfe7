// `npm run bench -- drf`: the allocator-drf module in its own process, driven through the real gRPC
// Allocate stream, in the shape of Mesos's allocator benchmarks (issue "allocator-drf"):
// - drf-add-10k-agents: 1,000 frameworks subscribed; 10,000 AddAgent inputs, then one tick that offers
//   every agent; timed from the first AddAgent sent to the CycleDone received.
// - drf-cycle-*: Mesos's DeclineOffers shape: every framework declines every offer (refuse_seconds 0),
//   the declines are settled (a barrier tick over no agent), then one timed cycle re-offers everything;
//   timed from the tick sent to its CycleDone received, all offers decoded on the way. Median of rounds.
// - drf-quota-3k-roles: Mesos's LargeAndSmallQuota shape: 3,000 agents, 3,000 roles with quota
//   guarantees (half large, half small), one framework per role; the same decline-and-reoffer cycle.
// The module runs with cycles driven by ticks only (as Mesos's benchmarks pause the clock).
import fs from 'node:fs';
import path from 'node:path';
import type { Allocation, AllocatorAgent, AllocatorFramework, Resource, Snapshot } from '@tessera/modules-api';
import { AllocatorLink, type AllocatorEvent } from '../../core/src/allocator/allocator-link';
import { createLog } from '../../core/src/log';
import type { ManagedModule } from '../../core/src/modules/managed-module';
import { ModuleHost } from '../../core/src/modules/module-host';
import { parseModulesJson } from '../../core/src/modules/modules-json';

// npm runs benchmarks from the repository root; the bundle itself lives in the temp dir.
const MODULE = path.resolve('modules/allocator-drf/dist/module.js');

const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });
const AGENT_RESOURCES: Resource[] = [scalar('cpus', 24), scalar('mem', 4096), scalar('disk', 4096), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } }];

const agent = (i: number, resources = AGENT_RESOURCES): AllocatorAgent => ({ info: { id: `agent-${i}`, hostname: `host-${i}` }, total: resources, active: true });
const framework = (i: number, role = '*'): AllocatorFramework => ({ info: { id: `framework-${i}`, name: `fw${i}`, roles: [role] }, active: true });

// Driver talks to the module the way the master does: through the core's AllocatorLink (inputs of one
// turn leave as one batch message), collecting each cycle's offers up to its CycleDone.
class Driver {
  private offers: Allocation[] = [];
  private waiting: { seq: number; resolve: (a: Allocation[]) => void } | undefined;
  private state: Snapshot = {};
  readonly link: AllocatorLink;

  constructor(module: ManagedModule) {
    this.link = new AllocatorLink({
      module,
      snapshot: () => this.state,
      onOffers: (allocations) => {
        for (const a of allocations) this.offers.push(a);
      },
      onCycleDone: (done) => {
        if (!this.waiting || (done.seq ?? 0) < this.waiting.seq) return;
        const w = this.waiting;
        this.waiting = undefined;
        const got = this.offers;
        this.offers = [];
        w.resolve(got);
      },
      log: createLog({ level: 'warn' }),
    });
  }

  /** Opens a new stream that starts from `state`. */
  open(state: Snapshot): void {
    this.state = state;
    this.offers = [];
    this.link.open();
  }

  send(input: AllocatorEvent): void {
    this.link.send(input);
  }

  /** Sends a tick and resolves with everything offered up to its CycleDone. */
  tick(): Promise<Allocation[]> {
    const seq = this.link.tick();
    return new Promise<Allocation[]>((resolve) => (this.waiting = { seq, resolve }));
  }

  /**
   * Declines every allocation (refuse_seconds 0) and waits until the module applied them all: the
   * declines go in while allocation is paused, and a tick (answered by an empty cycle while paused)
   * is the barrier, as Mesos's benchmark settles the declines before its timed cycle.
   */
  async declineAll(allocations: Allocation[]): Promise<void> {
    this.send({ pause: {} });
    for (const a of allocations) this.send({ recoverResources: { frameworkId: a.frameworkId, agentId: a.agentId, resources: a.resources, filters: { refuseSeconds: 0 } } });
    await this.tick();
  }

  /** Resumes allocation and runs one cycle; resolves with its offers. */
  resumeAndTick(): Promise<Allocation[]> {
    this.send({ resume: {} });
    return this.tick();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(name: string, ms: number, target: number, baseline?: { label: string; ms: number }): void {
  const vsBaseline = baseline ? `; ${baseline.label} ${baseline.ms} ms = ${(baseline.ms / ms).toFixed(1)}x faster` : '';
  console.log(`BENCH ${name} ${ms.toFixed(1)} ms (target <= ${target} ms: ${(ms / target).toFixed(2)} of target, ${ms <= target ? 'met' : 'NOT met'}${vsBaseline})`);
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// declineRounds runs the DeclineOffers cycle `rounds` times and returns the cycle times.
async function declineRounds(s: Driver, first: Allocation[], rounds: number, expected: number): Promise<number[]> {
  let offers = first;
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await s.declineAll(offers);
    const t = performance.now();
    offers = await s.resumeAndTick();
    times.push(performance.now() - t);
    if (offers.length !== expected) throw new Error(`round ${r}: expected ${expected} offers (one per agent), got ${offers.length}`);
  }
  return times;
}

async function main(): Promise<void> {
  if (!fs.existsSync(MODULE)) throw new Error(`${MODULE} is missing: run \`npm run build\` first`);
  const modulesJson = JSON.stringify({ modules: [{ name: 'drf', file: MODULE, parameters: { allocation_interval: '1h', event_batch_window: '1h' } }] });
  const host = new ModuleHost({ config: parseModulesJson(modulesJson, 'bench modules.json', process.cwd()), log: createLog({ level: 'warn' }) });
  await host.start();
  const module = host.get('drf');
  const d = new Driver(module);
  try {
    // 10k agents, 1k frameworks.
    d.open({ frameworks: Array.from({ length: 1000 }, (_, i) => framework(i)) });
    await d.tick();
    let t = performance.now();
    for (let i = 0; i < 10_000; i++) d.send({ addAgent: agent(i) });
    let offers = await d.tick();
    report('drf-add-10k-agents', performance.now() - t, 500, { label: 'Mesos 1.8', ms: 1600 });
    if (offers.length !== 10_000) throw new Error(`expected 10000 offers after adding the agents, got ${offers.length}`);
    const cycle10k = await declineRounds(d, offers, 5, 10_000);
    report('drf-cycle-10k-agents-1k-frameworks', median(cycle10k), 100, { label: 'Mesos 1.8', ms: 1100 });
    console.log(`  rounds: ${cycle10k.map((x) => x.toFixed(0)).join(', ')} ms; Mesos 1.6: 6300 ms`);

    // 50k agents, 5k frameworks, loaded by snapshot (as after an allocator restart).
    t = performance.now();
    d.open({ agents: Array.from({ length: 50_000 }, (_, i) => agent(i)), frameworks: Array.from({ length: 5000 }, (_, i) => framework(i)) });
    offers = await d.tick();
    console.log(`  snapshot of 50k agents and 5k frameworks + first cycle: ${(performance.now() - t).toFixed(0)} ms`);
    const cycle50k = await declineRounds(d, offers, 3, 50_000);
    report('drf-cycle-50k-agents-5k-frameworks', median(cycle50k), 1000);
    console.log(`  rounds: ${cycle50k.map((x) => x.toFixed(0)).join(', ')} ms`);

    // 3k agents, 3k roles with quota (half large, half small guarantees), one framework per role.
    const quotas = Array.from({ length: 3000 }, (_, i) => ({ role: `role-${i}`, guarantees: i % 2 === 0 ? [scalar('cpus', 24), scalar('mem', 4096)] : [scalar('cpus', 1), scalar('mem', 128)], limits: [] }));
    d.open({
      agents: Array.from({ length: 3000 }, (_, i) => agent(i, [scalar('cpus', 48), scalar('mem', 8192), scalar('disk', 4096)])),
      frameworks: Array.from({ length: 3000 }, (_, i) => framework(i, `role-${i}`)),
      quotas,
    });
    offers = await d.tick();
    const quotaTimes: number[] = [];
    for (let r = 0; r < 3; r++) {
      await d.declineAll(offers);
      const t0 = performance.now();
      offers = await d.resumeAndTick();
      quotaTimes.push(performance.now() - t0);
    }
    report('drf-quota-3k-roles', median(quotaTimes), 500, { label: "Mesos's LargeAndSmallQuota", ms: 14_000 });
    console.log(`  rounds: ${quotaTimes.map((x) => x.toFixed(0)).join(', ')} ms; ${offers.length} offers per cycle`);

    console.log(`BENCH drf-module-peak-rss ${peakRssMiB(module.pid!).toFixed(0)} MiB (allocator module process, VmHWM over all scenarios)`);
  } finally {
    d.link.close();
    await host.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench drf failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
