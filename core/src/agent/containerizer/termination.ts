/**
 * How a container's end becomes a Mesos task state: the shim's status file (or its own exit when it
 * wrote none) plus what the containerizer knows (it was killing the container, an isolator raised a
 * limitation, the agent restarted with --recover=cleanup) give one {@link ContainerTermination}.
 *
 * ```ts
 * terminationOf({ exitCode: 3 }, {});   // TASK_FAILED "Command exited with status 3" (REASON_COMMAND_EXECUTOR_FAILED)
 * terminationOf({ signal: 'SIGTERM' }, { killed: true });   // TASK_KILLED "Command terminated with signal Terminated"
 * ```
 */
import os from 'node:os';
import type { ContainerTermination } from './types';

/** SIGNAL_DESCRIPTIONS are strsignal(3)'s texts, which Mesos puts in its status messages. */
const SIGNAL_DESCRIPTIONS: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGSTKFLT: 'Stack fault',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGVTALRM: 'Virtual timer expired',
  SIGPROF: 'Profiling timer expired',
  SIGSYS: 'Bad system call',
  SIGPWR: 'Power failure',
};

/** describeSignal gives strsignal's text for a signal name ("SIGKILL" -> "Killed"). */
export function describeSignal(name: string): string {
  return SIGNAL_DESCRIPTIONS[name] ?? name;
}

/** signalName turns a signal number into its name (9 -> "SIGKILL"); undefined when unknown. */
export function signalName(num: number): string | undefined {
  for (const [name, n] of Object.entries(os.constants.signals)) if (n === num) return name;
  return undefined;
}

/** ExitInfo is how the container's process ended, as far as it is known. */
export interface ExitInfo {
  /** The command's exit status (from the shim's status file). */
  exitCode?: number;
  /** The signal that ended the command (status above 128) or the shim itself (no status file). */
  signal?: string;
  /** The shim wrote no status: it was killed, or vanished while the agent was down. */
  noStatus?: boolean;
}

/**
 * exitFromStatus reads the shim's status value: like a shell, a status above 128 whose remainder is a
 * known signal number means "terminated by that signal" (`sh` cannot tell `exit 137` from SIGKILL).
 */
export function exitFromStatus(status: number): ExitInfo {
  if (status > 128 && status < 128 + 65) {
    const name = signalName(status - 128);
    if (name) return { signal: name };
  }
  return { exitCode: status };
}

/** What the containerizer knows besides the exit itself. */
export interface EndContext {
  /** kill() was called (or the container was destroyed for a limitation/cleanup). */
  killed?: boolean;
  /** The reason to report for a kill (REASON_AGENT_RESTARTED, REASON_TASK_KILLED_DURING_LAUNCH). */
  killReason?: string;
  /** An isolator's limitation destroyed the container (Mesos wire shape). */
  limitation?: { reason?: string; message?: string; [k: string]: unknown };
}

function describeExit(exit: ExitInfo): string {
  if (exit.exitCode !== undefined) return `Command exited with status ${exit.exitCode}`;
  if (exit.signal) return `Command terminated with signal ${describeSignal(exit.signal)}`;
  return 'Command exited without a status (killed by a signal?)';
}

/** terminationOf maps an exit and its context to the state, reason and message the agent reports. */
export function terminationOf(exit: ExitInfo, ctx: EndContext): ContainerTermination {
  const details = {
    ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
    ...(exit.signal ? { signal: exit.signal } : {}),
  };
  if (ctx.limitation) {
    return {
      state: 'TASK_FAILED',
      reason: ctx.limitation.reason ?? 'REASON_CONTAINER_LIMITATION',
      message: ctx.limitation.message || 'Container hit a resource limitation',
      limitation: ctx.limitation,
      ...details,
    };
  }
  if (ctx.killed) {
    return { state: 'TASK_KILLED', ...(ctx.killReason ? { reason: ctx.killReason } : {}), message: describeExit(exit), ...details };
  }
  if (exit.exitCode === 0) return { state: 'TASK_FINISHED', message: describeExit(exit), exitCode: 0 };
  if (exit.noStatus && !exit.signal) {
    return { state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Command exited without a status (killed by a signal?)' };
  }
  if (exit.noStatus) {
    return {
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: `Command exited without a status: its container process was terminated by signal ${describeSignal(exit.signal!)}`,
      ...details,
    };
  }
  return { state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: describeExit(exit), ...details };
}
