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
 * The mechanism itself is durable/journal.ts, shared with the master's registry.
 */
import path from 'node:path';
import { Journal } from '../durable/journal';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { applyOp, checkOp, emptyState, fromJson, loadSnapshot, snapshotOf, toJson, type AgentCheckpointState, type CheckpointOp } from './checkpoint-state';

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
  private readonly journal: Journal<CheckpointOp, AgentCheckpointState>;

  private constructor(private readonly opts: CheckpointOptions) {
    const { dir } = opts;
    this.journal = Journal.open<CheckpointOp, AgentCheckpointState>({
      dir,
      journalFile: 'journal.jsonl',
      snapshotFile: 'snapshot.json',
      log: opts.log,
      state: this.state,
      apply: applyOp,
      size: (s) => s.tasks.size + s.frameworks.size + 1,
      encode: toJson,
      decode: fromJson,
      checkOp,
      snapshotOf,
      loadSnapshot,
      corrupt,
      locked: (owner) =>
        new TesseraError(
          'TSR_WORK_DIR_LOCKED',
          `the agent checkpoint ${dir} is in use by another agent (pid ${owner.pid}, since ${owner.since}): two agents must not share a --work_dir (both would claim one agent id); stop that one, or give this agent its own --work_dir`,
        ),
      failed: (stage, file, err) => {
        const why = (err as Error).message;
        switch (stage) {
          case 'create':
            return new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the agent cannot create its checkpoint directory ${file}: ${why}; check --work_dir and its permissions`, { cause: err });
          case 'read':
            return err as Error;
          case 'open':
            return new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the agent cannot open its checkpoint journal ${file} for writing: ${why}; check --work_dir and its permissions`, { cause: err });
          case 'write':
            return new TesseraError(
              'TSR_AGENT_CHECKPOINT_WRITE_FAILED',
              `the agent cannot write its checkpoint in ${file}: ${why}; free disk space or fix the permissions of --work_dir, then restart the agent (running tasks are recovered)`,
              { cause: err },
            );
        }
      },
      closed: () => new TesseraError('TSR_AGENT_CHECKPOINT_WRITE_FAILED', `the checkpoint in ${dir} is closed (the agent is stopping)`),
      tornWarning: (file, _line, bytes) => `checkpoint: ignoring the torn last line of ${file} (${bytes} bytes without a newline): the agent stopped while writing it, before acting on it`,
      compactionWarning: (file, err) => `checkpoint: compaction into ${file} failed, keeping the journal: ${err.message}`,
      compactEvery: opts.compactEvery,
      lazySyncMs: opts.lazySyncMs,
    });
  }

  /** open creates or loads the checkpoint; throws TSR_AGENT_CHECKPOINT_CORRUPT or TSR_AGENT_CHECKPOINT_WRITE_FAILED. */
  static open(opts: CheckpointOptions): Checkpoint {
    return new Checkpoint(opts);
  }

  /**
   * durable records an op; resolves once it is on disk. After a failed write it rejects with
   * TSR_AGENT_CHECKPOINT_WRITE_FAILED, the op applied in memory only.
   */
  durable(op: CheckpointOp): Promise<void> {
    if (this.journal.failed) {
      // As lazy(): memory stays right (the status update manager still sends from it), the caller hears why.
      applyOp(this.state, op);
      return Promise.reject(this.journal.failed);
    }
    return this.journal.durable(op);
  }

  /** lazy records an op that needs no fsync of its own (see the module comment); never throws. */
  lazy(op: CheckpointOp): void {
    if (this.journal.failed) {
      applyOp(this.state, op); // keep memory right; the disk is already behind and the agent was told
      return;
    }
    this.journal.append(op);
  }

  /** journalLines is how many lines the journal holds now (tests). */
  get journalLines(): number {
    return this.journal.lines;
  }

  /** flush writes and fsyncs everything queued now; throws TSR_AGENT_CHECKPOINT_WRITE_FAILED. */
  flush(): void {
    this.journal.flush();
  }

  /** close writes what is queued and closes the journal; the checkpoint is unusable afterwards. */
  close(): void {
    try {
      this.journal.close();
    } catch (err) {
      this.opts.log.error((err as Error).message);
    }
  }
}

function corrupt(file: string, line: number, what: string): TesseraError {
  return new TesseraError(
    'TSR_AGENT_CHECKPOINT_CORRUPT',
    `the agent checkpoint is corrupt at ${file}:${line}: ${what}. Restore ${path.dirname(file)} from a backup; or move it away to start as a new agent (its running tasks are then not recovered: kill them by hand)`,
  );
}
