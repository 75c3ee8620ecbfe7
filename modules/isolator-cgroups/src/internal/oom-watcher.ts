/**
 * OomWatcher notices OOM kills in watched containers by polling the kernel's OOM-kill counter:
 * v1 `memory.oom_control` ("oom_kill N", Linux 4.13+), v2 `memory.events` ("oom_kill N").
 *
 * Why polling and not v1's cgroup.event_control + eventfd: Node cannot create an eventfd, and a helper
 * process per agent (python, a compiled C helper) is one more thing to ship and supervise. The counter
 * cannot be missed (it only grows, and a fresh container cgroup starts at 0, so a kill that happened
 * while nobody watched — before watch() or while the module restarted — still fires), and one poll is
 * a single pread(2) on a file descriptor kept open per watched container (~1 µs): 1,000 containers
 * every 100 ms cost about 10 ms of CPU per second. One timer serves every container.
 */
import fs from 'node:fs';
import { parseOomKills } from './driver';

interface Entry {
  file: string;
  fd: number | undefined;
  waiters: Set<(kills: number | undefined) => void>;
}

const BUFFER = Buffer.alloc(4096);

/** OomWatcher polls the OOM-kill counters of the containers someone waits on. */
export class OomWatcher {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  /** watching is how many containers are polled now. */
  get watching(): number {
    return this.entries.size;
  }

  /**
   * wait resolves with the OOM-kill count once it is above 0, or with undefined when `signal` aborts or
   * the container is forgotten (cleaned up).
   */
  wait(id: string, file: string, signal: AbortSignal): Promise<number | undefined> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(undefined);
      let entry = this.entries.get(id);
      if (!entry) {
        entry = { file, fd: undefined, waiters: new Set() };
        this.entries.set(id, entry);
      }
      const e = entry;
      const done = (kills: number | undefined): void => {
        e.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        if (e.waiters.size === 0 && this.entries.get(id) === e) this.drop(id);
        resolve(kills);
      };
      const onAbort = (): void => done(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      e.waiters.add(done);
      // A kill before anyone watched fires at once.
      this.check(id, e);
      if (this.entries.size > 0 && !this.timer) {
        this.timer = setInterval(() => this.tick(), this.intervalMs);
        this.timer.unref();
      }
    });
  }

  /** flush checks one container now (before cleanup forgets it, so a kill just before still fires). */
  flush(id: string): void {
    const e = this.entries.get(id);
    if (e) this.check(id, e);
  }

  /** forget stops watching a container: its waiters get undefined. */
  forget(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    for (const w of [...e.waiters]) w(undefined);
    this.drop(id);
  }

  /** close forgets every container and stops the timer. */
  close(): void {
    for (const id of [...this.entries.keys()]) this.forget(id);
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (e.fd !== undefined) fs.closeSync(e.fd);
    e.fd = undefined;
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    for (const [id, e] of [...this.entries]) this.check(id, e);
  }

  private check(id: string, e: Entry): void {
    const kills = this.read(e);
    if (kills === undefined || kills === 0) return;
    for (const w of [...e.waiters]) w(kills);
    this.drop(id);
  }

  // pread at offset 0 makes the kernel render the file afresh; no open/close per poll.
  private read(e: Entry): number | undefined {
    try {
      if (e.fd === undefined) e.fd = fs.openSync(e.file, 'r');
      const n = fs.readSync(e.fd, BUFFER, 0, BUFFER.length, 0);
      return parseOomKills(BUFFER.toString('latin1', 0, n));
    } catch {
      // The cgroup is gone or not there yet: open it again next time.
      if (e.fd !== undefined) fs.closeSync(e.fd);
      e.fd = undefined;
      return undefined;
    }
  }
}
