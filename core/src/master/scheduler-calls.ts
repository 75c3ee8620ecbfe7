/**
 * The scheduler API's calls other than SUBSCRIBE, with Mesos's semantics and answers: each returns
 * the HTTP status of success (202, or 200 for UPDATE_FRAMEWORK) or throws a MasterError.
 */
import { MasterError } from './master-error';
import type { Master } from './master';
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
  kill?: { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: unknown };
  shutdown?: { executor_id: { value: string }; agent_id: { value: string } };
  acknowledge?: { agent_id: { value: string }; task_id: { value: string }; uuid: Buffer };
  reconcile?: { tasks?: { task_id: { value: string }; agent_id?: { value: string } }[] };
  message?: { agent_id: { value: string }; executor_id: { value: string }; data: Buffer };
  request?: unknown;
  update_framework?: { framework_info?: FrameworkInfo; suppressed_roles?: string[] };
  [field: string]: unknown;
}

/** handleCall runs one non-SUBSCRIBE call for the framework owning `streamId`; returns the HTTP status. */
export function handleCall(master: Master, call: SchedulerCall, streamId: string | undefined): number {
  const type = call.type ?? 'UNKNOWN';
  if (type === 'UNKNOWN') throw new MasterError(400, 'the call has no type (or an unknown one): set "type", e.g. "DECLINE"');
  const f = master.frameworkFor(call.framework_id?.value, streamId);
  const body = (name: string) => {
    const key = name.toLowerCase();
    const v = call[key];
    if (v === undefined || v === null) throw new MasterError(400, `a ${name} call needs its "${key}" field`);
    return v;
  };
  switch (type) {
    case 'TEARDOWN':
      master.removeFramework(f.id, 'it sent TEARDOWN');
      return 202;
    case 'ACCEPT': {
      const a = body('ACCEPT') as NonNullable<SchedulerCall['accept']>;
      master.accept(f, a.offer_ids ?? [], a.operations ?? [], a.filters);
      return 202;
    }
    case 'DECLINE': {
      const d = body('DECLINE') as NonNullable<SchedulerCall['decline']>;
      master.decline(f, d.offer_ids ?? [], d.filters);
      return 202;
    }
    case 'REVIVE': {
      const roles = checkRoles(f, call.revive?.roles ?? []);
      for (const r of roles.length ? roles : [...f.suppressedRoles]) f.suppressedRoles.delete(r);
      master.link.send({ reviveOffers: { frameworkId: f.id, roles } });
      return 202;
    }
    case 'SUPPRESS': {
      const roles = checkRoles(f, call.suppress?.roles ?? []);
      for (const r of roles.length ? roles : rolesOf(f.info)) f.suppressedRoles.add(r);
      master.link.send({ suppressOffers: { frameworkId: f.id, roles } });
      return 202;
    }
    case 'KILL':
      kill(master, f, (body('KILL') as NonNullable<SchedulerCall['kill']>).task_id?.value);
      return 202;
    case 'SHUTDOWN':
      // Tasks run under the command executor, whose id is the task's: shutting it down kills the task.
      kill(master, f, (body('SHUTDOWN') as NonNullable<SchedulerCall['shutdown']>).executor_id?.value);
      return 202;
    case 'ACKNOWLEDGE':
      acknowledge(master, f, body('ACKNOWLEDGE') as NonNullable<SchedulerCall['acknowledge']>);
      return 202;
    case 'RECONCILE':
      reconcile(master, f, call.reconcile?.tasks ?? []);
      return 202;
    case 'MESSAGE':
      body('MESSAGE');
      // Command tasks have no custom executor to receive framework messages; Mesos drops them too.
      return 202;
    case 'REQUEST':
      return 202; // accepted and ignored, as Mesos's allocator ignores requests
    case 'UPDATE_FRAMEWORK': {
      const u = body('UPDATE_FRAMEWORK') as NonNullable<SchedulerCall['update_framework']>;
      if (!u.framework_info) throw new MasterError(400, 'UPDATE_FRAMEWORK needs update_framework.framework_info');
      if (u.framework_info.id?.value !== f.id) throw new MasterError(400, `update_framework.framework_info.id must be the framework's id '${f.id}'`);
      f.info = { ...u.framework_info, id: { value: f.id } };
      f.suppressedRoles = new Set(u.suppressed_roles ?? []);
      master.link.send({ updateFramework: toAbiFramework(f.info, true, [...f.suppressedRoles]) });
      master.emit('frameworkUpdated', f);
      return 200;
    }
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
    case 'ACKNOWLEDGE_OPERATION_STATUS':
    case 'RECONCILE_OPERATIONS':
      throw new MasterError(501, `${type} is not implemented by this master`);
    case 'SUBSCRIBE':
      throw new MasterError(400, 'SUBSCRIBE must not carry a Mesos-Stream-Id header');
    default:
      throw new MasterError(400, `unknown call type '${type}'`);
  }
}

function checkRoles(f: FrameworkRecord, roles: string[]): string[] {
  const mine = rolesOf(f.info);
  const foreign = roles.filter((r) => !mine.includes(r));
  if (foreign.length) throw new MasterError(400, `roles ${foreign.join(', ')} are not roles of framework ${f.id} (its roles: ${mine.join(', ')})`);
  return roles;
}

function kill(master: Master, f: FrameworkRecord, taskId: string | undefined): void {
  if (!taskId) throw new MasterError(400, 'KILL needs kill.task_id');
  const t = f.tasks.get(taskId);
  if (!t && master.opts.hooks?.kill(f.id, taskId)) {
    // Waiting for its master hooks: it will not launch (Mesos, for a task waiting for authorization).
    master.forwardStatus(f.id, master.masterStatus({ task_id: { value: taskId } }, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', `task ${taskId} was killed before it launched (its master hooks were running)`));
    return;
  }
  if (!t) {
    const recovering = master.recoveringAgentOf(f.id, taskId);
    if (recovering !== undefined) {
      // As Mesos: nothing is known until the agent re-registers (or is removed); the framework retries.
      master.opts.log.info(`framework ${f.id}: KILL of task ${taskId} dropped: its agent ${recovering} has not re-registered since the master restarted`);
      return;
    }
    master.forwardStatus(f.id, master.masterStatus({ task_id: { value: taskId } }, 'TASK_LOST', 'REASON_RECONCILIATION', `task ${taskId} is unknown to the master`));
    return;
  }
  master.agents.get(t.agentId)?.conn?.send({ kill_task: { framework_id: { value: f.id }, task_id: { value: taskId } } });
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
      if (done && TERMINAL_STATES.has(done.state)) master.forwardStatus(f.id, latest(done.state, { task_id: done.task_id, agent_id: done.agent_id }, 'Reconciliation: task is terminal'));
      else if (master.recoveringAgentOf(f.id, q.task_id?.value ?? '') !== undefined) continue; // its agent has yet to re-register: no answer yet (Mesos)
      else master.forwardStatus(f.id, latest(partitionAware ? 'TASK_UNKNOWN' : 'TASK_LOST', q, 'Reconciliation: task is unknown'));
    }
  }
}
