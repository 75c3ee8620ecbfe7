/**
 * Journal is a durable state kept as two files in one directory: a write-ahead journal and a snapshot.
 * The master's registry and the agent's checkpoint both keep their state this way; each brings its
 * state, its ops, how an op changes the state, the snapshot's shape, and its own error codes.
 *
 * - The journal (`log.jsonl`, `journal.jsonl`, ...): one JSON object per line, `{"seq":7,"op":...}`,
 *   appended; an op is on disk once its line is written and fsync'd.
 * - The snapshot (`snapshot.json`): the state as of one seq. Once the journal holds more than
 *   `compactEvery` lines (and more than twice as many as the state has entries) the state is written
 *   (temp file, fsync, rename, directory fsync) and the journal emptied.
 *
 * Loading reads the snapshot, then replays the journal lines with a higher seq. A last line without its
 * newline is what a crash in the middle of a write leaves: it is dropped with a warning. Anything else
 * that does not read back is the caller's corruption error, naming the file and the line. A failed write
 * is latched: every later write fails with the caller's write error, since the state in memory is ahead
 * of the disk.
 *
 * ```ts
 * const journal = Journal.open({ dir, journalFile: 'journal.jsonl', snapshotFile: 'snapshot.json', state, log, ...codec, ...errors });
 * await journal.durable({ op: 'task', ... });  // on disk when it resolves
 * journal.append({ op: 'ack', ... });           // rides along with the next write (at most lazySyncMs later)
 * journal.close();
 * ```
 *
 * Writes are cheap in bulk: an op is applied to the state at once and its line queued; the queue is
 * written once per event-loop turn, and fsync'd then only if a durable op waits, so a thousand durable
 * ops in one turn cost one fsync.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Log } from '../log';
import { DirLock, type LockOwner } from './dir-lock';

/** JournalStage names what the journal was doing when the file system failed it. */
export type JournalStage = 'create' | 'read' | 'open' | 'write';

/** JournalOptions configure {@link Journal.open}. */
export interface JournalOptions<Op extends { op: string }, State> {
  /** The directory of both files; created (mode 0700) when missing. */
  dir: string;
  /** The journal's file name in `dir`. */
  journalFile: string;
  /** The snapshot's file name in `dir`. */
  snapshotFile: string;
  log: Log;
  /** The state: filled from the files on open, then changed by every op as it is recorded. */
  state: State;
  /** Applies one op to the state (while replaying, and as ops are recorded). */
  apply(state: State, op: Op): void;
  /** How many entries the state holds (compaction waits for twice as many journal lines). */
  size(state: State): number;
  /** Writes a line or the snapshot as JSON (no newline in it). */
  encode(value: unknown): string;
  /** Reads what `encode` wrote; throws on bad JSON. */
  decode(text: string): unknown;
  /** Validates a decoded journal line; throws `fail(what)` naming what is wrong. */
  checkOp(value: unknown, fail: (what: string) => Error): Op & { seq: number };
  /** Renders the state as of `seq` as the snapshot (written with `encode`). */
  snapshotOf(state: State, seq: number): unknown;
  /** Validates a decoded snapshot and fills the state from it; returns its seq; throws `fail(what)`. */
  loadSnapshot(value: unknown, state: State, fail: (what: string) => Error): number;
  /** The error for a file that does not read back at `file:line`. */
  corrupt(file: string, line: number, what: string): Error;
  /**
   * The error for a file system failure at `stage` (`file` is the directory for 'create' and 'write', the
   * journal otherwise); latched after a failed write. May return `cause` itself to pass it on.
   */
  failed(stage: JournalStage, file: string, cause: unknown): Error;
  /** The error every write gets after {@link Journal.close}. */
  closed(): Error;
  /** The warning for a dropped torn last line: its 1-based line number and its length in bytes. */
  tornWarning(file: string, line: number, bytes: number): string;
  /** The warning for a failed compaction (the journal keeps every line: nothing is lost). */
  compactionWarning(snapshotFile: string, cause: Error): string;
  /**
   * The error for a directory another live process holds (see DirLock): with it, the journal locks its
   * directory while open, so that two processes never write one journal.
   */
  locked?(owner: LockOwner): Error;
  /** Called once the files are loaded, before a compaction that is due then. */
  onLoad?(seq: number): void;
  /** Called after each compaction. */
  onCompact?(seq: number): void;
  /** Journal lines after which the state is compacted into the snapshot (default 10,000). */
  compactEvery?: number;
  /** Longest delay before lines of ops that nobody waits for are fsync'd (default 1 s). */
  lazySyncMs?: number;
}

/** Journal keeps a state durable in a journal and a snapshot; see the module comment. */
export class Journal<Op extends { op: string }, State> {
  private seqNo = 0;
  private lineCount = 0;
  private fd: number | undefined;
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private unsynced = false;
  private failure: Error | undefined;
  private lock: DirLock | undefined;
  /** The journal file's path. */
  readonly journalPath: string;
  /** The snapshot file's path. */
  readonly snapshotPath: string;

  private constructor(private readonly opts: JournalOptions<Op, State>) {
    this.journalPath = path.join(opts.dir, opts.journalFile);
    this.snapshotPath = path.join(opts.dir, opts.snapshotFile);
  }

  /** Opens (or creates) the journal in `opts.dir` and loads it into `opts.state`; throws `corrupt` or `failed` errors. */
  static open<Op extends { op: string }, State>(opts: JournalOptions<Op, State>): Journal<Op, State> {
    const j = new Journal(opts);
    j.load();
    return j;
  }

  /** The state, as of every op recorded so far. */
  get state(): State {
    return this.opts.state;
  }

  /** The seq of the latest op. */
  get seq(): number {
    return this.seqNo;
  }

  /** How many lines the journal holds now. */
  get lines(): number {
    return this.lineCount;
  }

  /** The latched error once a write failed or the journal was closed. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Records an op; resolves once its line is on disk, rejects with the latched error. */
  durable(op: Op): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.append(op);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Applies an op to the state now and queues its line for this turn's write; fsync'd with the next
   * durable op or {@link flush}, at most `lazySyncMs` later. Throws the latched error.
   */
  append(op: Op): void {
    if (this.failure) throw this.failure;
    this.seqNo++;
    this.opts.apply(this.opts.state, op);
    this.pending.push(`${this.opts.encode({ seq: this.seqNo, ...op })}\n`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.turnFlush());
    }
  }

  /** Writes and fsyncs everything queued now; throws the latched error. */
  flush(): void {
    if (this.failure) throw this.failure;
    if (this.pending.length === 0 && !this.unsynced) return;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      this.writePending();
      if (this.unsynced) fs.fsyncSync(this.fd!);
      this.unsynced = false;
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    } catch (err) {
      // The state in memory is ahead of the disk now: nothing later may be written as if it were not.
      this.failure = this.opts.failed('write', this.opts.dir, err);
      for (const w of waiters) w.reject(this.failure);
      throw this.failure;
    }
    for (const w of waiters) w.resolve();
    if (this.compactionDue()) this.tryCompact();
  }

  /** Writes what is queued and closes the journal; it is unusable afterwards. Throws a failed flush's error. */
  close(): void {
    try {
      if (!this.failure) this.flush();
    } finally {
      clearTimeout(this.lazyTimer);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      this.failure ??= this.opts.closed();
      this.lock?.release();
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  // End of an event-loop turn: write the queue; fsync only if someone waits for durability.
  private turnFlush(): void {
    this.flushScheduled = false;
    if (this.failure || this.fd === undefined) return;
    try {
      if (this.waiters.length > 0) return this.flush();
      this.writePending();
      if (this.unsynced && this.lazyTimer === undefined) {
        this.lazyTimer = setTimeout(() => {
          this.lazyTimer = undefined;
          if (this.unsynced) this.safeFlush();
        }, this.opts.lazySyncMs ?? 1000);
        this.lazyTimer.unref();
      }
    } catch (err) {
      this.opts.log.error((err as Error).message);
    }
  }

  private safeFlush(): void {
    try {
      this.flush();
    } catch (err) {
      this.opts.log.error((err as Error).message);
    }
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(''), 'utf8');
    this.lineCount += this.pending.length;
    this.pending = [];
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd!, buf, off, buf.length - off);
    this.unsynced = true;
  }

  // Past compactEvery lines, and past twice the state's size: a compaction rewrites the whole state,
  // so its cost stays proportional to the lines written since the last one.
  private compactionDue(): boolean {
    return this.lineCount > Math.max(this.opts.compactEvery ?? 10_000, 2 * this.opts.size(this.opts.state));
  }

  // A failed compaction loses nothing (the journal still holds every line): it is tried again later.
  private tryCompact(): void {
    try {
      this.compact();
    } catch (err) {
      this.opts.log.warn(this.opts.compactionWarning(this.snapshotPath, err as Error));
    }
  }

  private compact(): void {
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, this.opts.encode(this.opts.snapshotOf(this.opts.state, this.seqNo)));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotPath);
    syncDir(this.opts.dir);
    // A crash before this truncation is harmless: the lines' seqs are not above the snapshot's.
    fs.ftruncateSync(this.fd!, 0);
    fs.fsyncSync(this.fd!);
    this.lineCount = 0;
    this.opts.onCompact?.(this.seqNo);
  }

  // ---- loading --------------------------------------------------------------------------------

  private load(): void {
    const { dir } = this.opts;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw this.opts.failed('create', dir, err);
    }
    if (this.opts.locked) this.lock = DirLock.acquire(dir, this.opts.locked);
    try {
      try {
        fs.rmSync(`${this.snapshotPath}.tmp`, { force: true }); // a compaction that did not finish
      } catch (err) {
        throw this.opts.failed('create', dir, err);
      }
      this.loadFiles();
    } catch (err) {
      this.lock?.release();
      throw err;
    }
  }

  private loadFiles(): void {
    const { dir, log, corrupt } = this.opts;
    const snapshotSeq = this.loadSnapshot();
    let bytes: Buffer;
    try {
      bytes = fs.existsSync(this.journalPath) ? fs.readFileSync(this.journalPath) : Buffer.alloc(0);
    } catch (err) {
      throw this.opts.failed('read', this.journalPath, err);
    }
    const end = bytes.lastIndexOf(0x0a) + 1; // after the last complete line
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop(); // the empty string after the last newline
    let lastSeq = snapshotSeq;
    lines.forEach((text, i) => {
      const fail = (what: string) => corrupt(this.journalPath, i + 1, what);
      let v: unknown;
      try {
        v = this.opts.decode(text);
      } catch (err) {
        throw fail(`not valid JSON (${(err as Error).message})`);
      }
      const op = this.opts.checkOp(v, fail);
      if (op.seq <= snapshotSeq) return; // already in the snapshot (a compaction stopped before emptying the journal)
      if (op.seq <= lastSeq) throw fail(`seq ${op.seq} does not follow seq ${lastSeq}`);
      lastSeq = op.seq;
      this.opts.apply(this.opts.state, op);
    });
    this.seqNo = lastSeq;
    this.lineCount = lines.length;
    try {
      if (end < bytes.length) {
        log.warn(this.opts.tornWarning(this.journalPath, lines.length + 1, bytes.length - end));
        fs.truncateSync(this.journalPath, end);
      }
      this.fd = fs.openSync(this.journalPath, 'a', 0o600);
      fs.fsyncSync(this.fd);
      syncDir(dir);
    } catch (err) {
      throw this.opts.failed('open', this.journalPath, err);
    }
    this.opts.onLoad?.(this.seqNo);
    if (this.compactionDue()) this.tryCompact();
  }

  private loadSnapshot(): number {
    if (!fs.existsSync(this.snapshotPath)) return 0;
    const text = fs.readFileSync(this.snapshotPath, 'utf8');
    let v: unknown;
    try {
      v = this.opts.decode(text);
    } catch (err) {
      const pos = /position (\d+)/.exec((err as Error).message);
      const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
      throw this.opts.corrupt(this.snapshotPath, line, `not valid JSON (${(err as Error).message})`);
    }
    return this.opts.loadSnapshot(v, this.opts.state, (what) => this.opts.corrupt(this.snapshotPath, 1, what));
  }
}

// Makes a rename or a new file in `dir` durable; some file systems cannot fsync a directory.
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
