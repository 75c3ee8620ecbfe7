/**
 * The master's side of the registry: what it records there (it follows the master's events) and what
 * it reads back when a master starts on a work_dir that an earlier master used.
 *
 * After a restart, as in Mesos:
 * - every agent of the registry is *recovered*: known, not connected, offered nothing. It has
 *   `--agent_reregister_timeout` (10 min) to re-register — agents do so by themselves when their
 *   stream comes back — and brings its tasks with it. One that does not is removed: the tasks the
 *   registry places on it are reported TASK_LOST (TASK_UNREACHABLE to partition-aware frameworks).
 * - every framework of the registry is known but disconnected. A SUBSCRIBE with its id gets the same
 *   framework back, with the tasks its agents re-registered. It is removed when its failover_timeout,
 *   counted from the master's start, passes — but never before the agents' re-registration window
 *   closes: a framework with failover_timeout 0 (the default) would otherwise lose its tasks to every
 *   master restart.
 * - the master's own ids stay apart: ids carry the master id, new per run (see model/ids.ts).
 */
import { MAX_TIMER_MS, setLongTimeout } from '../long-timer';
import type { Master } from './master';
import { TERMINAL_STATES, type TaskState } from './model/mesos';
import type { RegisteredTask, Registry } from './registry';
import type { AgentRecord, FrameworkRecord } from './state';

const now = (): number => Date.now() / 1000;

/** DEFAULT_AGENT_REREGISTER_TIMEOUT_MS is Mesos's --agent_reregister_timeout: 10 minutes. */
export const DEFAULT_AGENT_REREGISTER_TIMEOUT_MS = 10 * 60_000;

/**
 * recordChanges keeps the registry in step with the master. Framework changes are durable before the
 * master answers (the scheduler API answers synchronously, right after the event); agent admissions
 * are awaited in Master.registerAgent itself; removals and task locations need no answer.
 */
export function recordChanges(master: Master, registry: Registry): void {
  const log = master.opts.log;
  const framework = (f: FrameworkRecord) => ({ id: f.id, info: f.info, registeredTime: f.registeredTime });
  // Frameworks known only from an agent's re-registration are not recorded until they subscribe.
  const put = (f: FrameworkRecord) => {
    if (!f.recovered) registry.putFramework(framework(f));
  };
  master.on('frameworkAdded', put);
  master.on('frameworkUpdated', put);
  master.on('frameworkRemoved', (f) => registry.removeFramework(f.id));
  master.on('agentRemoved', (a) => registry.removeAgent(a.id)?.catch((err: Error) => log.error(`registry: agent ${a.id}'s removal was not recorded: ${err.message}`)));
  master.on('taskAdded', (t) => registry.addTask({ frameworkId: t.framework_id.value, taskId: t.task_id.value, agentId: t.agent_id?.value ?? '' }));
  master.on('taskUpdated', (t, status) => {
    if (TERMINAL_STATES.has(t.state)) registry.removeTask(t.framework_id.value, t.task_id.value); // the latest state, perhaps newer than the status
  });
}

/**
 * recover loads the registry's frameworks, agents, quotas and weights into a master that is starting
 * (before its allocator stream opens: the first snapshot carries them).
 */
export function recover(master: Master, registry: Registry): void {
  const { log, agentReregisterTimeoutMs = DEFAULT_AGENT_REREGISTER_TIMEOUT_MS, maxFailoverTimeoutSeconds = Infinity } = master.opts;
  const started = now();
  for (const q of registry.quotas.values()) master.quotas.set(q.role, q);
  for (const [role, weight] of registry.weights) master.weights.set(role, weight);
  if (master.quotas.size + master.weights.size > 0) log.info(`recovered the quotas of ${master.quotas.size} roles and the weights of ${master.weights.size} roles from the registry`);
  for (const r of registry.frameworks.values()) {
    if (master.frameworks.has(r.id)) continue;
    const failover = Math.min(r.info.failover_timeout ?? 0, maxFailoverTimeoutSeconds);
    const grace = Math.max(failover, agentReregisterTimeoutMs / 1000);
    const f: FrameworkRecord = { id: r.id, info: r.info, suppressedRoles: new Set(), tasks: new Map(), completedTasks: [], offers: new Set(), registeredTime: r.registeredTime, unregisteredTime: started, recovered: true };
    f.failoverTimer = setLongTimeout(() => master.removeFramework(r.id, `it did not re-subscribe within ${grace} s of the master's restart (failover_timeout ${failover} s, --agent_reregister_timeout ${agentReregisterTimeoutMs / 1000} s)`), grace * 1000);
    master.frameworks.set(r.id, f);
  }
  for (const a of registry.agents.values()) {
    if (master.agents.has(a.id)) continue;
    const timer = setTimeout(() => master.removeAgent(a.id, `it did not re-register within ${agentReregisterTimeoutMs / 1000} s of the master's restart (--agent_reregister_timeout)`), Math.min(agentReregisterTimeoutMs, MAX_TIMER_MS));
    master.recoveredAgents.set(a.id, { id: a.id, info: a.info, registeredTime: a.registeredTime, timer });
  }
  if (registry.agents.size + registry.frameworks.size > 0) {
    log.info(`recovered ${master.recoveredAgents.size} agents and ${registry.frameworks.size} frameworks from the registry; agents have ${agentReregisterTimeoutMs / 1000} s to re-register`);
  }
}

/**
 * forgetRecoveredAgent removes a recovered agent that did not re-register: the tasks the registry
 * places on it are reported lost to their frameworks (and kept for reconciliation), and the registry
 * forgets it.
 */
export function forgetRecoveredAgent(master: Master, registry: Registry, agentId: string, why: string): void {
  const recovered = master.recoveredAgents.get(agentId);
  if (!recovered) return;
  if (master.isAdmitting(agentId)) return; // it is re-registering right now: the registry write decides
  clearTimeout(recovered.timer);
  master.recoveredAgents.delete(agentId);
  const tasks = registry.tasksOf(agentId);
  master.opts.log.warn(`removing agent ${agentId} (${recovered.info.hostname}): ${why}`, { tasks: tasks.length });
  for (const t of tasks) reportGone(master, t, 'REASON_AGENT_REMOVED', `agent ${agentId} removed: ${why}`);
  registry.removeAgent(agentId)?.catch((err: Error) => master.opts.log.error(`registry: agent ${agentId}'s removal was not recorded: ${err.message}`));
  master.agentFailure(agentId);
  master.opts.hooks?.agentLost(agentId, recovered.info, recovered.info.resources ?? []);
}

/**
 * syncReregisteredTasks makes the registry's task list of a re-registered agent the one it reported.
 * For an agent recovered from the registry, a task the registry placed there that the agent no longer
 * knows (it never got it, or lost it in its own restart) is reported lost.
 */
export function syncReregisteredTasks(master: Master, registry: Registry, agent: AgentRecord, wasRecovered: boolean): void {
  // Compared by key, the registry's and the master's being one format: no list is built for the common
  // case after a restart, where the registry already places exactly these tasks there.
  const registered = registry.taskKeysOf(agent.id);
  let same = registered.size === agent.tasks.size;
  const gone: string[] = [];
  for (const key of registered) {
    if (agent.tasks.has(key)) continue;
    same = false;
    if (wasRecovered) gone.push(key);
  }
  for (const key of gone) {
    const t = registry.taskAt(key);
    if (t) reportGone(master, t, 'REASON_AGENT_REREGISTERED', `agent ${agent.id} re-registered without task ${t.taskId}: it does not know the task (any more)`);
  }
  if (same) return;
  registry.setAgentTasks(agent.id, [...agent.tasks.values()].map((t) => ({ frameworkId: t.frameworkId, taskId: t.task.task_id.value })));
}

function reportGone(master: Master, t: RegisteredTask, reason: string, message: string): void {
  const f = master.frameworks.get(t.frameworkId);
  if (!f) return;
  const partitionAware = (f.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
  const state: TaskState = partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST';
  const status = master.masterStatus({ task_id: { value: t.taskId }, agent_id: { value: t.agentId } }, state, reason, message);
  const task = { name: t.taskId, task_id: { value: t.taskId }, framework_id: { value: t.frameworkId }, agent_id: { value: t.agentId }, state, resources: [], statuses: [status] };
  f.completedTasks.push(task);
  master.forwardStatus(t.frameworkId, status);
  master.emit('taskUpdated', task, status);
}
