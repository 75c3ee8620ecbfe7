/**
 * Reading Linux's /proc: one process's stat line (liveness with its start time, so a reused pid is not
 * mistaken for the container), and a cached table of every process (for usage: a container is its
 * shim's process group plus the shim's descendants).
 *
 * ```ts
 * const s = readStat(pid);            // { state: 'S', startTime: 1234567, ppid, session, rssPages, ... }
 * const table = ProcTable.shared().snapshot();
 * const members = table.containerProcesses(shimPid);
 * ```
 */
import fs from 'node:fs';

/** ProcStat holds the fields of /proc/<pid>/stat the containerizer uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, X (dead), ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks in user and kernel mode. */
  utime: number;
  stime: number;
  numThreads: number;
  /** Clock ticks after boot when the process started (field 22): with the pid it names a process uniquely. */
  startTime: number;
  /** Resident pages. */
  rssPages: number;
}

/** CLOCK_TICKS is sysconf(_SC_CLK_TCK); 100 on every Linux the agent supports. */
export const CLOCK_TICKS = 100;
/** PAGE_SIZE is the size of a memory page in bytes (4096 on x86_64 and most arm64 kernels). */
export const PAGE_SIZE = 4096;

/** parseStat parses the text of /proc/<pid>/stat; undefined when it is malformed. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.length < 22) return undefined;
  return {
    pid: Number(text.slice(0, open).trim()),
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    numThreads: Number(f[17]),
    startTime: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/** readStat reads one process's stat; undefined when the process does not exist. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** isAlive tells whether `pid` is still the process that started at `startTime` and has not exited (zombies count as gone). */
export function isAlive(pid: number, startTime: number | undefined): boolean {
  const s = readStat(pid);
  if (!s || s.state === 'Z' || s.state === 'X') return false;
  return startTime === undefined || s.startTime === startTime;
}

/** waitGone polls until a process is gone (a SIGKILL takes a moment), at most `ms`. */
export async function waitGone(pid: number, startTime: number | undefined, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (isAlive(pid, startTime) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** ProcSnapshot is every process at one moment, indexed for container membership. */
export class ProcSnapshot {
  private readonly children = new Map<number, number[]>();
  private readonly byGroup = new Map<number, ProcStat[]>();
  readonly byPid = new Map<number, ProcStat>();

  constructor(
    stats: ProcStat[],
    readonly takenAt: number,
  ) {
    for (const s of stats) {
      this.byPid.set(s.pid, s);
      const kids = this.children.get(s.ppid);
      if (kids) kids.push(s.pid);
      else this.children.set(s.ppid, [s.pid]);
      const group = this.byGroup.get(s.pgrp);
      if (group) group.push(s);
      else this.byGroup.set(s.pgrp, [s]);
    }
  }

  /** childrenOf lists the pids whose parent is `pid`. */
  childrenOf(pid: number): readonly number[] {
    return this.children.get(pid) ?? [];
  }

  /**
   * containerProcesses lists the processes of the container whose init (shim) is `pid`: the shim, its
   * descendants, and whatever else stayed in its process group (orphaned grandchildren reparented to init).
   */
  containerProcesses(pid: number): ProcStat[] {
    const seen = new Map<number, ProcStat>();
    const root = this.byPid.get(pid);
    if (!root) return [];
    const stack = [pid];
    while (stack.length) {
      const p = stack.pop()!;
      const s = this.byPid.get(p);
      if (!s || seen.has(p)) continue;
      seen.set(p, s);
      for (const k of this.children.get(p) ?? []) stack.push(k);
    }
    for (const s of this.byGroup.get(pid) ?? []) seen.set(s.pid, s);
    return [...seen.values()].filter((s) => s.state !== 'Z');
  }
}

/**
 * ProcTable reads every /proc/<pid>/stat at most once per `maxAgeMs`, so usage of 1,000 containers
 * (e.g. /monitor/statistics) costs one scan instead of 1,000.
 */
export class ProcTable {
  private static instance: ProcTable | undefined;
  private current: ProcSnapshot | undefined;

  /** shared is the process-wide table. */
  static shared(): ProcTable {
    return (ProcTable.instance ??= new ProcTable());
  }

  /** snapshot returns a table no older than `maxAgeMs`. */
  snapshot(maxAgeMs = 500): ProcSnapshot {
    const now = Date.now();
    if (this.current && now - this.current.takenAt <= maxAgeMs) return this.current;
    const stats: ProcStat[] = [];
    for (const name of fs.readdirSync('/proc')) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const s = readStat(Number(name));
      if (s) stats.push(s);
    }
    this.current = new ProcSnapshot(stats, now);
    return this.current;
  }
}
