/**
 * A task's general check (TaskInfo.check), as Mesos's Checker (src/checks/checker.cpp): it only
 * reports. Each probe result becomes a CheckStatusInfo — a command's exit code, an HTTP status code,
 * whether a TCP connection succeeded — and a run that could not finish (a timeout, an HTTP transport
 * error, a command that could not start) becomes the *empty* status of the check's type, as Mesos
 * sends it. The agent hears only of changes: the first status that differs from the previous one
 * (initially the empty one) goes out as TASK_RUNNING with REASON_TASK_CHECK_STATUS_UPDATED.
 *
 * ```ts
 * const c = new GeneralChecker({ config, probe, taskId: 't1', log, onUpdate: (status) => report(status) });
 * c.start();
 * ```
 */
import type { CheckStatusInfo } from '../../master/model/mesos';
import type { Log } from '../../log';
import type { GeneralCheckConfig, ProbeSpec } from './config';
import type { ProbeResult } from './probes';
import { probeLoop, type PeriodicRunner, type Timers } from './schedule';

/** emptyCheckStatus is the status of a check with no result (yet): its type and an empty result field, as Mesos's createEmptyCheckStatusInfo. */
export function emptyCheckStatus(type: ProbeSpec['type']): CheckStatusInfo {
  if (type === 'COMMAND') return { type, command: {} };
  if (type === 'HTTP') return { type, http: {} };
  return { type, tcp: {} };
}

/** checkStatusOf turns a probe result into the CheckStatusInfo reported for it. */
export function checkStatusOf(type: ProbeSpec['type'], r: ProbeResult): CheckStatusInfo {
  if ('error' in r) return emptyCheckStatus(type);
  if (r.type === 'COMMAND') return { type: 'COMMAND', command: { exit_code: r.exitCode } };
  if (r.type === 'HTTP') return { type: 'HTTP', http: { status_code: r.statusCode } };
  return { type: 'TCP', tcp: { succeeded: r.succeeded } };
}

/** GeneralCheckerOptions configure a {@link GeneralChecker}. */
export interface GeneralCheckerOptions {
  config: GeneralCheckConfig;
  probe: (signal: AbortSignal) => Promise<ProbeResult>;
  onUpdate: (status: CheckStatusInfo) => void;
  /** previous: the status last reported (after an agent restart), so an unchanged result is not sent again. */
  previous?: CheckStatusInfo;
  firstInMs?: number;
  taskId: string;
  log: Log;
  timers?: Timers;
}

/** GeneralChecker runs a task's general check; see the module comment. */
export class GeneralChecker {
  private previous: CheckStatusInfo;
  private readonly runner: PeriodicRunner;

  constructor(private readonly opts: GeneralCheckerOptions) {
    this.previous = opts.previous ?? emptyCheckStatus(opts.config.probe.type);
    this.runner = probeLoop({
      firstInMs: opts.firstInMs ?? opts.config.delayMs,
      intervalMs: opts.config.intervalMs,
      timers: opts.timers,
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
    if ('error' in result) this.opts.log.warn(`${this.opts.config.probe.type} check for task ${this.opts.taskId} failed: ${result.error}`);
    const status = checkStatusOf(this.opts.config.probe.type, result);
    if (JSON.stringify(status) === JSON.stringify(this.previous)) return;
    this.previous = status;
    this.opts.onUpdate(status);
  }
}
