/**
 * CleanupRetries calls an isolator's Cleanup of a container until it succeeds. A cleanup that fails (a
 * volume driver that is down, a cgroup that is still busy) would otherwise leave the container's
 * resources held (a mounted volume, a cgroup) until the agent or the module restarts; the modules say
 * that "the agent retries", so it does: with backoff (2 s doubling to 5 min) while the agent runs. A
 * module answers Cleanup of a container it does not hold with success (the conformance kit checks it),
 * so a retry after the module's own Recover released the container ends the retries too. What is still
 * failing when the agent stops is released by the isolators' Recover at its next start.
 *
 * ```ts
 * const retries = new CleanupRetries(log);
 * await retries.cleanup(isolator, containerId);   // the first attempt; later ones run in the background
 * retries.close();
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import type { Log } from '../../log';
import type { Isolator } from './isolators';

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 5 * 60_000;

/** CleanupRetries retries failed isolator cleanups; see the module comment. */
export class CleanupRetries {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly log: Log,
    private readonly firstRetryMs = FIRST_RETRY_MS,
    private readonly maxRetryMs = MAX_RETRY_MS,
  ) {}

  /** cleanup makes the first attempt (awaited, never throws); a failure arms the retries. */
  async cleanup(iso: Isolator, containerId: string): Promise<void> {
    await this.attempt(iso, containerId, 1, this.firstRetryMs);
  }

  /** pending counts the cleanups waiting for a retry. */
  get pending(): number {
    return this.timers.size;
  }

  /** close stops the retries (the isolators' next Recover releases what is left). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async attempt(iso: Isolator, containerId: string, attempt: number, delayMs: number): Promise<void> {
    try {
      await iso.cleanup(containerId);
      if (attempt > 1) this.log.info(`cleanup of container ${containerId} on isolator ${iso.name} succeeded at attempt ${attempt}`);
    } catch (err) {
      const why = TesseraError.wrap(err).message;
      if (this.closed) {
        this.log.warn(`cleanup of container ${containerId} on isolator ${iso.name} failed: ${why}; its next Recover (at the agent's next start) releases it`);
        return;
      }
      this.log.warn(`cleanup of container ${containerId} on isolator ${iso.name} failed (attempt ${attempt}): ${why}; retrying in ${Math.round(delayMs / 1000)} s`);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.attempt(iso, containerId, attempt + 1, Math.min(delayMs * 2, this.maxRetryMs));
      }, delayMs);
      timer.unref();
      this.timers.add(timer);
    }
  }
}
