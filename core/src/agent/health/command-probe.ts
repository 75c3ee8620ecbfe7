/**
 * A COMMAND check run "like the task", as Mesos's command executor runs it (its checks are children of
 * the executor, inside the container): as the task's user (its uid, gid and groups, via task-user.ts),
 * in the sandbox, with the task's environment and Mesos's MESOS_* variables (planProcess, the task's
 * own recipe) and the check's own CommandInfo.environment over them; `shell` (the default) runs
 * `/bin/sh -c value`, `shell: false` runs `value` with `arguments[1..]`. Its stdin is /dev/null and
 * its stdout and stderr are appended to the sandbox's `stderr` (where the command executor's own
 * output, and so its checks', goes in Mesos).
 *
 * It joins the container's cgroups (cgroups.ts) before it runs anything: the process is started held
 * (a shell waiting for a line on stdin, as the container shim is), the agent writes its pid into each
 * cgroup, then releases it. A run that outlives its timeout has its whole process tree SIGKILLed
 * (Mesos: os::killtree) and is an error, as is one the agent stops because the task ended.
 *
 * ```ts
 * const r = await runCommandProbe({ value: 'curl -f localhost:8080/health' }, { task, frameworkId, containerId, sandbox, user: 'nobody', containerPid }, { timeoutMs: 20000 });
 * // { type: 'COMMAND', exitCode: 0 } or { error: 'timed out after 20 s' }
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CommandInfo, TaskInfo } from '../../master/model/mesos';
import { agentUser } from '../containerizer/container';
import { planProcess } from '../containerizer/launch-info';
import { readStat } from '../containerizer/proc';
import { killTree } from '../containerizer/process-tree';
import { openSandboxOutput } from '../containerizer/sandbox-files';
import { describeSignal } from '../containerizer/termination';
import { agentHome, asUser, lookupUser, taskGroups, userEnvironment, type TaskUser } from '../containerizer/task-user';
import { containerCgroupProcs } from './cgroups';
import { timeoutText, type ProbeOptions, type ProbeResult } from './probes';

/** CommandProbeContext is the task a COMMAND check runs for. */
export interface CommandProbeContext {
  task: TaskInfo;
  frameworkId: string;
  containerId: string;
  sandbox: string;
  /** user the task runs as (absent or the agent's: as the agent). */
  user?: string;
  /** containerPid: the container's init; the check joins its cgroups. */
  containerPid?: number;
  /** PATH for the check (default: the agent's, as for containers). */
  path?: string;
}

/** HOLD waits for the agent's "go" (it has put the process in the container's cgroups), then runs the check with stdin from /dev/null. */
const HOLD = 'IFS= read -r go && [ "$go" = go ] || exit 125; exec "$@" </dev/null';

const valueVars = (c: CommandInfo | undefined) => (c?.environment?.variables ?? []).filter((v) => (v.type ?? 'VALUE') === 'VALUE');

/** runCommandProbe runs one COMMAND check; see the module comment. */
export async function runCommandProbe(command: CommandInfo, ctx: CommandProbeContext, opts: ProbeOptions): Promise<ProbeResult> {
  let user: TaskUser | undefined;
  if (ctx.user && ctx.user !== agentUser()) {
    const ids = lookupUser(ctx.user);
    if (!ids) return { error: `user "${ctx.user}" (the task's) does not exist on this agent` };
    user = { ...ids, name: ctx.user, groups: taskGroups(ctx.user, ids.gid) };
  }
  let plan: ReturnType<typeof planProcess>;
  try {
    // The task's recipe, with the check's command and the check's variables over the task's.
    const merged: TaskInfo = { ...ctx.task, command: { value: command.value, shell: command.shell, arguments: command.arguments, environment: { variables: [...valueVars(ctx.task.command), ...valueVars(command)] } } };
    plan = planProcess({ containerId: ctx.containerId, frameworkId: ctx.frameworkId, executorId: ctx.task.task_id.value, task: merged, sandbox: ctx.sandbox, launchInfos: [], path: ctx.path });
  } catch (err) {
    return { error: (err as Error).message };
  }
  const joins = ctx.containerPid ? containerCgroupProcs(ctx.containerPid) : [];
  const argv = joins.length ? ['/bin/sh', '-c', HOLD, 'tessera-check', ...plan.argv] : plan.argv;
  const run = user ? asUser(user, argv) : { file: argv[0], args: argv.slice(1) };
  const env = { ...(user ? userEnvironment(user.name, user.home) : userEnvironment(agentUser(), agentHome())), ...plan.env };
  let out: number | 'ignore' = 'ignore';
  try {
    out = openSandboxOutput(path.join(ctx.sandbox, 'stderr'));
  } catch {
    // no regular stderr in the sandbox (the task replaced it): the output is dropped, the check still runs
  }
  let child: ChildProcess;
  try {
    child = spawn(run.file, run.args, { detached: true, cwd: plan.cwd, env, stdio: [joins.length ? 'pipe' : 'ignore', out, out], ...('ids' in run && run.ids ? run.ids : {}) });
  } catch (err) {
    return { error: `cannot start the command: ${(err as Error).message}` };
  } finally {
    if (out !== 'ignore') fs.closeSync(out);
  }
  return supervise(child, joins, opts);
}

// supervise joins the cgroups, releases the process, and turns its end (or the deadline) into a result.
function supervise(child: ChildProcess, joins: string[], opts: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const seen = new Map<number, number>();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: ProbeResult, kill: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (kill && child.pid !== undefined) void killTree(child.pid, readStat(child.pid)?.startTime ?? 0, 'SIGKILL', seen);
      resolve(r);
    };
    const onAbort = () => finish({ error: 'stopped: the task ended' }, true);
    child.once('error', (err) => finish({ error: `cannot start the command: ${err.message}` }, false));
    child.once('exit', (code, signal) => finish(code !== null ? { type: 'COMMAND', exitCode: code } : { error: `the command was terminated by signal ${describeSignal(signal ?? '')}` }, false));
    if (child.pid === undefined) return; // 'error' follows
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs > 0) timer = setTimeout(() => finish({ error: `timed out after ${timeoutText(opts.timeoutMs)}` }, true), opts.timeoutMs);
    if (joins.length === 0) return;
    child.stdin!.on('error', () => undefined); // EPIPE if it died before its release
    for (const file of joins) {
      try {
        fs.writeFileSync(file, String(child.pid));
      } catch (err) {
        return finish({ error: `cannot put the command into the task's cgroup ${path.dirname(file)}: ${(err as Error).message}` }, true);
      }
    }
    child.stdin!.end('go\n');
  });
}
