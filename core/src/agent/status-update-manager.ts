/**
 * The agent's status update manager, as Mesos's: every status update of a task is checkpointed before
 * it is sent, and sent again until the master acknowledges it (after the framework did).
 *
 * - Per task, strictly in order: only the oldest unacknowledged update is in flight; the next goes once
 *   a StatusUpdateAck carrying the in-flight update's uuid arrives.
 * - Retried with backoff (1 s doubling to 10 s by default) while unacknowledged; every pending update
 *   goes again at once after each (re-)registration ({@link StatusUpdateManager.resendAll}).
 * - Streams are independent: one task's missing acknowledgement never holds back another's updates.
 * - A task whose terminal update was acknowledged is forgotten: removed from the checkpoint, and
 *   `onTerminalAcknowledged` tells the agent (which moves it to its completed tasks).
 *
 * The queues are the checkpoint's own (`checkpoint.state.tasks[...].pending`), so what is on disk and
 * what is sent cannot disagree; after a restart the same queues are simply sent again.
 *
 * ```ts
 * const sum = new StatusUpdateManager({ checkpoint, send: (u) => link.send({ status_update: u }), log });
 * sum.update(frameworkId, taskId, status);   // checkpointed, then sent when it is the task's oldest
 * // master message: status_update_ack
 * sum.acknowledge(frameworkId, taskId, uuid);
 * // after (re-)registration:
 * sum.resendAll();
 * ```
 */
import type { StatusUpdate } from '../agent-protocol/messages';
import type { Log } from '../log';
import { TERMINAL_STATES, type TaskStatus } from '../master/model/mesos';
import type { Checkpoint } from './checkpoint';
import { taskKey, type CheckpointedTask } from './checkpoint-state';

/** StatusUpdateManagerOptions configure a {@link StatusUpdateManager}. */
export interface StatusUpdateManagerOptions {
  checkpoint: Checkpoint;
  /** send writes one update to the master; false when no stream is open (the retry timer tries again). */
  send: (update: StatusUpdate) => boolean;
  log: Log;
  /** retryInitialMs: first retry delay (default 1 s); it doubles per retry. */
  retryInitialMs?: number;
  /** retryMaxMs caps the retry delay (default 10 s). */
  retryMaxMs?: number;
  /** onTerminalAcknowledged: the task's terminal update was acknowledged; it is forgotten now. */
  onTerminalAcknowledged?: (task: CheckpointedTask) => void;
  /** agentId gives the id to stamp on updates as they are sent (it may change on registration). */
  agentId?: () => string | undefined;
}

interface Stream {
  /** uuids (hex) of this task's updates not yet on disk: not to be sent before they are. */
  notDurable: Set<string>;
  timer?: NodeJS.Timeout;
  delayMs: number;
  /** attempts of the head update so far. */
  attempts: number;
}

const hex = (uuid: Buffer | Uint8Array | undefined): string => (uuid ? Buffer.from(uuid).toString('hex') : '');

/** StatusUpdateManager sends status updates reliably; see the module comment. */
export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private closed = false;
  /** Counters for the agent's metrics. */
  readonly counters = { sent: 0, retried: 0, acknowledged: 0, staleAcks: 0 };

  constructor(private readonly opts: StatusUpdateManagerOptions) {}

  /**
   * update checkpoints a new status for a task the checkpoint knows (a `task` op came first) and sends
   * it once it is the task's oldest unacknowledged update. Resolves when it is on disk.
   */
  async update(frameworkId: string, taskId: string, status: TaskStatus): Promise<void> {
    const key = taskKey(frameworkId, taskId);
    const stream = this.stream(key);
    const id = hex(status.uuid);
    stream.notDurable.add(id);
    try {
      await this.opts.checkpoint.durable({ op: 'update', frameworkId, taskId, status });
    } catch (err) {
      // The disk failed (the error was logged by whoever saw it first): still tell the master, as best we can.
      this.opts.log.error(`status update ${status.state} of task ${taskId}: not checkpointed, sending anyway: ${(err as Error).message}`);
    } finally {
      stream.notDurable.delete(id);
    }
    const head = this.task(key)?.pending[0];
    if (head && hex(head.uuid) === id && stream.timer === undefined) this.sendHead(key, stream);
  }

  /**
   * acknowledge handles a StatusUpdateAck: when it matches the task's in-flight update, that update is
   * done and the next one goes. Returns false for a stale or unknown acknowledgement (ignored).
   */
  acknowledge(frameworkId: string, taskId: string, uuid: Buffer | Uint8Array): boolean {
    const key = taskKey(frameworkId, taskId);
    const t = this.task(key);
    const head = t?.pending[0];
    if (!t || !head || hex(head.uuid) !== hex(uuid)) {
      this.counters.staleAcks++;
      this.opts.log.debug(`ignoring an acknowledgement of task ${taskId} (framework ${frameworkId}) that matches no update in flight`);
      return false;
    }
    this.counters.acknowledged++;
    this.opts.checkpoint.lazy({ op: 'ack', frameworkId, taskId, uuid: Buffer.from(uuid) });
    const stream = this.stream(key);
    clearTimeout(stream.timer);
    stream.timer = undefined;
    stream.delayMs = this.opts.retryInitialMs ?? 1000;
    stream.attempts = 0;
    if (t.pending.length > 0) {
      this.sendHead(key, stream);
    } else if (TERMINAL_STATES.has(t.state)) {
      this.forget(key, t);
    }
    return true;
  }

  /**
   * sendOnce sends a status that belongs to no stream of the agent's (e.g. TASK_ERROR for a duplicate
   * RunTask, whose task id is another task's): once, not checkpointed, not retried; it carries no uuid,
   * so nobody acknowledges it.
   */
  sendOnce(frameworkId: string, status: TaskStatus): void {
    if (!this.closed) this.opts.send({ framework_id: { value: frameworkId }, status });
  }

  /** resendAll sends every task's oldest pending update now (after a (re-)registration), resetting backoff. */
  resendAll(): void {
    for (const [key, t] of this.opts.checkpoint.state.tasks) {
      if (t.pending.length === 0) continue;
      const stream = this.stream(key);
      stream.delayMs = this.opts.retryInitialMs ?? 1000;
      this.sendHead(key, stream);
    }
  }

  /** pending counts the updates not yet acknowledged, over all tasks. */
  pending(): number {
    let n = 0;
    for (const t of this.opts.checkpoint.state.tasks.values()) n += t.pending.length;
    return n;
  }

  /**
   * forgetFramework drops every stream of a framework (it was shut down: nobody will acknowledge), and
   * the framework and its tasks from the checkpoint.
   */
  forgetFramework(frameworkId: string): void {
    for (const [key, t] of [...this.opts.checkpoint.state.tasks]) {
      if (t.frameworkId !== frameworkId) continue;
      const stream = this.streams.get(key);
      clearTimeout(stream?.timer);
      this.streams.delete(key);
    }
    this.opts.checkpoint.lazy({ op: 'removeFramework', id: frameworkId });
  }

  /** close stops every retry timer (the checkpoint keeps the queues for the next start). */
  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) clearTimeout(s.timer);
  }

  private task(key: string): CheckpointedTask | undefined {
    return this.opts.checkpoint.state.tasks.get(key);
  }

  private stream(key: string): Stream {
    let s = this.streams.get(key);
    if (!s) this.streams.set(key, (s = { notDurable: new Set(), delayMs: this.opts.retryInitialMs ?? 1000, attempts: 0 }));
    return s;
  }

  // Sends the task's oldest unacknowledged update (once it is on disk) and arms its retry.
  private sendHead(key: string, stream: Stream): void {
    clearTimeout(stream.timer);
    stream.timer = undefined;
    if (this.closed) return;
    const t = this.task(key);
    const head = t?.pending[0];
    if (!t || !head) return;
    if (stream.notDurable.has(hex(head.uuid))) return; // update() sends it once durable
    const agentId = this.opts.agentId?.();
    if (agentId) head.agent_id = { value: agentId };
    stream.attempts++;
    // The latest state rides along (Mesos's latest_state): the master frees a finished task's resources
    // even while the framework has yet to acknowledge an earlier update.
    const latest = t.pending[t.pending.length - 1].state;
    if (this.opts.send({ framework_id: { value: t.frameworkId }, status: head, latest_state: latest })) {
      if (stream.attempts === 1) this.counters.sent++;
      else this.counters.retried++;
    }
    const delay = stream.delayMs;
    stream.delayMs = Math.min(delay * 2, this.opts.retryMaxMs ?? 10_000);
    stream.timer = setTimeout(() => this.sendHead(key, stream), delay);
    stream.timer.unref();
  }

  private forget(key: string, t: CheckpointedTask): void {
    this.streams.delete(key);
    this.opts.checkpoint.lazy({ op: 'removeTask', frameworkId: t.frameworkId, taskId: t.taskId });
    this.opts.onTerminalAcknowledged?.(t);
  }
}
