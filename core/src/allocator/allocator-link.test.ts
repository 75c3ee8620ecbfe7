// The allocator link's batching, against a recording stream: every input leaves, in order, numbered
// without gaps; inputs that keep coming over many turns of the event loop leave in few batches; an
// input that comes alone leaves at once.
import type { AllocatorInput, AllocatorOutput, BidiStream } from '@tessera/modules-api';
import { createLog } from '../log';
import { AllocatorLink, type AllocatorModule } from './allocator-link';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function recordingModule(): { module: AllocatorModule; written: AllocatorInput[] } {
  const written: AllocatorInput[] = [];
  const stream: BidiStream<AllocatorInput, AllocatorOutput> = {
    write: async (msg) => void written.push(msg),
    end: () => undefined,
    cancel: () => undefined,
    [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<AllocatorOutput>>(() => undefined) }),
  };
  const module = {
    name: 'allocator',
    status: 'ready',
    negotiated: new Map([['allocator', { version: '1.1.0' }]]),
    onRecover: () => () => undefined,
    bidi: () => stream,
    capabilities: () => [],
  } as unknown as AllocatorModule;
  return { module, written };
}

// The inputs of what was written, batches unpacked, by seq.
const seqs = (written: AllocatorInput[]): number[] => written.flatMap((m) => (m.batch ? (m.batch.inputs ?? []).map((i) => i.seq ?? 0) : [m.seq ?? 0]));

describe('allocator link batching', () => {
  it('sends inputs that keep coming, one per turn of the loop, in few batches and in order', async () => {
    const { module, written } = recordingModule();
    const link = new AllocatorLink({ module, snapshot: () => ({}), onOffers: () => undefined, log: createLog({ level: 'error' }) });
    link.open();
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) {
      link.send({ tick: { agentIds: [`a${i}`] } });
      await turn();
    }
    const elapsed = Date.now() - t0;
    await sleep(50);
    expect(seqs(written)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1)); // the snapshot, then 300 ticks
    // At most one message per COALESCE_MS (10 ms) of the burst, and the first at once: far fewer than 300.
    expect(written.length).toBeLessThanOrEqual(Math.ceil(elapsed / 10) + 2);
    expect(written.length).toBeLessThan(300);
    link.close();
  });

  it('sends an input that comes alone in the next turn of the loop', async () => {
    const { module, written } = recordingModule();
    const link = new AllocatorLink({ module, snapshot: () => ({}), onOffers: () => undefined, log: createLog({ level: 'error' }) });
    link.open();
    // Quiet for longer than COALESCE_MS since the snapshot went (on a loaded machine it may go late).
    while (written.length === 0) await sleep(5);
    await sleep(20);
    const before = written.length;
    link.send({ tick: { agentIds: [] } });
    await turn();
    await turn();
    expect(written.length).toBe(before + 1);
    link.close();
  });
});
