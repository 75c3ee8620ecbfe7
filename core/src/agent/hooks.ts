/**
 * Agent hooks (`tessera agent --hooks=a,b`), as Mesos's agent hooks: each hook module of `--hooks` is
 * called, in `--hooks` order, for the agent hooks it implements (its capabilities), each seeing what the
 * previous one returned. An answer without a result means "no change".
 *
 * - `agent_run_task_label_decorator`: before a task is checkpointed and launched; the labels replace
 *   the task's (the agent's /state, the checkpoint, what isolators and the containerizer see).
 * - `agent_executor_environment_decorator`: then, with the task's command executor (id = task id); the
 *   environment returned replaces the task's `command.environment` (as Mesos replaces the executor's),
 *   so a hook returns the variables it was given plus its own. Variables that are not plain values
 *   (type SECRET) are not shown to hooks and are kept.
 * - `agent_post_fetch_hook`: once a container's URIs are in its sandbox, before its isolators prepare
 *   it (Mesos's slavePostFetchHook).
 * - `agent_task_status_decorator`: on every status update the agent makes, before it is checkpointed
 *   and sent: `labels` and `container_status` (container id and executor pid; the ABI's cgroups and
 *   labels have no field in Mesos's ContainerStatus) replace the update's.
 * - `agent_remove_executor_hook`: after a task's container ended (also one that ended while the agent
 *   was down); nobody waits for it.
 * - `agent_resources_decorator`, `agent_attributes_decorator`: once at startup, before the agent
 *   registers; the result (`set`) replaces the agent's resources (they then count as given by
 *   --resources) or attributes.
 *
 * A hook that fails, is down or misses its call deadline (`timeouts.call` of its modules.json entry,
 * 5 s by default) follows the entry's `onError` where something can fail:
 * - launch hooks (labels, environment): `fail` (the default) ends the task with TASK_FAILED, reason
 *   REASON_CONTAINER_LAUNCH_FAILED, and a message naming the module, before any sandbox or container
 *   exists (as a failing isolator module does); `ignore` logs and goes on with what it had.
 * - post-fetch hooks: `fail` fails the launch (TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED) naming the
 *   module; `ignore` logs and goes on.
 * - startup decorators: `fail` stops the agent (TSR_AGENT_HOOK_FAILED); `ignore` logs and goes on.
 * - status decorators and remove-executor hooks are logged and skipped whatever `onError` says (as Mesos
 *   does): a status update is never held back or lost for a hook, and an ended container stays ended.
 *
 * Without hooks of a kind nothing of this runs: the launch and status paths stay synchronous.
 *
 * ```ts
 * const hooks = new AgentHooks(startedHooks(modules, ['labels']), log);
 * const r = await hooks.decorateLaunch(frameworkId, task, framework, agentInfo);   // { task } | { error }
 * ```
 */
import type * as Abi from '@tessera/modules-api';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { fromAbiLabels, fromAbiResource, toAbiAgentInfoFull, toAbiFramework, toAbiLabels, toAbiResource, toAbiTaskInfo } from '../master/model/abi';
import type { AgentInfo, Attribute, FrameworkInfo, Resource, TaskInfo, TaskStatus } from '../master/model/mesos';
import { callHook, type HookModule, type StartedHook } from '../modules/hooks-common';
import { envNameProblem } from './containerizer/launch-info';

/** AGENT_HOOKS maps each agent hook the agent calls to the capability a module advertises for it. */
export const AGENT_HOOKS = {
  AgentRunTaskLabelDecorator: 'agent_run_task_label_decorator',
  AgentExecutorEnvironmentDecorator: 'agent_executor_environment_decorator',
  AgentPostFetchHook: 'agent_post_fetch_hook',
  AgentTaskStatusDecorator: 'agent_task_status_decorator',
  AgentRemoveExecutorHook: 'agent_remove_executor_hook',
  AgentResourcesDecorator: 'agent_resources_decorator',
  AgentAttributesDecorator: 'agent_attributes_decorator',
} as const;

type AgentHookRpc = keyof typeof AGENT_HOOKS;

/** What the agent says of its hooks at startup (one line per module). */
const DOES: Record<AgentHookRpc, string> = {
  AgentRunTaskLabelDecorator: 'task labels',
  AgentExecutorEnvironmentDecorator: 'executor environment',
  AgentPostFetchHook: 'fetched sandboxes',
  AgentTaskStatusDecorator: 'status updates',
  AgentRemoveExecutorHook: 'removed executors',
  AgentResourcesDecorator: 'agent resources',
  AgentAttributesDecorator: 'agent attributes',
};

/** LaunchDecoration is a task decorated by the launch hooks, or why it must not launch. */
export type LaunchDecoration = { task: TaskInfo } | { error: string };

/** AgentHooks runs the agent's hooks; see the module comment. */
export class AgentHooks {
  private readonly by: Record<AgentHookRpc, readonly HookModule[]>;

  /** `hooks` in `--hooks` order; each is called only for the hooks it advertises. */
  constructor(
    hooks: readonly StartedHook[],
    private readonly log: Log,
  ) {
    const by = {} as Record<AgentHookRpc, HookModule[]>;
    for (const rpc of Object.keys(AGENT_HOOKS) as AgentHookRpc[]) {
      by[rpc] = hooks.filter((h) => h.capabilities.includes(AGENT_HOOKS[rpc])).map(({ name, caller, onError }) => ({ name, caller, onError }));
    }
    this.by = by;
  }

  /** describe says, per module, which agent hooks it is called for (for the startup log). */
  static describe(hooks: readonly StartedHook[]): { name: string; line: string; called: boolean }[] {
    return hooks.map((h) => {
      const called = (Object.keys(AGENT_HOOKS) as AgentHookRpc[]).filter((rpc) => h.capabilities.includes(AGENT_HOOKS[rpc])).map((rpc) => DOES[rpc]);
      return called.length
        ? { name: h.name, called: true, line: `agent hook ${h.name}: decorates ${called.join(', ')} (onError: ${h.onError})` }
        : { name: h.name, called: false, line: `agent hook ${h.name} implements no agent hook this agent calls (${h.capabilities.join(', ') || 'none'}); it is started but not called` };
    });
  }

  /** Whether launches wait for hooks (label or environment decorators). */
  get decoratesLaunches(): boolean {
    return this.by.AgentRunTaskLabelDecorator.length > 0 || this.by.AgentExecutorEnvironmentDecorator.length > 0;
  }

  /** Whether fetched sandboxes are reported to post-fetch hooks. */
  get hooksFetches(): boolean {
    return this.by.AgentPostFetchHook.length > 0;
  }

  /**
   * postFetch tells the post-fetch hooks that a container's URIs are in its sandbox `directory`. Throws
   * (with a message naming the module) when a hook whose onError is "fail" fails: the launch fails.
   */
  async postFetch(containerId: string, directory: string): Promise<void> {
    for (const hook of this.by.AgentPostFetchHook) {
      const res = await callHook<Abi.HookAck>(hook, 'AgentPostFetchHook', { containerId: { value: containerId }, directory });
      if (!('error' in res)) continue;
      const what = `agent hook module '${hook.name}' failed after the fetch into container ${containerId}'s sandbox (AgentPostFetchHook): ${res.error.code}: ${res.error.message}`;
      if (hook.onError === 'fail') throw new TesseraError('TSR_AGENT_HOOK_FAILED', what);
      this.log.warn(`${what}; going on (onError: ignore)`);
    }
  }

  /** Whether status updates go through decorators. */
  get decoratesStatuses(): boolean {
    return this.by.AgentTaskStatusDecorator.length > 0;
  }

  /** Whether ended containers are reported to remove-executor hooks. */
  get removesExecutors(): boolean {
    return this.by.AgentRemoveExecutorHook.length > 0;
  }

  /** Whether the agent's resources or attributes are decorated at startup. */
  get decoratesAgent(): boolean {
    return this.by.AgentResourcesDecorator.length > 0 || this.by.AgentAttributesDecorator.length > 0;
  }

  /**
   * decorateLaunch runs the label decorators, then the environment decorators, on a task about to be
   * launched. A failing hook whose onError is "fail" gives `error`: the TASK_FAILED message.
   */
  async decorateLaunch(frameworkId: string, task: TaskInfo, framework: FrameworkInfo, agent: AgentInfo): Promise<LaunchDecoration> {
    const taskId = task.task_id.value;
    const abiFramework = toAbiFramework(framework, true, []).info;
    let labels = task.labels;
    if (this.by.AgentRunTaskLabelDecorator.length) {
      const abiAgent = toAbiAgentInfoFull(agent, agent.resources ?? []);
      for (const hook of this.by.AgentRunTaskLabelDecorator) {
        const res = await callHook<Abi.LabelsResult>(hook, 'AgentRunTaskLabelDecorator', { task: toAbiTaskInfo({ ...task, labels }, frameworkId), framework: abiFramework, agent: abiAgent });
        if ('value' in res) {
          if (res.value.labels) labels = fromAbiLabels(res.value.labels);
          continue;
        }
        const failed = this.launchFailure(hook, 'AgentRunTaskLabelDecorator', taskId, frameworkId, res.error, 'the labels stay as they were');
        if (failed) return failed;
      }
    }
    const out: TaskInfo = { ...task };
    if (labels?.labels?.length) out.labels = labels;
    else delete out.labels;
    if (this.by.AgentExecutorEnvironmentDecorator.length && out.command) {
      const all = out.command.environment?.variables ?? [];
      const hidden = all.filter((v) => v.type !== undefined && v.type !== 'VALUE');
      let variables: { name: string; value: string }[] = all.filter((v) => v.type === undefined || v.type === 'VALUE').map((v) => ({ name: v.name, value: v.value ?? '' }));
      for (const hook of this.by.AgentExecutorEnvironmentDecorator) {
        const executor = commandExecutor(frameworkId, { ...out, command: { ...out.command, environment: { variables } } });
        const res = await callHook<Abi.EnvironmentResult>(hook, 'AgentExecutorEnvironmentDecorator', { executor, framework: abiFramework });
        const env = 'value' in res ? res.value.environment : undefined;
        const named = env && (env.variables ?? []).filter((v) => v.name).map((v) => ({ name: v.name!, value: v.value ?? '' }));
        // A name the task's shell cannot take is the hook's fault, not the framework's: it follows onError.
        const result = 'error' in res ? res : checked(named, (v) => {
          const problem = envNameProblem(v.name);
          return problem && `an environment the task cannot have: ${problem}`;
        });
        if ('value' in result) {
          if (result.value) variables = result.value;
          continue;
        }
        const failed = this.launchFailure(hook, 'AgentExecutorEnvironmentDecorator', taskId, frameworkId, result.error, 'the environment stays as it was');
        if (failed) return failed;
      }
      const merged = [...variables, ...hidden];
      const command = { ...out.command };
      if (merged.length) command.environment = { variables: merged };
      else delete command.environment;
      out.command = command;
    }
    return { task: out };
  }

  /**
   * decorateStatus runs the status decorators on a status update the agent made, changing its labels
   * and container_status in place. Never fails: a failing decorator is logged and skipped.
   */
  async decorateStatus(frameworkId: string, status: TaskStatus): Promise<void> {
    for (const hook of this.by.AgentTaskStatusDecorator) {
      const res = await callHook<Abi.TaskStatusResult>(hook, 'AgentTaskStatusDecorator', { frameworkId, status: toAbiTaskStatus(status) });
      if ('error' in res) {
        this.log.warn(
          `agent hook module '${hook.name}' failed on the ${status.state} update of task ${status.task_id.value} of framework ${frameworkId} (AgentTaskStatusDecorator): ` +
            `${res.error.code}: ${res.error.message}; the update goes out as it was (a status update is never held back for a hook, whatever its onError)`,
        );
        continue;
      }
      if (res.value.labels) {
        const labels = fromAbiLabels(res.value.labels);
        if (labels.labels?.length) status.labels = labels;
        else delete status.labels;
      }
      if (res.value.containerStatus) status.container_status = fromAbiContainerStatus(res.value.containerStatus, status.container_status);
    }
  }

  /** removeExecutor tells the remove-executor hooks that a task's container ended; nobody waits for them. */
  removeExecutor(frameworkId: string, task: TaskInfo, framework: FrameworkInfo): void {
    const executor = commandExecutor(frameworkId, task);
    const req = { executor, framework: toAbiFramework(framework, true, []).info };
    void (async () => {
      for (const hook of this.by.AgentRemoveExecutorHook) {
        const res = await callHook<Abi.HookAck>(hook, 'AgentRemoveExecutorHook', req);
        if ('error' in res) {
          this.log.warn(`agent hook module '${hook.name}' failed on the removal of executor ${executor.executorId} of framework ${frameworkId} (AgentRemoveExecutorHook): ${res.error.code}: ${res.error.message}`);
        }
      }
    })();
  }

  /**
   * decorateAgent runs the resources decorators, then the attributes decorators, on the agent's info at
   * startup, and returns the agent's resources and attributes. Throws TSR_AGENT_HOOK_FAILED when a
   * decorator whose onError is "fail" fails.
   */
  async decorateAgent(info: AgentInfo): Promise<{ resources: Resource[]; attributes: Attribute[] }> {
    let resources = info.resources ?? [];
    let attributes = info.attributes ?? [];
    const request = () => ({ agent: toAbiAgentInfoFull({ ...info, attributes }, resources) });
    for (const hook of this.by.AgentResourcesDecorator) {
      const res = await callHook<Abi.ResourcesResult>(hook, 'AgentResourcesDecorator', request());
      const out = 'error' in res ? res : checked(res.value.set ? (res.value.resources ?? []).map(fromAbiResource) : undefined, resourceProblem);
      if ('value' in out) {
        if (out.value) resources = out.value;
      } else this.startupFailure(hook, 'AgentResourcesDecorator', 'resources', out.error);
    }
    for (const hook of this.by.AgentAttributesDecorator) {
      const res = await callHook<Abi.AttributesResult>(hook, 'AgentAttributesDecorator', request());
      const out = 'error' in res ? res : checked(res.value.set ? (res.value.attributes ?? []).map(fromAbiAttribute) : undefined, attributeProblem);
      if ('value' in out) {
        if (out.value) attributes = out.value;
      } else this.startupFailure(hook, 'AgentAttributesDecorator', 'attributes', out.error);
    }
    return { resources, attributes };
  }

  private launchFailure(hook: HookModule, rpc: AgentHookRpc, taskId: string, frameworkId: string, e: TesseraError, unchanged: string): { error: string } | undefined {
    const what = `agent hook module '${hook.name}' failed on task ${taskId} of framework ${frameworkId} (${rpc}): ${e.code}: ${e.message}`;
    if (hook.onError === 'ignore') {
      this.log.warn(`${what}; ${unchanged} (its onError is "ignore")`);
      return undefined;
    }
    this.log.warn(`${what}; the task is not launched (its onError is "fail")`);
    return {
      error:
        `${what}. The task was not launched because the module's "onError" is "fail": ` +
        `the operator must fix or restart the hook module (or set "onError": "ignore" in its modules.json entry); launching the task again may succeed`,
    };
  }

  private startupFailure(hook: HookModule, rpc: AgentHookRpc, what: string, e: TesseraError): void {
    const text = `agent hook module '${hook.name}' failed to decorate the agent's ${what} at startup (${rpc}): ${e.code}: ${e.message}`;
    if (hook.onError === 'ignore') {
      this.log.warn(`${text}; the ${what} stay as they were (its onError is "ignore")`);
      return;
    }
    throw new TesseraError(
      'TSR_AGENT_HOOK_FAILED',
      `${text}. The agent does not start because the module's "onError" is "fail": fix the hook module, or set "onError": "ignore" in its modules.json entry to start without its decoration`,
      { cause: e },
    );
  }
}

// A decorator's answer checked before the agent uses it: a bad one counts as the hook failing.
function checked<T>(value: T[] | undefined, problem: (v: T) => string | undefined): { value: T[] | undefined } | { error: TesseraError } {
  for (const v of value ?? []) {
    const p = problem(v);
    if (p) return { error: new TesseraError('TSR_HANDLER_FAILED', `the module answered ${p}`) };
  }
  return { value };
}

function resourceProblem(r: Resource): string | undefined {
  if (!r.name) return 'a resource without a name';
  if (r.type === 'SCALAR' && !(typeof r.scalar?.value === 'number' && Number.isFinite(r.scalar.value) && r.scalar.value >= 0)) return `resource "${r.name}" of type SCALAR without a non-negative scalar value`;
  if (r.type === 'RANGES' && !r.ranges) return `resource "${r.name}" of type RANGES without ranges`;
  if (r.type === 'SET' && !r.set) return `resource "${r.name}" of type SET without a set`;
  if (r.type !== 'SCALAR' && r.type !== 'RANGES' && r.type !== 'SET') return `resource "${r.name}" of type ${String(r.type)} (SCALAR, RANGES or SET)`;
  return undefined;
}

function attributeProblem(a: Attribute): string | undefined {
  if (!a.name) return 'an attribute without a name';
  const has = { SCALAR: a.scalar, RANGES: a.ranges, SET: a.set, TEXT: a.text }[a.type as string];
  return has ? undefined : `attribute "${a.name}" of type ${String(a.type)} without its value`;
}

/** An ABI attribute in Mesos's wire shape. */
function fromAbiAttribute(a: Abi.Attribute): Attribute {
  const out: Attribute = { name: a.name ?? '', type: (a.type ?? 'TEXT') as Attribute['type'] };
  if (a.scalar) out.scalar = { value: a.scalar.value ?? 0 };
  if (a.ranges) out.ranges = { range: (a.ranges.range ?? []).map((x) => ({ begin: x.begin ?? 0, end: x.end ?? 0 })) };
  if (a.set) out.set = { item: [...(a.set.item ?? [])] };
  if (a.text) out.text = { value: a.text.value ?? '' };
  return out;
}

/** The command executor of a command task as hooks see it: Mesos's command executor has the task's id. */
function commandExecutor(frameworkId: string, task: TaskInfo): Abi.ExecutorInfo {
  const abi = toAbiTaskInfo(task, frameworkId);
  const vars = task.command?.environment?.variables?.filter((v) => v.type === undefined || v.type === 'VALUE');
  return {
    executorId: task.task_id.value,
    frameworkId,
    name: `Command Executor (Task: ${task.task_id.value})`,
    ...(abi.command ? { command: { ...abi.command, environment: vars?.length ? { variables: vars.map((v) => ({ name: v.name, value: v.value ?? '' })) } : undefined } } : {}),
    resources: (task.resources ?? []).map(toAbiResource),
    ...(abi.container ? { container: abi.container } : {}),
  };
}

/** A status update as the ABI spells it. */
function toAbiTaskStatus(s: TaskStatus): Abi.TaskStatus {
  const cs = s.container_status as { container_id?: { value?: string }; executor_pid?: number } | undefined;
  return {
    taskId: s.task_id.value,
    state: s.state as Abi.TaskState,
    ...(s.message !== undefined ? { message: s.message } : {}),
    ...(s.agent_id ? { agentId: s.agent_id.value } : {}),
    ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}),
    ...(s.executor_id ? { executorId: s.executor_id.value } : {}),
    ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
    ...(s.source ? { source: s.source } : {}),
    ...(s.reason ? { reason: s.reason as Abi.Reason } : {}),
    ...(s.uuid ? { uuid: new Uint8Array(s.uuid) } : {}),
    ...(s.data ? { data: new Uint8Array(s.data) } : {}),
    ...(s.labels ? { labels: toAbiLabels(s.labels) } : {}),
    ...(cs
      ? {
          containerStatus: {
            ...(cs.container_id?.value ? { containerId: { value: cs.container_id.value } } : {}),
            ...(cs.executor_pid !== undefined ? { executorPid: cs.executor_pid } : {}),
          },
        }
      : {}),
  };
}

/** A decorated container status in Mesos's wire shape; the container id stays the agent's unless the hook gives one. */
function fromAbiContainerStatus(cs: Abi.ContainerStatus, before: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const id = cs.containerId?.value ? cs.containerId : undefined;
  if (id) out.container_id = { value: id.value, ...(id.parent?.value ? { parent: { value: id.parent.value } } : {}) };
  else if (before?.container_id) out.container_id = before.container_id;
  if (cs.executorPid !== undefined && cs.executorPid !== 0) out.executor_pid = cs.executorPid;
  return out;
}
