/**
 * When checks run, as Mesos's CheckerProcess schedules them: the first `delay` after the checker
 * starts, each next one `interval` after the previous result came (a slow check pushes the next one
 * back; two runs of one check never overlap). Stopping cancels the timer and aborts the run in flight,
 * whose result is then dropped. Time is injectable so the state machines can be tested without waiting.
 *
 * ```ts
 * const r = new PeriodicRunner({ firstInMs: 15000, intervalMs: 10000, run: async (signal) => { ... } });
 * r.start();
 * r.stop();
 * ```
 */
import { MAX_TIMER_MS } from '../../long-timer';

/** Timers is the clock a runner uses (real timers by default; tests pass a fake one). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** realTimers are Node's timers, unref'd: a pending check never keeps the agent alive. */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** PeriodicRunnerOptions configure a {@link PeriodicRunner}. */
export interface PeriodicRunnerOptions {
  firstInMs: number;
  intervalMs: number;
  /** run performs one check; it must not throw (a throw is logged by the caller's wrapper and the schedule goes on). */
  run: (signal: AbortSignal) => Promise<void>;
  timers?: Timers;
}

/** PeriodicRunner runs a check on Mesos's schedule; see the module comment. */
export class PeriodicRunner {
  private timer: unknown;
  private inFlight: AbortController | undefined;
  private stopped = false;
  private readonly timers: Timers;

  constructor(private readonly opts: PeriodicRunnerOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  start(): void {
    this.schedule(this.opts.firstInMs);
  }

  /** stop: no further runs; the run in flight is aborted. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.timers.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const ctl = (this.inFlight = new AbortController());
    try {
      await this.opts.run(ctl.signal);
    } finally {
      this.inFlight = undefined;
    }
    this.schedule(this.opts.intervalMs);
  }
}

/** ProbeLoopOptions configure {@link probeLoop}. */
export interface ProbeLoopOptions<R> {
  firstInMs: number;
  intervalMs: number;
  timers?: Timers;
  /** probe runs one check; a rejection becomes a result through `failed`. */
  probe: (signal: AbortSignal) => Promise<R>;
  failed: (err: Error) => R;
  /** onResult gets each result, never after stop(). */
  onResult: (result: R) => void;
}

/** probeLoop is a PeriodicRunner that probes and hands each result on: what health and general checks share. */
export function probeLoop<R>(opts: ProbeLoopOptions<R>): PeriodicRunner {
  const runner: PeriodicRunner = new PeriodicRunner({
    firstInMs: opts.firstInMs,
    intervalMs: opts.intervalMs,
    timers: opts.timers,
    run: async (signal) => {
      const result = await opts.probe(signal).catch(opts.failed);
      if (!runner.isStopped) opts.onResult(result);
    },
  });
  return runner;
}
