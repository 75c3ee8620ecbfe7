/**
 * The master's side of the allocator stream (ABI `Allocator.Allocate`): numbers every input, opens the
 * stream with a Snapshot of the master's state, and reopens it — again with a fresh Snapshot — whenever
 * it ends: the allocator module crashed and was restarted by its supervisor (onRecover), or the module
 * refused an input (a coded stream error), or the transport broke.
 *
 * Why no offer is lost or doubled across a restart: the Snapshot is built at the moment the new stream
 * opens and lists every offer the master holds (`outstanding_offers`), so the fresh allocator treats
 * those resources as taken; offers the old process produced but the master never received were never
 * outstanding, so their resources are simply available again. Outputs of an old stream are dropped.
 *
 * Inputs sent while no stream is open are dropped on purpose: their effect is in the next Snapshot.
 *
 * Inputs sent in one turn of the event loop (a burst of declines, agents registering) leave as one
 * `batch` message when the module negotiated allocator ABI 1.1 or later: one gRPC message costs tens of
 * microseconds on each side whatever its size (more with the HTTP/2 frames and acks around it), so
 * 10,000 declines cost one message instead of 10,000. While inputs keep coming, batches leave at most
 * every COALESCE_MS (10 ms, an input's longest wait; Mesos batches allocations per second): when 10,000
 * agents re-register after a restart, each in an I/O callback of its own, the turns of the loop are
 * short and one batch per turn made thousands of small messages. Coalescing them took a quarter off
 * the master's CPU for the whole re-registration (the bench's main-thread time, 2.1-2.3 s -> 1.6-1.7 s).
 * An input that comes after a quiet spell still leaves in the next turn of the loop.
 * With an ABI 1.0 module they leave one by one, as 1.0 has no batch.
 */
import { TesseraError, type AllocatorInput, type AllocatorOutput, type BidiStream, type Caller, type CycleDone, type Snapshot } from '@tessera/modules-api';
import type { Allocation } from '@tessera/modules-api';
import { gte, valid } from 'semver';
import type { Log } from '../log';

/** Inputs per batch message (ABI >= 1.1): bounds message size while a burst still costs few messages. */
export const BATCH_MAX = 1024;
/** Batches leave at most this often while inputs keep coming (a re-registration burst); see the module comment. */
const COALESCE_MS = 10;

/** The module the link talks to: a supervised allocator process (a ManagedModule). */
export interface AllocatorModule extends Caller {
  /** Registers a callback run after each restart of the process. */
  onRecover(cb: (caller: Caller) => Promise<void>): () => void;
  /** The supervisor's state ('ready' when calls may flow). */
  readonly status: string;
}

/** An input without its seq: the link numbers inputs. */
export type AllocatorEvent = Omit<AllocatorInput, 'seq'>;

/** AllocatorLinkOptions wire the link to the master. */
export interface AllocatorLinkOptions {
  /** The allocator module. */
  module: AllocatorModule;
  /** The master's whole state now, outstanding offers included; called for every (re)opened stream. */
  snapshot(): Snapshot;
  /** Offer decisions, in order; `seq` is the last input the allocator had applied. */
  onOffers(allocations: Allocation[], seq: number): void;
  /** A finished cycle. */
  onCycleDone?(done: CycleDone): void;
  /** Told when a stream opens (`reopened` false the first time) or fails. */
  onStream?(event: { opened: boolean; generation: number; error?: TesseraError }): void;
  /** Delay before reopening after a stream error on a live process (default 200 ms). */
  reopenDelayMs?: number;
  log: Log;
}

/** AllocatorLink keeps one Allocate stream open; see the module comment. */
export class AllocatorLink {
  private stream: BidiStream<AllocatorInput, AllocatorOutput> | undefined;
  private seq = 0;
  private generation = 0;
  private closed = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private queue: AllocatorInput[] = [];
  private flushScheduled = false;
  private batches = false;
  private flushedAt = 0;
  /** How many streams were opened (1 + reopenings). */
  streamsOpened = 0;

  /** Creates the link; call {@link AllocatorLink.open} once the module is ready. */
  constructor(private readonly opts: AllocatorLinkOptions) {
    // During a restart the supervisor is not 'ready' yet: open on the new process it hands us.
    this.unsubscribe = opts.module.onRecover(async (caller) => this.open(caller));
  }

  /** Whether a stream is open now. */
  get connected(): boolean {
    return this.stream !== undefined;
  }

  /** The seq of the last input sent. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Opens a stream with a fresh Snapshot (closing the current one, if any), on `via` or the module. */
  open(via: Caller = this.opts.module): void {
    if (this.closed) return;
    clearTimeout(this.reopenTimer);
    this.stream?.cancel();
    const generation = ++this.generation;
    let stream: BidiStream<AllocatorInput, AllocatorOutput>;
    try {
      stream = via.bidi<AllocatorInput, AllocatorOutput>('allocator', 'Allocate');
    } catch (err) {
      // Not ready (restarting): onRecover opens the stream when the module is back.
      this.stream = undefined;
      this.opts.log.warn(`allocator stream not opened: ${TesseraError.wrap(err).message}`);
      return;
    }
    this.stream = stream;
    this.streamsOpened++;
    const version = via.negotiated?.get('allocator')?.version ?? this.opts.module.negotiated?.get('allocator')?.version;
    this.batches = version !== undefined && valid(version) !== null && gte(version, '1.1.0');
    this.queue = []; // inputs queued for the old stream are in the snapshot
    this.write({ snapshot: this.opts.snapshot() });
    this.opts.onStream?.({ opened: true, generation });
    void this.read(stream, generation);
  }

  private async read(stream: BidiStream<AllocatorInput, AllocatorOutput>, generation: number): Promise<void> {
    let error: TesseraError | undefined;
    try {
      for await (const out of stream) {
        if (generation !== this.generation) return;
        if (out.offers) this.opts.onOffers(out.offers.allocations ?? [], out.seq ?? 0);
        else if (out.cycleDone) this.opts.onCycleDone?.(out.cycleDone);
      }
    } catch (err) {
      error = TesseraError.wrap(err);
    }
    if (generation !== this.generation || this.closed) return;
    this.stream = undefined;
    this.opts.onStream?.({ opened: false, generation, error });
    this.opts.log.warn(`allocator stream ended${error ? `: ${error.code}: ${error.message}` : ''}; reopening with a snapshot`);
    // A live module that refused an input gets a new stream after a pause; a dead one is reopened by onRecover.
    this.reopenTimer = setTimeout(() => {
      if (this.opts.module.status === 'ready' && this.stream === undefined) this.open();
    }, this.opts.reopenDelayMs ?? 200);
  }

  /** Sends one input (numbered here); dropped when no stream is open, as the next Snapshot carries it. */
  send(event: AllocatorEvent): void {
    if (this.stream === undefined) return;
    this.write(event);
  }

  /** Asks for an allocation cycle over some agents (all when empty). */
  tick(agentIds: string[] = []): number {
    this.send({ tick: { agentIds } });
    return this.seq;
  }

  private write(event: AllocatorEvent): void {
    this.queue.push({ seq: ++this.seq, ...event });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the event loop's current phase, not the current callback: when thousands of agents
    // re-register at once, each arrives in its own I/O callback, and one batch then carries many.
    // While inputs keep coming, batches leave at most every COALESCE_MS: fewer, larger ones cost the
    // module (and the master) less than one per turn of the loop.
    const wait = this.flushedAt + COALESCE_MS - Date.now();
    if (wait > 0) setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
  }

  /**
   * Sends what is queued: one batch (or, for an ABI 1.0 module, every input) now, and the rest of a
   * large burst after giving the event loop a turn, so the module decodes one batch while the next
   * is being encoded.
   */
  flush(): void {
    this.flushScheduled = false;
    this.flushedAt = Date.now();
    const stream = this.stream;
    if (stream === undefined) {
      this.queue = [];
      return;
    }
    const sent = (p: Promise<void>) => void p.catch(() => undefined); // a broken stream shows up in read()
    if (!this.batches) {
      const queue = this.queue;
      this.queue = [];
      for (const input of queue) sent(stream.write(input));
      return;
    }
    const inputs = this.queue.length <= BATCH_MAX ? this.queue : this.queue.slice(0, BATCH_MAX);
    this.queue = inputs === this.queue ? [] : this.queue.slice(BATCH_MAX);
    sent(stream.write(inputs.length === 1 ? inputs[0] : { seq: inputs[inputs.length - 1].seq, batch: { inputs } }));
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Ends the stream and stops reopening it. */
  close(): void {
    while (this.queue.length > 0 && this.stream !== undefined) this.flush();
    this.closed = true;
    clearTimeout(this.reopenTimer);
    this.unsubscribe();
    this.stream?.end();
    this.stream?.cancel();
    this.stream = undefined;
  }
}
