/**
 * The contract between the agent (core/src/agent/agent.ts: tasks, status updates, the master link) and
 * the universal containerizer (this folder: processes, sandboxes, fetcher, isolator pipeline). The agent
 * speaks Mesos's wire shapes (snake_case, ids wrapped: core/src/master/model/mesos.ts); the
 * containerizer turns them into the module ABI's shapes for isolator modules.
 *
 * ```ts
 * const c = new UniversalContainerizer({ workDir, runtimeDir, isolators, modules, log });
 * await c.recover(checkpointed);                       // once, before any launch
 * const launched = await c.launch({ containerId, frameworkId, executorId: taskId, task, framework, sandbox });
 * c.wait(containerId).then((t) => report(t.state, t.reason, t.message));
 * await c.kill(containerId, { gracePeriodMs: 3000 });   // SIGTERM, then SIGKILL; wait() resolves TASK_KILLED
 * ```
 *
 * Lifecycle of one container (explicit, see ContainerPhase): PREPARING (sandbox, fetch, isolators'
 * prepare in --isolation order) -> ISOLATING (process started held before exec; isolate(pid) on every
 * isolator) -> RUNNING (released; watch every isolator) -> DESTROYING (kill, then cleanup in reverse
 * order) -> TERMINATED (wait() resolved; the container is forgotten).
 */
import type { FrameworkInfo, TaskInfo, TaskState } from '../../master/model/mesos';

/** ContainerPhase is where a container is in its lifecycle. */
export type ContainerPhase = 'PREPARING' | 'ISOLATING' | 'RUNNING' | 'DESTROYING' | 'TERMINATED';

/** LaunchRequest is one command task to run in a new container. */
export interface LaunchRequest {
  /** containerId is unique on the agent (the agent makes a UUID). */
  containerId: string;
  frameworkId: string;
  /** executorId: for a command task, the task id (Mesos's command executor uses the task id). */
  executorId: string;
  task: TaskInfo;
  framework: FrameworkInfo;
  /** sandbox is the container's directory, made by the agent (Mesos layout under --work_dir). */
  sandbox: string;
  /** user to run as; absent: the agent's own user. */
  user?: string;
}

/**
 * LaunchFailure is why a launch failed before the task ran (a launch() rejection carries one as
 * `failure` on a TesseraError): the agent reports TASK_FAILED (or TASK_ERROR for `invalid`) with it.
 */
export interface LaunchFailure {
  /** TASK_KILLED when kill() came during the launch (reason REASON_TASK_KILLED_DURING_LAUNCH). */
  state: 'TASK_FAILED' | 'TASK_ERROR' | 'TASK_KILLED';
  /** Mesos reason, e.g. REASON_CONTAINER_LAUNCH_FAILED, REASON_TASK_INVALID. */
  reason: string;
  /** Names what failed: "isolator module cgroups: ...", "fetching http://...: 404". */
  message: string;
}

/** ContainerTermination is how a container ended; wait() resolves with it. */
export interface ContainerTermination {
  state: Extract<TaskState, 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED'>;
  /** Mesos reason: REASON_COMMAND_EXECUTOR_FAILED, REASON_CONTAINER_LIMITATION_MEMORY, ... (absent for FINISHED). */
  reason?: string;
  /** "Command exited with status 3", "Command terminated with signal Killed", a limitation's message. */
  message: string;
  /** The command's exit code, when it exited. */
  exitCode?: number;
  /** The signal that ended it, when one did. */
  signal?: string;
  /** The limitation that destroyed it, in Mesos wire shape ({ resources, message, reason }). */
  limitation?: Record<string, unknown>;
}

/** ContainerView is what the agent's endpoints show of a container. */
export interface ContainerView {
  containerId: string;
  frameworkId: string;
  executorId: string;
  taskId: string;
  phase: ContainerPhase;
  /** pid of the container's init process (the shim), once started. */
  pid?: number;
  sandbox: string;
  startedAt: number;
}

/** CheckpointedContainer is what the agent remembers of a container across its restarts. */
export interface CheckpointedContainer {
  containerId: string;
  frameworkId: string;
  executorId: string;
  task: TaskInfo;
  framework: FrameworkInfo;
  sandbox: string;
}

/** RecoveredContainer says what recover() found for one checkpointed container. */
export interface RecoveredContainer {
  containerId: string;
  /** running: the process is alive and watched again; terminated: it ended while the agent was down. */
  outcome: 'running' | 'terminated';
  /** For 'terminated': how it ended (from the status the shim wrote, or "exited while the agent was down"). */
  termination?: ContainerTermination;
  /** For 'running': the container (its init's pid, when it started), e.g. for the task's health checks. */
  view?: ContainerView;
}

/** MesosStatistics is mesos.v1.ResourceStatistics in wire shape (snake_case), e.g. { timestamp, cpus_user_time_secs, mem_rss_bytes }. */
export type MesosStatistics = Record<string, number | string | undefined | Record<string, number>>;

/** Containerizer is what the agent needs of a containerizer; UniversalContainerizer implements it. */
export interface Containerizer {
  /**
   * recover is called once at agent start with every container the agent's checkpoint names; it
   * re-attaches to live processes, calls Recover on every isolator with the live ones (leftovers of
   * unknown containers go to isolators as orphans and are removed), and tells what it found. With
   * `cleanup` (--recover=cleanup) live containers are killed and cleaned up and come back as
   * 'terminated' with TASK_KILLED, reason REASON_AGENT_RESTARTED.
   */
  recover(known: CheckpointedContainer[], opts?: { cleanup?: boolean }): Promise<RecoveredContainer[]>;
  /**
   * launch prepares, starts, isolates and releases the container; it resolves once the command runs
   * (the agent then reports TASK_RUNNING) and rejects with a TesseraError carrying `failure:
   * LaunchFailure` when it could not (nothing is left behind: cleanup already ran).
   */
  launch(req: LaunchRequest): Promise<ContainerView>;
  /** wait resolves once the container terminated and was cleaned up (also for recovered containers). */
  wait(containerId: string): Promise<ContainerTermination>;
  /** kill sends SIGTERM to the container's processes, then SIGKILL after the grace period; wait() then resolves TASK_KILLED. */
  kill(containerId: string, opts: { gracePeriodMs: number }): Promise<void>;
  /** usage merges the statistics of every isolator (Mesos wire shape); undefined for an unknown container. */
  usage(containerId: string): Promise<MesosStatistics | undefined>;
  /** containers lists the containers that are not yet terminated. */
  containers(): ContainerView[];
  /** close stops watching (containers keep running: they outlive the agent). */
  close(): Promise<void>;
}
