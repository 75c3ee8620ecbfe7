/**
 * Sandbox garbage collection, as Mesos's agent does it (`--gc_delay`, `--gc_disk_headroom`,
 * `--disk_watch_interval`): a completed container's sandbox (`.../executors/<id>/runs/<container>`) is
 * removed once it has been idle for the delay, and the delay shrinks as the work_dir's disk fills:
 *
 *     delay = gc_delay × max(0, 1 − gc_disk_headroom − disk usage)
 *
 * so at 90% usage with the default headroom of 0.1, completed sandboxes go at the next sweep. A sweep
 * runs every `disk_watch_interval`. A sandbox is completed when no task the agent still holds (running,
 * or terminal with an update not yet acknowledged) uses it. Its age counts, as Mesos's schedule does,
 * from when its container ended: the agent records that moment as the mtime of an end marker next to
 * the sandbox (`runs/<container>.ended`, in the agent's own directory: a task cannot change it), so it
 * survives restarts. A task quiet for longer than the delay keeps its sandbox for the whole delay after
 * it ends. Sandboxes without a marker (left by older agents) are aged by their newest of the run
 * directory, `stdout` and `stderr`. Executor and framework directories left empty go with their last
 * sandbox.
 *
 * ```ts
 * const gc = new SandboxGc({ root: agent.sandboxRoot(), delayMs: 7 * 86_400_000, headroom: 0.1, inUse: () => liveSandboxes, log });
 * gc.start(60_000);
 * ```
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Log } from '../log';

/** SandboxGcOptions configure a {@link SandboxGc}. */
export interface SandboxGcOptions {
  /** `<work_dir>/slaves`: the sandboxes are `<root>/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>`. */
  root: string;
  /** `--gc_delay` in milliseconds (Mesos's default: 1 week). */
  delayMs: number;
  /** `--gc_disk_headroom`, from 0 to 1 (Mesos's default: 0.1). */
  headroom: number;
  /** The sandboxes the agent still needs (its tasks' run directories). */
  inUse: () => ReadonlySet<string>;
  log: Log;
  /** The fraction of the work_dir's filesystem in use, 0..1 (default: statfs of `root`). */
  diskUsage?: () => number;
  /** The clock (ms), for tests. */
  now?: () => number;
}

/** SweepResult says what one sweep did. */
export interface SweepResult {
  removed: string[];
  /** The delay applied in this sweep (after the disk adjustment). */
  delayMs: number;
}

/** effectiveDelay is Mesos's gc delay for a disk usage: the delay shrinks to 0 as usage reaches 1 − headroom. */
export function effectiveDelay(delayMs: number, headroom: number, usage: number): number {
  return Math.max(0, delayMs * Math.max(0, 1 - headroom - usage));
}

/** SandboxGc removes completed sandboxes; see the module comment. */
export class SandboxGc {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly opts: SandboxGcOptions) {}

  /** start sweeps every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** sweep removes the completed sandboxes idle for longer than the current delay. */
  async sweep(): Promise<SweepResult> {
    const delayMs = effectiveDelay(this.opts.delayMs, this.opts.headroom, this.usage());
    if (this.sweeping) return { removed: [], delayMs };
    this.sweeping = true;
    const removed: string[] = [];
    try {
      const now = (this.opts.now ?? Date.now)();
      const inUse = this.opts.inUse();
      for (const run of runDirectories(this.opts.root)) {
        if (inUse.has(run) || now - lastActivity(run) < delayMs) continue;
        try {
          await removeTree(run);
          await fs.promises.rm(endMarker(run), { force: true });
          removed.push(run);
          removeEmptyParents(run, this.opts.root);
        } catch (err) {
          this.opts.log.warn(`sandbox gc: could not remove ${run}: ${(err as Error).message}`);
        }
      }
      if (removed.length) this.opts.log.info(`sandbox gc: removed ${removed.length} completed sandbox(es) idle for more than ${Math.round(delayMs / 1000)} s`);
    } finally {
      this.sweeping = false;
    }
    return { removed, delayMs };
  }

  private usage(): number {
    if (this.opts.diskUsage) return this.opts.diskUsage();
    try {
      const st = fs.statfsSync(this.opts.root);
      return st.blocks > 0 ? 1 - st.bavail / st.blocks : 0;
    } catch {
      return 0; // no work_dir yet: nothing to collect anyway
    }
  }
}

const dirsIn = (dir: string): string[] => {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
};

/** runDirectories lists `<root>/*\/frameworks/*\/executors/*\/runs/*` (not through symbolic links). */
export function runDirectories(root: string): string[] {
  const out: string[] = [];
  for (const agent of dirsIn(root)) {
    for (const fw of dirsIn(path.join(agent, 'frameworks'))) {
      for (const ex of dirsIn(path.join(fw, 'executors'))) out.push(...dirsIn(path.join(ex, 'runs')));
    }
  }
  return out;
}

/** endMarker is the file whose mtime says when the container of sandbox `run` ended. */
export function endMarker(run: string): string {
  return `${run}.ended`;
}

/**
 * markSandboxEnded records that the container of sandbox `run` ended now (or at `at`, ms). Best effort: a
 * sandbox that is gone needs no marker. Written without following a link (the runs/ directory is the
 * agent's, but it costs nothing).
 */
export function markSandboxEnded(run: string, at = Date.now()): void {
  if (!fs.existsSync(run)) return;
  try {
    const fd = fs.openSync(endMarker(run), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
    try {
      fs.futimesSync(fd, new Date(at), new Date(at));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // a read-only or vanished work dir: the sandbox is then aged by its files
  }
}

// When the sandbox's container ended (its end marker), else the newest mtime of the run directory and its stdout/stderr.
function lastActivity(run: string): number {
  try {
    return fs.statSync(endMarker(run)).mtimeMs;
  } catch {
    // no marker: an older agent's sandbox
  }
  let newest = 0;
  for (const p of [run, path.join(run, 'stdout'), path.join(run, 'stderr')]) {
    try {
      newest = Math.max(newest, fs.statSync(p).mtimeMs);
    } catch {
      // not there: no activity to count
    }
  }
  return newest;
}

// runs/ -> executor -> executors/ -> framework -> frameworks/ -> agent: each goes once empty.
function removeEmptyParents(run: string, root: string): void {
  for (let dir = path.dirname(run); dir.startsWith(`${root}${path.sep}`); dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(dir); // only when empty
    } catch {
      return;
    }
  }
}

/**
 * removeTree deletes a sandbox as root, inside directories the task's user owned: GNU rm walks it with
 * directory descriptors and never follows a symbolic link, so a process of that user swapping a
 * directory for a link while the walk runs cannot make it delete outside the sandbox (a path-based
 * recursive delete can be raced that way), and --one-file-system leaves alone whatever is still mounted
 * in it (a volume whose cleanup failed keeps its data).
 */
function removeTree(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('rm', ['-rf', '--one-file-system', '--', dir], (err, _stdout, stderr) => (err ? reject(new Error(`rm -rf ${dir}: ${stderr.trim() || err.message}`)) : resolve())),
  );
}
