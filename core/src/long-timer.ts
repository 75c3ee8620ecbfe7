/**
 * A timeout of any length. Node's setTimeout fires at once (with a TimeoutOverflowWarning) for delays
 * beyond 2^31-1 ms, about 24.8 days, which a framework's failover_timeout may well be (Mesos frameworks
 * ask for weeks). The timer re-arms itself until the whole delay has passed.
 *
 * ```ts
 * const t = setLongTimeout(() => removeFramework(id), 30 * 24 * 3600 * 1000);
 * t.cancel();
 * ```
 */

/** MAX_TIMER_MS is the longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** LongTimer is a pending {@link setLongTimeout}. */
export interface LongTimer {
  /** cancel stops the timer; a no-op once it fired. */
  cancel(): void;
}

/** setLongTimeout calls `fn` once `ms` milliseconds passed, however many. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const due = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = due - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
