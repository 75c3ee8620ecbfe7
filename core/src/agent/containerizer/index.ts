/**
 * The universal containerizer: command tasks in containers composed from isolators (built-ins and
 * isolator modules), with sandboxes, a fetcher, and processes that outlive the agent.
 *
 * ```ts
 * import { UniversalContainerizer } from './containerizer';
 * const c = new UniversalContainerizer({ workDir, runtimeDir, isolators: ['posix/cpu', 'posix/mem'], modules: host, log });
 * await c.recover(checkpointed);
 * await c.launch({ containerId, frameworkId, executorId: taskId, task, framework, sandbox });
 * const t = await c.wait(containerId);
 * ```
 */
export { UniversalContainerizer, type UniversalContainerizerOptions } from './containerizer';
export { LaunchError, ContainerizerErrorCodes, type ContainerizerErrorCode } from './errors';
export { BUILTIN_ISOLATORS, isBuiltinIsolator } from './builtin-isolators';
export { toAbiTaskInfo, toContainerConfig } from './abi-convert';
export { PHASE_TRANSITIONS, nextPhase } from './lifecycle';
export type {
  CheckpointedContainer,
  ContainerPhase,
  ContainerTermination,
  ContainerView,
  Containerizer,
  LaunchFailure,
  LaunchRequest,
  MesosStatistics,
  RecoveredContainer,
} from './types';
