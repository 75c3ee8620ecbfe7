/**
 * DirLock keeps a second process off a state directory (the master's registry, the agent's checkpoint),
 * as Mesos's LevelDB and meta-directory locks do: two masters appending to one registry interleave their
 * sequence numbers and leave it unreadable; two agents on one work_dir both claim its agent id.
 *
 * The lock is a file, `<dir>/LOCK`, holding the owner's pid and its start time (from /proc/<pid>/stat,
 * so that a recycled pid is not mistaken for the owner). It is created atomically (a hard link of a
 * written temp file: link fails if the name exists), so of two processes racing for it one wins. A lock
 * whose owner is gone (a crash, `kill -9`) is taken over; the file is removed on release.
 *
 * ```ts
 * const lock = DirLock.acquire(dir, (owner) => new TesseraError('TSR_WORK_DIR_LOCKED', `${dir} is used by pid ${owner.pid}`));
 * lock.release();
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';

/** LockOwner is the process that holds a lock. */
export interface LockOwner {
  pid: number;
  /** Its start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** DirLock is a held lock on one directory. */
export class DirLock {
  private released = false;

  private constructor(readonly file: string) {}

  /**
   * acquire takes the lock on `dir` (which must exist), taking over one whose owner is gone; throws
   * `busy(owner)` when a live process holds it.
   */
  static acquire(dir: string, busy: (owner: LockOwner) => Error): DirLock {
    const file = path.join(path.resolve(dir), 'LOCK');
    const me: LockOwner = { pid: process.pid, startTime: startTimeOf(process.pid) ?? 0, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (tryCreate(file, me)) return new DirLock(file);
      const owner = readOwner(file);
      // A live owner holds it, this very process included (a second open of one directory is refused).
      if (owner && startTimeOf(owner.pid) === owner.startTime) throw busy(owner);
      // Its owner is gone (or the file is unreadable, a crash while writing it): take it over. Removing a
      // file another process just took over is what the next attempt's link would notice.
      fs.rmSync(file, { force: true });
    }
    throw busy(readOwner(file) ?? me);
  }

  /** release removes the lock file (once; a no-op after). */
  release(): void {
    if (this.released) return;
    this.released = true;
    const owner = readOwner(this.file);
    if (owner?.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}

function tryCreate(file: string, me: LockOwner): boolean {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(temp, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(v.pid) && Number.isInteger(v.startTime) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** startTimeOf reads a live process's start time, or undefined when there is no such process (or a zombie). */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}
