/**
 * FakeTimers: a clock for the checkers' unit tests. Time moves only in advance(), which fires due
 * timers in order and lets the promises they start settle between them.
 */
import type { Timers } from './schedule';

interface Pending {
  at: number;
  fn: () => void;
}

/** FakeTimers implements Timers over a hand-moved clock. */
export class FakeTimers implements Timers {
  private t = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const p = { at: this.t + Math.max(0, ms), fn };
    this.pending.push(p);
    return p;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p !== handle);
  }

  /** advance moves the clock by `ms`, firing every timer that falls due (in order). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = target;
  }
}

/** settle lets pending promise chains run to their end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
