/**
 * The checks Mesos's master makes of a FrameworkInfo when a framework subscribes or updates itself
 * (master/validation.cpp, `validateFrameworkSubscription` and `validateUpdate`). A SUBSCRIBE that fails
 * them is refused on its stream: 200, one ERROR event with the message, then the stream ends (what
 * Mesos's v1 clients hand to the scheduler); an UPDATE_FRAMEWORK that fails them gets 400.
 *
 * ```ts
 * const problem = frameworkProblem(info, suppressedRoles);          // undefined when valid
 * const change = frameworkUpdateProblem(current, next);             // user, principal, checkpoint are fixed
 * ```
 */
import type { FrameworkInfo } from './model/mesos';
import { roleProblem } from './reservations';

/** frameworkProblem says what is wrong with a framework's info and suppressed roles, or undefined. */
export function frameworkProblem(info: FrameworkInfo, suppressedRoles: readonly string[]): string | undefined {
  const failover = info.failover_timeout ?? 0;
  if (!(failover >= 0) || !Number.isFinite(failover)) return `framework_info.failover_timeout must be a finite number of seconds >= 0, not ${info.failover_timeout}`;
  const multiRole = (info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE');
  if (multiRole && info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework has the MULTI_ROLE capability: give its roles in 'FrameworkInfo.roles'";
  if (!multiRole && info.roles?.length) return "'FrameworkInfo.roles' needs the MULTI_ROLE capability (or use the deprecated 'FrameworkInfo.role')";
  const roles = multiRole ? (info.roles ?? []) : [info.role ?? '*'];
  const seen = new Set<string>();
  for (const role of roles) {
    if (seen.has(role)) return `'FrameworkInfo.roles' names role '${role}' twice`;
    seen.add(role);
    const problem = roleProblem(role);
    if (problem) return problem;
  }
  for (const role of suppressedRoles) {
    if (!seen.has(role)) return `suppressed role '${role}' is not one of the framework's roles (${roles.join(', ') || 'none'})`;
  }
  return undefined;
}

/** frameworkUpdateProblem says which field UPDATE_FRAMEWORK may not change (as Mesos), or undefined. */
export function frameworkUpdateProblem(current: FrameworkInfo, next: FrameworkInfo): string | undefined {
  for (const field of ['user', 'principal', 'checkpoint'] as const) {
    if ((current[field] ?? defaults[field]) !== (next[field] ?? defaults[field])) {
      return `Updating 'FrameworkInfo.${field}' is unsupported (it is ${JSON.stringify(current[field] ?? defaults[field])}): subscribe a new framework to change it`;
    }
  }
  return undefined;
}

const defaults = { user: '', principal: '', checkpoint: false } as const;
