/**
 * A task's health check (TaskInfo.health_check, mesos.v1.HealthCheck) and general check
 * (TaskInfo.check, mesos.v1.CheckInfo) as the agent runs them: what to probe, and when. Unset fields
 * take Mesos's defaults (mesos.proto: delay 15 s, interval 10 s, timeout 20 s, 3 consecutive failures,
 * grace period 10 s). A timeout of 0 means no timeout, as Mesos's CheckerProcess reads it. Validation
 * (validate.ts) comes first: these functions assume a valid check.
 *
 * ```ts
 * const hc = healthConfigOf(task.health_check!);   // { probe: { type: 'HTTP', ... }, delayMs: 15000, ... }
 * const c = checkConfigOf(task.check!);
 * ```
 */
import type { CheckInfo, CommandInfo, HealthCheck } from '../../master/model/mesos';

/** ProbeSpec is what one check run does: run a command, GET a URL on 127.0.0.1, or connect to a port there. */
export type ProbeSpec =
  | { type: 'COMMAND'; command: CommandInfo }
  | { type: 'HTTP'; scheme: 'http' | 'https'; port: number; path: string; ipv6: boolean }
  | { type: 'TCP'; port: number; ipv6: boolean };

/** CheckTiming is when a check runs: `delayMs` after the task runs, then `intervalMs` after each result. */
export interface CheckTiming {
  delayMs: number;
  intervalMs: number;
  /** timeoutMs a run may take before it is a failure (and a command's process tree is killed); 0: no limit. */
  timeoutMs: number;
}

/** HealthConfig is a normalized HealthCheck. */
export interface HealthConfig extends CheckTiming {
  probe: ProbeSpec;
  /** gracePeriodMs counted from the task's start: failures before the first success are ignored within it. */
  gracePeriodMs: number;
  /** consecutiveFailures after which the task is killed. */
  consecutiveFailures: number;
}

/** GeneralCheckConfig is a normalized CheckInfo. */
export interface GeneralCheckConfig extends CheckTiming {
  probe: ProbeSpec;
}

/** HEALTH_CHECK_DEFAULTS are mesos.proto's defaults of HealthCheck (CheckInfo shares the timing ones). */
export const HEALTH_CHECK_DEFAULTS = { delay_seconds: 15, interval_seconds: 10, timeout_seconds: 20, consecutive_failures: 3, grace_period_seconds: 10 } as const;

const ms = (seconds: number | undefined, fallback: number): number => Math.round((seconds ?? fallback) * 1000);

/** healthConfigOf normalizes a valid HealthCheck. */
export function healthConfigOf(hc: HealthCheck): HealthConfig {
  const d = HEALTH_CHECK_DEFAULTS;
  let probe: ProbeSpec;
  if (hc.type === 'COMMAND') probe = { type: 'COMMAND', command: hc.command! };
  else if (hc.type === 'HTTP') {
    const h = hc.http!;
    probe = { type: 'HTTP', scheme: h.scheme === 'https' ? 'https' : 'http', port: h.port!, path: h.path ?? '', ipv6: h.protocol === 'IPv6' };
  } else probe = { type: 'TCP', port: hc.tcp!.port!, ipv6: hc.tcp!.protocol === 'IPv6' };
  return {
    probe,
    delayMs: ms(hc.delay_seconds, d.delay_seconds),
    intervalMs: ms(hc.interval_seconds, d.interval_seconds),
    timeoutMs: ms(hc.timeout_seconds, d.timeout_seconds),
    gracePeriodMs: ms(hc.grace_period_seconds, d.grace_period_seconds),
    consecutiveFailures: hc.consecutive_failures ?? d.consecutive_failures,
  };
}

/** checkConfigOf normalizes a valid CheckInfo (HTTP checks are plain http, as Mesos's CheckInfo.Http has no scheme). */
export function checkConfigOf(c: CheckInfo): GeneralCheckConfig {
  const d = HEALTH_CHECK_DEFAULTS;
  let probe: ProbeSpec;
  if (c.type === 'COMMAND') probe = { type: 'COMMAND', command: c.command!.command! };
  else if (c.type === 'HTTP') probe = { type: 'HTTP', scheme: 'http', port: c.http!.port!, path: c.http!.path ?? '', ipv6: false };
  else probe = { type: 'TCP', port: c.tcp!.port!, ipv6: false };
  return { probe, delayMs: ms(c.delay_seconds, d.delay_seconds), intervalMs: ms(c.interval_seconds, d.interval_seconds), timeoutMs: ms(c.timeout_seconds, d.timeout_seconds) };
}
