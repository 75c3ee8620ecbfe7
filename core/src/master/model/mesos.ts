/**
 * TypeScript shapes of the Mesos v1 messages the master reads and writes, in the wire layer's plain
 * form (core/src/master/wire): proto field names (snake_case), enums as name strings, bytes as Buffer,
 * 64-bit integers as numbers, unset fields absent. Only the fields the master uses are typed; every
 * shape stays open (`[field: string]: unknown`) so fields the master passes through untouched (health
 * checks, discovery, container info...) survive from scheduler to agent and back.
 */

/** An id wrapper, as every Mesos id is on the wire: `{"value": "..."}`. */
export interface Id {
  value: string;
}

/** A scalar value. */
export interface Scalar {
  value: number;
}

/** A range of ports or other integers, both ends included. */
export interface Range {
  begin: number;
  end: number;
}

/** A Mesos Value type name. */
export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';

/** A reservation of a resource. */
export interface ReservationInfo {
  type?: 'UNKNOWN' | 'STATIC' | 'DYNAMIC';
  role?: string;
  principal?: string;
  labels?: Labels;
  [field: string]: unknown;
}

/** mesos.v1.Resource. */
export interface Resource {
  name: string;
  type: ValueType;
  scalar?: Scalar;
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
  role?: string;
  reservations?: ReservationInfo[];
  allocation_info?: { role?: string };
  revocable?: Record<string, unknown>;
  shared?: Record<string, unknown>;
  disk?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A label. */
export interface Label {
  key: string;
  value?: string;
}

/** Labels. */
export interface Labels {
  labels?: Label[];
}

/** An attribute of an agent. */
export interface Attribute {
  name: string;
  type: ValueType;
  scalar?: Scalar;
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
  text?: { value: string };
}

/** Framework capability names. */
export type FrameworkCapability =
  | 'UNKNOWN'
  | 'REVOCABLE_RESOURCES'
  | 'TASK_KILLING_STATE'
  | 'GPU_RESOURCES'
  | 'SHARED_RESOURCES'
  | 'PARTITION_AWARE'
  | 'MULTI_ROLE'
  | 'RESERVATION_REFINEMENT'
  | 'REGION_AWARE';

/** mesos.v1.FrameworkInfo. */
export interface FrameworkInfo {
  user: string;
  name: string;
  id?: Id;
  failover_timeout?: number;
  checkpoint?: boolean;
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: { type?: FrameworkCapability }[];
  labels?: Labels;
  [field: string]: unknown;
}

/** mesos.v1.AgentInfo. */
export interface AgentInfo {
  hostname: string;
  port?: number;
  resources?: Resource[];
  attributes?: Attribute[];
  id?: Id;
  [field: string]: unknown;
}

/** mesos.v1.Address. */
export interface Address {
  hostname?: string;
  ip?: string;
  port: number;
}

/** mesos.v1.MasterInfo. */
export interface MasterInfo {
  id: string;
  ip: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: Address;
  [field: string]: unknown;
}

/** mesos.v1.KillPolicy. */
export interface KillPolicy {
  grace_period?: { nanoseconds: number };
}

/** mesos.v1.CommandInfo. */
export interface CommandInfo {
  value?: string;
  shell?: boolean;
  arguments?: string[];
  user?: string;
  uris?: { value: string; executable?: boolean; extract?: boolean; cache?: boolean; output_file?: string }[];
  environment?: { variables?: { name: string; value?: string; type?: string }[] };
  [field: string]: unknown;
}

/** mesos.v1.HealthCheck: a health check of a task (the agent runs it; enough failures kill the task). */
export interface HealthCheck {
  type?: 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP' | string;
  command?: CommandInfo;
  http?: { port?: number; path?: string; scheme?: string; protocol?: 'IPv4' | 'IPv6' | string; statuses?: number[] };
  tcp?: { port?: number; protocol?: 'IPv4' | 'IPv6' | string };
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  consecutive_failures?: number;
  grace_period_seconds?: number;
  [field: string]: unknown;
}

/** mesos.v1.CheckInfo: a general check of a task, whose result is reported and never acted upon. */
export interface CheckInfo {
  type?: 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP' | string;
  command?: { command?: CommandInfo };
  http?: { port?: number; path?: string };
  tcp?: { port?: number };
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  [field: string]: unknown;
}

/** mesos.v1.CheckStatusInfo: the latest result of a task's general check (TaskStatus.check_status). */
export interface CheckStatusInfo {
  type?: 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';
  command?: { exit_code?: number };
  http?: { status_code?: number };
  tcp?: { succeeded?: boolean };
}

/** mesos.v1.TaskInfo. */
export interface TaskInfo {
  name: string;
  task_id: Id;
  agent_id: Id;
  resources?: Resource[];
  executor?: Record<string, unknown>;
  command?: CommandInfo;
  container?: Record<string, unknown>;
  kill_policy?: KillPolicy;
  data?: Buffer;
  labels?: Labels;
  health_check?: HealthCheck;
  check?: CheckInfo;
  [field: string]: unknown;
}

/** Task states, as Mesos names them. */
export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

/** Where a status update comes from. */
export type StatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

/** mesos.v1.TaskStatus. */
export interface TaskStatus {
  task_id: Id;
  state: TaskState;
  data?: Buffer;
  message?: string;
  agent_id?: Id;
  timestamp?: number;
  executor_id?: Id;
  healthy?: boolean;
  check_status?: CheckStatusInfo;
  source?: StatusSource;
  reason?: string;
  uuid?: Buffer;
  labels?: Labels;
  container_status?: Record<string, unknown>;
  unreachable_time?: { nanoseconds: number };
  limitation?: Record<string, unknown>;
  [field: string]: unknown;
}

/** mesos.v1.Task: a task as the master and the operator API report it. */
export interface Task {
  name: string;
  task_id: Id;
  framework_id: Id;
  executor_id?: Id;
  agent_id: Id;
  state: TaskState;
  resources?: Resource[];
  statuses?: TaskStatus[];
  status_update_state?: TaskState;
  status_update_uuid?: Buffer;
  labels?: Labels;
  container?: Record<string, unknown>;
  kill_policy?: KillPolicy;
  user?: string;
  [field: string]: unknown;
}

/** mesos.v1.Offer. */
export interface Offer {
  id: Id;
  framework_id: Id;
  agent_id: Id;
  hostname: string;
  url?: { scheme: string; address: Address; path?: string };
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: Id[];
  allocation_info?: { role?: string };
  [field: string]: unknown;
}

/** mesos.v1.Offer.Operation: what an ACCEPT does with its offers (the kinds the master reads). */
export interface OfferOperation {
  type?: string;
  /** Set by frameworks that want operation feedback (UPDATE_OPERATION_STATUS). */
  id?: Id;
  launch?: { task_infos?: TaskInfo[] };
  launch_group?: { executor?: Record<string, unknown>; task_group?: { tasks?: TaskInfo[] } };
  reserve?: { resources?: Resource[]; source?: Resource[] };
  unreserve?: { resources?: Resource[] };
  [field: string]: unknown;
}

/** mesos.v1.Filters. */
export interface Filters {
  refuse_seconds?: number;
}

/** Terminal task states: nothing follows them. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);
