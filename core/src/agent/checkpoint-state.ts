/**
 * What the agent checkpoints under `<work_dir>/meta` and how each journal line changes it: the agent's
 * id and info, the frameworks with tasks here, and every task the agent still owes the master something
 * about (its container, its latest state, the status updates not yet acknowledged, oldest first).
 * checkpoint.ts writes and reads it; this file is the pure state machine, so loading (replaying lines)
 * and running (applying them as they are written) cannot drift apart.
 */
import type { AgentInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus } from '../master/model/mesos';

/** CheckpointedTask is one task as the checkpoint holds it. */
export interface CheckpointedTask {
  frameworkId: string;
  taskId: string;
  /** containerId of the task's container; '' for a task that never had one (e.g. TASK_LOST for an unknown task). */
  containerId: string;
  /** sandbox directory ('' without a container). */
  sandbox: string;
  info: TaskInfo;
  /** state is the latest state the agent gave the task (the state of its latest update). */
  state: TaskState;
  /** pending are the status updates not yet acknowledged, oldest first. */
  pending: TaskStatus[];
  /**
   * health is what the task's health updates said so far: the latest `healthy`, and how many unhealthy
   * updates (each one counted failure) came since the last healthy one. Derived from the updates, so a
   * restarted agent resumes the health checker where it was (and knows a health kill was under way).
   */
  health?: { healthy: boolean; failures: number };
  /** checkStatus is the latest check_status a general check reported (REASON_TASK_CHECK_STATUS_UPDATED). */
  checkStatus?: TaskStatus['check_status'];
}

/** AgentCheckpointState is everything the checkpoint holds. */
export interface AgentCheckpointState {
  agentId?: string;
  agentInfo?: AgentInfo;
  frameworks: Map<string, FrameworkInfo>;
  /** tasks by {@link taskKey}. */
  tasks: Map<string, CheckpointedTask>;
}

/** CheckpointOp is one journal line (without its seq). */
export type CheckpointOp =
  | { op: 'agent'; id: string; info: AgentInfo }
  | { op: 'framework'; info: FrameworkInfo }
  | { op: 'removeFramework'; id: string }
  | { op: 'task'; frameworkId: string; taskId: string; containerId: string; sandbox: string; info: TaskInfo }
  | { op: 'update'; frameworkId: string; taskId: string; status: TaskStatus }
  | { op: 'ack'; frameworkId: string; taskId: string; uuid: Buffer }
  | { op: 'removeTask'; frameworkId: string; taskId: string };

/** taskKey keys a task by framework and task id. */
export function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/** emptyState is a checkpoint with nothing in it (a new agent). */
export function emptyState(): AgentCheckpointState {
  return { frameworks: new Map(), tasks: new Map() };
}

/** applyOp applies one line to the state. */
export function applyOp(state: AgentCheckpointState, op: CheckpointOp): void {
  switch (op.op) {
    case 'agent':
      state.agentId = op.id;
      state.agentInfo = op.info;
      break;
    case 'framework':
      state.frameworks.set(op.info.id?.value ?? '', op.info);
      break;
    case 'removeFramework':
      state.frameworks.delete(op.id);
      for (const [k, t] of state.tasks) if (t.frameworkId === op.id) state.tasks.delete(k);
      break;
    case 'task':
      state.tasks.set(taskKey(op.frameworkId, op.taskId), {
        frameworkId: op.frameworkId,
        taskId: op.taskId,
        containerId: op.containerId,
        sandbox: op.sandbox,
        info: op.info,
        state: 'TASK_STAGING',
        pending: [],
      });
      break;
    case 'update': {
      const t = state.tasks.get(taskKey(op.frameworkId, op.taskId));
      if (!t) break;
      t.state = op.status.state;
      t.pending.push(op.status);
      if (op.status.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' && op.status.healthy !== undefined) {
        t.health = op.status.healthy ? { healthy: true, failures: 0 } : { healthy: false, failures: (t.health?.failures ?? 0) + 1 };
      }
      if (op.status.reason === 'REASON_TASK_CHECK_STATUS_UPDATED' && op.status.check_status) t.checkStatus = op.status.check_status;
      break;
    }
    case 'ack': {
      const t = state.tasks.get(taskKey(op.frameworkId, op.taskId));
      const head = t?.pending[0];
      if (head?.uuid && Buffer.from(head.uuid).equals(op.uuid)) t!.pending.shift();
      break;
    }
    case 'removeTask':
      state.tasks.delete(taskKey(op.frameworkId, op.taskId));
      break;
  }
}

// ---- JSON with bytes --------------------------------------------------------------------------

/** toJson writes a value as JSON, Buffers as {"$bytes": "<base64>"} (uuids, task data). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return { $bytes: Buffer.from((v as { data: number[] }).data).toString('base64') };
    }
    return v;
  });
}

/** fromJson reads what {@link toJson} wrote. */
export function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && typeof (v as { $bytes?: unknown }).$bytes === 'string' && Object.keys(v).length === 1) {
      return Buffer.from((v as { $bytes: string }).$bytes, 'base64');
    }
    return v;
  });
}

// ---- validation of what is read back ------------------------------------------------------------

type Fail = (what: string) => Error;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

/** checkOp validates a line read back from the journal; throws via `fail` naming what is missing. */
export function checkOp(v: unknown, fail: Fail): CheckpointOp & { seq: number } {
  if (!isObj(v)) throw fail('a line must be a JSON object');
  if (!Number.isInteger(v.seq) || (v.seq as number) <= 0) throw fail('"seq" is not a positive integer');
  const ids = () => {
    if (!isStr(v.frameworkId) || !isStr(v.taskId) || v.taskId === '') throw fail(`${String(v.op)} needs "frameworkId" and "taskId"`);
  };
  switch (v.op) {
    case 'agent':
      if (!isStr(v.id) || !isObj(v.info)) throw fail('agent needs "id" and "info"');
      break;
    case 'framework':
      if (!isObj(v.info)) throw fail('framework needs "info"');
      break;
    case 'removeFramework':
      if (!isStr(v.id)) throw fail('removeFramework needs "id"');
      break;
    case 'task':
      ids();
      if (!isStr(v.containerId) || !isStr(v.sandbox) || !isObj(v.info)) throw fail('task needs "containerId", "sandbox" and "info"');
      break;
    case 'update':
      ids();
      if (!isObj(v.status) || !isStr(v.status.state)) throw fail('update needs "status" with a "state"');
      break;
    case 'ack':
      ids();
      if (!Buffer.isBuffer(v.uuid)) throw fail('ack needs "uuid"');
      break;
    case 'removeTask':
      ids();
      break;
    default:
      throw fail(`unknown op ${JSON.stringify(v.op)} (written by a newer Tessera release?)`);
  }
  return v as unknown as CheckpointOp & { seq: number };
}

/** SNAPSHOT_FORMAT names the snapshot file's format; SNAPSHOT_VERSION its version. */
export const SNAPSHOT_FORMAT = 'tessera-agent-checkpoint';
export const SNAPSHOT_VERSION = 1;

/** Snapshot is `meta/snapshot.json`: the state as of one seq. */
export interface Snapshot {
  format: string;
  version: number;
  seq: number;
  agent?: { id: string; info: AgentInfo };
  frameworks: FrameworkInfo[];
  tasks: CheckpointedTask[];
}

/** snapshotOf renders the state as a snapshot. */
export function snapshotOf(state: AgentCheckpointState, seq: number): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    seq,
    ...(state.agentId && state.agentInfo ? { agent: { id: state.agentId, info: state.agentInfo } } : {}),
    frameworks: [...state.frameworks.values()],
    tasks: [...state.tasks.values()],
  };
}

/** loadSnapshot validates a snapshot and fills the state; returns its seq. */
export function loadSnapshot(v: unknown, state: AgentCheckpointState, fail: Fail): number {
  if (!isObj(v) || v.format !== SNAPSHOT_FORMAT) throw fail(`not a Tessera agent checkpoint (no "format": "${SNAPSHOT_FORMAT}")`);
  if (v.version !== SNAPSHOT_VERSION) throw fail(`version ${String(v.version)} is not the version ${SNAPSHOT_VERSION} this agent reads: it was written by another Tessera release`);
  if (!Number.isInteger(v.seq) || (v.seq as number) < 0) throw fail('"seq" is not a non-negative integer');
  if (!Array.isArray(v.frameworks) || !Array.isArray(v.tasks)) throw fail('"frameworks" and "tasks" must be arrays');
  if (v.agent !== undefined) {
    const a = v.agent as Record<string, unknown>;
    if (!isObj(a) || !isStr(a.id) || !isObj(a.info)) throw fail('"agent" needs "id" and "info"');
    state.agentId = a.id;
    state.agentInfo = a.info as unknown as AgentInfo;
  }
  v.frameworks.forEach((f: unknown, i: number) => {
    if (!isObj(f)) throw fail(`frameworks[${i}] is not an object`);
    state.frameworks.set((f.id as { value?: string } | undefined)?.value ?? '', f as unknown as FrameworkInfo);
  });
  v.tasks.forEach((t: unknown, i: number) => {
    if (!isObj(t) || !isStr(t.frameworkId) || !isStr(t.taskId) || !isStr(t.containerId) || !isStr(t.sandbox) || !isObj(t.info) || !isStr(t.state) || !Array.isArray(t.pending)) {
      throw fail(`tasks[${i}] needs frameworkId, taskId, containerId, sandbox, info, state and pending`);
    }
    state.tasks.set(taskKey(t.frameworkId, t.taskId), t as unknown as CheckpointedTask);
  });
  return v.seq as number;
}
