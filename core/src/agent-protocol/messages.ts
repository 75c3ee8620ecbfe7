/**
 * The messages of the master↔agent protocol (core/proto/tessera/agent/v1/agent.proto) in the wire
 * layer's plain shape: proto field names (snake_case), enums as names, bytes as Buffer, 64-bit integers
 * as numbers, unset fields absent. The Mesos parts are the master's own Mesos types, so a task or a
 * status is the same object on every hop from scheduler to agent and back.
 *
 * A message is a oneof: exactly one key is set, and TypeScript narrows on it.
 *
 * ```ts
 * function onMessage(conn: AgentConnection, msg: AgentMessage): void {
 *   if (msg.register) admit(conn, msg.register.agent_info);
 *   else if (msg.status_update) forward(msg.status_update.framework_id, msg.status_update.status);
 * }
 * conn.send({ ping: { seq: 7 } });
 * ```
 */
import type { AgentInfo, FrameworkInfo, Id, KillPolicy, MasterInfo, Resource, Task, TaskInfo, TaskStatus } from '../master/model/mesos';

/** PROTOCOL_VERSION is the version of the agent protocol this build speaks: a master accepts every agent of the same major. */
export const PROTOCOL_VERSION = '1.1';

/** PROTOCOL_METADATA is the gRPC metadata key carrying the protocol version, both ways (agent's request, master's response). */
export const PROTOCOL_METADATA = 'tessera-agent-protocol';

/** AGENT_LINK_SERVICE is the gRPC service agents call on the master. */
export const AGENT_LINK_SERVICE = 'tessera.agent.v1.AgentLink';

/** AGENT_MESSAGE_TYPE is the proto type of one message from an agent. */
export const AGENT_MESSAGE_TYPE = 'tessera.agent.v1.AgentMessage';

/** MASTER_MESSAGE_TYPE is the proto type of one message from the master. */
export const MASTER_MESSAGE_TYPE = 'tessera.agent.v1.MasterMessage';

// ---- agent → master ----

/** Register asks for a new agent id; `agent_info.id` is unset (since 1.0). */
export interface Register {
  agent_info: AgentInfo;
  /** The agent's software version, e.g. "0.1.0". */
  version?: string;
  /** Agent capabilities, e.g. MULTI_ROLE. */
  capabilities?: string[];
}

/** Reregister reconnects a known agent, with every task it still knows and their frameworks (since 1.0). */
export interface Reregister {
  /** The agent, with the id it was given. */
  agent_info: AgentInfo;
  tasks?: Task[];
  frameworks?: FrameworkInfo[];
  version?: string;
  capabilities?: string[];
}

/** StatusUpdate carries a task's new status (with a 16-byte uuid); retried until acknowledged (since 1.0). */
export interface StatusUpdate {
  framework_id: Id;
  status: TaskStatus;
  /** The task's latest state, perhaps newer than `status` (since 1.1; older agents leave it out). */
  latest_state?: TaskStatus['state'];
}

/** Pong answers the {@link Ping} with the same seq (since 1.0). */
export interface Pong {
  seq: number;
}

/** ResourcesChanged reports the agent's whole new total (since 1.0). */
export interface ResourcesChanged {
  total?: Resource[];
}

/** AgentMessageKinds maps each kind of agent message to its body. */
export interface AgentMessageKinds {
  register: Register;
  reregister: Reregister;
  status_update: StatusUpdate;
  pong: Pong;
  resources_changed: ResourcesChanged;
}

// ---- master → agent ----

/** Registered tells the agent its id; the answer to Register and Reregister (since 1.0). */
export interface Registered {
  agent_id: Id;
  master_info: MasterInfo;
  /** How often the master pings, in seconds. */
  ping_interval_seconds?: number;
}

/** RunTask launches a task (since 1.0). */
export interface RunTask {
  framework: FrameworkInfo;
  task: TaskInfo;
}

/** KillTask kills a task; `kill_policy` overrides the task's own (since 1.0). */
export interface KillTask {
  framework_id: Id;
  task_id: Id;
  kill_policy?: KillPolicy;
}

/** StatusUpdateAck acknowledges the status update with this uuid, after the framework did (since 1.0). */
export interface StatusUpdateAck {
  framework_id: Id;
  task_id: Id;
  uuid: Buffer;
}

/** Ping checks that the agent is alive; `seq` increases per ping (since 1.0). */
export interface Ping {
  seq: number;
}

/** ShutdownFramework kills every task of a framework (since 1.0). */
export interface ShutdownFramework {
  framework_id: Id;
}

/** Refused ends the stream: the master will not take this agent, and says why (since 1.0). */
export interface Refused {
  message: string;
}

/** MasterMessageKinds maps each kind of master message to its body. */
export interface MasterMessageKinds {
  registered: Registered;
  run_task: RunTask;
  kill_task: KillTask;
  status_update_ack: StatusUpdateAck;
  ping: Ping;
  shutdown_framework: ShutdownFramework;
  refused: Refused;
}

/** OneOf makes a proto oneof: one key of T set, the others absent, so a truthiness test narrows. */
export type OneOf<T> = { [K in keyof T]: { [P in K]: T[K] } & { [P in Exclude<keyof T, K>]?: undefined } }[keyof T];

/** AgentMessage is one message from an agent: exactly one of {@link AgentMessageKinds}. */
export type AgentMessage = OneOf<AgentMessageKinds>;

/** MasterMessage is one message from the master: exactly one of {@link MasterMessageKinds}. */
export type MasterMessage = OneOf<MasterMessageKinds>;

/** AgentMessageKind names a kind of agent message. */
export type AgentMessageKind = keyof AgentMessageKinds;

/** MasterMessageKind names a kind of master message. */
export type MasterMessageKind = keyof MasterMessageKinds;

const AGENT_KINDS: readonly AgentMessageKind[] = ['register', 'reregister', 'status_update', 'pong', 'resources_changed'];
const MASTER_KINDS: readonly MasterMessageKind[] = [
  'registered', 'run_task', 'kill_task', 'status_update_ack', 'ping', 'shutdown_framework', 'refused',
];

/**
 * agentMessageKind names the kind of a message, or undefined for one of a kind this build does not
 * know (sent by an agent of a newer minor version: decoding drops what it does not know).
 */
export function agentMessageKind(msg: AgentMessage): AgentMessageKind | undefined {
  return AGENT_KINDS.find((k) => msg[k] !== undefined);
}

/** masterMessageKind names the kind of a message, or undefined for a kind this build does not know. */
export function masterMessageKind(msg: MasterMessage): MasterMessageKind | undefined {
  return MASTER_KINDS.find((k) => msg[k] !== undefined);
}
