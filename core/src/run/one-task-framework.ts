/**
 * A framework that runs one task and leaves, as Mesos's `mesos-execute`: SUBSCRIBE, wait for an offer
 * that fits, LAUNCH the task, report and ACKNOWLEDGE each status update, TEARDOWN once the task is
 * terminal. `tessera run` is a thin shell around it; tests call it in-process.
 *
 * ```ts
 * const result = await runOneTask({
 *   master: '127.0.0.1:5050',
 *   command: ['echo', 'hello'],
 *   needs: { cpus: 0.1, mem: 32, disk: 0, gpus: 0 },
 *   print: (line) => console.log(line),   // "TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED: ..."
 * });
 * process.exitCode = result.exitCode;      // 0 only for TASK_FINISHED
 * ```
 *
 * The framework subscribes with failover_timeout 0: if this process dies, the master removes the
 * framework at once and kills its task. Offers that do not fit are declined for a few seconds (so freed
 * resources come back soon); after the launch, offers are suppressed. A task that cannot be run throws
 * a TesseraError: TSR_RUN_MASTER_UNREACHABLE (no answer at `master`), TSR_RUN_NO_OFFER (nothing fit
 * within `timeoutMs`), TSR_RUN_FAILED (the master refused the framework or a call, or dropped the
 * stream), TSR_RUN_INTERRUPTED (aborted before the launch).
 */
import { TesseraError } from '@tessera/modules-api';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Offer, Resource } from '../master/model/mesos';
import { describeScalars, pickResources, usableScalars, type TaskNeeds } from './offer-fit';
import { SchedulerConnection, type WireEvent } from './scheduler-connection';

/** OneTaskOptions say what to run where. */
export interface OneTaskOptions {
  /** `host:port` of the master. */
  master: string;
  /** The command: one element runs through the shell (`sh -c`), several run as argv without a shell. */
  command: string[];
  needs: TaskNeeds;
  /** Task name (default "tessera-run"); the task id is `<name>-<8 hex digits>`. */
  name?: string;
  /** Role to subscribe with (default "*"). */
  role?: string;
  /** FrameworkInfo capabilities besides MULTI_ROLE (always) and GPU_RESOURCES (added when `needs.gpus` > 0). */
  capabilities?: string[];
  /** Framework name (default "tessera-run"). */
  frameworkName?: string;
  /** User the task runs as (default: the user running this process). */
  user?: string;
  /** Environment variables for the command. */
  env?: Record<string, string>;
  /** Milliseconds to wait for an offer that fits (default 60 s); also bounds the wait for the master's answer. */
  timeoutMs?: number;
  /** Seconds a declined offer's resources stay away (default 2: short, so resources freed later come back soon). */
  declineSeconds?: number;
  /** print gets each line of progress: the subscription, the launch, each state change. */
  print: (line: string) => void;
  /** Aborting kills a launched task (the run ends with its TASK_KILLED), or gives up before the launch. */
  signal?: AbortSignal;
}

/** TaskStatusSummary is the part of a mesos.v1.TaskStatus a run reports. */
export interface TaskStatusSummary {
  state: string;
  message?: string;
  reason?: string;
  source?: string;
}

/** OneTaskResult is how the task ended. */
export interface OneTaskResult {
  frameworkId: string;
  taskId: string;
  agentId: string;
  hostname: string;
  /** Every state the task went through, in order, without repeats. */
  states: string[];
  /** The terminal status. */
  status: TaskStatusSummary;
  /** 0 for TASK_FINISHED, 1 for any other terminal state. */
  exitCode: 0 | 1;
}

/** TERMINAL lists Mesos's terminal task states. */
const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

/** How long the last calls (ACKNOWLEDGE, TEARDOWN) may take when the run ends. */
const GOODBYE_TIMEOUT_MS = 5000;

/** The phases of a run, in order; each event is handled as its phase says. */
type Phase = 'waiting-for-offer' | 'launched' | 'done';

/** runOneTask runs the task to its end; see the module comment. */
export async function runOneTask(opts: OneTaskOptions): Promise<OneTaskResult> {
  if (opts.command.length === 0 || opts.command[0] === '') throw new TesseraError('TSR_FLAG_INVALID', 'no command to run: give it after `--`, e.g. tessera run --master=HOST:PORT -- echo hello');
  return new OneTaskRun(opts).run();
}

/** formatStatus writes a status as `TASK_FAILED (REASON_...): message`. */
export function formatStatus(s: TaskStatusSummary): string {
  return `${s.state}${s.reason ? ` (${s.reason})` : ''}${s.message ? `: ${s.message}` : ''}`;
}

/** commandInfo is the CommandInfo of a command line: a shell command for one element, argv otherwise. */
export function commandInfo(command: readonly string[], env: Record<string, string> = {}): Record<string, unknown> {
  const environment = Object.keys(env).length ? { environment: { variables: Object.entries(env).map(([name, value]) => ({ name, type: 'VALUE', value })) } } : {};
  if (command.length === 1) return { shell: true, value: command[0], ...environment };
  return { shell: false, value: command[0], arguments: [...command], ...environment };
}

class OneTaskRun {
  private phase: Phase = 'waiting-for-offer';
  private conn: SchedulerConnection | undefined;
  private readonly taskId: string;
  private readonly timeoutMs: number;
  private offerTimer: NodeJS.Timeout | undefined;
  /** The latest offer seen from each agent that did not fit, for the "no offer fits" message. */
  private readonly seen = new Map<string, string>();
  private launchedOn: { agentId: string; hostname: string } | undefined;
  private readonly states: string[] = [];
  /** ACKNOWLEDGE calls in flight; the run waits for them before TEARDOWN. */
  private readonly acks = new Set<Promise<void>>();
  private killSent = false;
  private finish!: (result: OneTaskResult) => void;
  private fail!: (err: unknown) => void;

  constructor(private readonly opts: OneTaskOptions) {
    const name = opts.name ?? 'tessera-run';
    this.taskId = `${name.replace(/[\s/]+/g, '_')}-${randomBytes(4).toString('hex')}`;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async run(): Promise<OneTaskResult> {
    const { opts } = this;
    if (opts.signal?.aborted) throw interrupted('before it subscribed');
    const ended = new Promise<OneTaskResult>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    const role = opts.role ?? '*';
    const types = new Set(['MULTI_ROLE', ...(opts.capabilities ?? []), ...(opts.needs.gpus > 0 ? ['GPU_RESOURCES'] : [])]);
    const capabilities = [...types].map((type) => ({ type }));
    const conn = await SchedulerConnection.subscribe({
      master: opts.master,
      frameworkInfo: { user: opts.user ?? currentUser(), name: opts.frameworkName ?? 'tessera-run', hostname: os.hostname(), roles: [role], capabilities, failover_timeout: 0 },
      connectTimeoutMs: Math.min(this.timeoutMs, 10_000),
      onEvent: (e) => this.onEvent(e),
      onClose: (err) => {
        if (err && this.phase !== 'done') this.end(err);
      },
    });
    this.conn = conn;
    const masterId = String(conn.subscribed.master_info?.id ?? '');
    opts.print(`subscribed to master ${masterId} at ${opts.master} as framework ${conn.frameworkId}`);
    opts.print(`waiting up to ${this.timeoutMs / 1000} s for an offer with ${describeScalars(opts.needs)} for role ${role}`);
    this.offerTimer = setTimeout(() => this.end(this.noOffer()), this.timeoutMs);
    const onAbort = () => this.interrupt();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    try {
      return await ended;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private onEvent(e: WireEvent): void {
    if (this.phase === 'done') return;
    switch (e.type) {
      case 'OFFERS':
        this.onOffers(((e.offers as { offers?: Offer[] } | undefined)?.offers ?? []));
        return;
      case 'UPDATE':
        this.onUpdate((e.update as { status: WireStatus }).status);
        return;
      case 'ERROR':
        this.end(new TesseraError('TSR_RUN_FAILED', `the master sent ERROR: ${String((e.error as { message?: string } | undefined)?.message ?? '(no message)')}`));
        return;
      default:
        return; // HEARTBEAT, RESCIND (offers are answered at once), MESSAGE, ...
    }
  }

  private onOffers(offers: Offer[]): void {
    for (const offer of offers) {
      const resources = this.phase === 'waiting-for-offer' ? pickResources(offer.resources, this.opts.needs) : undefined;
      if (resources) {
        this.launch(offer, resources);
        continue;
      }
      if (this.phase === 'waiting-for-offer') this.seen.set(offer.agent_id.value, `${offer.hostname} (agent ${offer.agent_id.value}) with ${describeScalars(usableScalars(offer.resources), true)}`);
      // After the launch: an offer raced with SUPPRESS; keep it away for long.
      const refuse = this.phase === 'waiting-for-offer' ? (this.opts.declineSeconds ?? 2) : 3600;
      this.conn!.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: refuse } } }).catch((err: unknown) => this.end(err));
    }
  }

  private launch(offer: Offer, resources: Resource[]): void {
    this.phase = 'launched';
    clearTimeout(this.offerTimer);
    this.launchedOn = { agentId: offer.agent_id.value, hostname: offer.hostname };
    const task = {
      name: this.opts.name ?? 'tessera-run',
      task_id: { value: this.taskId },
      agent_id: offer.agent_id,
      resources,
      command: commandInfo(this.opts.command, this.opts.env),
    };
    const have = usableScalars(resources);
    this.opts.print(`launching task ${this.taskId} on agent ${offer.agent_id.value} (${offer.hostname}) with ${describeScalars(have)}`);
    const conn = this.conn!;
    conn
      .call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }], filters: { refuse_seconds: 5 } } })
      .then(() => conn.call({ type: 'SUPPRESS' }))
      .catch((err: unknown) => this.end(err));
  }

  private onUpdate(status: WireStatus): void {
    if (status.uuid && status.agent_id) {
      // Every update with a uuid is acknowledged, or the agent sends it again (and holds back the next).
      const ack = this.conn!.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid } }).catch((err: Error) => this.opts.print(`warning: ${err.message}`));
      this.acks.add(ack);
      void ack.finally(() => this.acks.delete(ack));
    }
    if (status.task_id?.value !== this.taskId) return;
    const summary: TaskStatusSummary = { state: status.state, ...(status.message ? { message: status.message } : {}), ...(status.reason ? { reason: status.reason } : {}), ...(status.source ? { source: status.source } : {}) };
    if (this.states[this.states.length - 1] !== status.state) {
      // A repeated update (the agent retries until acknowledged) is acknowledged again but not printed.
      this.states.push(status.state);
      this.opts.print(formatStatus(summary));
    }
    if (!TERMINAL.has(status.state)) return;
    const result: OneTaskResult = {
      frameworkId: this.conn!.frameworkId,
      taskId: this.taskId,
      agentId: this.launchedOn?.agentId ?? status.agent_id?.value ?? '',
      hostname: this.launchedOn?.hostname ?? '',
      states: [...this.states],
      status: summary,
      exitCode: status.state === 'TASK_FINISHED' ? 0 : 1,
    };
    this.end(undefined, result);
  }

  // Abort: kill the launched task (the run goes on until its terminal update), or give up before.
  private interrupt(): void {
    if (this.phase === 'waiting-for-offer') {
      this.end(interrupted('while it waited for an offer; nothing was launched'));
      return;
    }
    if (this.phase !== 'launched' || this.killSent) return;
    this.killSent = true;
    this.opts.print(`killing task ${this.taskId}`);
    this.conn!.call({ type: 'KILL', kill: { task_id: { value: this.taskId }, ...(this.launchedOn ? { agent_id: { value: this.launchedOn.agentId } } : {}) } }).catch((err: unknown) => this.end(err));
  }

  // The one way out: waits for the acknowledgements, tears the framework down, closes the stream.
  private end(err: unknown, result?: OneTaskResult): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.offerTimer);
    const conn = this.conn;
    const goodbye = async () => {
      if (!conn) return;
      await withTimeout(Promise.all([...this.acks]), GOODBYE_TIMEOUT_MS);
      await withTimeout(conn.call({ type: 'TEARDOWN' }).catch(() => undefined), GOODBYE_TIMEOUT_MS);
      conn.close();
    };
    void goodbye().then(() => (err === undefined ? this.finish(result!) : this.fail(err)));
  }

  private noOffer(): TesseraError {
    const asked = `${describeScalars(this.opts.needs)} for role ${this.opts.role ?? '*'}`;
    const offers = [...this.seen.values()];
    const had = offers.length
      ? `but the latest offers were ${offers.join(', ')}`
      : `but no offer arrived at all: no agent has unused resources for role ${this.opts.role ?? '*'} (are agents registered? see http://${this.opts.master}/state)`;
    return new TesseraError('TSR_RUN_NO_OFFER', `no offer fit the task within ${this.timeoutMs / 1000} s: it asks for ${asked}, ${had} — ask for less (--cpus, --mem, --gpus, --disk), add agents, or wait longer (--timeout)`);
  }
}

/** A TaskStatus as Mesos JSON has it (uuid base64). */
interface WireStatus {
  task_id: { value: string };
  state: string;
  message?: string;
  reason?: string;
  source?: string;
  agent_id?: { value: string };
  uuid?: string;
}

function interrupted(when: string): TesseraError {
  return new TesseraError('TSR_RUN_INTERRUPTED', `tessera run was interrupted ${when}`);
}

function currentUser(): string {
  try {
    return os.userInfo().username || 'root';
  } catch {
    return 'root'; // no passwd entry (some containers)
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
    );
  });
}
