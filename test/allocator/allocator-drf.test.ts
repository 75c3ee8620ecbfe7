// @tessera/allocator-drf as the master runs it: a real module process behind the module host, spoken to
// through the core's AllocatorLink, killed and restarted under it.
import path from 'node:path';
import { runConformance, TesseraError, type Allocation, type CoreAbi, type Kind, type Resource, type Snapshot } from '@tessera/modules-api';
import { AllocatorLink } from '../../core/src/allocator/allocator-link';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { ModuleHost } from '../../core/src/modules/module-host';
import { captureLog, ROOT, waitFor, writeModulesJson } from '../modules/helpers';

const MODULE = path.join(ROOT, 'modules/allocator-drf/dist/module.js');
const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value } });
const cpusOf = (rs: readonly Resource[] = []) => rs.filter((r) => r.name === 'cpus').reduce((n, r) => n + (r.scalar?.value ?? 0), 0);

const hosts: ModuleHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

function host(parameters: object, core?: CoreAbi) {
  const { log, lines } = captureLog();
  const h = new ModuleHost({ config: loadModulesJson(writeModulesJson({ modules: [{ name: 'drf', file: MODULE, parameters }] })), log, core });
  hosts.push(h);
  return { host: h, log, lines };
}

// The part of a master's state the allocator needs, with the invariant "never offered twice" checked on
// every decision the allocator sends.
class MasterState {
  readonly outstanding = new Map<string, Allocation>();
  readonly agents = Array.from({ length: 10 }, (_, i) => `a${i}`);
  doubled: string[] = [];

  snapshot(): Snapshot {
    return {
      agents: this.agents.map((id) => ({ info: { id, hostname: id }, total: [scalar('cpus', 4), scalar('mem', 4096)], active: true })),
      frameworks: ['f0', 'f1'].map((id) => ({ info: { id, roles: ['*'] }, active: true })),
      outstandingOffers: [...this.outstanding.values()],
    };
  }

  onOffers(allocations: Allocation[]): void {
    for (const a of allocations) {
      const key = `${a.agentId}`;
      if (this.outstanding.has(key)) this.doubled.push(`${key} offered to ${a.frameworkId} while outstanding with ${this.outstanding.get(key)!.frameworkId}`);
      this.outstanding.set(key, a);
    }
  }
}

describe('allocator-drf module', () => {
  it('passes the allocator conformance kit', async () => {
    const report = await runConformance({ kind: 'allocator', module: { command: process.execPath, args: [MODULE] } });
    expect(report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
  }, 60_000);

  it('neither loses nor doubles an offer when it is killed and restarted mid-stream', async () => {
    // Declines do not trigger cycles within the test (long batch window): only ticks allocate.
    const { host: h, log } = host({ allocation_interval: '1h', event_batch_window: '1h' });
    await h.start();
    const module = h.get('drf');
    const master = new MasterState();
    const link = new AllocatorLink({ module, snapshot: () => master.snapshot(), onOffers: (a) => master.onOffers(a), log });
    try {
      link.open();
      link.tick();
      await waitFor(() => master.outstanding.size === 10, 10_000, 'offers of all 10 agents');

      // Frameworks decline the offers of five agents; the allocator learns it, then dies before any cycle.
      const declined = master.agents.slice(0, 5);
      for (const id of declined) {
        const a = master.outstanding.get(id)!;
        master.outstanding.delete(id);
        link.send({ recoverResources: { frameworkId: a.frameworkId, agentId: id, resources: a.resources, filters: { refuseSeconds: 0 } } });
      }
      const pid = module.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => module.restartCount === 1 && module.status === 'ready' && link.streamsOpened === 2, 15_000, 'restart and a new stream');
      expect(module.pid).not.toBe(pid);

      link.tick();
      await waitFor(() => master.outstanding.size === 10, 10_000, 'the declined agents offered again');
      expect(master.doubled).toEqual([]);
      expect([...master.outstanding.values()].reduce((n, a) => n + cpusOf(a.resources), 0)).toBe(40);
      // Another tick offers nothing: everything is outstanding.
      const before = new Map(master.outstanding);
      link.tick();
      await new Promise((r) => setTimeout(r, 300));
      expect(master.doubled).toEqual([]);
      expect(master.outstanding).toEqual(before);
    } finally {
      link.close();
    }
  }, 60_000);

  it('reopens the stream with a fresh snapshot after it refused an input', async () => {
    const { host: h, log, lines } = host({ allocation_interval: '1h' });
    await h.start();
    const master = new MasterState();
    const opened: boolean[] = [];
    const link = new AllocatorLink({ module: h.get('drf'), snapshot: () => master.snapshot(), onOffers: (a) => master.onOffers(a), onStream: (e) => opened.push(e.opened), log, reopenDelayMs: 50 });
    try {
      link.open();
      link.send({ updateWeights: { weights: [{ role: 'eng', weight: -2 }] } });
      await waitFor(() => link.streamsOpened === 2, 5000, 'the stream reopened');
      expect(opened).toEqual([true, false, true]);
      expect(lines.join('\n')).toMatch(/allocator stream ended: TSR_INVALID_ARGUMENT: .*update_weights.*finite weight > 0/);
      link.tick();
      await waitFor(() => master.outstanding.size === 10, 5000, 'offers on the new stream');
    } finally {
      link.close();
    }
  }, 30_000);

  it.each([
    ['1.1 (bursts leave as batches)', undefined],
    ['1.0 (no batch in that ABI: one message per input)', { version: 'abi-1.0', abi: { allocator: ['1.0.0'] } as unknown as Record<Kind, string[]> }],
  ])('re-offers a burst of 2,000 declines on a core speaking allocator ABI %s', async (_label, core) => {
    const { host: h, log } = host({ allocation_interval: '1h', event_batch_window: '1h' }, core);
    await h.start();
    expect(h.get('drf').negotiated.get('allocator')!.version).toBe(core ? '1.0.0' : '1.1.0');
    const master = new MasterState();
    master.agents.push(...Array.from({ length: 1990 }, (_, i) => `b${i}`));
    const link = new AllocatorLink({ module: h.get('drf'), snapshot: () => master.snapshot(), onOffers: (a) => master.onOffers(a), log });
    try {
      link.open();
      link.tick();
      await waitFor(() => master.outstanding.size === 2000, 10_000, 'offers of all 2,000 agents');
      for (const a of [...master.outstanding.values()]) {
        master.outstanding.delete(a.agentId!);
        link.send({ recoverResources: { frameworkId: a.frameworkId, agentId: a.agentId, resources: a.resources, filters: { refuseSeconds: 0 } } });
      }
      link.tick();
      await waitFor(() => master.outstanding.size === 2000, 10_000, 'every declined agent offered again');
      expect(master.doubled).toEqual([]);
    } finally {
      link.close();
    }
  }, 60_000);

  it('offers declined resources again at the next tick, not at once (no offer storm on refuse_seconds 0)', async () => {
    // A short batch window: before, every decline asked for a cycle within it, and a scheduler that
    // declined with refuse_seconds 0 was re-offered the same agent ~190 times a second.
    const { host: h, log } = host({ allocation_interval: '1h', event_batch_window: '0ms' });
    await h.start();
    const master = new MasterState();
    const link = new AllocatorLink({ module: h.get('drf'), snapshot: () => master.snapshot(), onOffers: (a) => master.onOffers(a), log });
    try {
      link.open();
      link.tick();
      await waitFor(() => master.outstanding.size === 10, 10_000, 'offers of all 10 agents');
      for (const a of [...master.outstanding.values()]) {
        master.outstanding.delete(a.agentId!);
        link.send({ recoverResources: { frameworkId: a.frameworkId, agentId: a.agentId, resources: a.resources, filters: { refuseSeconds: 0 } } });
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(master.outstanding.size).toBe(0);
      link.tick();
      await waitFor(() => master.outstanding.size === 10, 10_000, 'the declined agents offered again at the tick');
      expect(master.doubled).toEqual([]);
    } finally {
      link.close();
    }
  }, 60_000);

  it('refuses bad parameters at start, naming the parameter', async () => {
    const { host: h } = host({ allocation_interval: 'soon' });
    const err = (await h.start().then(() => undefined, (e: unknown) => e)) as TesseraError;
    expect(err).toBeInstanceOf(TesseraError);
    expect(err.code).toBe('TSR_PARAMETERS_INVALID');
    expect(err.message).toMatch(/allocation_interval/);
  }, 30_000);
});
