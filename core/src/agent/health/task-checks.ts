/**
 * The checks of one running task: its health checker (TaskInfo.health_check) and its general checker
 * (TaskInfo.check), with probes bound to the task (its user, sandbox, environment, container). The task
 * manager starts them when the task is TASK_RUNNING (or recovered running after an agent restart) and
 * stops them when the task is killed or ends, as Mesos's command executor pauses its checkers.
 *
 * After an agent restart the checkers carry on from what the checkpoint says was last reported (the
 * health state, the last check status) and the container's start (the grace period still counts from
 * it); the next check runs at the task's first-check time if that is still ahead, else one interval on.
 *
 * ```ts
 * const checks = startTaskChecks({ task, frameworkId, containerId, sandbox, user, containerPid, startedAt: Date.now(), log,
 *                                  onHealth: (u) => ..., onCheck: (status) => ... });
 * checks?.stop();
 * ```
 */
import type { CheckStatusInfo, TaskInfo } from '../../master/model/mesos';
import type { Log } from '../../log';
import { HealthChecker, type HealthState, type HealthUpdate } from './checker';
import { runCommandProbe, type CommandProbeContext } from './command-probe';
import { checkConfigOf, healthConfigOf, type CheckTiming, type ProbeSpec } from './config';
import { GeneralChecker } from './general-check';
import { runNetworkProbe, type ProbeResult } from './probes';
import { realTimers, type Timers } from './schedule';
import { healthCheckProblem } from './validate';

/** TaskChecksInput is a running task and where its checks report. */
export interface TaskChecksInput extends CommandProbeContext {
  /** startedAt: when the task started running (ms since the epoch). */
  startedAt: number;
  /** recovered: what the checkpoint says was last reported, for a task recovered after an agent restart. */
  recovered?: { health?: HealthState; checkStatus?: CheckStatusInfo };
  onHealth: (update: HealthUpdate, why: string | undefined) => void;
  onCheck: (status: CheckStatusInfo) => void;
  log: Log;
  timers?: Timers;
}

/** TaskChecks are a task's running checkers. */
export interface TaskChecks {
  stop(): void;
}

/** startTaskChecks starts a task's checkers; undefined when it has neither a health check nor a check. */
export function startTaskChecks(input: TaskChecksInput): TaskChecks | undefined {
  const { task, log } = input;
  const taskId = task.task_id.value;
  const timers = input.timers ?? realTimers;
  const started: { stop(): void; start(): void }[] = [];
  const firstIn = (t: CheckTiming): number | undefined => {
    if (!input.recovered) return undefined;
    const left = input.startedAt + t.delayMs - timers.now();
    return left > 0 ? left : t.intervalMs;
  };
  if (task.health_check) {
    const config = healthConfigOf(task.health_check);
    started.push(
      new HealthChecker({ config, probe: prober(config.probe, config.timeoutMs, input), onUpdate: input.onHealth, startedAt: input.startedAt, resume: input.recovered?.health, firstInMs: firstIn(config), taskId, log, timers }),
    );
  }
  if (task.check) {
    const config = checkConfigOf(task.check);
    started.push(new GeneralChecker({ config, probe: prober(config.probe, config.timeoutMs, input), onUpdate: input.onCheck, previous: input.recovered?.checkStatus, firstInMs: firstIn(config), taskId, log, timers }));
  }
  if (started.length === 0) return undefined;
  for (const c of started) c.start();
  return { stop: () => started.forEach((c) => c.stop()) };
}

/**
 * healthKillDue tells whether the health updates a task already sent (as the checkpoint sums them up)
 * had reached its consecutive_failures: the agent stopped before the kill was done, and a restarted
 * agent carries it out.
 */
export function healthKillDue(task: TaskInfo, health: { healthy: boolean; failures: number } | undefined): boolean {
  if (!task.health_check || !health || health.healthy || healthCheckProblem(task)) return false;
  return health.failures >= healthConfigOf(task.health_check).consecutiveFailures;
}

function prober(spec: ProbeSpec, timeoutMs: number, ctx: CommandProbeContext): (signal: AbortSignal) => Promise<ProbeResult> {
  return (signal) => (spec.type === 'COMMAND' ? runCommandProbe(spec.command, ctx, { timeoutMs, signal }) : runNetworkProbe(spec, { timeoutMs, signal }));
}
