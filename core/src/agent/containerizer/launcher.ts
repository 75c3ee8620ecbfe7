/**
 * The launcher starts container processes that outlive the agent. Each container's init is a small
 * POSIX `sh` shim (SHIM below; not a Node process, so 1,000 containers cost 1,000 tiny shells), spawned
 * in its own session and process group with stdout/stderr going to the sandbox's files. The shim is
 * "held before exec": it blocks reading a line from its stdin pipe until the agent writes `go` (after
 * every isolator's isolate(pid)); if the agent dies first, the pipe closes and the shim exits without
 * running anything. Released, it runs the command as its child and writes the command's exit status
 * to `<container runtime dir>/status`, so an agent that restarted still learns how it ended. A task of
 * another user runs its shim through `setpriv` with the user's ids and groups (see task-user.ts).
 *
 * Runtime layout (under --runtime_dir):
 * ```
 * shim-<hash>.sh                       the shim text (content-addressed: a running shim's file never changes)
 * containers/<containerId>/container.json   pid, start time, isolators (written once the shim runs)
 * containers/<containerId>/status     "exit <N>\n" (or "aborted\n"), written by the shim (for a task of another
 *                                      user the agent makes it, empty, owned by that user: the dir stays the agent's)
 * containers/<containerId>/released   written by the agent right after it released the shim: without it
 *                                      (and a container.json saying so) recovery destroys the container
 * ```
 *
 * ```ts
 * const shim = installShim(runtimeDir);
 * const held = await spawnHeld({ shim, containerDir, argv: ['/bin/sh', '-c', 'echo hi'], env, cwd, stdout, stderr });
 * // ... isolate(held.pid) on every isolator ...
 * held.release();
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readStat } from './proc';
import { openSandboxOutput } from './sandbox-files';
import { asUser, type TaskUser } from './task-user';

/**
 * SHIM is the container init. Arguments: the container's runtime dir, then the command's argv.
 * Its stdin is the agent's hold pipe. Released, it starts the command as a background job and only
 * then traps SIGTERM (with a handler, so the shim outlives the command long enough to record its
 * status): a SIGTERM before the fork kills the shim before anything ran, one after it reaches the
 * command through the group kill with the default disposition (a command forked while the shim had a
 * handler could lose it). `sh` starts background jobs with SIGINT and SIGQUIT ignored, so the
 * containerizer puts `env --default-signal=INT,QUIT` in front of the command where coreutils' env
 * supports it (see {@link defaultSignalsPrefix}). One `printf` of a newline-terminated line is the
 * status write: the containerizer reads it only after the shim is gone, and a status without its
 * newline is treated as absent.
 */
export const SHIM = `# Tessera container shim (written by the agent: core/src/agent/containerizer/launcher.ts).
# usage: sh shim.sh <container runtime dir> <program> [args...]
# Held until the agent writes "go" on stdin; then runs the command and records its exit status.
# The shim's environment is the container's: no variable is set before the command forks, or a task
# variable named like one of the shim's (dir, go) would reach the command changed.
if ! (IFS= read -r go && [ "$go" = go ]); then
  printf 'aborted\\n' > "$1/status"
  exit 125
fi
exec 0</dev/null
(shift; exec "$@") &
child=$!
dir=$1
trap 'tessera_terminated=1' TERM
while :; do
  wait "$child"
  code=$?
  if [ "$code" -le 128 ] || ! kill -0 "$child" 2>/dev/null; then break; fi
done
printf 'exit %d\\n' "$code" > "$dir/status"
exit "$code"
`;

let prefix: string[] | undefined;

/**
 * defaultSignalsPrefix is `['env', '--default-signal=INT,QUIT', '--']` where env supports it (coreutils
 * 8.31 and later), else empty (the command then starts with SIGINT and SIGQUIT ignored). Checked once.
 */
export function defaultSignalsPrefix(): string[] {
  if (prefix) return prefix;
  const env = ['/usr/bin/env', '/bin/env'].find((p) => fs.existsSync(p));
  const ok = env && spawnSync(env, ['--default-signal=INT,QUIT', 'true'], { stdio: 'ignore' }).status === 0;
  prefix = ok ? [env!, '--default-signal=INT,QUIT', '--'] : [];
  return prefix;
}

/** installShim writes the shim into the runtime dir (once per content) and returns its path. */
export function installShim(runtimeDir: string): string {
  const hash = crypto.createHash('sha256').update(SHIM).digest('hex').slice(0, 12);
  const file = path.join(runtimeDir, `shim-${hash}.sh`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, SHIM, { mode: 0o755 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** containersDir is where the per-container runtime dirs live. */
export function containersDir(runtimeDir: string): string {
  return path.join(runtimeDir, 'containers');
}

/** ContainerMeta is what container.json holds: enough to find and judge the process after a restart. */
export interface ContainerMeta {
  containerId: string;
  pid: number;
  /** /proc/<pid>/stat field 22: tells the shim from a later process that reused its pid. */
  startTime: number;
  /** The isolators that prepared the container, in --isolation order (cleanup goes to these). */
  isolators: string[];
  /** Milliseconds since the epoch when the shim started. */
  startedAt: number;
  /** True when the agent writes the `released` marker (older agents did not: recovery then only checks for a stopped shim). */
  releaseMarker?: boolean;
  /** The user the task runs as (absent: the agent's; older agents did not write it). */
  user?: string;
}

/** writeMeta records a container's meta atomically (tmp + rename). */
export function writeMeta(containerDir: string, meta: ContainerMeta): void {
  const file = path.join(containerDir, 'container.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(meta));
  fs.renameSync(`${file}.tmp`, file);
}

/** writeReleased records that the agent released the container (its launch completed). */
export function writeReleased(containerDir: string): void {
  fs.writeFileSync(path.join(containerDir, 'released'), '');
}

/**
 * writeStatusFileFor makes the (empty) status file of a container that runs as another user, owned by
 * that user: its shim writes the status there, while the runtime dir itself stays the agent's (a task's
 * user never gets a directory in which the agent, as root, writes container.json and released).
 */
export function writeStatusFileFor(containerDir: string, uid: number, gid: number): void {
  const file = path.join(containerDir, 'status');
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
  try {
    fs.fchownSync(fd, uid, gid);
  } finally {
    fs.closeSync(fd);
  }
}

/** wasReleased tells whether the agent recorded the container's release. */
export function wasReleased(containerDir: string): boolean {
  return fs.existsSync(path.join(containerDir, 'released'));
}

/** readMeta reads container.json; undefined when absent or torn (the agent died before the rename). */
export function readMeta(containerDir: string): ContainerMeta | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(containerDir, 'container.json'), 'utf8')) as ContainerMeta;
    return typeof m.pid === 'number' && typeof m.startTime === 'number' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** removeContainerDir removes a container's runtime dir (the usual files first: cheaper than a recursive walk). */
export function removeContainerDir(containerDir: string): void {
  for (const f of ['container.json', 'status', 'released']) {
    try {
      fs.unlinkSync(path.join(containerDir, f));
    } catch {
      // absent
    }
  }
  try {
    fs.rmdirSync(containerDir);
  } catch {
    fs.rmSync(containerDir, { recursive: true, force: true });
  }
}

/** ShimStatus is what the shim wrote: the command's exit status, or that it was never released. */
export type ShimStatus = { kind: 'exit'; code: number } | { kind: 'aborted' };

/** readStatus reads the status file; undefined when there is none (or it is incomplete). */
export function readStatus(containerDir: string): ShimStatus | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(containerDir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^exit (\d+)\n$/.exec(text);
  if (m) return { kind: 'exit', code: Number(m[1]) };
  if (text === 'aborted\n') return { kind: 'aborted' };
  return undefined;
}

/** SpawnSpec says how to start one container's shim. */
export interface SpawnSpec {
  shim: string;
  containerDir: string;
  /** The command's argv (argv[0] is looked up in PATH by the shim's `sh`). */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdout: string;
  stderr: string;
  /** The user to run as when it is not the agent's (ids and groups; see task-user.ts). */
  user?: TaskUser;
}

/** ShimExit is how the shim process itself ended (Node's 'exit' event). */
export interface ShimExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** HeldProcess is a started, held shim (from {@link spawnHeld} or the ForkServer). */
export interface HeldProcess {
  pid: number;
  startTime: number;
  /** release lets the shim run the command. */
  release(): Promise<void> | void;
  /** exited resolves when the shim exits; only for shims this agent process spawned itself. */
  exited?: Promise<ShimExit>;
  child?: ChildProcess;
}

/**
 * spawnHeld starts the shim in a new session, held; it rejects when the process could not be started.
 * The sandbox's stdout and stderr are opened the safe way (openSandboxOutput: no link, no FIFO, a regular
 * file only): the agent opens them as root, in a directory the task's archives and user could write.
 */
export async function spawnHeld(spec: SpawnSpec): Promise<HeldProcess> {
  const out = openSandboxOutput(spec.stdout);
  let err: number;
  try {
    err = openSandboxOutput(spec.stderr);
  } catch (e) {
    fs.closeSync(out);
    throw e;
  }
  const argv = ['/bin/sh', spec.shim, spec.containerDir, ...defaultSignalsPrefix(), ...spec.argv];
  const run = spec.user ? asUser(spec.user, argv) : { file: argv[0], args: argv.slice(1) };
  let child: ChildProcess;
  try {
    child = spawn(run.file, run.args, {
      detached: true,
      stdio: ['pipe', out, err],
      cwd: spec.cwd,
      env: spec.env,
      ...('ids' in run && run.ids ? run.ids : {}),
    });
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  const exited = new Promise<ShimExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.stdin?.on('error', () => undefined); // EPIPE when the shim died before its release
  if (child.pid === undefined) {
    const e = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`cannot start the container process: ${e.message}`);
  }
  child.on('error', () => undefined);
  const pid = child.pid;
  const stat = readStat(pid);
  return {
    pid,
    startTime: stat?.startTime ?? 0,
    child,
    exited,
    release() {
      child.stdin?.end('go\n');
      child.unref();
    },
  };
}

/** signalGroup sends a signal to the container's process group (the shim leads it); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
