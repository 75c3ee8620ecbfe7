/**
 * ExitPoller notices the end of container processes this agent process did not start (recovered after
 * an agent restart: they are no longer its children, so no 'exit' event comes). One timer serves all
 * of them: each tick checks every watched pid with its start time (/proc/<pid>/stat), which is cheap
 * (a read per container) and immune to pid reuse.
 *
 * ```ts
 * const poller = new ExitPoller(500);
 * poller.watch(pid, startTime, () => onGone());
 * poller.stop();
 * ```
 */
import { isAlive } from './proc';

interface Watched {
  pid: number;
  startTime: number;
  onGone: () => void;
}

/** ExitPoller calls back once per watched process when it is gone. */
export class ExitPoller {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  /** watch calls `onGone` once the process is gone (checked every interval). */
  watch(pid: number, startTime: number, onGone: () => void): void {
    this.watched.set(pid, { pid, startTime, onGone });
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** unwatch forgets a process without calling back. */
  unwatch(pid: number): void {
    this.watched.delete(pid);
    if (this.watched.size === 0) this.stopTimer();
  }

  /** tick checks every watched process now. */
  tick(): void {
    for (const w of [...this.watched.values()]) {
      if (isAlive(w.pid, w.startTime)) continue;
      this.watched.delete(w.pid);
      w.onGone();
    }
    if (this.watched.size === 0) this.stopTimer();
  }

  /** stop forgets everything. */
  stop(): void {
    this.watched.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
