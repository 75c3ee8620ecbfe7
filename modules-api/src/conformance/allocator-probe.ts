// What the allocator checks talk to the module through: Allocate streams opened as the master opens
// them (AllocatorClient), inputs numbered by seq, ticks awaited up to the cycle_done that answers them,
// and, on every output, the rules that hold whatever a check does (see AllocatorLedger).
import { TesseraError } from '../errors';
import type { BidiStream } from '../client/connection';
import { AllocatorClient } from '../client/kind-clients';
import type * as T from '../generated/types';
import { AllocatorLedger } from './allocator-ledger';
import { describeOffers, type Offer } from './allocator-resources';
import { describeError } from './common-checks';
import { CommonProbe } from './common-suite';
import { CheckFailed } from './runner';
import type { ModuleSession } from './session';

/** Input is an AllocatorInput without its seq, which the stream adds. */
export type Input = Omit<T.AllocatorInput, 'seq'>;

/** StreamOutcome is what became of a stream after an input: it answered a tick, failed, ended, or went silent. */
export type StreamOutcome = { answered: true } | { answered: false; error?: TesseraError; timedOut?: boolean };

/** AllocatorProbe is the context every allocator check runs with: it opens streams and closes them after the check. */
export class AllocatorProbe extends CommonProbe {
  private readonly open = new Set<AllocatorStream>();
  private readonly problems: string[] = [];

  constructor(
    session: ModuleSession,
    /** parameters are those sent at Configure; checks of Mesos defaults mention them when given. */
    readonly parameters: unknown,
  ) {
    super(session);
  }

  /** stream opens a new Allocate stream and, when given, sends `snapshot` as its first input (seq 1). */
  async stream(label: string, snapshot?: T.Snapshot): Promise<AllocatorStream> {
    const s = new AllocatorStream(new AllocatorClient(this.module).open(), label, this.timeoutMs);
    this.open.add(s);
    if (snapshot) await s.send({ snapshot });
    return s;
  }

  /** end cancels one stream before the check ends, keeping the rules it saw broken for the check's result. */
  end(s: AllocatorStream): void {
    this.open.delete(s);
    this.problems.push(...s.close());
  }

  /** closeStreams cancels the streams the check opened and returns the rules they saw broken. */
  closeStreams(): string[] {
    const problems = [...this.open].flatMap((s) => s.close());
    this.open.clear();
    return [...this.problems.splice(0), ...problems];
  }
}

/** AllocatorStream is one Allocate stream: inputs go out with seq, outputs are read and checked as they come. */
export class AllocatorStream {
  /** offers are every allocation offered on this stream, in order. */
  readonly offers: Offer[] = [];
  /** cycleCounts lists cycle_done messages whose `allocations` differ from the allocations offered since the previous one. */
  readonly cycleCounts: string[] = [];
  /** lastSent is the seq of the last input sent. */
  lastSent = 0;
  private taken = 0;
  private lastOut = 0;
  private cycleSeq = 0;
  private cycles = 0;
  private sinceCycle = 0;
  private ended: { error?: TesseraError } | undefined;
  private readonly ledger = new AllocatorLedger();
  private readonly watchers = new Set<() => void>();
  private readonly recovered = new Set<Offer>();

  constructor(
    private readonly call: BidiStream<T.AllocatorInput, T.AllocatorOutput>,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    void this.read();
  }

  private async read(): Promise<void> {
    try {
      for await (const out of this.call) this.receive(out);
      this.ended = {};
    } catch (err) {
      this.ended = { error: TesseraError.wrap(err) };
    }
    this.wake();
  }

  private receive(out: T.AllocatorOutput): void {
    const seq = out.seq ?? 0;
    if (seq < this.lastOut) this.ledger.problem(`an output's seq went down from ${this.lastOut} to ${seq}: outputs name the last input applied, which never goes back`);
    if (seq > this.lastSent) this.ledger.problem(`an output named seq ${seq}, but the kit had sent inputs up to seq ${this.lastSent} only`);
    if (seq < 1) this.ledger.problem('an output carried no seq: set it to the seq of the last input applied (the snapshot is seq 1)');
    this.lastOut = Math.max(this.lastOut, seq);
    if (!out.offers === !out.cycleDone) this.ledger.problem(`an output (seq ${seq}) carried ${out.offers ? 'both offers and cycle_done' : 'neither offers nor cycle_done'}: set exactly one`);
    for (const a of out.offers?.allocations ?? []) {
      const offer: Offer = { seq, frameworkId: a.frameworkId ?? '', agentId: a.agentId ?? '', role: a.role ?? '', resources: a.resources ?? [] };
      this.offers.push(offer);
      this.sinceCycle++;
      this.ledger.offer(offer);
    }
    if (out.cycleDone) {
      const done = out.cycleDone;
      if (done.seq !== undefined && done.seq !== seq) this.ledger.problem(`a cycle_done said seq ${done.seq} inside an output with seq ${seq}: both name the last input applied`);
      if ((done.allocations ?? 0) !== this.sinceCycle) {
        this.cycleCounts.push(`cycle_done (seq ${seq}) counted ${done.allocations ?? 0} allocation(s), but ${this.sinceCycle} were offered since the previous cycle_done`);
      }
      this.sinceCycle = 0;
      this.cycles++;
      this.cycleSeq = Math.max(this.cycleSeq, done.seq ?? seq);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.watchers]) w();
  }

  /** send sends one input with the next seq and returns that seq; rules broken so far fail the check. */
  async send(input: Input): Promise<number> {
    this.throwProblems();
    const seq = ++this.lastSent;
    this.ledger.input(seq, input);
    if (this.ended) return seq; // what became of the stream is for the caller's next wait to tell
    await this.call.write({ seq, ...input }).catch(() => undefined); // a failed write shows as the stream's end
    return seq;
  }

  /**
   * tick sends a Tick (all agents when `agentIds` is empty) and resolves, once the cycle_done answering
   * it arrived, with every allocation offered since the previous tick resolved (extra cycles included).
   */
  async tick(agentIds: string[] = []): Promise<Offer[]> {
    const seq = await this.send({ tick: { agentIds } });
    const upTo = await this.until(
      () => this.cycleSeq >= seq,
      `the cycle_done answering the tick (seq ${seq})`,
      'after each tick, send the offers of the cycle and then a cycle_done whose seq is the tick\'s seq or later',
    );
    this.throwProblems();
    const fresh = this.offers.slice(this.taken, upTo);
    this.taken = upTo;
    return fresh;
  }

  /** outstanding are the offers the kit has not given back with {@link AllocatorStream.recover}, those matching `which`. */
  outstanding(which: (o: Offer) => boolean = () => true): Offer[] {
    return this.offers.filter((o) => !this.recovered.has(o) && which(o));
  }

  /**
   * recover gives offers back as the master does for a DECLINE (recover_resources of exactly what was
   * offered, with `filters`; none when undefined) and returns the seq of the first recover_resources.
   */
  async recover(offers: readonly Offer[], filters?: T.Filters): Promise<number> {
    const first = this.lastSent + 1;
    for (const o of offers) {
      this.recovered.add(o);
      await this.send({ recoverResources: { frameworkId: o.frameworkId, agentId: o.agentId, resources: o.resources, ...(filters ? { filters } : {}) } });
    }
    return first;
  }

  /**
   * outcome tells what the module did with the inputs sent so far: a tick is sent after them, and the
   * stream either answers it (the inputs were accepted), fails, ends, or says nothing within the timeout.
   */
  async outcome(): Promise<StreamOutcome> {
    const seq = await this.send({ tick: { agentIds: [] } });
    try {
      await this.until(() => this.cycleSeq >= seq, '', '');
      return { answered: true };
    } catch (err) {
      if (!(err instanceof CheckFailed)) throw err;
      return this.ended ? { answered: false, error: this.ended.error } : { answered: false, timedOut: true };
    }
  }

  // until resolves with the number of offers received when `ready` first held; it fails the check when
  // the stream ends or `timeoutMs` passes first.
  private until(ready: () => boolean, what: string, fix: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(watch);
        reject(new CheckFailed(`${what} did not arrive within ${this.timeoutMs} ms (${this.seen()}): ${fix}`));
      }, this.timeoutMs);
      const watch = (): void => {
        if (ready()) {
          clearTimeout(timer);
          this.watchers.delete(watch);
          resolve(this.offers.length);
        } else if (this.ended) {
          clearTimeout(timer);
          this.watchers.delete(watch);
          const how = this.ended.error ? `failed with ${describeError(this.ended.error, this.timeoutMs)}` : 'was ended by the module';
          reject(new CheckFailed(`the ${this.label} stream ${how} before ${what} arrived (${this.seen()}): ${fix || 'keep the stream open'}`));
        }
      };
      this.watchers.add(watch);
      watch();
    });
  }

  private seen(): string {
    return `${this.lastSent} input(s) sent; seen ${this.cycles} cycle_done(s), the last naming seq ${this.cycleSeq || 'none'}, and ${this.offers.length} allocation(s)`;
  }

  /** throwProblems fails the check with the rules broken so far. */
  throwProblems(): void {
    const problems = this.ledger.problems;
    if (problems.length) throw new CheckFailed(this.describeProblems(problems));
  }

  private describeProblems(problems: readonly string[]): string {
    const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
    return `on the ${this.label} stream, ${problems.slice(0, 3).join('; ')}${more}`;
  }

  /** close cancels the stream and returns the rules it saw broken. */
  close(): string[] {
    this.call.cancel();
    this.ended ??= {};
    this.wake();
    return this.ledger.problems.length ? [this.describeProblems(this.ledger.problems)] : [];
  }
}

/** expectNoOffers fails the check when any of `offers` matches `which`; `what` says what was forbidden and why. */
export function expectNoOffers(offers: readonly Offer[], which: (o: Offer) => boolean, what: string): void {
  const bad = offers.filter(which);
  if (bad.length) throw new CheckFailed(`${what}, but the module offered ${describeOffers(bad)}`);
}
