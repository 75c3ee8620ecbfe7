/**
 * planProcess turns a command task plus what the isolators returned from prepare (ContainerLaunchInfo)
 * into the process the shim runs: argv, environment, working directory, and bind mounts.
 *
 * - Environment, lowest to highest precedence: PATH and Mesos's MESOS_* variables; each isolator's
 *   `environment` in --isolation order; the task's CommandInfo.environment; each isolator's
 *   `taskEnvironment`. Any name goes through as Mesos passes it (`spring.profiles`, `APP-VERSION`)
 *   except one that no environment can hold: empty (skipped), or with `=` or a NUL byte (a task with one
 *   is TASK_ERROR, an isolator that returns one fails the launch). A name that is not a shell identifier
 *   is dropped by POSIX shells (dash) from what they pass on, so such variables are set by `env` just in
 *   front of the command ({@link ProcessPlan.argv}), after the shim's shell: a `shell: false` command
 *   gets them; a shell command's own `/bin/sh` may drop them again, as it does under Mesos.
 * - Command: the task's, unless one isolator replaces it (two replacing is refused, as Mesos does).
 *   `shell` (the default) runs `/bin/sh -c value`; `shell: false` runs `value` with `arguments[1..]`
 *   (POSIX sh cannot set argv[0] apart from the program, so arguments[0] is not passed on).
 * - Working directory: the sandbox, or an isolator's (relative paths are inside the sandbox).
 * - Mount namespace: an isolator that returns mounts or asks for `NEWNS` (ContainerLaunchInfo.
 *   cloneNamespaces) gets the container its own mount namespace (`unshare --mount`, with every mount
 *   made a slave of the host's, as Mesos's launcher does: where the host's mounts are shared, the
 *   host's unmounts still reach the container; nothing the container mounts reaches the host). The mounts are performed there, in
 *   order, just before the command runs, so they are never seen on the host and vanish with the
 *   container. Relative targets are inside the sandbox; absolute targets are paths of the container's
 *   own view of the filesystem (no rootfs: the host's). A missing target is created inside the
 *   namespace (a directory, or an empty file for a file source), as Mesos does. `rbind`/`bind` bind,
 *   `ro` adds a read-only remount (the kernel ignores MS_RDONLY on the bind itself); others mount `type`.
 * - Not supported yet, and refused with a launch failure naming the isolator rather than ignored:
 *   rootfs, namespaces other than NEWNS, namespaces to enter, pre-exec commands, masked paths,
 *   rlimits, capabilities.
 *   Devices are accepted: without a mount namespace every host device node is already visible, and
 *   granting access in a devices cgroup is the isolator's own job.
 *
 * ```ts
 * const plan = planProcess({ containerId, frameworkId, executorId, task, sandbox, launchInfos });
 * // plan.argv, plan.env, plan.cwd
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Abi from '@tessera/modules-api';
import type { TaskInfo } from '../../master/model/mesos';
import { launchFailed, taskInvalid } from './errors';

/** DEFAULT_PATH is the PATH of a container when the agent has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** IsolatorLaunchInfo is one isolator's prepare answer. */
export interface IsolatorLaunchInfo {
  isolator: string;
  info: Abi.ContainerLaunchInfo;
}

/** PlanInput is what a process plan is made of. */
export interface PlanInput {
  containerId: string;
  frameworkId: string;
  executorId: string;
  task: TaskInfo;
  sandbox: string;
  launchInfos: IsolatorLaunchInfo[];
  /** PATH for the container (default: the agent's PATH, else DEFAULT_PATH). */
  path?: string;
  /** The user the container runs as, when it differs from the agent's. */
  user?: string;
}

/** ProcessPlan is what the shim runs. */
export interface ProcessPlan {
  /** The command, with `env -- NAME=value...` in front for variables whose names a shell would drop. */
  argv: string[];
  /** The variables with shell-identifier names (the shim's environment). */
  env: Record<string, string>;
  cwd: string;
  mounts: Abi.Mount[];
  /** newMountNamespace: the command runs in a mount namespace of its own (mounts, or an isolator's NEWNS). */
  newMountNamespace: boolean;
}

const UNSUPPORTED: [keyof Abi.ContainerLaunchInfo, string][] = [
  ['rootfs', 'a root filesystem'],
  ['enterNamespaces', 'namespaces to enter'],
  ['preExecCommands', 'pre-exec commands'],
  ['maskedPaths', 'masked paths'],
  ['rlimits', 'rlimits'],
  ['capabilities', 'capabilities'],
];

/** CLONE_NAMESPACES are the namespaces an isolator may ask the containerizer to create. */
const CLONE_NAMESPACES = new Set(['NEWNS']);

const present = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== '');

/** SHELL_NAME is what a POSIX shell passes on as an environment variable name (dash drops others). */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function addEnv(env: Record<string, string>, vars: { name?: string; value?: string }[] | undefined, refuse: (name: string) => never): void {
  for (const v of vars ?? []) {
    if (!v.name) continue;
    if (envNameProblem(v.name)) refuse(v.name);
    env[v.name] = v.value ?? '';
  }
}

const badName = (name: string): string =>
  `environment variable name ${JSON.stringify(name)} cannot be in an environment: it contains ${name.includes('\0') ? 'a NUL byte' : "'='"} (a name may hold anything else)`;

/**
 * envNameProblem says why `name` cannot be an environment variable of a task, or undefined when it can:
 * anything non-empty without `=` or a NUL byte can (as Mesos passes names through unchecked).
 */
export function envNameProblem(name: string): string | undefined {
  if (!name) return 'an environment variable name is empty';
  return name.includes('=') || name.includes('\0') ? badName(name) : undefined;
}

/** commandEnvironmentProblem says why a task's CommandInfo.environment cannot be given to it (TASK_ERROR), or undefined. */
export function commandEnvironmentProblem(task: TaskInfo): string | undefined {
  for (const v of task.command?.environment?.variables ?? []) {
    if (v.name && (v.type === undefined || v.type === 'VALUE') && envNameProblem(v.name)) return `task ${task.task_id?.value}: CommandInfo.environment: ${badName(v.name)}`;
  }
  return undefined;
}

/** validateCommand checks that a task has a command the shim can run (TASK_ERROR otherwise). */
export function validateCommand(task: TaskInfo): void {
  const c = task.command;
  if (!c) throw taskInvalid(`task ${task.task_id?.value} has no command: a command task needs CommandInfo (the agent runs no custom executors)`);
  if (c.shell === false ? !c.value && !c.arguments?.length : !c.value) {
    throw taskInvalid(`task ${task.task_id?.value}: CommandInfo.value is empty: give a shell command, or shell=false with a program in value`);
  }
}

/** planProcess builds the process plan; it throws a LaunchError for what cannot be honoured. */
export function planProcess(input: PlanInput): ProcessPlan {
  validateCommand(input.task);
  const command = input.task.command!;
  for (const { isolator, info } of input.launchInfos) {
    for (const [field, what] of UNSUPPORTED) {
      if (present(info[field])) {
        throw launchFailed(`isolator module ${isolator}: asks for ${what} (ContainerLaunchInfo.${field}), which this agent's containerizer does not support yet`);
      }
    }
    for (const ns of info.cloneNamespaces ?? []) {
      if (!CLONE_NAMESPACES.has(ns)) {
        throw launchFailed(
          `isolator module ${isolator}: asks for the ${ns} namespace (ContainerLaunchInfo.cloneNamespaces), which this agent's containerizer does not support yet: only NEWNS (a mount namespace of the container's own)`,
        );
      }
    }
  }
  const replacing = input.launchInfos.filter((l) => l.info.command && (l.info.command.value || l.info.command.arguments?.length));
  if (replacing.length > 1) {
    throw launchFailed(`isolators ${replacing.map((l) => l.isolator).join(' and ')} both replace the container's command: at most one may`);
  }
  const cmd = replacing[0]?.info.command ?? { value: command.value, shell: command.shell, arguments: command.arguments };
  const argv = cmd.shell === false ? [cmd.value || cmd.arguments![0], ...(cmd.arguments ?? []).slice(1)] : ['/bin/sh', '-c', cmd.value ?? ''];

  const agentId = input.task.agent_id?.value;
  const env: Record<string, string> = {
    PATH: input.path ?? process.env.PATH ?? DEFAULT_PATH,
    MESOS_SANDBOX: input.sandbox,
    MESOS_DIRECTORY: input.sandbox,
    MESOS_TASK_ID: input.task.task_id.value,
    MESOS_EXECUTOR_ID: input.executorId,
    MESOS_FRAMEWORK_ID: input.frameworkId,
    MESOS_CONTAINER_NAME: `mesos-${input.containerId}`,
    MESOS_CONTAINER_ID: input.containerId,
    ...(agentId ? { MESOS_AGENT_ID: agentId, MESOS_SLAVE_ID: agentId } : {}),
  };
  const byIsolator = (isolator: string) => (name: string): never => {
    throw launchFailed(`isolator module ${isolator}: ${badName(name)}`);
  };
  for (const { isolator, info } of input.launchInfos) addEnv(env, info.environment?.variables, byIsolator(isolator));
  addEnv(env, command.environment?.variables?.filter((v) => v.type === undefined || v.type === 'VALUE'), (name) => {
    throw taskInvalid(`task ${input.task.task_id.value}: CommandInfo.environment: ${badName(name)}`);
  });
  for (const { isolator, info } of input.launchInfos) addEnv(env, info.taskEnvironment?.variables, byIsolator(isolator));
  // Names a shell would drop go around the shim's shell: `env NAME=value -- command` (see the module comment).
  const passed = Object.keys(env).filter((k) => !SHELL_NAME.test(k));
  const shellEnv = Object.fromEntries(Object.entries(env).filter(([k]) => SHELL_NAME.test(k)));
  const command_ = passed.length ? [envProgram(), '--', ...passed.map((k) => `${k}=${env[k]}`), ...argv] : argv;

  const dirs = input.launchInfos.filter((l) => l.info.workingDirectory);
  if (dirs.length > 1) throw launchFailed(`isolators ${dirs.map((l) => l.isolator).join(' and ')} both set the working directory: at most one may`);
  const cwd = dirs[0] ? path.resolve(input.sandbox, dirs[0].info.workingDirectory!) : input.sandbox;

  const mounts: Abi.Mount[] = [];
  for (const { isolator, info } of input.launchInfos) {
    if (info.cloneNamespaces?.length || info.mounts?.length) checkNamespaceSupport(isolator, input);
    for (const m of info.mounts ?? []) mounts.push(checkMount(isolator, m, input));
  }
  const newMountNamespace = mounts.length > 0 || input.launchInfos.some((l) => l.info.cloneNamespaces?.includes('NEWNS'));
  return { argv: newMountNamespace ? withMountNamespace(mounts, command_) : command_, env: shellEnv, cwd, mounts, newMountNamespace };
}

// checkNamespaceSupport refuses a mount namespace where the agent cannot make one, naming the isolator.
function checkNamespaceSupport(isolator: string, input: PlanInput): void {
  const fail = (why: string): never => {
    throw launchFailed(`isolator module ${isolator}: asks for a mount namespace (mounts or NEWNS): ${why}`);
  };
  if (input.user) fail('not supported yet for containers that run as another user');
  if (process.getuid?.() !== 0) fail('the agent must run as root to give a container a mount namespace of its own');
  if (!onPath('unshare', input.path)) fail("the agent needs util-linux's `unshare` on the containers' PATH: install util-linux");
}

/** MOUNT_FLAGS are the Mount.flags the containerizer honours (the ABI's list); others are refused. */
const MOUNT_FLAGS = new Set(['bind', 'rbind', 'ro', 'nosuid', 'nodev', 'noexec', 'private', 'rprivate', 'slave', 'rslave']);

function checkMount(isolator: string, m: Abi.Mount, input: PlanInput): Abi.Mount {
  const fail = (why: string): never => {
    throw launchFailed(`isolator module ${isolator}: mount ${m.source ?? ''} -> ${m.target ?? ''}: ${why}`);
  };
  if (!m.target) fail('the mount has no target');
  const unknown = (m.flags ?? []).filter((f) => !MOUNT_FLAGS.has(f));
  if (unknown.length) fail(`unknown mount flag(s) ${unknown.join(', ')}: the flags are ${[...MOUNT_FLAGS].join(', ')}`);
  const bind = (m.flags ?? []).some((f) => f === 'bind' || f === 'rbind');
  if (bind && m.type) fail('a mount is either a bind mount (bind/rbind flag) or of a filesystem type, not both');
  if (!m.type && !bind) fail('a mount needs a filesystem type or the bind/rbind flag');
  if (m.type && !/^[A-Za-z0-9_.-]+$/.test(m.type)) fail(`"${m.type}" is not a filesystem type`);
  if (bind && !m.source) fail('a bind mount needs a source');
  if (bind && !path.isAbsolute(m.source!)) fail('the source of a bind mount must be an absolute path on the agent');
  if (bind && !fs.existsSync(m.source!)) fail(`the source ${m.source} does not exist on the agent`);
  if (path.isAbsolute(m.target!)) return { ...m, target: path.normalize(m.target!) };
  // relative: inside the sandbox (the namespace script creates it when missing)
  const target = path.resolve(input.sandbox, m.target!);
  const rel = path.relative(input.sandbox, target);
  if (rel.startsWith('..') || path.isAbsolute(rel)) fail('a relative target must stay inside the sandbox');
  return { ...m, target };
}

/**
 * MOUNT_SCRIPT runs in the container's new mount namespace (every mount there a slave of the host's:
 * unshare --propagation slave). It performs the mounts given as groups of seven arguments: source,
 * target, how (`rbind`, `bind` or `fs`), filesystem type, options, `,`-led per-mount flags (ro,
 * nosuid, nodev, noexec) and a propagation (private, rprivate, slave, rslave or empty). A missing
 * target is created first (an empty file for a bind mount of a file, else a directory), as Mesos's
 * launcher does; a bind's per-mount flags need a remount (the kernel ignores them on the bind itself).
 * Then it execs the command. A failure exits 32 after saying on stderr (the sandbox's) what failed.
 */
const MOUNT_SCRIPT = `n=$1; shift
fail() { echo "tessera: $1 in the container's mount namespace" >&2; exit 32; }
while [ "$n" -gt 0 ]; do
  src=$1; tgt=$2; how=$3; type=$4; opts=$5; extra=$6; prop=$7; shift 7
  if [ ! -e "$tgt" ]; then
    if [ "$how" != fs ] && [ ! -d "$src" ]; then mkdir -p "$(dirname "$tgt")" && : > "$tgt"
    else mkdir -p "$tgt"; fi || fail "cannot create the mount target $tgt"
  fi
  case $how in
    rbind) mount --rbind "$src" "$tgt" ;;
    bind) mount --bind "$src" "$tgt" ;;
    *) o=$opts$extra; o=\${o#,}
       if [ -n "$o" ]; then mount -t "$type" -o "$o" "$src" "$tgt"; else mount -t "$type" "$src" "$tgt"; fi ;;
  esac || fail "cannot mount $src on $tgt"
  if [ "$how" != fs ] && [ -n "$extra" ]; then mount -o "remount,bind$extra" "$tgt" || fail "cannot remount $tgt with $extra"; fi
  if [ -n "$prop" ]; then mount --make-"$prop" "$tgt" || fail "cannot make $tgt $prop"; fi
  n=$((n - 1))
done
exec "$@"`;

// envProgram is coreutils' env (it sets any NAME=value it is given, then runs the command).
function envProgram(): string {
  return ['/usr/bin/env', '/bin/env'].find((p) => fs.existsSync(p)) ?? 'env';
}

/** onPath tells whether a program is found in PATH. */
export function onPath(program: string, pathVar = process.env.PATH ?? DEFAULT_PATH): boolean {
  return pathVar.split(':').some((d) => d && fs.existsSync(path.join(d, program)));
}

function withMountNamespace(mounts: Abi.Mount[], argv: string[]): string[] {
  const args = mounts.flatMap((m) => {
    const flags = m.flags ?? [];
    const how = flags.includes('rbind') ? 'rbind' : flags.includes('bind') ? 'bind' : 'fs';
    const extra = flags.filter((f) => f === 'ro' || f === 'nosuid' || f === 'nodev' || f === 'noexec').map((f) => `,${f}`).join('');
    const prop = flags.filter((f) => /private|slave/.test(f)).pop() ?? '';
    return [m.source || 'none', m.target!, how, m.type ?? '', m.options ?? '', extra, prop];
  });
  return ['unshare', '--mount', '--propagation', 'slave', '--', '/bin/sh', '-c', MOUNT_SCRIPT, 'tessera-mounts', String(mounts.length), ...args, ...argv];
}
