/**
 * AgentView: what the agent's HTTP endpoints (core/src/agent/http/) read of a running agent. The Agent
 * (core/src/agent/agent.ts) implements it; the endpoints never reach into the agent's internals, so
 * both sides can change behind this seam.
 *
 * ```ts
 * const server = await startAgentHttp({ ip: '0.0.0.0', port: 5051, view: agent, log });
 * // GET /state -> Mesos's agent /state JSON built from view.info(), view.frameworks(), view.flags()
 * ```
 */
import type { Attribute, FrameworkInfo, Resource, Task } from '../master/model/mesos';
import type { Containerizer } from './containerizer/types';

/** AgentIdentity is the agent as /state and GET_STATE show it. */
export interface AgentIdentity {
  /** id the master gave; undefined until the first registration. */
  id?: string;
  hostname: string;
  /** ip and port the agent's HTTP endpoints listen on. */
  ip: string;
  port: number;
  /** resources: the agent's total (detected or --resources, plus what isolator modules provide). */
  resources: Resource[];
  attributes: Attribute[];
  /** master is the `host:port` the agent dials. */
  master: string;
  /** registered: registered with the master on an open stream right now. */
  registered: boolean;
  version: string;
  /** Seconds since the epoch. */
  startTime: number;
  workDir: string;
  runtimeDir: string;
}

/** ExecutorView is one executor (for command tasks: one per task, id = task id) and its container. */
export interface ExecutorView {
  executorId: string;
  containerId: string;
  /** sandbox directory on the host; /files/* serve below the sandboxes only. */
  sandbox: string;
  tasks: Task[];
}

/** FrameworkView is one framework with tasks on this agent. */
export interface FrameworkView {
  info: FrameworkInfo;
  executors: ExecutorView[];
  /** completedTasks are terminal tasks kept for /state (bounded). */
  completedTasks: Task[];
}

/** AgentView is what the endpoints read; see the module comment. */
export interface AgentView {
  identity(): AgentIdentity;
  frameworks(): FrameworkView[];
  /** flags as given (name -> value, Mesos names) for /flags and /state. */
  flags(): Record<string, string>;
  containerizer: Containerizer;
  /** sandboxRoot: every sandbox lives below it; /files/* refuse anything else. */
  sandboxRoot(): string;
  /** metrics as Mesos's /metrics/snapshot keys (e.g. "slave/tasks_running") -> value. */
  metrics(): Record<string, number>;
  /** prometheus renders module metrics (the module host's) in Prometheus text; empty when none. */
  modulePrometheus(): string;
}
