/**
 * Validation of a task's health check and general check when the task arrives, as Mesos validates them
 * (src/common/validation.cpp: validateHealthCheck, validateCheckInfo): the type is set and its field is
 * present, a command has a value and a valid environment, an HTTP scheme is http or https, a path starts
 * with '/', durations are non-negative. Beyond Mesos, a port must be 1–65535 (Mesos would truncate a
 * larger one to 16 bits and probe another port). A problem makes the task TASK_ERROR
 * (REASON_TASK_INVALID) before TASK_STARTING; the message names the field.
 *
 * ```ts
 * healthCheckProblem(task);   // "Task t1: health_check.http.path 'status' must start with '/'"
 * checkProblem(task);         // undefined: no check, or a valid one
 * ```
 */
import type { CommandInfo, TaskInfo } from '../../master/model/mesos';
import { envNameProblem } from '../containerizer/launch-info';

const TYPES = ['COMMAND', 'HTTP', 'TCP'];

/** healthCheckProblem says what is wrong with TaskInfo.health_check, or undefined (none, or valid). */
export function healthCheckProblem(task: TaskInfo): string | undefined {
  const hc = task.health_check;
  if (hc === undefined) return undefined;
  const at = `Task ${task.task_id?.value}: health_check`;
  const problem = typeProblem(at, hc.type, 'health check') ?? bodyProblem(at, hc.type as string, hc.command, hc.http, hc.tcp, 'health check');
  if (problem) return problem;
  if (hc.http?.scheme !== undefined && hc.type === 'HTTP' && hc.http.scheme !== 'http' && hc.http.scheme !== 'https') {
    return `${at}.http.scheme '${hc.http.scheme}' is not supported: use http or https`;
  }
  for (const f of ['delay_seconds', 'interval_seconds', 'timeout_seconds', 'grace_period_seconds'] as const) {
    const p = durationProblem(at, f, hc[f]);
    if (p) return p;
  }
  const n = hc.consecutive_failures;
  if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff)) {
    return `${at}.consecutive_failures must be a non-negative integer (it is ${JSON.stringify(n)})`;
  }
  return undefined;
}

/** checkProblem says what is wrong with TaskInfo.check (a general check), or undefined (none, or valid). */
export function checkProblem(task: TaskInfo): string | undefined {
  const c = task.check;
  if (c === undefined) return undefined;
  const at = `Task ${task.task_id?.value}: check`;
  const problem = typeProblem(at, c.type, 'check');
  if (problem) return problem;
  if (c.type === 'COMMAND') {
    if (!c.command) return `${at}.command must be set for a COMMAND check`;
    const p = commandProblem(`${at}.command.command`, c.command.command, 'check');
    if (p) return p;
  } else {
    const p = bodyProblem(at, c.type as string, undefined, c.http, c.tcp, 'check');
    if (p) return p;
  }
  for (const f of ['delay_seconds', 'interval_seconds', 'timeout_seconds'] as const) {
    const p = durationProblem(at, f, c[f]);
    if (p) return p;
  }
  return undefined;
}

function typeProblem(at: string, type: unknown, what: string): string | undefined {
  if (type === undefined || type === null) return `${at}.type is not set: a ${what} needs a type (COMMAND, HTTP or TCP) and its matching field`;
  if (typeof type !== 'string' || !TYPES.includes(type)) return `${at}.type ${JSON.stringify(type)} is not a valid ${what} type: use COMMAND, HTTP or TCP`;
  return undefined;
}

function bodyProblem(at: string, type: string, command: CommandInfo | undefined, http: { port?: number; path?: string } | undefined, tcp: { port?: number } | undefined, what: string): string | undefined {
  if (type === 'COMMAND') return command ? commandProblem(`${at}.command`, command, what) : `${at}.command must be set for a COMMAND ${what}`;
  if (type === 'HTTP') {
    if (!http) return `${at}.http must be set for an HTTP ${what}`;
    if (http.path !== undefined && !String(http.path).startsWith('/')) return `${at}.http.path '${http.path}' must start with '/'`;
    return portProblem(`${at}.http.port`, http.port);
  }
  if (!tcp) return `${at}.tcp must be set for a TCP ${what}`;
  return portProblem(`${at}.tcp.port`, tcp.port);
}

function commandProblem(at: string, c: CommandInfo | undefined, what: string): string | undefined {
  if (!c) return `${at} must be set for a COMMAND ${what}`;
  const shell = c.shell ?? true;
  if (!c.value) return `${at}.value is empty: a COMMAND ${what} needs ${shell ? 'the shell command' : 'the executable path (shell is false)'} in value`;
  for (const v of c.environment?.variables ?? []) {
    const type = v.type ?? 'VALUE';
    if (type === 'UNKNOWN') return `${at}.environment: variable '${v.name}' has type UNKNOWN, which is not allowed`;
    if (type !== 'VALUE') continue;
    if (v.value === undefined) return `${at}.environment: variable '${v.name}' of type VALUE has no value`;
    const bad = envNameProblem(v.name);
    if (bad) return `${at}.environment: ${bad}`;
  }
  return undefined;
}

function portProblem(at: string, port: unknown): string | undefined {
  if (port === undefined) return `${at} is not set: give the port to probe on 127.0.0.1`;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return `${at} must be a port number from 1 to 65535 (it is ${JSON.stringify(port)})`;
  return undefined;
}

function durationProblem(at: string, field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${at}.${field} must be a number of seconds (it is ${JSON.stringify(v)})`;
  if (v < 0) return `${at}.${field} must be non-negative (it is ${v})`;
  return undefined;
}
