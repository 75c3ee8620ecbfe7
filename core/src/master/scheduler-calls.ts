/**
 * The scheduler API's calls other than SUBSCRIBE, with Mesos's semantics and answers: each returns
 * the HTTP status of success (202, or 200 for UPDATE_FRAMEWORK and RECONCILE_OPERATIONS, the latter
 * with a `mesos.v1.scheduler.Response`) or throws a MasterError.
 */
import { MasterError } from './master-error';
import type { Master } from './master';
import { frameworkProblem, frameworkUpdateProblem } from './framework-validation';
import { rolesOf, toAbiFramework } from './model/abi';
import { TERMINAL_STATES, type FrameworkInfo, type OfferOperation, type TaskStatus } from './model/mesos';
import { taskKey, type FrameworkRecord } from './state';

/** A decoded scheduler Call (wire plain shape). */
export interface SchedulerCall {
  type?: string;
  framework_id?: { value: string };
  subscribe?: { framework_info?: FrameworkInfo; suppressed_roles?: string[] };
  accept?: { offer_ids?: { value: string }[]; operations?: OfferOperation[]; filters?: { refuse_seconds?: number } };
  decline?: { offer_ids?: { value: string }[]; filters?: { refuse_seconds?: number } };
  revive?: { roles?: string[] };
  suppress?: { roles?: string[] };
  kill?: { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: Record<string, unknown> };
  shutdown?: { executor_id: { value: string }; agent_id: { value: string } };
  acknowledge?: { agent_id: { value: string }; task_id: { value: string }; uuid: Buffer };
  reconcile?: { tasks?: { task_id: { value: string }; agent_id?: { value: string } }[] };
  message?: { agent_id: { value: string }; executor_id: { value: string }; data: Buffer };
  request?: unknown;
  update_framework?: { framework_info?: FrameworkInfo; suppressed_roles?: string[] };
  reconcile_operations?: { operations?: { operation_id?: { value: string }; agent_id?: { value: string }; resource_provider_id?: { value: string } }[] };
  [field: string]: unknown;
}

/** CallAnswer is a call's success: its HTTP status, and for RECONCILE_OPERATIONS the Response body. */
export interface CallAnswer {
  status: number;
  /** A `mesos.v1.scheduler.Response` in the wire layer's plain shape. */
  response?: Record<string, unknown>;
}

/** handleCall runs one non-SUBSCRIBE call for the framework owning `streamId`. */
export function handleCall(master: Master, call: SchedulerCall, streamId: string | undefined): CallAnswer {
  const type = call.type;
  // As Mesos: a call without a type (or with one this master's protos do not know) is malformed; the
  // type UNKNOWN itself is "not implemented".
  if (type === undefined) throw new MasterError(400, 'the call has no type (or one this master does not know): set "type", e.g. "DECLINE"');
  if (type === 'UNKNOWN') throw new MasterError(501, 'the call\'s type is UNKNOWN: set "type" to the call you mean, e.g. "DECLINE"');
  const f = master.frameworkFor(call.framework_id?.value, streamId);
  const body = (name: string) => {
    const key = name.toLowerCase();
    const v = call[key];
    if (v === undefined || v === null) throw new MasterError(400, `a ${name} call needs its "${key}" field`);
    return v;
  };
  const accepted = { status: 202 };
  switch (type) {
    case 'TEARDOWN':
      master.removeFramework(f.id, 'it sent TEARDOWN');
      return accepted;
    case 'ACCEPT': {
      const a = body('ACCEPT') as NonNullable<SchedulerCall['accept']>;
      master.accept(f, a.offer_ids ?? [], a.operations ?? [], a.filters);
      return accepted;
    }
    case 'DECLINE': {
      const d = body('DECLINE') as NonNullable<SchedulerCall['decline']>;
      master.decline(f, d.offer_ids ?? [], d.filters);
      return accepted;
    }
    case 'REVIVE': {
      const roles = checkRoles(f, call.revive?.roles ?? []);
      for (const r of roles.length ? roles : [...f.suppressedRoles]) f.suppressedRoles.delete(r);
      master.link.send({ reviveOffers: { frameworkId: f.id, roles } });
      return accepted;
    }
    case 'SUPPRESS': {
      const roles = checkRoles(f, call.suppress?.roles ?? []);
      for (const r of roles.length ? roles : rolesOf(f.info)) f.suppressedRoles.add(r);
      master.link.send({ suppressOffers: { frameworkId: f.id, roles } });
      return accepted;
    }
    case 'KILL': {
      const k = body('KILL') as NonNullable<SchedulerCall['kill']>;
      kill(master, f, k.task_id?.value, k.agent_id, k.kill_policy);
      return accepted;
    }
    case 'SHUTDOWN':
      shutdown(master, f, body('SHUTDOWN') as NonNullable<SchedulerCall['shutdown']>);
      return accepted;
    case 'ACKNOWLEDGE':
      acknowledge(master, f, body('ACKNOWLEDGE') as NonNullable<SchedulerCall['acknowledge']>);
      return accepted;
    case 'RECONCILE':
      reconcile(master, f, call.reconcile?.tasks ?? []);
      return accepted;
    case 'MESSAGE':
      body('MESSAGE');
      // Command tasks have no custom executor to receive framework messages; Mesos drops them too.
      return accepted;
    case 'REQUEST':
      return accepted; // accepted and ignored, as Mesos's allocator ignores requests
    case 'UPDATE_FRAMEWORK':
      updateFramework(master, f, body('UPDATE_FRAMEWORK') as NonNullable<SchedulerCall['update_framework']>);
      return { status: 200 };
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
      // This master makes no inverse offers (no maintenance schedules), so none can be valid: Mesos
      // answers 202 and drops an invalid one with a log line.
      body(type);
      master.opts.log.info(`framework ${f.id}: ${type} dropped: this master makes no inverse offers`);
      return accepted;
    case 'ACKNOWLEDGE_OPERATION_STATUS':
      // This master sends no operation status updates (operation feedback is refused at ACCEPT), so
      // there is nothing to acknowledge; Mesos answers 202 for an update it does not know.
      body(type);
      return accepted;
    case 'RECONCILE_OPERATIONS':
      return { status: 200, response: reconcileOperations(master, call.reconcile_operations?.operations ?? []) };
    case 'SUBSCRIBE':
      throw new MasterError(400, 'SUBSCRIBE must not carry a Mesos-Stream-Id header');
    default:
      throw new MasterError(400, `unknown call type '${type}'`);
  }
}

/**
 * UPDATE_FRAMEWORK: the new FrameworkInfo passes the checks of SUBSCRIBE, and keeps its user, principal
 * and checkpoint (as Mesos); offers for roles the framework left, or now suppresses, are rescinded.
 */
function updateFramework(master: Master, f: FrameworkRecord, u: NonNullable<SchedulerCall['update_framework']>): void {
  const info = u.framework_info;
  if (!info) throw new MasterError(400, 'UPDATE_FRAMEWORK needs update_framework.framework_info');
  if (info.id?.value !== f.id) throw new MasterError(400, `update_framework.framework_info.id must be the framework's id '${f.id}'`);
  const suppressed = u.suppressed_roles ?? [];
  const problem = frameworkProblem(info, suppressed) ?? frameworkUpdateProblem(f.info, info);
  if (problem) throw new MasterError(400, problem);
  f.info = { ...info, failover_timeout: master.boundedFailover(info, f.id), id: { value: f.id } };
  f.suppressedRoles = new Set(suppressed);
  const roles = new Set(rolesOf(f.info));
  for (const id of [...f.offers]) {
    const role = master.offers.get(id)?.role;
    if (role !== undefined && (!roles.has(role) || f.suppressedRoles.has(role))) master.rescind(id);
  }
  master.link.send({ updateFramework: toAbiFramework(f.info, true, [...f.suppressedRoles]) });
  master.emit('frameworkUpdated', f);
}

/**
 * RECONCILE_OPERATIONS: this master keeps no operations (it refuses operation feedback), so each
 * operation asked about is OPERATION_UNKNOWN, or OPERATION_RECOVERING while its agent has yet to
 * re-register after a restart (Mesos); asking about all of them lists none.
 */
function reconcileOperations(master: Master, operations: NonNullable<NonNullable<SchedulerCall['reconcile_operations']>['operations']>): Record<string, unknown> {
  const statuses = operations.map((op) => {
    const agentId = op.agent_id?.value;
    const recovering = agentId !== undefined && master.recoveredAgents.has(agentId);
    return {
      ...(op.operation_id ? { operation_id: op.operation_id } : {}),
      state: recovering ? 'OPERATION_RECOVERING' : 'OPERATION_UNKNOWN',
      message: recovering ? `agent ${agentId} has not re-registered since the master restarted` : 'Reconciliation: the master does not know this operation',
      ...(op.agent_id ? { agent_id: op.agent_id } : {}),
      ...(op.resource_provider_id ? { resource_provider_id: op.resource_provider_id } : {}),
    };
  });
  return { type: 'RECONCILE_OPERATIONS', reconcile_operations: { operation_statuses: statuses } };
}

function checkRoles(f: FrameworkRecord, roles: string[]): string[] {
  const mine = rolesOf(f.info);
  const foreign = roles.filter((r) => !mine.includes(r));
  if (foreign.length) throw new MasterError(400, `roles ${foreign.join(', ')} are not roles of framework ${f.id} (its roles: ${mine.join(', ')})`);
  return roles;
}

/**
 * KILL, as Mesos's `Master::kill`: a task the master knows is killed by its agent, with the call's
 * kill_policy when it has one (it overrides the task's); one still waiting for its master hooks is
 * killed before it launches; one whose terminal update waits for its acknowledgement needs nothing (its
 * agent holds the update); for any other, the framework gets what reconciliation would answer.
 */
function kill(master: Master, f: FrameworkRecord, taskId: string | undefined, agentId: { value: string } | undefined, killPolicy: Record<string, unknown> | undefined): void {
  if (!taskId) throw new MasterError(400, 'KILL needs kill.task_id');
  const t = f.tasks.get(taskId);
  if (t) {
    master.agents.get(t.agentId)?.conn?.send({ kill_task: { framework_id: { value: f.id }, task_id: { value: taskId }, ...(killPolicy ? { kill_policy: killPolicy } : {}) } });
    return;
  }
  if (master.opts.hooks?.kill(f.id, taskId)) {
    // Waiting for its master hooks: it will not launch (Mesos, for a task waiting for authorization).
    master.forwardStatus(f.id, master.masterStatus({ task_id: { value: taskId } }, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', `task ${taskId} was killed before it launched (its master hooks were running)`));
    return;
  }
  if (master.awaitsAcknowledgement(f.id, taskId)) return;
  master.opts.log.info(`framework ${f.id}: KILL of task ${taskId}, which the master does not know: answering with its reconciliation`);
  reconcile(master, f, [{ task_id: { value: taskId }, ...(agentId ? { agent_id: agentId } : {}) }]);
}

/**
 * SHUTDOWN of an executor: a task's command executor has the task's id, so shutting it down kills the
 * task. Other executors (none run here) are the agent's business: nothing is sent to the framework,
 * as Mesos's master only forwards the shutdown.
 */
function shutdown(master: Master, f: FrameworkRecord, s: NonNullable<SchedulerCall['shutdown']>): void {
  const executorId = s.executor_id?.value;
  if (!executorId) throw new MasterError(400, 'SHUTDOWN needs shutdown.executor_id');
  if (!s.agent_id?.value) throw new MasterError(400, 'SHUTDOWN needs shutdown.agent_id');
  const t = f.tasks.get(executorId);
  if (t && t.agentId === s.agent_id.value) {
    master.agents.get(t.agentId)?.conn?.send({ kill_task: { framework_id: { value: f.id }, task_id: { value: executorId } } });
    return;
  }
  master.opts.log.info(`framework ${f.id}: SHUTDOWN of executor ${executorId} on agent ${s.agent_id.value} ignored: no such executor runs there`);
}

function acknowledge(master: Master, f: FrameworkRecord, ack: NonNullable<SchedulerCall['acknowledge']>): void {
  if (!ack.uuid || ack.uuid.length !== 16) throw new MasterError(400, `ACKNOWLEDGE needs a 16-byte uuid (base64 in JSON), got ${ack.uuid?.length ?? 0} bytes`);
  const agent = master.agents.get(ack.agent_id?.value ?? '');
  if (!agent) return; // the agent is gone; nothing to acknowledge to
  const t = agent.tasks.get(taskKey(f.id, ack.task_id.value));
  if (t && t.task.status_update_uuid?.equals(ack.uuid)) t.task.status_update_uuid = undefined;
  master.acknowledged(f.id, agent.id, ack.task_id.value, ack.uuid);
  agent.conn?.send({ status_update_ack: { framework_id: { value: f.id }, task_id: ack.task_id, uuid: ack.uuid } });
}

function reconcile(master: Master, f: FrameworkRecord, tasks: { task_id: { value: string }; agent_id?: { value: string } }[]): void {
  const latest = (state: TaskStatus['state'], t: { task_id: { value: string }; agent_id?: { value: string } }, message: string) =>
    master.masterStatus(t, state, 'REASON_RECONCILIATION', message);
  if (tasks.length === 0) {
    for (const t of f.tasks.values()) master.forwardStatus(f.id, latest(t.task.state, { task_id: t.task.task_id, agent_id: t.task.agent_id }, 'Reconciliation: latest task status'));
    return;
  }
  const partitionAware = (f.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
  for (const q of tasks) {
    const t = f.tasks.get(q.task_id?.value ?? '');
    if (t) master.forwardStatus(f.id, latest(t.task.state, { task_id: t.task.task_id, agent_id: t.task.agent_id }, 'Reconciliation: latest task status'));
    else if (master.opts.hooks?.isPending(f.id, q.task_id?.value ?? '')) master.forwardStatus(f.id, latest('TASK_STAGING', q, 'Reconciliation: the task is being launched'));
    else {
      const done = f.completedTasks.find((c) => c.task_id.value === q.task_id?.value);
      const agentId = q.agent_id?.value;
      if (done && TERMINAL_STATES.has(done.state)) master.forwardStatus(f.id, latest(done.state, { task_id: done.task_id, agent_id: done.agent_id }, 'Reconciliation: task is terminal'));
      else if (master.recoveringAgentOf(f.id, q.task_id?.value ?? '') !== undefined) continue; // its agent has yet to re-register: no answer yet (Mesos)
      else if (agentId !== undefined && master.recoveredAgents.has(agentId)) continue; // the same, for the agent the framework names
      // An agent the master knows does not run the task: gone (Mesos's case "task unknown, agent registered").
      else if (agentId !== undefined && master.agents.has(agentId)) master.forwardStatus(f.id, latest(partitionAware ? 'TASK_GONE' : 'TASK_LOST', q, 'Reconciliation: Task is unknown to the agent'));
      else master.forwardStatus(f.id, latest(partitionAware ? 'TASK_UNKNOWN' : 'TASK_LOST', q, 'Reconciliation: Task is unknown'));
    }
  }
}
