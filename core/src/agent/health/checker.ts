/**
 * A task's health checker, as Mesos's HealthChecker (src/checks/health_checker.cpp): each probe result
 * is a success or a failure (interpretCheckStatusInfo: a command exiting 0, an HTTP status 200–399, an
 * accepted TCP connection are successes; everything else, a timeout included, is a failure), and
 * {@link healthStep} decides what the agent hears:
 *
 * - a failure while still *initializing* (no success yet) within the grace period, counted from the
 *   task's start, is ignored (only when the grace period is above 0);
 * - any other failure counts: `consecutiveFailures` + 1 and an update `healthy: false`, with `killTask`
 *   once the count reaches the check's `consecutive_failures`;
 * - a success sends `healthy: true` when it is the first one or follows failures, and resets the count.
 *
 * The checker never kills anything itself (as in Mesos the executor does, on `killTask`); it runs until
 * stopped. State is `initializing` plus the failure count — all a restarted agent needs to carry on
 * (see {@link HealthCheckerOptions.resume}).
 *
 * ```ts
 * const hc = new HealthChecker({ config, probe: (signal) => runProbe(signal), startedAt: Date.now(), taskId: 't1', log,
 *                                onUpdate: (u) => u.killTask ? kill() : report(u.healthy) });
 * hc.start();
 * hc.stop();
 * ```
 */
import type { Log } from '../../log';
import type { HealthConfig } from './config';
import type { ProbeResult } from './probes';
import { probeLoop, realTimers, type PeriodicRunner, type Timers } from './schedule';

/** HealthState is what a health checker remembers between results. */
export interface HealthState {
  /** initializing: no success yet (failures in the grace period are ignored only then). */
  initializing: boolean;
  consecutiveFailures: number;
}

/** HealthUpdate is what the checker tells the agent (Mesos's TaskHealthStatus). */
export interface HealthUpdate {
  healthy: boolean;
  consecutiveFailures: number;
  /** killTask: the failures reached the check's consecutive_failures; the agent kills the task. */
  killTask: boolean;
}

/** HealthOutcome is a probe result read as a health check reads it. */
export type HealthOutcome = { ok: true } | { ok: false; why: string };

/** healthOutcome reads a probe result as Mesos's interpretCheckStatusInfo does (an error is a failure). */
export function healthOutcome(r: ProbeResult): HealthOutcome {
  if ('error' in r) return { ok: false, why: r.error };
  if (r.type === 'COMMAND') return r.exitCode === 0 ? { ok: true } : { ok: false, why: `Command exited with status ${r.exitCode}` };
  if (r.type === 'HTTP') return r.statusCode >= 200 && r.statusCode < 400 ? { ok: true } : { ok: false, why: `Unexpected HTTP response code: ${r.statusCode}` };
  return r.succeeded ? { ok: true } : { ok: false, why: 'TCP connection failed' };
}

/** StepContext is what a step needs besides the state. */
export interface StepContext {
  /** elapsedMs since the task started. */
  elapsedMs: number;
  gracePeriodMs: number;
  /** consecutiveFailures after which the task is killed. */
  consecutiveFailures: number;
}

/** healthStep is the state machine (see the module comment): the next state, and the update to send, if any. */
export function healthStep(state: HealthState, outcome: HealthOutcome, ctx: StepContext): { state: HealthState; update?: HealthUpdate; ignored?: boolean } {
  if (!outcome.ok) {
    if (state.initializing && ctx.gracePeriodMs > 0 && ctx.elapsedMs <= ctx.gracePeriodMs) return { state, ignored: true };
    const n = state.consecutiveFailures + 1;
    return { state: { ...state, consecutiveFailures: n }, update: { healthy: false, consecutiveFailures: n, killTask: n >= ctx.consecutiveFailures } };
  }
  const update = state.initializing || state.consecutiveFailures > 0 ? { healthy: true, consecutiveFailures: 0, killTask: false } : undefined;
  return { state: { initializing: false, consecutiveFailures: 0 }, ...(update ? { update } : {}) };
}

/** HealthCheckerOptions configure a {@link HealthChecker}. */
export interface HealthCheckerOptions {
  config: HealthConfig;
  /** probe runs one check (its timeout applied); aborted through the signal when the checker stops. */
  probe: (signal: AbortSignal) => Promise<ProbeResult>;
  onUpdate: (update: HealthUpdate, why: string | undefined) => void;
  /** startedAt: when the task started (ms since the epoch); the grace period counts from it. */
  startedAt: number;
  /** resume: the state a previous agent left (after an agent restart). */
  resume?: HealthState;
  /** firstInMs: when the first check runs (default: the check's delay). */
  firstInMs?: number;
  taskId: string;
  log: Log;
  timers?: Timers;
}

/** HealthChecker runs a task's health check; see the module comment. */
export class HealthChecker {
  private state: HealthState;
  private readonly runner: PeriodicRunner;
  private readonly timers: Timers;
  private readonly name: string;

  constructor(private readonly opts: HealthCheckerOptions) {
    this.state = opts.resume ?? { initializing: true, consecutiveFailures: 0 };
    this.timers = opts.timers ?? realTimers;
    this.name = `${opts.config.probe.type} health check for task ${opts.taskId}`;
    this.runner = probeLoop({
      firstInMs: opts.firstInMs ?? opts.config.delayMs,
      intervalMs: opts.config.intervalMs,
      timers: this.timers,
      probe: opts.probe,
      failed: (err): ProbeResult => ({ error: err.message }),
      onResult: (result) => this.handle(result),
    });
  }

  start(): void {
    this.runner.start();
  }

  stop(): void {
    this.runner.stop();
  }

  private handle(result: ProbeResult): void {
    const outcome = healthOutcome(result);
    const cfg = this.opts.config;
    const step = healthStep(this.state, outcome, { elapsedMs: this.timers.now() - this.opts.startedAt, gracePeriodMs: cfg.gracePeriodMs, consecutiveFailures: cfg.consecutiveFailures });
    this.state = step.state;
    const why = outcome.ok ? undefined : outcome.why;
    if (step.ignored) this.opts.log.info(`ignoring a failure of the ${this.name}: still in its grace period (${why})`);
    else if (!outcome.ok) this.opts.log.warn(`${this.name} failed ${this.state.consecutiveFailures} time(s) consecutively: ${why}`);
    if (step.update) this.opts.onUpdate(step.update, why);
  }
}
