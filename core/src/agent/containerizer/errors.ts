/**
 * Error codes of the universal containerizer (spread into CoreErrorCodes in core/src/errors.ts and
 * explained in docs/errors.md), and {@link LaunchError}: a launch() rejection that carries the
 * {@link LaunchFailure} the agent reports as the task's status.
 *
 * ```ts
 * try { await containerizer.launch(req); }
 * catch (err) { if (err instanceof LaunchError) report(err.failure.state, err.failure.reason, err.failure.message); }
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import type { LaunchFailure } from './types';

/** ContainerizerErrorCodes catalogues the containerizer's codes with a one-line description each. */
export const ContainerizerErrorCodes = {
  TSR_CONTAINER_LAUNCH_FAILED:
    'A container could not be launched (invalid command, fetch failed, an isolator refused or is down, the process could not start); `failure` says what the task reports.',
  TSR_CONTAINER_UNKNOWN: 'A call named a container the containerizer does not know (never launched, or already terminated and forgotten).',
  TSR_CONTAINER_EXISTS: 'A launch reused the id of a container that is still known.',
} as const;

/** ContainerizerErrorCode is one of {@link ContainerizerErrorCodes}. */
export type ContainerizerErrorCode = keyof typeof ContainerizerErrorCodes;

/** LaunchError is launch()'s rejection: a TesseraError (TSR_CONTAINER_LAUNCH_FAILED) with the task's failure. */
export class LaunchError extends TesseraError {
  readonly failure: LaunchFailure;

  constructor(failure: LaunchFailure, cause?: unknown) {
    super('TSR_CONTAINER_LAUNCH_FAILED', failure.message, cause === undefined ? undefined : { cause });
    this.failure = failure;
  }
}

/** launchFailed is a LaunchError for TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED (the common case). */
export function launchFailed(message: string, cause?: unknown): LaunchError {
  return new LaunchError({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message }, cause);
}

/** taskInvalid is a LaunchError for TASK_ERROR with REASON_TASK_INVALID. */
export function taskInvalid(message: string): LaunchError {
  return new LaunchError({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message });
}
