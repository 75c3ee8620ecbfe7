/**
 * The agent's tasks, as Mesos's agent and its command executor handle them: validate a RunTask, make
 * the sandbox, checkpoint the task, TASK_STARTING, launch the container, TASK_RUNNING, then the
 * container's end as TASK_FINISHED / TASK_FAILED / TASK_KILLED; kills with the kill policy's grace
 * period (TASK_KILLING first for frameworks with TASK_KILLING_STATE); shutdown of a framework;
 * recovery of checkpointed tasks after an agent restart; and, while a task runs, its health check and
 * general check (health/: TASK_RUNNING updates with `healthy` or `check_status`, and the kill after
 * too many health failures, as Mesos's command executor).
 *
 * Every status goes through the status update manager (checkpointed, retried until acknowledged).
 * With agent hooks (core/src/agent/hooks.ts), a task's labels and environment are decorated before it
 * is checkpointed, each status before it enters the status update manager (in order, per task), and an
 * ended container is reported to remove-executor hooks; without hooks nothing here waits for them.
 * Lifecycle of one task here (explicit in {@link TaskPhase}): LAUNCHING (checkpointed, container being
 * launched) -> RUNNING (container runs; wait() pending) -> TERMINAL (its terminal update is made;
 * kept until acknowledged) -> completed (in the framework's bounded history, for /state).
 *
 * ```ts
 * const tasks = new TaskManager({ containerizer, checkpoint, sum, workDir, agentId: () => id, log, defaultGraceMs: 5000 });
 * await tasks.recover({ cleanup: false });       // before registering
 * tasks.run(framework, taskInfo);                 // master message run_task
 * tasks.kill(frameworkId, taskId, killPolicy);    // master message kill_task
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { TERMINAL_STATES, type AgentInfo, type CheckStatusInfo, type FrameworkInfo, type KillPolicy, type StatusSource, type Task, type TaskInfo, type TaskState, type TaskStatus } from '../master/model/mesos';
import type { ExecutorView, FrameworkView } from './agent-view';
import type { Checkpoint } from './checkpoint';
import type { CheckpointedTask } from './checkpoint-state';
import type { CheckpointedContainer, ContainerTermination, ContainerView, Containerizer, LaunchFailure } from './containerizer/types';
import { agentUser } from './containerizer/container';
import type { HealthState, HealthUpdate } from './health/checker';
import { emptyCheckStatus } from './health/general-check';
import { healthKillDue, startTaskChecks, type TaskChecks } from './health/task-checks';
import type { AgentHooks } from './hooks';
import type { StatusUpdateManager } from './status-update-manager';
import { markSandboxEnded } from './sandbox-gc';
import { containerProblem, taskOf, taskProblem } from './task-info';

/** TaskPhase is where a task is in the agent (see the module comment). */
export type TaskPhase = 'LAUNCHING' | 'RUNNING' | 'TERMINAL';

/** AgentTask is one task the agent knows. */
interface AgentTask {
  frameworkId: string;
  info: TaskInfo;
  /** task is the Mesos view (/state, reregistration): state and recent statuses. */
  task: Task;
  /** containerId; '' for a task that never had a container (TASK_ERROR, TASK_LOST answers). */
  containerId: string;
  sandbox: string;
  phase: TaskPhase;
  /** killGraceMs: a kill arrived while launching; applied once the launch settles. */
  killGraceMs?: number;
  /** inContainerizer: containerizer.launch was called (a kill from then on goes to the containerizer). */
  inContainerizer?: boolean;
  /** statuses: the task's updates waiting for status decorators, in order (only with such hooks). */
  statuses?: Promise<void>;
  /** checks: the task's running health check and general check (health/task-checks.ts). */
  checks?: TaskChecks;
  /** killing: a kill is under way (health and check updates stop, as Mesos's executor stops them). */
  killing?: boolean;
  /** killedByHealthCheck: its health check failed too often; its terminal update says healthy: false. */
  killedByHealthCheck?: boolean;
  /** healthy and checkStatus: the latest reported, carried on by later health and check updates (as Mesos copies the last status). */
  healthy?: boolean;
  checkStatus?: CheckStatusInfo;
}

interface AgentFramework {
  info: FrameworkInfo;
  /** Tasks not yet forgotten (live, or terminal with the update unacknowledged). */
  tasks: Map<string, AgentTask>;
  /** Completed tasks, oldest first, bounded. */
  completed: AgentTask[];
  /** shutdown: the master shut the framework down; nobody will acknowledge its updates. */
  shutdown: boolean;
}

/** TaskManagerOptions configure a {@link TaskManager}. */
export interface TaskManagerOptions {
  containerizer: Containerizer;
  checkpoint: Checkpoint;
  sum: StatusUpdateManager;
  /** workDir holds the sandboxes under slaves/<agentId>/... */
  workDir: string;
  /** agentId is the id the master gave (known before any task arrives). */
  agentId: () => string;
  /** defaultGraceMs is --executor_shutdown_grace_period: the kill grace period when no kill policy says one. */
  defaultGraceMs: number;
  /** switchUser is --switch_user (default true): see {@link taskUser}. */
  switchUser?: boolean;
  log: Log;
  /** completedPerFramework bounds the history per framework (default 1,000). */
  completedPerFramework?: number;
  /** hooks are the agent hooks (--hooks); absent or without decorators of a kind, nothing waits for them. */
  hooks?: AgentHooks;
  /** agentInfo describes the agent to launch hooks (id, hostname, port, total resources, attributes). */
  agentInfo?: () => AgentInfo;
}

/** TaskCounters are the agent's task metrics (Mesos's slave/tasks_* counters). */
export interface TaskCounters {
  finished: number;
  failed: number;
  killed: number;
  lost: number;
  error: number;
  launchErrors: number;
  recoveryErrors: number;
  executorsTerminated: number;
}

const COMPLETED_FRAMEWORKS_KEPT = 50;
const now = (): number => Date.now() / 1000;
const msOf = (p: KillPolicy | undefined): number | undefined => (p?.grace_period?.nanoseconds === undefined ? undefined : Math.max(0, p.grace_period.nanoseconds / 1e6));

/** TaskManager runs the agent's tasks; see the module comment. */
export class TaskManager {
  private readonly frameworkMap = new Map<string, AgentFramework>();
  readonly counters: TaskCounters = { finished: 0, failed: 0, killed: 0, lost: 0, error: 0, launchErrors: 0, recoveryErrors: 0, executorsTerminated: 0 };

  constructor(private readonly opts: TaskManagerOptions) {}

  // ---- master messages --------------------------------------------------------------------------

  /** run handles RunTask: validates, checkpoints and launches; every outcome is a status update. */
  run(framework: FrameworkInfo, info: TaskInfo): void {
    const frameworkId = framework.id?.value ?? '';
    const taskId = info.task_id?.value ?? '';
    if (!taskId) {
      // Nothing to address an update to, and a task without an id would make the checkpoint unreadable.
      this.opts.log.warn(`framework ${frameworkId}: RunTask without a task id; dropped`);
      return;
    }
    const fw = this.framework(frameworkId, framework);
    const existing = fw.tasks.get(taskId);
    if (existing) {
      // Not through the task's own stream: that would end the running task in the master's eyes, or drop
      // the unacknowledged updates of an ended one (Mesos's master keeps such a task and refuses its id too).
      const why = existing.phase === 'TERMINAL' ? 'ended on this agent and its terminal update is not acknowledged yet' : 'runs on this agent already';
      this.opts.log.warn(`task ${taskId} of framework ${frameworkId}: RunTask for a task that ${why}; refused`);
      this.opts.sum.sendOnce(frameworkId, this.status(existing, 'TASK_ERROR', 'SOURCE_AGENT', `Task has duplicate ID: ${taskId} ${why}`, 'REASON_TASK_INVALID', false));
      return;
    }
    const problem = taskProblem(info);
    const t: AgentTask = { frameworkId, info, task: taskOf(frameworkId, info, this.opts.agentId()), containerId: '', sandbox: '', phase: 'LAUNCHING' };
    fw.tasks.set(taskId, t);
    this.opts.checkpoint.lazy({ op: 'framework', info: fw.info });
    if (problem) {
      this.opts.checkpoint.lazy({ op: 'task', frameworkId, taskId, containerId: '', sandbox: '', info });
      this.terminal(t, 'TASK_ERROR', 'SOURCE_AGENT', problem, 'REASON_TASK_INVALID');
      return;
    }
    const unsupported = containerProblem(info);
    if (unsupported) {
      // Before TASK_STARTING: no sandbox or container is made for a container this agent cannot provide.
      this.counters.launchErrors++;
      this.opts.checkpoint.lazy({ op: 'task', frameworkId, taskId, containerId: '', sandbox: '', info });
      this.terminal(t, 'TASK_FAILED', 'SOURCE_AGENT', unsupported, 'REASON_CONTAINER_LAUNCH_FAILED');
      return;
    }
    t.containerId = randomUUID();
    t.sandbox = path.join(this.opts.workDir, 'slaves', this.opts.agentId(), 'frameworks', frameworkId, 'executors', taskId, 'runs', t.containerId);
    void this.launch(fw, t);
  }

  /** kill handles KillTask: grace = the kill's policy, else the task's, else --executor_shutdown_grace_period. */
  kill(frameworkId: string, taskId: string, policy?: KillPolicy): void {
    if (!taskId) return this.opts.log.warn(`framework ${frameworkId}: KillTask without a task id; dropped`);
    const fw = this.frameworkMap.get(frameworkId);
    const t = fw?.tasks.get(taskId);
    if (!t) {
      // Unknown here (it ended and was acknowledged, or never arrived): say so, as Mesos's agent does.
      const info: TaskInfo = { name: '', task_id: { value: taskId }, agent_id: { value: this.opts.agentId() } };
      const f = this.framework(frameworkId, fw?.info ?? { user: '', name: '', id: { value: frameworkId } });
      const lost: AgentTask = { frameworkId, info, task: taskOf(frameworkId, info, this.opts.agentId()), containerId: '', sandbox: '', phase: 'LAUNCHING' };
      f.tasks.set(taskId, lost);
      this.opts.checkpoint.lazy({ op: 'task', frameworkId, taskId, containerId: '', sandbox: '', info });
      this.terminal(lost, 'TASK_LOST', 'SOURCE_AGENT', `task ${taskId} is unknown to this agent (it ended and was acknowledged, or never reached it)`, 'REASON_TASK_UNKNOWN');
      return;
    }
    if (t.phase === 'TERMINAL') return; // its terminal update is on its way
    const graceMs = msOf(policy) ?? msOf(t.info.kill_policy) ?? this.opts.defaultGraceMs;
    this.killTask(fw!, t, graceMs);
  }

  /** shutdownFramework kills every task of a framework; once all ended, the framework is forgotten. */
  shutdownFramework(frameworkId: string): void {
    const fw = this.frameworkMap.get(frameworkId);
    if (!fw) return;
    fw.shutdown = true;
    this.opts.log.info(`shutting down framework ${frameworkId}: killing its ${fw.tasks.size} task(s)`);
    for (const t of fw.tasks.values()) if (t.phase !== 'TERMINAL') this.killTask(fw, t, this.opts.defaultGraceMs);
    this.maybeForgetFramework(fw);
  }

  /** acknowledged: the SUM forgot a task whose terminal update was acknowledged. */
  acknowledged(cp: CheckpointedTask): void {
    const fw = this.frameworkMap.get(cp.frameworkId);
    const t = fw?.tasks.get(cp.taskId);
    if (!fw || !t) return;
    fw.tasks.delete(cp.taskId);
    this.complete(fw, t);
  }

  // ---- recovery ---------------------------------------------------------------------------------

  /**
   * recover rebuilds the tasks from the checkpoint, asks the containerizer what became of their
   * containers, resumes the running ones and reports the ones that ended while the agent was down.
   * Pending updates stay queued in the SUM (sent after registration).
   */
  async recover(opts: { cleanup: boolean }): Promise<void> {
    const cp = this.opts.checkpoint.state;
    const known: CheckpointedContainer[] = [];
    const byContainer = new Map<string, AgentTask>();
    const health = new Map<AgentTask, CheckpointedTask['health']>();
    const orphans: AgentTask[] = [];
    for (const c of cp.tasks.values()) {
      const fw = this.framework(c.frameworkId, cp.frameworks.get(c.frameworkId) ?? { user: '', name: '', id: { value: c.frameworkId } });
      const t: AgentTask = { frameworkId: c.frameworkId, info: c.info, task: taskOf(c.frameworkId, c.info, cp.agentId ?? ''), containerId: c.containerId, sandbox: c.sandbox, phase: 'LAUNCHING' };
      t.task.state = c.state;
      t.task.statuses = c.pending.slice(-10);
      t.healthy = c.health?.healthy;
      t.checkStatus = c.checkStatus;
      health.set(t, c.health);
      fw.tasks.set(c.taskId, t);
      if (TERMINAL_STATES.has(c.state)) t.phase = 'TERMINAL';
      else if (!c.containerId) orphans.push(t);
      else {
        known.push({ containerId: c.containerId, frameworkId: c.frameworkId, executorId: c.taskId, task: c.info, framework: fw.info, sandbox: c.sandbox });
        byContainer.set(c.containerId, t);
      }
    }
    // Checkpointed without a container and without a final word (the agent stopped in between).
    for (const t of orphans) this.terminal(t, 'TASK_FAILED', 'SOURCE_AGENT', 'the agent restarted before the task was launched', 'REASON_AGENT_RESTARTED');
    if (known.length > 0) this.opts.log.info(`recovering ${known.length} container(s) of ${cp.tasks.size} checkpointed task(s)${opts.cleanup ? ' (--recover=cleanup: killing them)' : ''}`);
    const results = await this.opts.containerizer.recover(known, { cleanup: opts.cleanup });
    const seen = new Set<string>();
    for (const r of results) {
      const t = byContainer.get(r.containerId);
      if (!t) continue;
      seen.add(r.containerId);
      if (r.outcome === 'running') {
        const wasKilling = t.task.state === 'TASK_KILLING';
        if (t.task.state === 'TASK_STAGING' || t.task.state === 'TASK_STARTING') this.update(t, 'TASK_RUNNING', 'SOURCE_EXECUTOR');
        t.phase = 'RUNNING';
        this.watch(t);
        // The kill was under way when the agent stopped: carry it out.
        if (wasKilling) {
          t.killing = true;
          void this.opts.containerizer.kill(t.containerId, { gracePeriodMs: msOf(t.info.kill_policy) ?? this.opts.defaultGraceMs }).catch((err) => this.killFailed(t, err));
        }
        this.resumeChecks(t, health.get(t), r.view);
      } else {
        this.ended(t, r.termination ?? { state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: 'the container ended while the agent was down' });
      }
    }
    for (const [containerId, t] of byContainer) {
      if (seen.has(containerId)) continue;
      this.counters.recoveryErrors++;
      const launching = t.task.state === 'TASK_STAGING' || t.task.state === 'TASK_STARTING';
      const message = launching
        ? 'The agent restarted while the container was being launched; it was never started'
        : `container ${containerId} was not found after the agent restarted (its runtime state is gone)`;
      this.terminal(t, 'TASK_FAILED', 'SOURCE_AGENT', message, launching ? 'REASON_CONTAINER_LAUNCH_FAILED' : 'REASON_EXECUTOR_TERMINATED');
    }
  }

  // ---- views ------------------------------------------------------------------------------------

  /** liveTasks are the tasks not yet forgotten, for reregistration. */
  liveTasks(): Task[] {
    return [...this.frameworkMap.values()].flatMap((fw) => [...fw.tasks.values()].map((t) => ({ ...t.task, agent_id: { value: this.opts.agentId() } })));
  }

  /** sandboxes are the sandboxes of the tasks not yet forgotten (the gc leaves them alone). */
  sandboxes(): Set<string> {
    const out = new Set<string>();
    for (const fw of this.frameworkMap.values()) for (const t of fw.tasks.values()) if (t.sandbox) out.add(path.resolve(t.sandbox));
    return out;
  }

  /** liveFrameworks are the frameworks with tasks not yet forgotten. */
  liveFrameworks(): FrameworkInfo[] {
    return [...this.frameworkMap.values()].filter((fw) => fw.tasks.size > 0).map((fw) => fw.info);
  }

  /** frameworks renders the AgentView's frameworks: an executor per task that had a container. */
  frameworks(): FrameworkView[] {
    const executor = (t: AgentTask): ExecutorView => ({ executorId: t.task.task_id.value, containerId: t.containerId, sandbox: t.sandbox, tasks: [t.task] });
    return [...this.frameworkMap.values()].map((fw) => {
      const all = [...fw.completed, ...fw.tasks.values()];
      return {
        info: fw.info,
        executors: all.filter((t) => t.containerId !== '').map(executor),
        completedTasks: fw.completed.filter((t) => t.containerId === '').map((t) => t.task),
      };
    });
  }

  /** stateCounts counts the tasks not yet forgotten by state (gauges). */
  stateCounts(): Map<TaskState, number> {
    const out = new Map<TaskState, number>();
    for (const fw of this.frameworkMap.values()) for (const t of fw.tasks.values()) out.set(t.task.state, (out.get(t.task.state) ?? 0) + 1);
    return out;
  }

  /** runningTasks lists the tasks whose container runs, with their resources (for used-resource metrics). */
  runningTasks(): Task[] {
    return [...this.frameworkMap.values()].flatMap((fw) => [...fw.tasks.values()].filter((t) => t.phase !== 'TERMINAL').map((t) => t.task));
  }

  /** activeFrameworks counts frameworks with live tasks. */
  activeFrameworks(): number {
    return [...this.frameworkMap.values()].filter((fw) => [...fw.tasks.values()].some((t) => t.phase !== 'TERMINAL')).length;
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  private async launch(fw: AgentFramework, t: AgentTask): Promise<void> {
    const taskId = t.task.task_id.value;
    if (this.opts.hooks?.decoratesLaunches && !(await this.decorate(fw, t))) return;
    try {
      fs.mkdirSync(t.sandbox, { recursive: true, mode: 0o755 });
      await this.opts.checkpoint.durable({ op: 'task', frameworkId: t.frameworkId, taskId, containerId: t.containerId, sandbox: t.sandbox, info: t.info });
    } catch (err) {
      const e = TesseraError.wrap(err);
      this.counters.launchErrors++;
      this.opts.checkpoint.lazy({ op: 'task', frameworkId: t.frameworkId, taskId, containerId: '', sandbox: '', info: t.info });
      this.terminal(t, 'TASK_FAILED', 'SOURCE_AGENT', `the agent could not prepare the task: ${e.message}`, 'REASON_CONTAINER_LAUNCH_FAILED');
      return;
    }
    this.update(t, 'TASK_STARTING', 'SOURCE_EXECUTOR');
    if (t.killGraceMs !== undefined) {
      this.ended(t, { state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH', message: 'Task killed before it was launched' });
      return;
    }
    let view: ContainerView | undefined;
    try {
      t.inContainerizer = true;
      const user = taskUser(t.info, fw.info, this.opts.switchUser ?? true);
      view = await this.opts.containerizer.launch({ containerId: t.containerId, frameworkId: t.frameworkId, executorId: taskId, task: t.info, framework: fw.info, sandbox: t.sandbox, user });
    } catch (err) {
      const failure = (err as { failure?: LaunchFailure }).failure;
      this.counters.launchErrors++;
      const message = failure?.message ?? `container launch failed: ${TesseraError.wrap(err).message}`;
      this.opts.log.warn(`task ${taskId} of framework ${t.frameworkId}: ${message}`);
      this.terminal(t, failure?.state ?? 'TASK_FAILED', 'SOURCE_AGENT', message, failure?.reason ?? 'REASON_CONTAINER_LAUNCH_FAILED');
      return;
    }
    t.phase = 'RUNNING';
    this.watch(t);
    if (t.killGraceMs !== undefined) {
      void this.opts.containerizer.kill(t.containerId, { gracePeriodMs: t.killGraceMs }).catch((err) => this.killFailed(t, err));
      return;
    }
    this.update(t, 'TASK_RUNNING', 'SOURCE_EXECUTOR');
    // As Mesos's HealthChecker, the grace period counts from here, when the task started running.
    this.startChecks(t, { pid: view?.pid, startedAt: Date.now() });
  }

  // The launch hooks: the decorated TaskInfo is what is checkpointed and launched. False: the task failed.
  private async decorate(fw: AgentFramework, t: AgentTask): Promise<boolean> {
    const agent = this.opts.agentInfo?.() ?? { hostname: '', id: { value: this.opts.agentId() } };
    // A throw here (a TaskInfo the hook ABI cannot carry) must fail the task, not escape `void launch()` and end the agent.
    const r = await this.opts.hooks!.decorateLaunch(t.frameworkId, t.info, fw.info, agent).catch((err: unknown) => ({ error: `the agent hooks could not decorate the task: ${TesseraError.wrap(err).message}` }));
    if ('error' in r) {
      // Before any sandbox or container: the task had neither.
      this.counters.launchErrors++;
      t.containerId = '';
      t.sandbox = '';
      this.opts.checkpoint.lazy({ op: 'task', frameworkId: t.frameworkId, taskId: t.task.task_id.value, containerId: '', sandbox: '', info: t.info });
      this.terminal(t, 'TASK_FAILED', 'SOURCE_AGENT', r.error, 'REASON_CONTAINER_LAUNCH_FAILED');
      return false;
    }
    t.info = r.task;
    if (r.task.labels) t.task.labels = r.task.labels;
    else delete t.task.labels;
    return true;
  }

  private killTask(fw: AgentFramework, t: AgentTask, graceMs: number): void {
    // As Mesos's command executor: a kill stops the checks, and no health or check update follows it.
    t.killing = true;
    t.checks?.stop();
    const killingState = (fw.info.capabilities ?? []).some((c) => c.type === 'TASK_KILLING_STATE');
    // Not before TASK_STARTING: a task still being checkpointed goes straight to TASK_KILLED after it.
    if (killingState && t.task.state !== 'TASK_KILLING' && t.task.state !== 'TASK_STAGING') this.update(t, 'TASK_KILLING', 'SOURCE_EXECUTOR');
    if (t.phase === 'LAUNCHING') {
      t.killGraceMs = Math.min(graceMs, t.killGraceMs ?? graceMs);
      // Mid-launch (fetching, preparing): the containerizer stops it there, the command never runs, and
      // the launch fails TASK_KILLED (REASON_TASK_KILLED_DURING_LAUNCH) instead of running to its end.
      if (t.inContainerizer) void this.opts.containerizer.kill(t.containerId, { gracePeriodMs: t.killGraceMs }).catch((err) => this.killFailed(t, err));
      return;
    }
    this.opts.log.info(`killing task ${t.task.task_id.value} of framework ${t.frameworkId} (grace period ${graceMs} ms)`);
    void this.opts.containerizer.kill(t.containerId, { gracePeriodMs: graceMs }).catch((err) => this.killFailed(t, err));
  }

  private killFailed(t: AgentTask, err: unknown): void {
    this.opts.log.error(`killing task ${t.task.task_id.value} (container ${t.containerId}) failed: ${TesseraError.wrap(err).message}`);
  }

  private watch(t: AgentTask): void {
    this.opts.containerizer.wait(t.containerId).then(
      (termination) => this.ended(t, termination),
      (err) => this.ended(t, { state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: `lost track of the container: ${TesseraError.wrap(err).message}` }),
    );
  }

  // The container ended: its termination becomes the task's terminal update.
  private ended(t: AgentTask, term: ContainerTermination): void {
    if (t.phase === 'TERMINAL') return;
    t.checks?.stop();
    t.checks = undefined;
    if (t.containerId) {
      this.counters.executorsTerminated++;
      const fw = this.frameworkMap.get(t.frameworkId);
      if (this.opts.hooks?.removesExecutors && fw) this.opts.hooks.removeExecutor(t.frameworkId, t.info, fw.info);
    }
    // A limitation or an agent-side kill (cleanup after a restart) is the agent's word; an exit is the executor's.
    const source: StatusSource = term.limitation || term.reason === 'REASON_AGENT_RESTARTED' ? 'SOURCE_AGENT' : 'SOURCE_EXECUTOR';
    // Mesos's command executor marks the end of a task its health check killed (no reason of its own).
    this.terminal(t, term.state, source, term.message, term.reason, term.limitation, t.killedByHealthCheck ? { healthy: false } : undefined);
  }

  private terminal(t: AgentTask, state: TaskState, source: StatusSource, message?: string, reason?: string, limitation?: Record<string, unknown>, extra?: Partial<TaskStatus>): void {
    t.phase = 'TERMINAL';
    // The sandbox gc counts --gc_delay from here, as Mesos schedules it when the executor ended.
    if (t.sandbox) markSandboxEnded(t.sandbox);
    if (state === 'TASK_FINISHED') this.counters.finished++;
    else if (state === 'TASK_KILLED') this.counters.killed++;
    else if (state === 'TASK_LOST') this.counters.lost++;
    else if (state === 'TASK_ERROR') this.counters.error++;
    else this.counters.failed++;
    this.update(t, state, source, message, reason, limitation, extra);
    const fw = this.frameworkMap.get(t.frameworkId);
    if (fw?.shutdown) this.maybeForgetFramework(fw);
  }

  private update(t: AgentTask, state: TaskState, source: StatusSource, message?: string, reason?: string, limitation?: Record<string, unknown>, extra?: Partial<TaskStatus>): void {
    const status = this.status(t, state, source, message, reason, true, limitation, extra);
    t.task.state = state;
    t.task.status_update_state = state;
    t.task.status_update_uuid = status.uuid;
    t.task.statuses = [...(t.task.statuses ?? []).slice(-9), status];
    const hooks = this.opts.hooks;
    if (hooks?.decoratesStatuses) {
      // Decorated in place (so /state shows it too), then handed on in the order the updates were made.
      const { frameworkId } = t;
      const taskId = t.task.task_id.value;
      t.statuses = (t.statuses ?? Promise.resolve())
        .then(() => hooks.decorateStatus(frameworkId, status))
        .catch((err: Error) => this.opts.log.error(`decorating the ${state} update of task ${taskId}: ${err.stack ?? err.message}`))
        .then(() => void this.opts.sum.update(frameworkId, taskId, status));
      return;
    }
    void this.opts.sum.update(t.frameworkId, t.task.task_id.value, status);
  }

  private status(t: AgentTask, state: TaskState, source: StatusSource, message: string | undefined, reason: string | undefined, reliable: boolean, limitation?: Record<string, unknown>, extra?: Partial<TaskStatus>): TaskStatus {
    // As Mesos's command executor: every update it makes of a task with a check carries a check_status,
    // the empty one of the check's type unless the update reports (or carries on) a result.
    const checkType = t.info.check?.type;
    const withCheck = source === 'SOURCE_EXECUTOR' && (checkType === 'COMMAND' || checkType === 'HTTP' || checkType === 'TCP');
    return {
      task_id: t.task.task_id,
      state,
      source,
      ...(reliable ? { uuid: randomBytes(16) } : {}),
      timestamp: now(),
      agent_id: { value: this.opts.agentId() },
      executor_id: { value: t.task.task_id.value },
      ...(t.containerId ? { container_status: { container_id: { value: t.containerId } } } : {}),
      ...(message ? { message } : {}),
      ...(reason ? { reason } : {}),
      ...(limitation ? { limitation } : {}),
      ...(withCheck ? { check_status: emptyCheckStatus(checkType as 'COMMAND' | 'HTTP' | 'TCP') } : {}),
      ...extra,
    };
  }

  // ---- health checks and checks (health/) ----------------------------------------------------------

  /** close stops every task's checks (the agent is stopping; containers keep running). */
  close(): void {
    for (const fw of this.frameworkMap.values()) for (const t of fw.tasks.values()) t.checks?.stop();
  }

  private startChecks(t: AgentTask, at: { pid?: number; startedAt: number; recovered?: { health?: HealthState; checkStatus?: CheckStatusInfo } }): void {
    if (!t.info.health_check && !t.info.check) return;
    const fw = this.frameworkMap.get(t.frameworkId);
    try {
      t.checks = startTaskChecks({
        task: t.info,
        frameworkId: t.frameworkId,
        containerId: t.containerId,
        sandbox: t.sandbox,
        user: taskUser(t.info, fw?.info ?? { user: '', name: '' }, this.opts.switchUser ?? true),
        containerPid: at.pid,
        startedAt: at.startedAt,
        recovered: at.recovered,
        log: this.opts.log,
        onHealth: (u, why) => this.healthUpdated(t, u, why),
        onCheck: (status) => this.checkUpdated(t, status),
      });
    } catch (err) {
      // Only a task checkpointed by an agent that did not validate checks can get here.
      this.opts.log.error(`task ${t.task.task_id.value}: its checks cannot run: ${TesseraError.wrap(err).message}`);
    }
  }

  // After an agent restart: carry on the checks where the checkpoint says they were, or the health kill that was due.
  private resumeChecks(t: AgentTask, health: CheckpointedTask['health'], view: ContainerView | undefined): void {
    if (healthKillDue(t.info, health)) t.killedByHealthCheck = true;
    if (t.killing) return;
    const fw = this.frameworkMap.get(t.frameworkId);
    if (t.killedByHealthCheck && fw) {
      this.opts.log.warn(`task ${t.task.task_id.value} of framework ${t.frameworkId} had failed its health check ${health!.failures} time(s) when the agent stopped: killing it`);
      this.killTask(fw, t, msOf(t.info.kill_policy) ?? this.opts.defaultGraceMs);
      return;
    }
    const resume = health ? { initializing: false, consecutiveFailures: health.failures } : undefined;
    this.startChecks(t, { pid: view?.pid, startedAt: view?.startedAt ?? Date.now(), recovered: { health: resume, checkStatus: t.checkStatus } });
  }

  // A health result the agent must report (Mesos's taskHealthUpdated): TASK_RUNNING with `healthy`, and the kill it may ask for.
  private healthUpdated(t: AgentTask, u: HealthUpdate, why: string | undefined): void {
    if (t.phase !== 'RUNNING' || t.killing) return;
    t.healthy = u.healthy;
    this.update(t, 'TASK_RUNNING', 'SOURCE_EXECUTOR', undefined, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', undefined, this.carried(t));
    if (!u.killTask) return;
    const fw = this.frameworkMap.get(t.frameworkId);
    if (!fw) return;
    t.killedByHealthCheck = true;
    this.opts.log.warn(`task ${t.task.task_id.value} of framework ${t.frameworkId} failed its health check ${u.consecutiveFailures} time(s) consecutively (${why}): killing it`);
    this.killTask(fw, t, msOf(t.info.kill_policy) ?? this.opts.defaultGraceMs);
  }

  // A changed general check result (Mesos's taskCheckUpdated): TASK_RUNNING with the new check_status.
  private checkUpdated(t: AgentTask, status: CheckStatusInfo): void {
    if (t.phase !== 'RUNNING' || t.killing) return;
    t.checkStatus = status;
    this.update(t, 'TASK_RUNNING', 'SOURCE_EXECUTOR', undefined, 'REASON_TASK_CHECK_STATUS_UPDATED', undefined, this.carried(t));
  }

  // What a health or check update carries on from the previous one: the latest health and check result.
  private carried(t: AgentTask): Partial<TaskStatus> {
    return { ...(t.healthy !== undefined ? { healthy: t.healthy } : {}), ...(t.checkStatus ? { check_status: t.checkStatus } : {}) };
  }

  // A shut-down framework is forgotten once all its tasks ended and their updates went out once.
  private maybeForgetFramework(fw: AgentFramework): void {
    if ([...fw.tasks.values()].some((t) => t.phase !== 'TERMINAL')) return;
    const id = fw.info.id?.value ?? '';
    setTimeout(() => {
      if (this.frameworkMap.get(id) !== fw) return;
      for (const t of fw.tasks.values()) this.complete(fw, t);
      fw.tasks.clear();
      this.opts.sum.forgetFramework(id);
    }, 1000).unref();
  }

  private complete(fw: AgentFramework, t: AgentTask): void {
    fw.completed.push(t);
    const max = this.opts.completedPerFramework ?? 1000;
    if (fw.completed.length > max) fw.completed.splice(0, fw.completed.length - max);
    // Bound the frameworks with nothing live left (Mesos's completed frameworks).
    const idle = [...this.frameworkMap.entries()].filter(([, f]) => f.tasks.size === 0);
    for (const [id] of idle.slice(0, Math.max(0, idle.length - COMPLETED_FRAMEWORKS_KEPT))) this.frameworkMap.delete(id);
  }

  private framework(id: string, info: FrameworkInfo): AgentFramework {
    let fw = this.frameworkMap.get(id);
    if (!fw) this.frameworkMap.set(id, (fw = { info: { ...info, id: { value: id } }, tasks: new Map(), completed: [], shutdown: false }));
    else if (info.name || info.user) fw.info = { ...info, id: { value: id } };
    return fw;
  }
}

/**
 * taskUser is who a task runs as, as Mesos's agent decides it: with --switch_user (the default) the
 * task's CommandInfo.user, else its framework's FrameworkInfo.user, else the agent's own user; without
 * it, always the agent's own user (a CommandInfo.user is then ignored, as Mesos does).
 */
export function taskUser(task: TaskInfo, framework: FrameworkInfo, switchUser: boolean): string {
  if (!switchUser) return agentUser();
  return task.command?.user || framework.user || agentUser();
}
