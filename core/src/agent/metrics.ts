/**
 * The agent's figures under Mesos's `/metrics/snapshot` keys (`slave/tasks_running`,
 * `slave/registered`, `slave/cpus_total`, ...), so dashboards and scripts written for Mesos agents read
 * them unchanged. The HTTP layer renders them (and Prometheus text) from AgentView.metrics().
 *
 * ```ts
 * agentMetrics({ startTime, registered: true, total, tasks, sum, containers: 3, counters })['slave/tasks_running'];
 * ```
 */
import type { Resource } from '../master/model/mesos';
import { scalarOf } from './resources';
import type { StatusUpdateManager } from './status-update-manager';
import type { TaskManager } from './tasks';

/** MetricsInput is what the figures are computed from. */
export interface MetricsInput {
  /** startTime in seconds since the epoch. */
  startTime: number;
  registered: boolean;
  total: Resource[];
  tasks: TaskManager;
  sum: StatusUpdateManager;
  /** containers counts the containerizer's live containers. */
  containers: number;
  counters: { registrations: number; reregistrations: number; masterMessages: number; pingTimeouts: number };
}

/** agentMetrics computes the snapshot. */
export function agentMetrics(m: MetricsInput): Record<string, number> {
  const states = m.tasks.stateCounts();
  const c = m.tasks.counters;
  const used = m.tasks.runningTasks().flatMap((t) => t.resources ?? []);
  const out: Record<string, number> = {
    'slave/uptime_secs': Date.now() / 1000 - m.startTime,
    'slave/registered': m.registered ? 1 : 0,
    'slave/recovery_errors': c.recoveryErrors,
    'slave/frameworks_active': m.tasks.activeFrameworks(),
    'slave/tasks_staging': states.get('TASK_STAGING') ?? 0,
    'slave/tasks_starting': states.get('TASK_STARTING') ?? 0,
    'slave/tasks_running': states.get('TASK_RUNNING') ?? 0,
    'slave/tasks_killing': states.get('TASK_KILLING') ?? 0,
    'slave/tasks_finished': c.finished,
    'slave/tasks_failed': c.failed,
    'slave/tasks_killed': c.killed,
    'slave/tasks_lost': c.lost,
    'slave/tasks_error': c.error,
    'slave/tasks_gone': 0,
    'slave/executors_registering': 0,
    'slave/executors_running': m.containers,
    'slave/executors_terminating': states.get('TASK_KILLING') ?? 0,
    'slave/executors_terminated': c.executorsTerminated,
    'slave/container_launch_errors': c.launchErrors,
    'slave/valid_status_updates': m.sum.counters.sent,
    'slave/status_update_retries': m.sum.counters.retried,
    'slave/status_updates_acknowledged': m.sum.counters.acknowledged,
    'slave/status_updates_pending': m.sum.pending(),
    'slave/invalid_status_updates': m.sum.counters.staleAcks,
    'slave/registrations': m.counters.registrations,
    'slave/reregistrations': m.counters.reregistrations,
    'slave/master_ping_timeouts': m.counters.pingTimeouts,
  };
  const names = new Set(['cpus', 'mem', 'disk', 'gpus', ...m.total.filter((r) => r.type === 'SCALAR').map((r) => r.name)]);
  for (const name of names) {
    const total = scalarOf(m.total, name);
    const inUse = scalarOf(used, name);
    out[`slave/${name}_total`] = total;
    out[`slave/${name}_used`] = inUse;
    out[`slave/${name}_percent`] = total > 0 ? inUse / total : 0;
  }
  return out;
}
