/**
 * Container is the containerizer's record of one container: identity, phase, process, the isolators
 * that prepared it (cleanup goes to exactly these, in reverse), kill/limitation state, and the
 * deferred termination wait() returns.
 */
import os from 'node:os';
import type * as Abi from '@tessera/modules-api';
import { fromAbiResource } from '../../master/model/abi';
import type { FrameworkInfo, TaskInfo } from '../../master/model/mesos';
import { scalarOf, toContainerConfig } from './abi-convert';
import type { Isolator } from './isolators';
import { Deferred, nextPhase } from './lifecycle';
import type { ContainerPhase, ContainerTermination, ContainerView, LaunchRequest } from './types';

/** ContainerInit is what a Container is made from (a launch request or a checkpoint). */
export interface ContainerInit extends LaunchRequest {
  runtimeDir: string;
  phase: ContainerPhase;
  /** startedAt for a recovered container (from its container.json); default now. */
  startedAt?: number;
}

/** Container is one container the containerizer owns. */
export class Container {
  readonly id: string;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly task: TaskInfo;
  readonly framework: FrameworkInfo;
  readonly sandbox: string;
  readonly user?: string;
  /** runtimeDir is <runtime_dir>/containers/<id>. */
  readonly runtimeDir: string;
  readonly config: Abi.ContainerConfig;
  readonly startedAt: number;
  phase: ContainerPhase;
  pid?: number;
  startTime?: number;
  /** isolators that finished prepare, in --isolation order. */
  readonly prepared: Isolator[] = [];
  /** kill: set once kill() (or a limitation, or --recover=cleanup) decided the container must go. */
  kill?: { reason?: string };
  limitation?: Record<string, unknown>;
  killTimer?: NodeJS.Timeout;
  /** killDeadline: when the kill's SIGKILL is due (ms since the epoch); a later kill may only bring it forward. */
  killDeadline?: number;
  /** treeSeen: processes a kill found in the container's tree (pid -> start time), signalled again later. */
  readonly treeSeen = new Map<number, number>();
  /** sigkillSent: the containerizer SIGKILLed the group (a shim without a status then died of it). */
  sigkillSent = false;
  /** sigtermSent: kill() sent SIGTERM to the group. */
  sigtermSent = false;
  /** exitReported: the fork server said the command ended before the launch finished its bookkeeping. */
  exitReported = false;
  /** ending: the process is gone and the teardown (cleanup, wait()) is under way. */
  ending = false;
  readonly watchAbort = new AbortController();
  /** watchesEnded settles once every isolator module's watch of this container has ended (set by Watches.start). */
  watchesEnded?: Promise<void>;
  /** launchAbort stops a launch in progress (downloads) when the task is killed. */
  readonly launchAbort = new AbortController();
  readonly done = new Deferred<ContainerTermination>();

  constructor(init: ContainerInit) {
    this.id = init.containerId;
    this.frameworkId = init.frameworkId;
    this.executorId = init.executorId;
    this.task = init.task;
    this.framework = init.framework;
    this.sandbox = init.sandbox;
    this.user = init.user;
    this.runtimeDir = init.runtimeDir;
    this.phase = init.phase;
    this.startedAt = init.startedAt ?? Date.now();
    this.config = toContainerConfig({ task: init.task, frameworkId: init.frameworkId, sandbox: init.sandbox, user: init.user });
  }

  /** move changes phase through the lifecycle's legal transitions. */
  move(to: ContainerPhase): void {
    this.phase = nextPhase(this.phase, to);
  }

  /** view is what the agent's endpoints show. */
  view(): ContainerView {
    return {
      containerId: this.id,
      frameworkId: this.frameworkId,
      executorId: this.executorId,
      taskId: this.task.task_id.value,
      phase: this.phase,
      ...(this.pid !== undefined ? { pid: this.pid } : {}),
      sandbox: this.sandbox,
      startedAt: this.startedAt,
    };
  }

  /** state is the ContainerState isolator modules get in Recover. */
  state(): Abi.ContainerState {
    return { containerId: { value: this.id }, ...(this.pid !== undefined ? { pid: this.pid } : {}), directory: this.sandbox, config: this.config };
  }

  /** limits are the task's cpus and mem as ResourceStatistics reports them. */
  limits(): { cpusLimit?: number; memLimitBytes?: number } {
    const cpus = scalarOf(this.task.resources, 'cpus');
    const mem = scalarOf(this.task.resources, 'mem');
    return { cpusLimit: cpus, memLimitBytes: mem === undefined ? undefined : Math.round(mem * 1024 * 1024) };
  }
}

/** wireLimitation turns an ABI ContainerLimitation into Mesos's wire shape for TaskStatus.limitation. */
export function wireLimitation(l: Abi.ContainerLimitation, isolator: string): Record<string, unknown> {
  return {
    ...(l.resources?.length ? { resources: l.resources.map(fromAbiResource) } : {}),
    message: l.message || `isolator ${isolator} reported a limitation`,
    reason: l.reason ?? 'REASON_CONTAINER_LIMITATION',
  };
}

/** agentUser is the user the agent runs as. */
export function agentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}
