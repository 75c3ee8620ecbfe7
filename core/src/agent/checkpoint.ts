/**
 * The agent's checkpoint under `<work_dir>/meta`: what must survive a restart of the agent (a crash,
 * `kill -9`, an upgrade) so that running tasks are recovered and no status update is lost.
 *
 * - `journal.jsonl`, a write-ahead journal: one JSON object per line (`{"seq":7,"op":"update",...}`,
 *   bytes as `{"$bytes":"<base64>"}`), appended, and fsync'd before the agent acts on what it records
 *   (launching a task, sending an update);
 * - `snapshot.json`, the state as of one seq: once the journal holds more than `compactEvery` lines
 *   (and more than twice as many as the state has entries) the state is written (temp file, fsync,
 *   rename) and the journal emptied.
 *
 * The state (checkpoint-state.ts) is the agent's id and info, its frameworks, and every task with its
 * container, latest state and unacknowledged updates.
 *
 * ```ts
 * const cp = Checkpoint.open({ dir: path.join(workDir, 'meta'), log });
 * cp.state.agentId;                                     // undefined for a new agent
 * await cp.durable({ op: 'task', frameworkId, taskId, containerId, sandbox, info });  // on disk: launch now
 * cp.lazy({ op: 'ack', frameworkId, taskId, uuid });    // rides along with the next write
 * cp.close();
 * ```
 *
 * Writes are cheap in bulk: every op is applied in memory at once and queued; the queue is written once
 * per event-loop turn and fsync'd once for all the durable ops in it, so a thousand launches in one turn
 * cost one fsync. Lazy ops (acknowledgements, forgetting) get no fsync of their own (at most
 * `lazySyncMs` later): losing one to a machine crash only resends an update the master already has.
 * A last journal line without its newline is what a crash during a write leaves: dropped with a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { applyOp, checkOp, emptyState, fromJson, loadSnapshot, snapshotOf, toJson, type AgentCheckpointState, type CheckpointOp } from './checkpoint-state';

const JOURNAL = 'journal.jsonl';
const SNAPSHOT = 'snapshot.json';

/** CheckpointOptions configure {@link Checkpoint.open}. */
export interface CheckpointOptions {
  /** dir is `<work_dir>/meta`; created when missing. */
  dir: string;
  log: Log;
  /** compactEvery: journal lines after which the state is compacted into the snapshot (default 10,000). */
  compactEvery?: number;
  /** lazySyncMs: longest delay before lazy lines are fsync'd (default 1 s). */
  lazySyncMs?: number;
}

/** Checkpoint is the agent's durable state; see the module comment. */
export class Checkpoint {
  /** state is the checkpointed state, kept up to date as ops are recorded. */
  readonly state: AgentCheckpointState = emptyState();
  private seq = 0;
  private lines = 0;
  private fd: number | undefined;
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private unsynced = false;
  private failure: TesseraError | undefined;
  private readonly journalPath: string;
  private readonly snapshotPath: string;

  private constructor(private readonly opts: CheckpointOptions) {
    this.journalPath = path.join(opts.dir, JOURNAL);
    this.snapshotPath = path.join(opts.dir, SNAPSHOT);
  }

  /** open creates or loads the checkpoint; throws TSR_AGENT_CHECKPOINT_CORRUPT or TSR_AGENT_CHECKPOINT_WRITE_FAILED. */
  static open(opts: CheckpointOptions): Checkpoint {
    const cp = new Checkpoint(opts);
    cp.load();
    return cp;
  }

  /** durable records an op; resolves once it is on disk (rejects with TSR_AGENT_CHECKPOINT_WRITE_FAILED). */
  durable(op: CheckpointOp): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.enqueue(op);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** lazy records an op that needs no fsync of its own (see the module comment); never throws. */
  lazy(op: CheckpointOp): void {
    if (this.failure) {
      applyOp(this.state, op); // keep memory right; the disk is already behind and the agent was told
      return;
    }
    this.enqueue(op);
  }

  /** journalLines is how many lines the journal holds now (tests). */
  get journalLines(): number {
    return this.lines;
  }

  /** flush writes and fsyncs everything queued now; throws TSR_AGENT_CHECKPOINT_WRITE_FAILED. */
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
      this.failure = new TesseraError(
        'TSR_AGENT_CHECKPOINT_WRITE_FAILED',
        `the agent cannot write its checkpoint in ${this.opts.dir}: ${(err as Error).message}; free disk space or fix the permissions of --work_dir, then restart the agent (running tasks are recovered)`,
        { cause: err },
      );
      for (const w of waiters) w.reject(this.failure);
      throw this.failure;
    }
    for (const w of waiters) w.resolve();
    if (this.compactionDue()) this.tryCompact();
  }

  /** close writes what is queued and closes the journal; the checkpoint is unusable afterwards. */
  close(): void {
    try {
      if (!this.failure) this.flush();
    } catch (err) {
      this.opts.log.error((err as Error).message);
    } finally {
      clearTimeout(this.lazyTimer);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      this.failure ??= new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the checkpoint in ${this.opts.dir} is closed (the agent is stopping)`);
    }
  }

  private enqueue(op: CheckpointOp): void {
    this.seq++;
    applyOp(this.state, op);
    this.pending.push(`${toJson({ seq: this.seq, ...op })}\n`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.turnFlush());
    }
  }

  // End of an event-loop turn: write the queue; fsync only when a durable op waits.
  private turnFlush(): void {
    this.flushScheduled = false;
    if (this.failure || this.fd === undefined) return;
    try {
      if (this.waiters.length > 0) return this.flush();
      this.writePending();
      if (this.unsynced && this.lazyTimer === undefined) {
        this.lazyTimer = setTimeout(() => {
          this.lazyTimer = undefined;
          try {
            if (this.unsynced) this.flush();
          } catch (err) {
            this.opts.log.error((err as Error).message);
          }
        }, this.opts.lazySyncMs ?? 1000);
        this.lazyTimer.unref();
      }
    } catch (err) {
      this.opts.log.error((err as Error).message);
    }
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(''), 'utf8');
    this.lines += this.pending.length;
    this.pending = [];
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd!, buf, off, buf.length - off);
    this.unsynced = true;
  }

  private compactionDue(): boolean {
    return this.lines > Math.max(this.opts.compactEvery ?? 10_000, 2 * (this.state.tasks.size + this.state.frameworks.size + 1));
  }

  // A failed compaction loses nothing (the journal still holds every line): it is tried again later.
  private tryCompact(): void {
    try {
      const tmp = `${this.snapshotPath}.tmp`;
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, toJson(snapshotOf(this.state, this.seq)));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.snapshotPath);
      syncDir(this.opts.dir);
      // A crash before this truncation is harmless: the lines' seqs are not above the snapshot's.
      fs.ftruncateSync(this.fd!, 0);
      fs.fsyncSync(this.fd!);
      this.lines = 0;
    } catch (err) {
      this.opts.log.warn(`checkpoint: compaction into ${this.snapshotPath} failed, keeping the journal: ${(err as Error).message}`);
    }
  }

  private load(): void {
    const { dir, log } = this.opts;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.rmSync(`${this.snapshotPath}.tmp`, { force: true });
    } catch (err) {
      throw new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the agent cannot create its checkpoint directory ${dir}: ${(err as Error).message}; check --work_dir and its permissions`, { cause: err });
    }
    let snapshotSeq = 0;
    if (fs.existsSync(this.snapshotPath)) {
      const text = fs.readFileSync(this.snapshotPath, 'utf8');
      let v: unknown;
      try {
        v = fromJson(text);
      } catch (err) {
        throw corrupt(this.snapshotPath, 1, `not valid JSON (${(err as Error).message})`);
      }
      snapshotSeq = loadSnapshot(v, this.state, (what) => corrupt(this.snapshotPath, 1, what));
    }
    const bytes = fs.existsSync(this.journalPath) ? fs.readFileSync(this.journalPath) : Buffer.alloc(0);
    const end = bytes.lastIndexOf(0x0a) + 1;
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop();
    let lastSeq = snapshotSeq;
    lines.forEach((text, i) => {
      let v: unknown;
      try {
        v = fromJson(text);
      } catch (err) {
        throw corrupt(this.journalPath, i + 1, `not valid JSON (${(err as Error).message})`);
      }
      const op = checkOp(v, (what) => corrupt(this.journalPath, i + 1, what));
      if (op.seq <= snapshotSeq) return;
      if (op.seq <= lastSeq) throw corrupt(this.journalPath, i + 1, `seq ${op.seq} does not follow seq ${lastSeq}`);
      lastSeq = op.seq;
      applyOp(this.state, op);
    });
    this.seq = lastSeq;
    this.lines = lines.length;
    try {
      if (end < bytes.length) {
        log.warn(`checkpoint: ignoring the torn last line of ${this.journalPath} (${bytes.length - end} bytes without a newline): the agent stopped while writing it, before acting on it`);
        fs.truncateSync(this.journalPath, end);
      }
      this.fd = fs.openSync(this.journalPath, 'a', 0o600);
      fs.fsyncSync(this.fd);
      syncDir(dir);
    } catch (err) {
      throw new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the agent cannot open its checkpoint journal ${this.journalPath} for writing: ${(err as Error).message}; check --work_dir and its permissions`, { cause: err });
    }
    if (this.compactionDue()) this.tryCompact();
  }
}

function corrupt(file: string, line: number, what: string): TesseraError {
  return new TesseraError(
    'TSR_AGENT_CHECKPOINT_CORRUPT',
    `the agent checkpoint is corrupt at ${file}:${line}: ${what}. Restore ${path.dirname(file)} from a backup; or move it away to start as a new agent (its running tasks are then not recovered: kill them by hand)`,
  );
}

// Makes a rename in `dir` durable; some file systems cannot fsync a directory.
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
