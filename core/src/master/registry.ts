/**
 * The master's registry: what must survive a master restart — the agents admitted, the frameworks
 * (with their failover_timeout), where each live task runs, the dynamic reservations on each agent,
 * and the quotas and weights operators set — kept as files under `<work_dir>/master/registry`:
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
 * the scheduler API answers synchronously), and so do `setReservations` (an ACCEPT that reserves is
 * answered after its reservations are on disk), `updateQuota` and `updateWeights` (the operator call is
 * answered after). Task locations (`addTask`, `removeTask`) ride along with
 * the next write without an fsync of their own (at most `lazySyncMs` later): they survive a crash of
 * the master process, and after a crash of the machine the agents still report their tasks.
 *
 * The journal mechanism (batching, fsync, compaction, loading) is durable/journal.ts; this file is the
 * registry's state, its ops, its snapshot and its error messages.
 */
import path from 'node:path';
import { Journal } from '../durable/journal';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import type { AgentInfo, FrameworkInfo, Resource } from './model/mesos';
import type { RoleQuota } from './quota';
import { taskKey } from './state';

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

/** RegisteredWeight is a role's weight as an operator set it (UPDATE_WEIGHTS). */
export interface RegisteredWeight {
  role: string;
  weight: number;
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
  | { op: 'setReservations'; agentId: string; resources: Resource[] }
  // Each quota replaces its role's; one without guarantees and limits removes it (Mesos's UpdateQuota).
  | { op: 'updateQuota'; quotas: RoleQuota[] }
  | { op: 'updateWeights'; weights: RegisteredWeight[] };

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

interface Snapshot {
  format: typeof FORMAT;
  version: number;
  seq: number;
  agents: RegisteredAgent[];
  frameworks: RegisteredFramework[];
  tasks: RegisteredTask[];
  /** Dynamic reservations per agent (absent in snapshots of releases before reservations: none). */
  reservations?: RegisteredReservations[];
  /** The quotas by role (releases before quota wrote an empty list). */
  quota: RoleQuota[];
  /** The weights operators set (releases before weights wrote an empty list). */
  weights: RegisteredWeight[];
}

// What the registry holds; changed only by applyOp, so replaying the log and recording cannot drift apart.
interface RegistryState {
  agents: Map<string, RegisteredAgent>;
  frameworks: Map<string, RegisteredFramework>;
  tasks: Map<string, RegisteredTask>;
  tasksByAgent: Map<string, Set<string>>;
  reservations: Map<string, Resource[]>;
  quotas: Map<string, RoleQuota>;
  weights: Map<string, number>;
}

const NO_KEYS: ReadonlySet<string> = new Set();

/** Registry is the master's durable state; see the module comment. */
export class Registry {
  private readonly s: RegistryState = { agents: new Map(), frameworks: new Map(), tasks: new Map(), tasksByAgent: new Map(), reservations: new Map(), quotas: new Map(), weights: new Map() };
  private readonly journal: Journal<RegistryOp, RegistryState>;

  private constructor(opts: RegistryOptions) {
    const { dir, log } = opts;
    this.journal = Journal.open<RegistryOp, RegistryState>({
      dir,
      journalFile: 'log.jsonl',
      snapshotFile: 'snapshot.json',
      log,
      state: this.s,
      apply: applyOp,
      size: (s) => s.agents.size + s.frameworks.size + s.tasks.size + s.reservations.size + s.quotas.size + s.weights.size,
      encode: JSON.stringify,
      decode: JSON.parse,
      checkOp: checkLine,
      snapshotOf,
      loadSnapshot,
      corrupt,
      locked: (owner) =>
        new TesseraError(
          'TSR_WORK_DIR_LOCKED',
          `the master registry ${dir} is in use by another master (pid ${owner.pid}, since ${owner.since}): two masters must not share a --work_dir; stop that one, or give this master its own --work_dir`,
        ),
      failed: (stage, file, err) => {
        const why = (err as Error).message;
        const text = {
          create: `the master cannot create its registry directory ${file}: ${why}; check --work_dir and its permissions`,
          read: `the master cannot read its registry log ${file}: ${why}`,
          open: `the master cannot open its registry log ${file} for writing: ${why}; check --work_dir and its permissions`,
          write: `the master cannot write its registry in ${file}: ${why}; the master must stop: free disk space or fix the permissions, then restart it`,
        }[stage];
        return new TesseraError('TSR_REGISTRY_WRITE_FAILED', text, { cause: err });
      },
      closed: () => new TesseraError('TSR_REGISTRY_WRITE_FAILED', `the registry in ${dir} is closed`),
      tornWarning: (file, line, bytes) => `registry: ignoring the torn last line of ${file} (line ${line}, ${bytes} bytes without a newline): the master stopped while writing it, before answering the operation it records`,
      compactionWarning: (file, err) => `registry: compaction into ${file} failed, keeping the log: ${err.message}`,
      onLoad: (seq) => log.info(`registry loaded from ${dir}`, { agents: this.s.agents.size, frameworks: this.s.frameworks.size, tasks: this.s.tasks.size, seq }),
      onCompact: (seq) => log.debug(`registry compacted at seq ${seq}`, { agents: this.s.agents.size, frameworks: this.s.frameworks.size, tasks: this.s.tasks.size }),
      compactEvery: opts.compactEvery,
      lazySyncMs: opts.lazySyncMs,
    });
  }

  /** Opens (or creates) the registry in `opts.dir` and loads it; throws TSR_REGISTRY_CORRUPT or TSR_REGISTRY_WRITE_FAILED. */
  static open(opts: RegistryOptions): Registry {
    return new Registry(opts);
  }

  /** The admitted agents. */
  get agents(): ReadonlyMap<string, RegisteredAgent> {
    return this.s.agents;
  }

  /** The frameworks. */
  get frameworks(): ReadonlyMap<string, RegisteredFramework> {
    return this.s.frameworks;
  }

  /** The dynamically reserved resources of an agent (empty when none). */
  reservationsOf(agentId: string): Resource[] {
    return this.s.reservations.get(agentId) ?? [];
  }

  /** The quotas by role (roles without quota are absent). */
  get quotas(): ReadonlyMap<string, RoleQuota> {
    return this.s.quotas;
  }

  /** The weights operators set, by role (roles absent weigh 1). */
  get weights(): ReadonlyMap<string, number> {
    return this.s.weights;
  }

  /** The live tasks known to run on an agent. */
  tasksOf(agentId: string): RegisteredTask[] {
    return [...(this.s.tasksByAgent.get(agentId) ?? [])].map((k) => this.s.tasks.get(k)!);
  }

  /**
   * The keys (as taskKey makes them, the master's own) of the live tasks known to run on an agent, for
   * comparing with what it reports without building a list; {@link taskAt} gives each task.
   */
  taskKeysOf(agentId: string): ReadonlySet<string> {
    return this.s.tasksByAgent.get(agentId) ?? NO_KEYS;
  }

  /** The live task of a key from {@link taskKeysOf}. */
  taskAt(key: string): RegisteredTask | undefined {
    return this.s.tasks.get(key);
  }

  /** The agent a live task runs on, if the registry knows the task. */
  agentOf(frameworkId: string, taskId: string): string | undefined {
    return this.s.tasks.get(taskKey(frameworkId, taskId))?.agentId;
  }

  /** How many lines the log holds now (for tests and /metrics). */
  get logLength(): number {
    return this.journal.lines;
  }

  // ---- changes --------------------------------------------------------------------------------

  /**
   * Records an admitted agent (new, or with changed info). Resolves once it is durable; returns
   * undefined when the registry already holds exactly this agent (nothing to wait for).
   */
  putAgent(agent: RegisteredAgent): Promise<void> | undefined {
    const known = this.s.agents.get(agent.id);
    if (known && known.registeredTime === agent.registeredTime && sameJson(known.info, agent.info)) return undefined;
    return this.journal.durable({ op: 'addAgent', agent });
  }

  /** Forgets an agent and the tasks on it; resolves once durable (undefined when unknown). */
  removeAgent(id: string): Promise<void> | undefined {
    if (!this.s.agents.has(id)) return undefined;
    return this.journal.durable({ op: 'removeAgent', id });
  }

  /** Records a framework (new, or with changed info); durable when it returns. */
  putFramework(framework: RegisteredFramework): void {
    const known = this.s.frameworks.get(framework.id);
    if (known && known.registeredTime === framework.registeredTime && sameJson(known.info, framework.info)) return;
    this.journal.append({ op: known ? 'updateFramework' : 'addFramework', framework });
    this.journal.flush();
  }

  /** Forgets a framework and its tasks; durable when it returns. */
  removeFramework(id: string): void {
    if (!this.s.frameworks.has(id)) return;
    this.journal.append({ op: 'removeFramework', id });
    this.journal.flush();
  }

  /**
   * Records the dynamically reserved resources of an agent (all of them: the list replaces the
   * previous one; empty forgets them); durable when it returns. Throws TSR_REGISTRY_WRITE_FAILED.
   */
  setReservations(agentId: string, resources: Resource[]): void {
    if (sameJson(this.s.reservations.get(agentId) ?? [], resources)) return;
    this.journal.append({ op: 'setReservations', agentId, resources });
    this.journal.flush();
  }

  /**
   * Records roles' quotas: each replaces its role's, and one without guarantees and limits removes it;
   * durable when it returns. Throws TSR_REGISTRY_WRITE_FAILED.
   */
  updateQuota(quotas: RoleQuota[]): void {
    if (quotas.length === 0) return;
    this.journal.append({ op: 'updateQuota', quotas });
    this.journal.flush();
  }

  /** Records roles' weights (roles not named keep theirs); durable when it returns. Throws TSR_REGISTRY_WRITE_FAILED. */
  updateWeights(weights: RegisteredWeight[]): void {
    if (weights.length === 0) return;
    this.journal.append({ op: 'updateWeights', weights });
    this.journal.flush();
  }

  /** Records where a task runs (lazily durable: see the module comment). */
  addTask(task: RegisteredTask): void {
    const known = this.s.tasks.get(taskKey(task.frameworkId, task.taskId));
    if (known?.agentId === task.agentId) return;
    this.journal.append({ op: 'addTask', task });
  }

  /** Forgets a task that ended (lazily durable). */
  removeTask(frameworkId: string, taskId: string): void {
    if (!this.s.tasks.has(taskKey(frameworkId, taskId))) return;
    this.journal.append({ op: 'removeTask', frameworkId, taskId });
  }

  /** Makes the task list of an agent what the agent reported on re-registration (lazily durable). */
  setAgentTasks(agentId: string, tasks: readonly { frameworkId: string; taskId: string }[]): void {
    const keep = new Set(tasks.map((t) => taskKey(t.frameworkId, t.taskId)));
    for (const t of this.tasksOf(agentId)) if (!keep.has(taskKey(t.frameworkId, t.taskId))) this.removeTask(t.frameworkId, t.taskId);
    for (const t of tasks) this.addTask({ ...t, agentId });
  }

  /** Writes and fsyncs everything queued now; throws TSR_REGISTRY_WRITE_FAILED. */
  flush(): void {
    this.journal.flush();
  }

  /** Writes what is queued and closes the files; the registry is unusable afterwards. */
  close(): void {
    this.journal.close();
  }
}

// ---- state ------------------------------------------------------------------------------------

function applyOp(s: RegistryState, op: RegistryOp): void {
  switch (op.op) {
    case 'addAgent':
      s.agents.set(op.agent.id, op.agent);
      break;
    case 'removeAgent':
      s.agents.delete(op.id);
      for (const k of s.tasksByAgent.get(op.id) ?? []) s.tasks.delete(k);
      s.tasksByAgent.delete(op.id);
      s.reservations.delete(op.id);
      break;
    case 'addFramework':
    case 'updateFramework':
      s.frameworks.set(op.framework.id, op.framework);
      break;
    case 'removeFramework':
      s.frameworks.delete(op.id);
      for (const t of [...s.tasks.values()]) if (t.frameworkId === op.id) dropTask(s, t.frameworkId, t.taskId);
      break;
    case 'addTask': {
      const k = taskKey(op.task.frameworkId, op.task.taskId);
      dropTask(s, op.task.frameworkId, op.task.taskId);
      s.tasks.set(k, op.task);
      let set = s.tasksByAgent.get(op.task.agentId);
      if (!set) s.tasksByAgent.set(op.task.agentId, (set = new Set()));
      set.add(k);
      break;
    }
    case 'removeTask':
      dropTask(s, op.frameworkId, op.taskId);
      break;
    case 'setReservations':
      if (op.resources.length === 0) s.reservations.delete(op.agentId);
      else s.reservations.set(op.agentId, op.resources);
      break;
    case 'updateQuota':
      for (const q of op.quotas) {
        if (Object.keys(q.guarantees).length === 0 && Object.keys(q.limits).length === 0) s.quotas.delete(q.role);
        else s.quotas.set(q.role, q);
      }
      break;
    case 'updateWeights':
      for (const w of op.weights) s.weights.set(w.role, w.weight);
      break;
  }
}

function dropTask(s: RegistryState, frameworkId: string, taskId: string): void {
  const k = taskKey(frameworkId, taskId);
  const t = s.tasks.get(k);
  if (!t) return;
  s.tasks.delete(k);
  const set = s.tasksByAgent.get(t.agentId);
  set?.delete(k);
  if (set?.size === 0) s.tasksByAgent.delete(t.agentId);
}

function snapshotOf(s: RegistryState, seq: number): Snapshot {
  return {
    format: FORMAT,
    version: VERSION,
    seq,
    agents: [...s.agents.values()],
    frameworks: [...s.frameworks.values()],
    tasks: [...s.tasks.values()],
    reservations: [...s.reservations].map(([agentId, resources]) => ({ agentId, resources })),
    quota: [...s.quotas.values()],
    weights: [...s.weights].map(([role, weight]) => ({ role, weight })),
  };
}

// ---- loading ----------------------------------------------------------------------------------

function loadSnapshot(v: unknown, state: RegistryState, bad: Fail): number {
  const s = v as Snapshot;
  if (s === null || typeof s !== 'object' || s.format !== FORMAT) throw bad(`not a Tessera master registry snapshot (no "format": "${FORMAT}")`);
  if (s.version !== VERSION) throw bad(`snapshot version ${String(s.version)} is not the version ${VERSION} this master reads: it was written by another Tessera release; run that release, or one that reads it`);
  if (!Number.isInteger(s.seq) || s.seq < 0) throw bad('"seq" is not a non-negative integer');
  for (const key of ['agents', 'frameworks', 'tasks'] as const) if (!Array.isArray(s[key])) throw bad(`"${key}" is not an array`);
  s.agents.forEach((a, i) => checkAgent(a, (w) => bad(`agents[${i}]: ${w}`)));
  s.frameworks.forEach((f, i) => checkFramework(f, (w) => bad(`frameworks[${i}]: ${w}`)));
  s.tasks.forEach((t, i) => checkTask(t, (w) => bad(`tasks[${i}]: ${w}`)));
  if (s.reservations !== undefined && !Array.isArray(s.reservations)) throw bad('"reservations" is not an array');
  (s.reservations ?? []).forEach((r, i) => checkReservations(r, (w) => bad(`reservations[${i}]: ${w}`)));
  for (const a of s.agents) applyOp(state, { op: 'addAgent', agent: a });
  for (const f of s.frameworks) applyOp(state, { op: 'addFramework', framework: f });
  for (const t of s.tasks) applyOp(state, { op: 'addTask', task: t });
  for (const key of ['quota', 'weights'] as const) if (s[key] !== undefined && !Array.isArray(s[key])) throw bad(`"${key}" is not an array`);
  (s.quota ?? []).forEach((q, i) => checkQuota(q, (w) => bad(`quota[${i}]: ${w}`)));
  (s.weights ?? []).forEach((w, i) => checkWeight(w, (x) => bad(`weights[${i}]: ${x}`)));
  for (const r of s.reservations ?? []) applyOp(state, { op: 'setReservations', agentId: r.agentId, resources: r.resources });
  applyOp(state, { op: 'updateQuota', quotas: s.quota ?? [] });
  applyOp(state, { op: 'updateWeights', weights: s.weights ?? [] });
  return s.seq;
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

function checkQuota(q: unknown, fail: Fail): void {
  const amounts = (m: unknown) => isObj(m) && Object.values(m).every((v) => typeof v === 'number');
  if (!isObj(q) || !isStr(q.role) || !amounts(q.guarantees) || !amounts(q.limits)) throw fail('a quota needs "role", "guarantees" and "limits" (objects of amounts by resource name)');
}

function checkWeight(w: unknown, fail: Fail): void {
  if (!isObj(w) || !isStr(w.role) || typeof w.weight !== 'number') throw fail('a weight needs "role" and "weight" (a number)');
}

function checkLine(v: unknown, fail: Fail): RegistryOp & { seq: number } {
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
    case 'updateQuota':
      if (!Array.isArray(v.quotas)) throw fail('updateQuota needs "quotas" (an array)');
      v.quotas.forEach((q, i) => checkQuota(q, (w) => fail(`quotas[${i}]: ${w}`)));
      break;
    case 'updateWeights':
      if (!Array.isArray(v.weights)) throw fail('updateWeights needs "weights" (an array)');
      v.weights.forEach((w, i) => checkWeight(w, (x) => fail(`weights[${i}]: ${x}`)));
      break;
    default:
      throw fail(`unknown op ${JSON.stringify(v.op)} (written by a newer Tessera release?)`);
  }
  return v as unknown as RegistryOp & { seq: number };
}

// Equal as JSON, whatever the order of object keys: an agent that re-registers sends its info decoded in
// proto field order, not in the order its first registration was built in, and must not cost a log line
// and an fsync wait before its admission. Walked rather than written out: it allocates nothing for plain
// data, where two JSON.stringify calls cost a re-registering agent more than its decoding.
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // Different strings or booleans never write alike; numbers may (NaN, Infinity and null are all null).
    if (typeof a === 'string' || typeof b === 'string' || typeof a === 'boolean' || typeof b === 'boolean') return false;
    return JSON.stringify(a) === JSON.stringify(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(x, k) || x[k] === undefined) continue;
    defined++;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k) && y[k] !== undefined) defined--;
  return defined === 0;
}
