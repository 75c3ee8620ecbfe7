/**
 * Master hooks (`tessera master --hooks=a,b`): before a launched task goes to its agent (and into
 * `/state`), every hook module named in `--hooks` that implements the master launch-task label
 * decorator is called, in `--hooks` order, each seeing the labels the previous one returned; the
 * labels of the last answer replace the task's, as Mesos's `masterLaunchTaskLabelDecorator` does. An
 * answer without labels means "no change".
 *
 * A hook that fails, is down or does not answer within its call deadline (`timeouts.call` of its
 * modules.json entry, 5 s by default) follows the entry's `onError`:
 * - `fail` (the default): the task is not launched; the framework gets TASK_ERROR with a message naming
 *   the module and its error (as Mesos answers a launch its authorizer module failed to decide on);
 * - `ignore`: the error is logged and the next hook sees the labels unchanged.
 *
 * While its hooks run, a task is *pending*: its resources are taken from the offer, its id is in use
 * (a duplicate is refused), KILL answers TASK_KILLED at once and RECONCILE answers TASK_STAGING, as
 * Mesos treats a task waiting for authorization. Without label decorators nothing of this runs: the
 * master launches synchronously, as before.
 *
 * ```ts
 * const hooks = new MasterHooks([{ name: 'labels', caller: modules.get('labels'), onError: 'fail' }], log);
 * new Master({ ..., hooks });
 * ```
 */
import type { LabelsResult } from '@tessera/modules-api';
import type { Log } from '../log';
import { callHook, type HookModule } from '../modules/hooks-common';
import type { Master } from './master';
import { fromAbiLabels, toAbiAgentInfoFull, toAbiFramework, toAbiTaskInfo } from './model/abi';
import type { AgentInfo, Labels, Resource, TaskInfo } from './model/mesos';
import type { AgentRecord, FrameworkRecord } from './state';

/** The capability a hook module advertises when it decorates the labels of tasks the master launches. */
export const LABEL_DECORATOR = 'master_launch_task_label_decorator';
/** The capability of a hook module told of each agent the master removes (Mesos's masterSlaveLostHook). */
export const AGENT_LOST = 'master_agent_lost_hook';

/** MasterHookModule is one hook module of `--hooks` (shared with the agent: core/src/modules/hooks-common.ts). */
export type MasterHookModule = HookModule;

type Decorated = { labels: Labels | undefined } | { error: string };

/** MasterHooks runs the master's hooks; see the module comment. */
export class MasterHooks {
  /** The hooks that decorate task labels at launch, in `--hooks` order. */
  readonly labelDecorators: readonly MasterHookModule[];
  /** The hooks told of each removed agent, in `--hooks` order. */
  readonly agentLostHooks: readonly MasterHookModule[];
  // Tasks waiting for their hooks: framework id -> task id -> cancelled by KILL, and the agent it goes to.
  private readonly pending = new Map<string, Map<string, { killed: boolean; agentId: string }>>();

  /** `hooks` in `--hooks` order; those that do not decorate labels are not called at launch. */
  constructor(
    hooks: readonly (MasterHookModule & { capabilities: readonly string[] })[],
    private readonly log: Log,
  ) {
    const having = (capability: string) => hooks.filter((h) => h.capabilities.includes(capability)).map(({ name, caller, onError }) => ({ name, caller, onError }));
    this.labelDecorators = having(LABEL_DECORATOR);
    this.agentLostHooks = having(AGENT_LOST);
  }

  /**
   * agentLost tells the hooks, in `--hooks` order and one at a time, that the master removed an agent
   * (after its pings went unanswered, or it did not re-register after a master restart), as Mesos's
   * masterSlaveLostHook. Nothing waits on them: a failing or late hook is logged, whatever its onError.
   */
  agentLost(agentId: string, info: AgentInfo, total: readonly Resource[]): void {
    if (this.agentLostHooks.length === 0) return;
    const request = { agent: toAbiAgentInfoFull({ ...info, id: { value: agentId } }, total) };
    void (async () => {
      for (const hook of this.agentLostHooks) {
        const res = await callHook(hook, 'MasterAgentLostHook', request);
        if ('error' in res) this.log.warn(`master hook module '${hook.name}' failed on lost agent ${agentId} (${info.hostname}): ${res.error.code}: ${res.error.message}`);
      }
    })();
  }

  /** Whether launches go through hooks (otherwise the master launches synchronously). */
  get decoratesLaunches(): boolean {
    return this.labelDecorators.length > 0;
  }

  /** Whether a task of a framework is waiting for its hooks. */
  isPending(frameworkId: string, taskId: string): boolean {
    return this.pending.get(frameworkId)?.has(taskId) ?? false;
  }

  /** Whether a launch on an agent is waiting for its hooks (its resources are out of the offers, not yet in a task). */
  pendingOn(agentId: string): boolean {
    for (const byTask of this.pending.values()) for (const p of byTask.values()) if (p.agentId === agentId) return true;
    return false;
  }

  /** Kills a task waiting for its hooks (it will not launch); false when no such task waits. */
  kill(frameworkId: string, taskId: string): boolean {
    const p = this.pending.get(frameworkId)?.get(taskId);
    if (!p) return false;
    p.killed = true;
    return true;
  }

  /**
   * launch decorates the tasks of one ACCEPT, then launches them in their order through
   * `master.launchTask`. Their resources are already taken from the offer: a task that does not launch
   * gives them back to the allocator.
   */
  launch(master: Master, f: FrameworkRecord, agent: AgentRecord, tasks: readonly TaskInfo[]): void {
    for (const t of tasks) {
      let byTask = this.pending.get(f.id);
      if (!byTask) this.pending.set(f.id, (byTask = new Map()));
      byTask.set(t.task_id.value, { killed: false, agentId: agent.id });
    }
    const frameworkId = f.id;
    const agentId = agent.id;
    void Promise.all(tasks.map((t) => this.decorate(t, f, agent)))
      .then((results) => tasks.forEach((t, i) => this.finish(master, frameworkId, agentId, t, results[i])))
      .catch((err: Error) => this.log.error(`launching tasks of framework ${frameworkId} after their master hooks failed: ${err.stack ?? err.message}`));
  }

  private async decorate(task: TaskInfo, f: FrameworkRecord, agent: AgentRecord): Promise<Decorated> {
    let labels = task.labels;
    const framework = toAbiFramework(f.info, true, []).info;
    const agentInfo = toAbiAgentInfoFull(agent.info, agent.total);
    for (const hook of this.labelDecorators) {
      if (this.pending.get(f.id)?.get(task.task_id.value)?.killed) return { labels }; // it will not launch
      const res = await callHook<LabelsResult>(hook, 'MasterLaunchTaskLabelDecorator', { task: toAbiTaskInfo({ ...task, labels }, f.id), framework, agent: agentInfo });
      if ('value' in res) {
        if (res.value.labels) labels = fromAbiLabels(res.value.labels);
      } else {
        const e = res.error;
        const what = `master hook module '${hook.name}' failed on task ${task.task_id.value} of framework ${f.id}: ${e.code}: ${e.message}`;
        if (hook.onError === 'ignore') {
          this.log.warn(`${what}; the labels stay as they were (its onError is "ignore")`);
          continue;
        }
        this.log.warn(`${what}; the task is not launched (its onError is "fail")`);
        return {
          error:
            `${what}. The task was not launched because the module's "onError" is "fail": ` +
            `the operator must fix or restart the hook module (or set "onError": "ignore" in its modules.json entry); launching the task again may succeed`,
        };
      }
    }
    return { labels };
  }

  private finish(master: Master, frameworkId: string, agentId: string, task: TaskInfo, result: Decorated): void {
    const id = task.task_id.value;
    const byTask = this.pending.get(frameworkId);
    const p = byTask?.get(id);
    byTask?.delete(id);
    if (byTask?.size === 0) this.pending.delete(frameworkId);
    const f = master.frameworks.get(frameworkId);
    if (!f || master.isStopped) return; // removed meanwhile: the allocator freed everything it held
    const agent = master.agents.get(agentId);
    const giveBack = () => agent && master.recoverResources(frameworkId, agentId, task.resources ?? []);
    if (!p || p.killed) return void giveBack(); // KILL answered TASK_KILLED already
    if ('error' in result) {
      master.counters.invalidCalls++;
      master.forwardStatus(frameworkId, master.masterStatus(task, 'TASK_ERROR', 'REASON_TASK_INVALID', result.error));
      return void giveBack();
    }
    if (!agent?.conn) {
      // As Mesos after an asynchronous authorization: the agent went away while the hooks ran.
      const partitionAware = (f.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
      const reason = agent ? 'REASON_AGENT_DISCONNECTED' : 'REASON_AGENT_REMOVED';
      master.forwardStatus(frameworkId, master.masterStatus(task, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', reason, `agent ${agentId} ${agent ? 'disconnected' : 'was removed'} while the master hooks of the task ran`));
      return void giveBack();
    }
    if (result.labels?.labels?.length) task.labels = result.labels;
    else delete task.labels;
    master.launchTask(f, agent, task);
  }
}
