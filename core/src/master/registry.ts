/**
 * The master's registry: what must survive a master restart — the agents admitted, the frameworks
 * (with their failover_timeout), where each live task runs, the dynamic reservations on each agent,
 * and room for quota and weights — kept as files under `<work_dir>/master/registry`:
 *
 * - `log.jsonl`, a write-ahead log: one JSON object per line, `{"seq":7,"op":"addAgent","agent":{...}}`,
 *   appended and fsync'd before the master answers the operation it records;
 * - `snapshot.json`, the state as of one `seq`: once the log holds more than `compactEvery` lines (and
 *   more than twice as many as the state has entries) it is written (temp file, fsync, rename,
 *   directory fsync) and the log is emptied.
 *
 * Loading reads the snapshot, then replays the log lines with a higher `seq`. A last line without its
 * newline is what a crash in the middle of a write leaves: it is dropped with a warning. Anything else
 * that does not read back is TSR_REGISTRY_CORRUPT, naming the file and the line.
 *
 * ```ts
 * const registry = Registry.open({ dir: path.join(workDir, 'master/registry'), log });
 * await registry.putAgent({ id, info, registeredTime });  // durable when it resolves: answer the agent now
 * registry.putFramework({ id, info, registeredTime });   // durable when it returns
 * registry.close();
 * ```
 *
 * Writes are cheap in bulk: every change is applied to the in-memory state at once and queued; the
 * queue is written and fsync'd once per event-loop turn, so a thousand agents registering together
 * cost one fsync. `putAgent` and `removeAgent` return a promise that resolves once their line is on
 * disk; `putFramework` and `removeFramework` write and fsync before they return (frameworks are few and
 * the scheduler API answers synchronously), and so does `setReservations` (an ACCEPT that reserves is
 * answered after its reservations are on disk). Task locations (`addTask`, `removeTask`) ride along with
 * the next write without an fsync of their own (at most `lazySyncMs` later): they survive a crash of
 * the master process, and after a crash of the machine the agents still report their tasks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import type { AgentInfo, FrameworkInfo, Resource } from './model/mesos';

/** RegisteredAgent is an admitted agent as the registry keeps it. */
export interface RegisteredAgent {
  id: string;
  info: AgentInfo;
  /** When it was first admitted (Unix seconds). */
  registeredTime: number;
}

/** RegisteredFramework is a framework as the registry keeps it (`info.failover_timeout` included). */
export interface RegisteredFramework {
  id: string;
  info: FrameworkInfo;
  /** When it first subscribed (Unix seconds). */
  registeredTime: number;
}

/** RegisteredTask says where a live task runs. */
export interface RegisteredTask {
  frameworkId: string;
  taskId: string;
  agentId: string;
}

/**
 * RegisteredReservations are the dynamically reserved resources of one agent (Mesos's "checkpointed
 * resources"): resources whose reservation stack holds a DYNAMIC reservation, without allocation_info.
 * The agent's total is what it declares with these reservations applied on top.
 */
export interface RegisteredReservations {
  agentId: string;
  resources: Resource[];
}

/** RegistryOp is one line of the log (without its `seq`). */
export type RegistryOp =
  | { op: 'addAgent'; agent: RegisteredAgent }
  | { op: 'removeAgent'; id: string }
  | { op: 'addFramework'; framework: RegisteredFramework }
  | { op: 'updateFramework'; framework: RegisteredFramework }
  | { op: 'removeFramework'; id: string }
  | { op: 'addTask'; task: RegisteredTask }
  | { op: 'removeTask'; frameworkId: string; taskId: string }
  | { op: 'setReservations'; agentId: string; resources: Resource[] };

/** RegistryOptions configure {@link Registry.open}. */
export interface RegistryOptions {
  /** The registry's directory (`<work_dir>/master/registry`); created when missing. */
  dir: string;
  log: Log;
  /** Log lines after which the state is compacted into the snapshot (default 10,000; at least twice the state's entries). */
  compactEvery?: number;
  /** Longest delay before task-location lines are fsync'd when nothing else forces it (default 1 s). */
  lazySyncMs?: number;
}

const FORMAT = 'tessera-master-registry';
const VERSION = 1;
const SNAPSHOT = 'snapshot.json';
const LOG = 'log.jsonl';

interface Snapshot {
  format: typeof FORMAT;
  version: number;
  seq: number;
  agents: RegisteredAgent[];
  frameworks: RegisteredFramework[];
  tasks: RegisteredTask[];
  /** Dynamic reservations per agent (absent in snapshots of releases before reservations: none). */
  reservations?: RegisteredReservations[];
  /** Reserved for quota and weights; kept as read. */
  quota: unknown[];
  weights: unknown[];
}

const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}\u0000${taskId}`;

/** Registry is the master's durable state; see the module comment. */
export class Registry {
  private readonly agentMap = new Map<string, RegisteredAgent>();
  private readonly frameworkMap = new Map<string, RegisteredFramework>();
  private readonly tasks = new Map<string, RegisteredTask>();
  private readonly tasksByAgent = new Map<string, Set<string>>();
  private readonly reservationMap = new Map<string, Resource[]>();
  private quota: unknown[] = [];
  private weights: unknown[] = [];
  private seq = 0;
  private logLines = 0;
  private fd: number | undefined;
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private unsynced = false;
  private failure: Error | undefined;
  private readonly logPath: string;
  private readonly snapshotPath: string;

  private constructor(private readonly opts: RegistryOptions) {
    this.logPath = path.join(opts.dir, LOG);
    this.snapshotPath = path.join(opts.dir, SNAPSHOT);
  }

  /** Opens (or creates) the registry in `opts.dir` and loads it; throws TSR_REGISTRY_CORRUPT or TSR_REGISTRY_WRITE_FAILED. */
  static open(opts: RegistryOptions): Registry {
    const r = new Registry(opts);
    r.load();
    return r;
  }

  /** The admitted agents. */
  get agents(): ReadonlyMap<string, RegisteredAgent> {
    return this.agentMap;
  }

  /** The frameworks. */
  get frameworks(): ReadonlyMap<string, RegisteredFramework> {
    return this.frameworkMap;
  }

  /** The dynamically reserved resources of an agent (empty when none). */
  reservationsOf(agentId: string): Resource[] {
    return this.reservationMap.get(agentId) ?? [];
  }

  /** The live tasks known to run on an agent. */
  tasksOf(agentId: string): RegisteredTask[] {
    return [...(this.tasksByAgent.get(agentId) ?? [])].map((k) => this.tasks.get(k)!);
  }

  /** The agent a live task runs on, if the registry knows the task. */
  agentOf(frameworkId: string, taskId: string): string | undefined {
    return this.tasks.get(taskKey(frameworkId, taskId))?.agentId;
  }

  /** How many lines the log holds now (for tests and /metrics). */
  get logLength(): number {
    return this.logLines;
  }

  // ---- changes --------------------------------------------------------------------------------

  /**
   * Records an admitted agent (new, or with changed info). Resolves once it is durable; returns
   * undefined when the registry already holds exactly this agent (nothing to wait for).
   */
  putAgent(agent: RegisteredAgent): Promise<void> | undefined {
    const known = this.agentMap.get(agent.id);
    if (known && known.registeredTime === agent.registeredTime && sameJson(known.info, agent.info)) return undefined;
    return this.durable({ op: 'addAgent', agent });
  }

  /** Forgets an agent and the tasks on it; resolves once durable (undefined when unknown). */
  removeAgent(id: string): Promise<void> | undefined {
    if (!this.agentMap.has(id)) return undefined;
    return this.durable({ op: 'removeAgent', id });
  }

  /** Records a framework (new, or with changed info); durable when it returns. */
  putFramework(framework: RegisteredFramework): void {
    const known = this.frameworkMap.get(framework.id);
    if (known && known.registeredTime === framework.registeredTime && sameJson(known.info, framework.info)) return;
    this.enqueue({ op: known ? 'updateFramework' : 'addFramework', framework });
    this.flush();
  }

  /** Forgets a framework and its tasks; durable when it returns. */
  removeFramework(id: string): void {
    if (!this.frameworkMap.has(id)) return;
    this.enqueue({ op: 'removeFramework', id });
    this.flush();
  }

  /**
   * Records the dynamically reserved resources of an agent (all of them: the list replaces the
   * previous one; empty forgets them); durable when it returns. Throws TSR_REGISTRY_WRITE_FAILED.
   */
  setReservations(agentId: string, resources: Resource[]): void {
    if (sameJson(this.reservationMap.get(agentId) ?? [], resources)) return;
    this.enqueue({ op: 'setReservations', agentId, resources });
    this.flush();
  }

  /** Records where a task runs (lazily durable: see the module comment). */
  addTask(task: RegisteredTask): void {
    const known = this.tasks.get(taskKey(task.frameworkId, task.taskId));
    if (known?.agentId === task.agentId) return;
    this.enqueue({ op: 'addTask', task });
  }

  /** Forgets a task that ended (lazily durable). */
  removeTask(frameworkId: string, taskId: string): void {
    if (!this.tasks.has(taskKey(frameworkId, taskId))) return;
    this.enqueue({ op: 'removeTask', frameworkId, taskId });
  }

  /** Makes the task list of an agent what the agent reported on re-registration (lazily durable). */
  setAgentTasks(agentId: string, tasks: readonly { frameworkId: string; taskId: string }[]): void {
    const keep = new Set(tasks.map((t) => taskKey(t.frameworkId, t.taskId)));
    for (const t of this.tasksOf(agentId)) if (!keep.has(taskKey(t.frameworkId, t.taskId))) this.removeTask(t.frameworkId, t.taskId);
    for (const t of tasks) this.addTask({ ...t, agentId });
  }

  /** Writes and fsyncs everything queued now; throws TSR_REGISTRY_WRITE_FAILED. */
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
      // The in-memory state is ahead of the disk now: nothing later may be written as if it were not.
      this.failure = new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the master cannot write its registry in ${this.opts.dir}: ${(err as Error).message}; the master must stop: free disk space or fix the permissions, then restart it`, { cause: err });
      for (const w of waiters) w.reject(this.failure);
      throw this.failure;
    }
    for (const w of waiters) w.resolve();
    if (this.compactionDue()) this.tryCompact();
  }

  /** Writes what is queued and closes the files; the registry is unusable afterwards. */
  close(): void {
    try {
      if (!this.failure) this.flush();
    } finally {
      clearTimeout(this.lazyTimer);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      this.failure ??= new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the registry in ${this.opts.dir} is closed`);
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  private durable(op: RegistryOp): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.enqueue(op);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  // Applies the change in memory now and queues its line for the turn's write.
  private enqueue(op: RegistryOp): void {
    if (this.failure) throw this.failure;
    this.seq++;
    this.apply(op);
    this.pending.push(`${JSON.stringify({ seq: this.seq, ...op })}\n`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.turnFlush());
    }
  }

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
    this.logLines += this.pending.length;
    this.pending = [];
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd!, buf, off, buf.length - off);
    this.unsynced = true;
  }

  // Past compactEvery lines, and past twice the state's size: a compaction rewrites the whole state,
  // so its cost stays proportional to the lines written since the last one.
  private compactionDue(): boolean {
    return this.logLines > Math.max(this.opts.compactEvery ?? 10_000, 2 * (this.agentMap.size + this.frameworkMap.size + this.tasks.size + this.reservationMap.size));
  }

  // A failed compaction loses nothing (the log still holds every line): it is tried again later.
  private tryCompact(): void {
    try {
      this.compact();
    } catch (err) {
      this.opts.log.warn(`registry: compaction into ${this.snapshotPath} failed, keeping the log: ${(err as Error).message}`);
    }
  }

  private compact(): void {
    const snapshot: Snapshot = {
      format: FORMAT,
      version: VERSION,
      seq: this.seq,
      agents: [...this.agentMap.values()],
      frameworks: [...this.frameworkMap.values()],
      tasks: [...this.tasks.values()],
      reservations: [...this.reservationMap].map(([agentId, resources]) => ({ agentId, resources })),
      quota: this.quota,
      weights: this.weights,
    };
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(snapshot));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotPath);
    syncDir(this.opts.dir);
    // A crash before this truncation is harmless: the lines' seqs are not above the snapshot's.
    fs.ftruncateSync(this.fd!, 0);
    fs.fsyncSync(this.fd!);
    this.logLines = 0;
    this.opts.log.debug(`registry compacted at seq ${this.seq}`, { agents: this.agentMap.size, frameworks: this.frameworkMap.size, tasks: this.tasks.size });
  }

  // ---- state ----------------------------------------------------------------------------------

  private apply(op: RegistryOp): void {
    switch (op.op) {
      case 'addAgent':
        this.agentMap.set(op.agent.id, op.agent);
        break;
      case 'removeAgent':
        this.agentMap.delete(op.id);
        for (const k of this.tasksByAgent.get(op.id) ?? []) this.tasks.delete(k);
        this.tasksByAgent.delete(op.id);
        this.reservationMap.delete(op.id);
        break;
      case 'addFramework':
      case 'updateFramework':
        this.frameworkMap.set(op.framework.id, op.framework);
        break;
      case 'removeFramework':
        this.frameworkMap.delete(op.id);
        for (const t of [...this.tasks.values()]) if (t.frameworkId === op.id) this.dropTask(t.frameworkId, t.taskId);
        break;
      case 'addTask': {
        const k = taskKey(op.task.frameworkId, op.task.taskId);
        this.dropTask(op.task.frameworkId, op.task.taskId);
        this.tasks.set(k, op.task);
        let set = this.tasksByAgent.get(op.task.agentId);
        if (!set) this.tasksByAgent.set(op.task.agentId, (set = new Set()));
        set.add(k);
        break;
      }
      case 'removeTask':
        this.dropTask(op.frameworkId, op.taskId);
        break;
      case 'setReservations':
        if (op.resources.length === 0) this.reservationMap.delete(op.agentId);
        else this.reservationMap.set(op.agentId, op.resources);
        break;
    }
  }

  private dropTask(frameworkId: string, taskId: string): void {
    const k = taskKey(frameworkId, taskId);
    const t = this.tasks.get(k);
    if (!t) return;
    this.tasks.delete(k);
    const set = this.tasksByAgent.get(t.agentId);
    set?.delete(k);
    if (set?.size === 0) this.tasksByAgent.delete(t.agentId);
  }

  // ---- loading --------------------------------------------------------------------------------

  private load(): void {
    const { dir, log } = this.opts;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.rmSync(`${this.snapshotPath}.tmp`, { force: true }); // a compaction that did not finish
    } catch (err) {
      throw new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the master cannot create its registry directory ${dir}: ${(err as Error).message}; check --work_dir and its permissions`, { cause: err });
    }
    const snapshotSeq = this.loadSnapshot();
    let bytes: Buffer;
    try {
      bytes = fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath) : Buffer.alloc(0);
    } catch (err) {
      throw new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the master cannot read its registry log ${this.logPath}: ${(err as Error).message}`, { cause: err });
    }
    const end = bytes.lastIndexOf(0x0a) + 1; // after the last complete line
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop(); // the empty string after the last newline
    let lastSeq = snapshotSeq;
    lines.forEach((text, i) => {
      const op = parseLine(text, this.logPath, i + 1);
      if (op.seq <= snapshotSeq) return; // already in the snapshot (a compaction stopped before emptying the log)
      if (op.seq <= lastSeq) throw corrupt(this.logPath, i + 1, `seq ${op.seq} does not follow seq ${lastSeq}`);
      lastSeq = op.seq;
      this.apply(op);
    });
    this.seq = lastSeq;
    this.logLines = lines.length;
    try {
      if (end < bytes.length) {
        log.warn(`registry: ignoring the torn last line of ${this.logPath} (line ${lines.length + 1}, ${bytes.length - end} bytes without a newline): the master stopped while writing it, before answering the operation it records`);
        fs.truncateSync(this.logPath, end);
      }
      this.fd = fs.openSync(this.logPath, 'a', 0o600);
      fs.fsyncSync(this.fd);
      syncDir(dir);
    } catch (err) {
      throw new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the master cannot open its registry log ${this.logPath} for writing: ${(err as Error).message}; check --work_dir and its permissions`, { cause: err });
    }
    log.info(`registry loaded from ${dir}`, { agents: this.agentMap.size, frameworks: this.frameworkMap.size, tasks: this.tasks.size, seq: this.seq });
    if (this.compactionDue()) this.tryCompact();
  }

  private loadSnapshot(): number {
    if (!fs.existsSync(this.snapshotPath)) return 0;
    const text = fs.readFileSync(this.snapshotPath, 'utf8');
    let s: Snapshot;
    try {
      s = JSON.parse(text) as Snapshot;
    } catch (err) {
      const pos = /position (\d+)/.exec((err as Error).message);
      const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
      throw corrupt(this.snapshotPath, line, `not valid JSON (${(err as Error).message})`);
    }
    const bad = (what: string) => corrupt(this.snapshotPath, 1, what);
    if (s === null || typeof s !== 'object' || s.format !== FORMAT) throw bad(`not a Tessera master registry snapshot (no "format": "${FORMAT}")`);
    if (s.version !== VERSION) throw bad(`snapshot version ${String(s.version)} is not the version ${VERSION} this master reads: it was written by another Tessera release; run that release, or one that reads it`);
    if (!Number.isInteger(s.seq) || s.seq < 0) throw bad('"seq" is not a non-negative integer');
    for (const key of ['agents', 'frameworks', 'tasks'] as const) if (!Array.isArray(s[key])) throw bad(`"${key}" is not an array`);
    s.agents.forEach((a, i) => checkAgent(a, (w) => bad(`agents[${i}]: ${w}`)));
    s.frameworks.forEach((f, i) => checkFramework(f, (w) => bad(`frameworks[${i}]: ${w}`)));
    s.tasks.forEach((t, i) => checkTask(t, (w) => bad(`tasks[${i}]: ${w}`)));
    if (s.reservations !== undefined && !Array.isArray(s.reservations)) throw bad('"reservations" is not an array');
    (s.reservations ?? []).forEach((r, i) => checkReservations(r, (w) => bad(`reservations[${i}]: ${w}`)));
    for (const a of s.agents) this.apply({ op: 'addAgent', agent: a });
    for (const f of s.frameworks) this.apply({ op: 'addFramework', framework: f });
    for (const t of s.tasks) this.apply({ op: 'addTask', task: t });
    for (const r of s.reservations ?? []) this.apply({ op: 'setReservations', agentId: r.agentId, resources: r.resources });
    this.quota = Array.isArray(s.quota) ? s.quota : [];
    this.weights = Array.isArray(s.weights) ? s.weights : [];
    return s.seq;
  }
}

function corrupt(file: string, line: number, what: string): TesseraError {
  return new TesseraError(
    'TSR_REGISTRY_CORRUPT',
    `the master registry is corrupt at ${file}:${line}: ${what}. Restore the registry directory from a backup; or, to start from an empty registry, move ${path.dirname(file)} away: agents and frameworks that come back are then re-admitted, but agents that do not are forgotten with their tasks`,
  );
}

type Fail = (what: string) => Error;
const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkAgent(a: unknown, fail: Fail): void {
  if (!isObj(a) || !isStr(a.id) || !isObj(a.info) || typeof a.registeredTime !== 'number') throw fail('an agent needs "id", "info" and "registeredTime"');
}
function checkFramework(f: unknown, fail: Fail): void {
  if (!isObj(f) || !isStr(f.id) || !isObj(f.info) || typeof f.registeredTime !== 'number') throw fail('a framework needs "id", "info" and "registeredTime"');
}
function checkTask(t: unknown, fail: Fail): void {
  if (!isObj(t) || !isStr(t.frameworkId) || !isStr(t.taskId) || !isStr(t.agentId)) throw fail('a task needs "frameworkId", "taskId" and "agentId"');
}

function checkReservations(r: unknown, fail: Fail): void {
  if (!isObj(r) || !isStr(r.agentId) || !Array.isArray(r.resources) || !r.resources.every(isObj)) throw fail('reservations need "agentId" and "resources" (an array of resources)');
}

function parseLine(text: string, file: string, line: number): RegistryOp & { seq: number } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, line, `not valid JSON (${(err as Error).message})`);
  }
  const fail: Fail = (what) => corrupt(file, line, what);
  if (!isObj(v)) throw fail('a line must be a JSON object');
  if (!Number.isInteger(v.seq) || (v.seq as number) <= 0) throw fail('"seq" is not a positive integer');
  switch (v.op) {
    case 'addAgent':
      checkAgent(v.agent, fail);
      break;
    case 'addFramework':
    case 'updateFramework':
      checkFramework(v.framework, fail);
      break;
    case 'removeAgent':
    case 'removeFramework':
      if (!isStr(v.id)) throw fail(`${v.op} needs "id"`);
      break;
    case 'addTask':
      checkTask(v.task, fail);
      break;
    case 'removeTask':
      if (!isStr(v.frameworkId) || !isStr(v.taskId)) throw fail('removeTask needs "frameworkId" and "taskId"');
      break;
    case 'setReservations':
      checkReservations(v, fail);
      break;
    default:
      throw fail(`unknown op ${JSON.stringify(v.op)} (written by a newer Tessera release?)`);
  }
  return v as unknown as RegistryOp & { seq: number };
}

// Equal as JSON, whatever the order of object keys: an agent that re-registers sends its info decoded in
// proto field order, not in the order its first registration was built in, and must not cost a log line
// and an fsync wait before its admission.
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  return keys.length === Object.keys(y).filter((k) => y[k] !== undefined).length && keys.every((k) => sameJson(x[k], y[k]));
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
