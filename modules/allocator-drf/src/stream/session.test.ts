import { TesseraError, type AllocatorInput, type AllocatorOutput, type Logger } from '@tessera/modules-api';
import { parseResources } from '../engine/resource-text';
import { agentMsg, frameworkMsg, qty } from '../engine/test-support';
import { resolveParameters } from '../parameters';
import { Channel } from './channel';
import { AllocatorSession, OFFERS_CHUNK } from './session';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

// A session fed by a channel the test writes, with its outputs collected as they come.
function open(params: Parameters<typeof resolveParameters>[0] = {}) {
  const inputs = new Channel<AllocatorInput>();
  const session = new AllocatorSession(resolveParameters({ allocation_interval: '1h', event_batch_window: '20ms', ...params }), { log: quiet });
  const outputs: AllocatorOutput[] = [];
  let seq = 0;
  let error: unknown;
  const done = (async () => {
    try {
      for await (const o of session.run(inputs)) outputs.push(o);
    } catch (err) {
      error = err;
    }
  })();
  const send = (input: Omit<AllocatorInput, 'seq'>) => inputs.push({ seq: ++seq, ...input });
  const cycleDone = (n: number) => outputs.filter((o) => o.cycleDone).length >= n;
  const until = async (cond: () => boolean, ms = 2000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting for the session');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const offers = () => outputs.flatMap((o) => o.offers?.allocations ?? []);
  return { session, inputs, outputs, send, cycleDone, until, offers, done, error: () => error, lastSeq: () => seq };
}

const snapshot = (agents = 1, frameworks = 1) => ({
  snapshot: {
    agents: Array.from({ length: agents }, (_, i) => agentMsg(`a${i}`, 'cpus:4;mem:4096')),
    frameworks: Array.from({ length: frameworks }, (_, i) => frameworkMsg(`f${i}`, ['*'])),
  },
});

describe('allocator stream session', () => {
  it('refuses a stream whose first input is not a snapshot, naming what came instead', async () => {
    const s = open();
    s.send({ addAgent: agentMsg('a1', 'cpus:1;mem:128') });
    await s.done;
    expect(s.error()).toBeInstanceOf(TesseraError);
    expect((s.error() as TesseraError).code).toBe('TSR_INVALID_ARGUMENT');
    expect((s.error() as TesseraError).message).toMatch(/first input .* must be a snapshot, got add_agent \(seq 1\)/);
  });

  it('answers a tick with its offers, then a CycleDone naming the tick', async () => {
    const s = open();
    s.send(snapshot(2, 1));
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.cycleDone(1));
    const done = s.outputs.find((o) => o.cycleDone)!;
    expect(done.cycleDone).toMatchObject({ seq: 2, allocations: 2 });
    expect(done.seq).toBe(2);
    expect(s.offers().map((o) => o.agentId).sort()).toEqual(['a0', 'a1']);
    expect(qty(s.offers()[0].resources!)).toEqual({ cpus: 4, mem: 4096 });
    s.inputs.close();
    await s.done;
  });

  it('batches a burst of events into one cycle', async () => {
    const s = open();
    s.send(snapshot(0, 1));
    await s.until(() => s.cycleDone(1));
    const before = s.session.cycles;
    for (let i = 0; i < 200; i++) s.send({ addAgent: agentMsg(`b${i}`, 'cpus:1;mem:256') });
    await s.until(() => s.cycleDone(2));
    await new Promise((r) => setTimeout(r, 60));
    expect(s.session.cycles - before).toBe(1);
    const last = s.outputs.filter((o) => o.cycleDone).pop()!;
    expect(last.cycleDone!.allocations).toBe(200);
    expect(last.seq).toBe(s.lastSeq());
    s.inputs.close();
    await s.done;
  });

  it('runs no cycle for recovered resources: declined offers wait for the next tick, as in Mesos', async () => {
    const s = open({ event_batch_window: '0ms' });
    s.send(snapshot(200, 1));
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.cycleDone(1));
    const before = s.session.cycles;
    // A scheduler that declines everything with refuse_seconds 0 used to be re-offered the same
    // agents within milliseconds, over and over.
    for (const o of s.offers()) s.send({ recoverResources: { frameworkId: o.frameworkId, agentId: o.agentId, resources: o.resources, filters: { refuseSeconds: 0 } } });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.session.cycles).toBe(before);
    expect(s.offers()).toHaveLength(200);
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.cycleDone(2));
    expect(s.outputs.filter((o) => o.cycleDone).pop()!.cycleDone!.allocations).toBe(200);
    s.inputs.close();
    await s.done;
  });

  it('keeps a short refusal in force until the next full cycle is due, at the pace of the core\'s ticks', async () => {
    const s = open({ allocation_interval: '20ms', event_batch_window: '0ms' });
    s.send(snapshot(1, 1));
    await s.until(() => s.cycleDone(1));
    const first = s.offers()[0];
    // The core ticks 200 ms apart, so the module waits up to 300 ms for a full cycle: the shortest filter.
    s.send({ tick: { agentIds: [] } });
    await new Promise((r) => setTimeout(r, 200));
    s.send({ tick: { agentIds: [] } });
    s.send({ recoverResources: { frameworkId: first.frameworkId, agentId: first.agentId, resources: first.resources, filters: { refuseSeconds: 0.01 } } });
    const declined = s.lastSeq();
    await new Promise((r) => setTimeout(r, 100));
    // A 10 ms filter would have expired by this tick.
    s.send({ tick: { agentIds: [] } });
    const tick = s.lastSeq();
    await s.until(() => s.outputs.some((o) => o.cycleDone && o.seq! >= tick));
    expect(s.offers()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.offers().length === 2, 1000);
    expect(s.outputs.filter((o) => o.offers).pop()!.seq).toBeGreaterThan(declined);
    s.inputs.close();
    await s.done;
  });

  it('runs a cycle for a new agent without a tick', async () => {
    const s = open();
    s.send(snapshot(0, 1));
    await s.until(() => s.cycleDone(1)); // the snapshot's own cycle, with nothing to offer
    s.send({ addAgent: agentMsg('late', 'cpus:2;mem:512') });
    await s.until(() => s.offers().some((o) => o.agentId === 'late'));
    s.inputs.close();
    await s.done;
  });

  it('runs full cycles on its own timer when the core sends no ticks', async () => {
    const s = open({ allocation_interval: '30ms', event_batch_window: '0ms' });
    s.send(snapshot(1, 1));
    await s.until(() => s.cycleDone(1));
    const first = s.offers()[0];
    s.send({ recoverResources: { frameworkId: first.frameworkId, agentId: first.agentId, resources: first.resources, filters: { refuseSeconds: 0.05 } } });
    // The declined resources are filtered for 50 ms; only the interval cycle after that offers them again.
    await s.until(() => s.offers().length >= 2, 1000);
    expect(s.session.cycles).toBeGreaterThanOrEqual(3);
    s.inputs.close();
    await s.done;
  });

  it('lets a core that ticks more slowly than allocation_interval set the pace (the master\'s --allocation_interval)', async () => {
    const s = open({ allocation_interval: '20ms', event_batch_window: '0ms' });
    s.send(snapshot(1, 1));
    await s.until(() => s.cycleDone(1));
    // The core ticks every 300 ms: after two ticks the module's timer waits 1.5 times that, so only ticks cycle.
    for (let i = 0; i < 3; i++) {
      s.send({ tick: { agentIds: [] } });
      await new Promise((r) => setTimeout(r, 300));
    }
    const before = s.session.cycles;
    s.send({ tick: { agentIds: [] } });
    await new Promise((r) => setTimeout(r, 200));
    expect(s.session.cycles - before).toBe(1); // the tick's cycle; a 20 ms timer would have run about 10
    // A core that stops ticking still gets cycles, after 1.5 times its spacing.
    await s.until(() => s.session.cycles - before >= 2, 1000);
    s.inputs.close();
    await s.done;
  });

  it('sends large cycles in chunks of at most OFFERS_CHUNK allocations', async () => {
    const s = open();
    s.send(snapshot(OFFERS_CHUNK + 5, 1));
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.cycleDone(1));
    const sizes = s.outputs.filter((o) => o.offers).map((o) => o.offers!.allocations!.length);
    expect(sizes).toEqual([OFFERS_CHUNK, 5]);
    s.inputs.close();
    await s.done;
  });

  it('fails the stream on an input that contradicts the state, naming its seq and kind', async () => {
    const s = open();
    s.send(snapshot(1, 1));
    s.send({ updateWeights: { weights: [{ role: 'eng', weight: -1 }] } });
    await s.done;
    expect((s.error() as TesseraError).code).toBe('TSR_INVALID_ARGUMENT');
    expect((s.error() as TesseraError).message).toMatch(/input seq 2 \(update_weights\): .*finite weight > 0/);
  });

  it('a paused allocator answers ticks with empty cycles until resumed', async () => {
    const s = open();
    s.send({ snapshot: { ...snapshot(1, 1).snapshot, paused: true } });
    s.send({ tick: { agentIds: [] } });
    await s.until(() => s.cycleDone(1));
    expect(s.offers()).toEqual([]);
    s.send({ resume: {} });
    await s.until(() => s.offers().length === 1);
    s.inputs.close();
    await s.done;
  });
});

describe('parameters', () => {
  it('reads Mesos-style durations and minimum allocatable resources', () => {
    const s = resolveParameters({ allocation_interval: '2secs', event_batch_window: '500us', min_allocatable_resources: 'cpus:0.5;mem:64|disk:10', fair_sharing_excluded_resource_names: 'gpus, fpgas' });
    expect(s.allocationIntervalMs).toBe(2000);
    expect(s.eventBatchWindowMs).toBe(0.5);
    expect(s.engine.minAllocatableResources).toEqual([{ cpus: 0.5, mem: 64 }, { disk: 10 }]);
    expect(s.engine.fairnessExcludeResourceNames).toEqual(['gpus', 'fpgas']);
    expect(s.engine.filterGpuResources).toBe(true);
  });

  it('names the parameter and the expected form in its errors', () => {
    expect(() => resolveParameters({ allocation_interval: 'soon' })).toThrow(/parameter allocation_interval: "soon" is not a duration such as "1s"/);
    expect(() => resolveParameters({ allocation_interval: 0 })).toThrow(/allocation_interval: must be longer than 0/);
    expect(() => resolveParameters({ min_allocatable_resources: 'cpus=1' })).toThrow(/min_allocatable_resources: "cpus=1" is not name:quantity/);
  });
});

describe('batches (ABI 1.1)', () => {
  it('applies a batch in order, as if its inputs came one by one, and answers with the batch seq', async () => {
    const s = open();
    s.send(snapshot(0, 1));
    await s.until(() => s.cycleDone(1));
    s.inputs.push({ seq: 5, batch: { inputs: [2, 3, 4].map((i) => ({ seq: i, addAgent: agentMsg(`b${i}`, 'cpus:1;mem:256') })).concat([{ seq: 5, tick: { agentIds: [] } } as never]) } });
    await s.until(() => s.cycleDone(2));
    const done = s.outputs.filter((o) => o.cycleDone).pop()!;
    expect(done.seq).toBe(5);
    expect(s.offers().map((o) => o.agentId).sort()).toEqual(['b2', 'b3', 'b4']);
    s.inputs.close();
    await s.done;
  });

  it('names the input inside a batch that failed', async () => {
    const s = open();
    s.send(snapshot(1, 1));
    s.inputs.push({ seq: 4, batch: { inputs: [{ seq: 2, removeAgent: { agentId: 'a0' } }, { seq: 3, updateAllocation: { frameworkId: 'f0', agentId: 'a0', role: '*', resources: [] } }, { seq: 4, tick: {} }] } });
    await s.done;
    expect((s.error() as TesseraError).message).toMatch(/input seq 3 \(update_allocation, in a batch\): updateAllocation: unknown agent 'a0'/);
  });
});

describe('quota inputs', () => {
  const quota = (role: string, guarantees: string) => ({ role, guarantees: parseResources(guarantees), limits: [] });

  it("fails the stream on a quota that breaks the hierarchical rules, naming the seq, the roles and the amounts", async () => {
    const s = open();
    s.send(snapshot(1, 1));
    s.send({ updateQuota: quota('eng', 'cpus:2') });
    s.send({ updateQuota: quota('eng/ml', 'cpus:8') });
    await s.done;
    expect((s.error() as TesseraError).code).toBe('TSR_INVALID_ARGUMENT');
    expect((s.error() as TesseraError).message).toMatch(
      /input seq 3 \(update_quota\): updateQuota: role 'eng' with guarantees cpus:2 does not contain the sum of its children's guarantees cpus:8 \('eng\/ml' cpus:8\)/,
    );
  });

  it('checks quota updates that come back to back in a batch together', async () => {
    const s = open();
    s.send(snapshot(2, 0));
    s.send({ updateQuota: quota('p', 'cpus:2;mem:1') });
    s.send({ updateQuota: quota('p/c', 'cpus:2') });
    // Valid only together: neither alone fits the other's current quota.
    s.inputs.push({ seq: 6, batch: { inputs: [{ seq: 4, updateQuota: quota('p', 'cpus:1;mem:2') }, { seq: 5, updateQuota: quota('p/c', 'mem:2') }, { seq: 6, tick: {} }] } });
    await s.until(() => s.outputs.some((o) => o.cycleDone?.seq === 6));
    s.inputs.push({ seq: 8, batch: { inputs: [{ seq: 7, updateQuota: quota('p', '') }, { seq: 8, updateQuota: quota('p/c', 'cpus:1') }] } });
    await s.done;
    expect((s.error() as TesseraError).message).toMatch(/inputs seq 7-8 \(2 update_quota checked together, in a batch\): updateQuotas: role 'p' with guarantees none/);
  });
});

