/**
 * The master's in-memory state: frameworks, agents, tasks and outstanding offers, as records that hold
 * the Mesos-shaped messages the APIs speak plus the bookkeeping the master needs (connections, timers).
 */
import type { AgentConnection } from '../agent-protocol/server';
import type { LongTimer } from '../long-timer';
import type { AgentInfo, FrameworkInfo, Offer, Resource, Task } from './model/mesos';

/** A scheduler event in the wire layer's plain shape (`{type: 'OFFERS', offers: {...}}`). */
export type SchedulerEvent = { type: string } & Record<string, unknown>;

/** Subscriber is one framework's open SUBSCRIBE stream, as the HTTP layer gives it to the master. */
export interface Subscriber {
  /** The stream's id, sent as Mesos-Stream-Id. */
  readonly streamId: string;
  /** Writes one event (a RecordIO record). */
  send(event: SchedulerEvent): void;
  /** Ends the stream (the framework re-subscribed elsewhere or was removed). */
  close(): void;
}

/** FrameworkRecord is one framework the master knows. */
export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  /** The open stream, while connected. */
  subscriber?: Subscriber;
  /** Roles whose offers are suppressed. */
  suppressedRoles: Set<string>;
  /** Active (non-terminal) tasks by task id. */
  tasks: Map<string, TaskRecord>;
  /** Terminal tasks kept for reconciliation and the operator API (bounded). */
  completedTasks: Task[];
  /** Outstanding offer ids. */
  offers: Set<string>;
  /** When the framework first registered (Unix seconds). */
  registeredTime: number;
  /** Pending removal after a disconnection (failover_timeout). */
  failoverTimer?: LongTimer;
  /** When the stream dropped (Unix seconds). */
  unregisteredTime?: number;
  /** Heartbeat timer of the open stream. */
  heartbeat?: NodeJS.Timeout;
  /** True for a framework known only from an agent's re-registration, not (yet) re-subscribed. */
  recovered: boolean;
}

/** AgentRecord is one agent the master knows. */
export interface AgentRecord {
  id: string;
  info: AgentInfo;
  total: Resource[];
  /** The open protocol stream, while connected. */
  conn?: AgentConnection;
  /** Active tasks on the agent, keyed by {@link taskKey}. */
  tasks: Map<string, TaskRecord>;
  /** Outstanding offer ids on this agent. */
  offers: Set<string>;
  registeredTime: number;
  reregisteredTime?: number;
  version?: string;
  capabilities: string[];
  /** Pings sent and not answered in a row. */
  missedPings: number;
  /** Removal timer while disconnected. */
  removalTimer?: NodeJS.Timeout;
}

/**
 * RecoveredAgent is an agent the registry says was admitted before the master restarted and that has
 * not re-registered yet (Mesos's "recovered" agents): no connection, no resources offered, its tasks
 * known only as locations in the registry. It becomes an {@link AgentRecord} when it re-registers, or
 * is removed when `--agent_reregister_timeout` passes.
 */
export interface RecoveredAgent {
  id: string;
  info: AgentInfo;
  registeredTime: number;
  /** Removal when the re-registration window closes. */
  timer?: NodeJS.Timeout;
}

/** TaskRecord is one task, with where it runs. */
export interface TaskRecord {
  task: Task;
  frameworkId: string;
  agentId: string;
}

/** OfferRecord is one outstanding offer. */
export interface OfferRecord {
  offer: Offer;
  frameworkId: string;
  agentId: string;
  role: string;
  timer?: NodeJS.Timeout;
}

/**
 * The key of a task (on an agent, in the registry): a task id has no '/' (taskProblem refuses it), so no
 * two tasks share a key. Made by join, not `+` or a template: V8 makes those a rope of the two parts, and
 * a map compares two equal ropes character by character (10x slower than two flat strings), as every
 * status update and every re-registered task does.
 */
export const taskKey = (frameworkId: string, taskId: string): string => [frameworkId, taskId].join('/');

/**
 * agentPid is an agent's libprocess-style pid as Mesos shows it, `slave(1)@ip:port`: the address the
 * agent connects from (its hostname while disconnected) with the port it serves HTTP on, so tools that
 * build agent URLs from it (sandbox links, CLIs) reach the agent.
 */
export function agentPid(a: AgentRecord): string {
  const address = a.conn?.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '') ?? a.info.hostname;
  return `slave(1)@${address.includes(':') ? `[${address}]` : address}:${a.info.port ?? 5051}`;
}
