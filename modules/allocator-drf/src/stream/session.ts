/**
 * One Allocate stream: inputs from the master are applied to a fresh {@link DrfAllocator} (a Snapshot
 * first, always), and allocation cycles run
 * - at once for a `tick` (merged with any cycle events asked for, so a tick answers everything before it),
 * - for events that make new offers possible for someone who has not yet been offered them (new or
 *   re-activated agents and frameworks, revive, resume), batched: the first such event arms a timer of
 *   `eventBatchWindowMs` and every event until it fires joins the same cycle,
 * - and at least every `allocationIntervalMs` on the module's own timer, so a core that sends no ticks
 *   still gets offers. A core that does tick sets the pace (the Tessera master ticks every
 *   --allocation_interval): once two full ticks came, the timer waits 1.5 times their spacing, when that
 *   is longer, so that it only fires for a core that stopped ticking.
 * Recovered resources (declines, finished tasks) ask for no cycle: they wait for the next full one, as
 * in Mesos, whose allocator does not allocate on recovery (MESOS-3078). A cycle per recovery re-offered
 * what a framework declined with refuse_seconds 0 within milliseconds, to the same framework, in an
 * endless loop. Likewise a refused-offer filter lasts at least until the next full cycle is due (the
 * interval timer's wait), as Mesos raises a filter's timeout to its allocation interval.
 * Every cycle answers with its offers (in chunks) and a CycleDone naming the last input applied.
 *
 * An input that contradicts the state fails the stream with TSR_INVALID_ARGUMENT naming the input's seq
 * and kind; the master then opens a new stream with a fresh Snapshot, which is the one recovery path.
 * update_quota inputs that come back to back in a batch are checked and applied as one change (see
 * {@link DrfAllocator.updateQuotas}).
 */
import { TesseraError, type AllocatorInput, type AllocatorOutput, type Logger } from '@tessera/modules-api';
import { DrfAllocator } from '../engine';
import type { Allocation } from '../engine/types';
import type { DrfSettings } from '../parameters';
import { Channel } from './channel';

/** Allocations per Offers message: keeps messages far below gRPC limits and lets the master start early. */
export const OFFERS_CHUNK = 1000;

type Pending = 'all' | Set<string> | undefined;

/** SessionOptions are what a session needs besides its settings. */
export interface SessionOptions {
  /** Writes to the core's log. */
  log: Logger;
  /** The clock (Unix ms); tests may pass their own. */
  now?: () => number;
}

/** AllocatorSession runs one Allocate stream; see the module comment. */
export class AllocatorSession {
  private engine: DrfAllocator | undefined;
  private lastSeq = 0;
  private pending: Pending;
  private batchTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  /** When the latest full tick came, and the spacing of the latest two (ms). */
  private lastFullTickAt: number | undefined;
  private tickSpacingMs: number | undefined;
  private failed = false;
  private stopped = false;
  private readonly out = new Channel<AllocatorOutput>();
  private readonly now: () => number;
  /** Cycles run on this stream, for logs and tests. */
  cycles = 0;

  /** Creates a session; nothing runs until {@link AllocatorSession.run}. */
  constructor(
    private readonly settings: DrfSettings,
    private readonly opts: SessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Consumes `inputs` in the background and returns the outputs; ends when the inputs end. */
  run(inputs: AsyncIterable<AllocatorInput>): AsyncIterable<AllocatorOutput> {
    void this.consume(inputs);
    const out = this.out;
    const stop = () => this.stop();
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* out;
        } finally {
          stop();
        }
      },
    };
  }

  private async consume(inputs: AsyncIterable<AllocatorInput>): Promise<void> {
    try {
      for await (const input of inputs) {
        if (this.failed || this.stopped) continue; // drain quietly; the stream is already ending
        try {
          this.apply(input);
        } catch (err) {
          this.fail(err, input);
        }
      }
      this.stop();
    } catch (err) {
      // The transport failed or the master cancelled: nothing left to answer.
      this.opts.log.debug('allocator stream input ended', { error: (err as Error).message });
      this.stop();
    }
  }

  /** Applies one input (or a batch of them, in order); throws TesseraError for one that contradicts the state. */
  apply(input: AllocatorInput): void {
    if (input.batch) {
      const inners = input.batch.inputs ?? [];
      for (let i = 0; i < inners.length; i++) {
        const inner = inners[i];
        if (inner.batch) throw new TesseraError('TSR_INVALID_ARGUMENT', `input seq ${inner.seq ?? '?'}: a batch inside a batch; send the inputs of a burst in one flat batch`);
        let last = i;
        if (inner.updateQuota && this.engine !== undefined) while (inners[last + 1]?.updateQuota) last++;
        if (last > i) {
          this.applyQuotas(inners.slice(i, last + 1));
          i = last;
          continue;
        }
        try {
          this.apply(inner);
        } catch (err) {
          throw refusal(err, `input seq ${this.lastSeq} (${inputKind(inner)}, in a batch)`);
        }
      }
      this.lastSeq = input.seq ?? this.lastSeq;
      return;
    }
    this.lastSeq = input.seq ?? this.lastSeq + 1;
    if (input.snapshot) {
      const engine = new DrfAllocator({ ...this.settings.engine, allocationIntervalMs: this.fullCycleWaitMs() });
      engine.loadSnapshot(input.snapshot, this.now());
      this.engine = engine;
      this.armInterval();
      this.want('all');
      return;
    }
    const e = this.engine;
    if (e === undefined) {
      throw new TesseraError('TSR_INVALID_ARGUMENT', `the first input of an Allocate stream must be a snapshot, got ${inputKind(input)} (seq ${this.lastSeq}): send the whole state first`);
    }
    if (input.tick) return this.tick(input.tick.agentIds ?? []);
    if (input.addFramework) {
      e.addFramework(input.addFramework.framework ?? {}, input.addFramework.used ?? []);
      return this.want('all');
    }
    if (input.removeFramework) return e.removeFramework(input.removeFramework.frameworkId ?? '');
    if (input.activateFramework) {
      e.activateFramework(input.activateFramework.frameworkId ?? '');
      return this.want('all');
    }
    if (input.deactivateFramework) return e.deactivateFramework(input.deactivateFramework.frameworkId ?? '');
    if (input.updateFramework) {
      e.updateFramework(input.updateFramework);
      return this.want('all');
    }
    if (input.addAgent) {
      e.addAgent(input.addAgent);
      return this.want(input.addAgent.info?.id ?? '');
    }
    if (input.removeAgent) return e.removeAgent(input.removeAgent.agentId ?? '');
    if (input.updateAgent) {
      e.updateAgent(input.updateAgent);
      return this.want(input.updateAgent.agentId ?? '');
    }
    if (input.activateAgent) {
      e.activateAgent(input.activateAgent.agentId ?? '');
      return this.want(input.activateAgent.agentId ?? '');
    }
    if (input.deactivateAgent) return e.deactivateAgent(input.deactivateAgent.agentId ?? '');
    if (input.recoverResources) {
      // No cycle of its own: see the module comment.
      const r = input.recoverResources;
      return e.recoverResources(r.frameworkId ?? '', r.agentId ?? '', r.resources ?? [], r.filters ?? null, this.now());
    }
    if (input.suppressOffers) return e.suppressOffers(input.suppressOffers.frameworkId ?? '', input.suppressOffers.roles ?? []);
    if (input.reviveOffers) {
      e.reviveOffers(input.reviveOffers.frameworkId ?? '', input.reviveOffers.roles ?? []);
      return this.want('all');
    }
    if (input.updateQuota) {
      const q = input.updateQuota;
      return e.updateQuota(q.role ?? '', q.guarantees ?? [], q.limits ?? []);
    }
    if (input.updateWeights) return e.updateWeights(input.updateWeights.weights ?? []);
    if (input.pause) return e.pause();
    if (input.resume) {
      e.resume();
      return this.want('all');
    }
    if (input.updateAllocation) return e.updateAllocation(input.updateAllocation);
    this.opts.log.warn('ignoring an allocator input of a kind this module does not know (newer ABI?)', { seq: this.lastSeq });
  }

  // applyQuotas applies update_quota inputs that came back to back in a batch as one change: the quota
  // rules relate a role to its parent, so raising a parent with its child, or moving a guarantee between
  // siblings, may only be valid as a whole.
  private applyQuotas(run: readonly AllocatorInput[]): void {
    const first = run[0].seq ?? this.lastSeq + 1;
    this.lastSeq = run[run.length - 1].seq ?? this.lastSeq + run.length;
    try {
      this.engine!.updateQuotas(run.map((i) => i.updateQuota!));
    } catch (err) {
      throw refusal(err, `inputs seq ${first}-${this.lastSeq} (${run.length} update_quota checked together, in a batch)`);
    }
  }

  // want asks for a cycle over an agent (or all agents), run when the batch window closes.
  private want(agent: string): void {
    if (agent === 'all') this.pending = 'all';
    else if (this.pending === undefined) this.pending = new Set([agent]);
    else if (this.pending !== 'all') this.pending.add(agent);
    if (this.batchTimer !== undefined) return;
    const fire = () => {
      this.batchTimer = undefined;
      this.cycleNow();
    };
    const w = this.settings.eventBatchWindowMs;
    this.batchTimer = w > 0 ? setTimeout(fire, w) : (setImmediate(fire) as unknown as NodeJS.Timeout);
  }

  private tick(agentIds: readonly string[]): void {
    if (agentIds.length === 0) {
      const at = performance.now();
      if (this.lastFullTickAt !== undefined) {
        this.tickSpacingMs = at - this.lastFullTickAt;
        // New filters last until the next full cycle is due, at the core's pace.
        this.engine?.setAllocationInterval(this.fullCycleWaitMs());
      }
      this.lastFullTickAt = at;
      this.pending = 'all';
    }
    else for (const id of agentIds) this.want(id);
    this.cycleNow();
  }

  // cycleNow runs the pending cycle (if any) and answers it.
  private cycleNow(): void {
    this.clearBatch();
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined || this.engine === undefined || this.failed || this.stopped) return;
    const started = performance.now();
    let allocations: Allocation[];
    try {
      allocations = this.engine.allocate(this.now(), pending === 'all' ? undefined : [...pending]);
    } catch (err) {
      return this.fail(err, undefined);
    }
    const durationUs = Math.round((performance.now() - started) * 1000);
    this.cycles++;
    const seq = this.lastSeq;
    for (let i = 0; i < allocations.length; i += OFFERS_CHUNK) {
      this.out.push({ seq, offers: { allocations: allocations.slice(i, i + OFFERS_CHUNK) } });
    }
    this.out.push({ seq, cycleDone: { seq, durationUs, allocations: allocations.length } });
    if (pending === 'all') this.armInterval();
  }

  // armInterval (re)starts the fallback timer: a full cycle when none ran for allocationIntervalMs.
  private armInterval(): void {
    if (this.intervalTimer !== undefined) clearTimeout(this.intervalTimer);
    if (this.stopped) return;
    this.intervalTimer = setTimeout(() => {
      this.intervalTimer = undefined;
      this.pending = 'all';
      this.cycleNow();
      if (this.intervalTimer === undefined) this.armInterval();
    }, this.fullCycleWaitMs());
  }

  // fullCycleWaitMs is the longest wait for the next full cycle: the interval timer's delay.
  private fullCycleWaitMs(): number {
    return Math.max(this.settings.allocationIntervalMs, 1.5 * (this.tickSpacingMs ?? 0));
  }

  private clearBatch(): void {
    if (this.batchTimer === undefined) return;
    clearTimeout(this.batchTimer);
    clearImmediate(this.batchTimer as unknown as NodeJS.Immediate);
    this.batchTimer = undefined;
  }

  private fail(err: unknown, input: AllocatorInput | undefined): void {
    this.failed = true;
    const e = refusal(err, input ? `input seq ${this.lastSeq} (${inputKind(input)})` : `allocation cycle after input seq ${this.lastSeq}`);
    this.opts.log.warn('allocator stream failed', { code: e.code, error: e.message });
    this.stop(e);
  }

  /** Stops timers and ends the outputs (with an error, if given). */
  stop(error?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearBatch();
    if (this.intervalTimer !== undefined) clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    this.out.close(error);
  }
}

// refusal turns an engine error into the stream's coded error, naming the input; coded errors pass as they are.
function refusal(err: unknown, what: string): TesseraError {
  if (err instanceof TesseraError) return err;
  return new TesseraError('TSR_INVALID_ARGUMENT', `${what}: ${(err as Error).message}; open a new stream with a snapshot`);
}

// inputKind names the input's oneof member the way the proto does (add_agent, tick...).
function inputKind(input: AllocatorInput): string {
  const key = Object.keys(input).find((k) => k !== 'seq' && (input as Record<string, unknown>)[k] !== undefined);
  return key ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : 'an empty input';
}
