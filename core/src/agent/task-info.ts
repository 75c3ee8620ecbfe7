/**
 * What the agent checks of a TaskInfo before running it (command tasks only, as Mesos's command
 * executor; its health check and general check as Mesos validates them), and the Mesos Task it shows
 * for one (/state, re-registration).
 *
 * ```ts
 * const problem = taskProblem(info);   // undefined, or the TASK_ERROR message
 * const task = taskOf(frameworkId, info, agentId);
 * ```
 */
import type { Task, TaskInfo } from '../master/model/mesos';
import { commandEnvironmentProblem } from './containerizer/launch-info';
import { checkProblem, healthCheckProblem } from './health/validate';

/** taskProblem says why the agent cannot run a task (command tasks only), or undefined. */
export function taskProblem(info: TaskInfo): string | undefined {
  // The id names the sandbox directory: checked here too, not only by the master (as Mesos's agent does).
  const id = info.task_id?.value ?? '';
  if (!id || /[\s/\x00]/.test(id) || id === '.' || id === '..') return `Task id '${id}' is empty, contains whitespace, '/' or a NUL byte, or is '.' or '..'`;
  if (info.executor) return `Task ${info.task_id?.value} sets TaskInfo.executor: this agent runs command tasks only (TaskInfo.command without executor); custom executors are not supported`;
  if (!info.command) return `Task ${info.task_id?.value} has no TaskInfo.command: a command task needs command.value (shell) or command.arguments`;
  const c = info.command;
  const shell = c.shell ?? true;
  if (shell && !c.value) return `Task ${info.task_id?.value}: command.shell is true but command.value is empty: give the shell command in command.value`;
  if (!shell && !c.value && !(c.arguments?.length)) return `Task ${info.task_id?.value}: command.shell is false but neither command.value (the program) nor command.arguments is set`;
  return commandEnvironmentProblem(info) ?? healthCheckProblem(info) ?? checkProblem(info);
}

/**
 * containerProblem says why this agent cannot give a task the container it asks for, or undefined. The
 * agent's containerizer runs commands on the host's filesystem: a Docker container (type DOCKER) or a
 * MESOS container with an image (container.mesos.image) cannot be provided. As a Mesos agent without the
 * docker containerizer or an image provisioner, it fails such a task (TASK_FAILED,
 * REASON_CONTAINER_LAUNCH_FAILED: the task is valid, another agent may run it) rather than running it
 * without its image; it does so before TASK_STARTING, since no container is ever made.
 */
export function containerProblem(info: TaskInfo): string | undefined {
  const container = info.container as { type?: string; docker?: { image?: string }; mesos?: { image?: { type?: string; docker?: { name?: string }; appc?: { name?: string } } } } | undefined;
  if (!container) return undefined;
  const id = info.task_id?.value;
  const type = container.type ?? 'MESOS';
  if (type === 'DOCKER' || (type !== 'MESOS' && container.docker)) {
    const image = container.docker?.image ? ` (image "${container.docker.image}")` : '';
    return `Task ${id} asks for a Docker container${image} (container.type ${type}), but this agent runs no container images: its containerizer runs commands on the host's filesystem. Launch it as a MESOS container without an image, or on an agent that runs Docker images`;
  }
  if (type !== 'MESOS') return `Task ${id} asks for a container of type ${type}, which this agent does not run: it runs MESOS containers without images`;
  const image = container.mesos?.image;
  if (image) {
    const name = image.docker?.name ?? image.appc?.name;
    const desc = [image.type, name && `"${name}"`].filter(Boolean).join(' ');
    return `Task ${id} asks for a container image (container.mesos.image${desc ? `: ${desc}` : ''}), but this agent runs no container images: its containerizer runs commands on the host's filesystem. Launch it without an image, or on an agent with an image provisioner`;
  }
  return undefined;
}

/** taskOf is the Mesos Task view of a TaskInfo the agent just got (state TASK_STAGING). */
export function taskOf(frameworkId: string, info: TaskInfo, agentId: string): Task {
  return {
    name: info.name,
    task_id: info.task_id,
    framework_id: { value: frameworkId },
    executor_id: { value: info.task_id.value },
    agent_id: { value: agentId },
    state: 'TASK_STAGING',
    resources: info.resources ?? [],
    statuses: [],
    ...(info.labels ? { labels: info.labels } : {}),
    ...(info.container ? { container: info.container } : {}),
    ...(info.kill_policy ? { kill_policy: info.kill_policy } : {}),
    ...(info.command?.user ? { user: info.command.user } : {}),
  };
}
