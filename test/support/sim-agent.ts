/**
 * SimAgent: a simulated agent for master tests and benchmarks. It speaks the real agent protocol over a
 * real socket (through AgentLinkClient) but runs no containers: a task "runs" for a while and exits.
 *
 * ```ts
 * const agent = new SimAgent({ master: `127.0.0.1:${port}`, hostname: 'node-1', resources: 'cpus:4;mem:4096;ports:[31000-32000]' });
 * const agentId = await agent.start();          // Register, or Reregister with its tasks when it knows its id
 * // ... the master launches tasks; the agent reports STARTING, RUNNING, then FINISHED (or runs until killed)
 * agent.tasks();                                // mesos.v1.Task objects with their latest state
 * agent.crash();                                // drops the connection without a goodbye; start() again re-registers
 * await agent.stop();
 * ```
 *
 * Status updates follow Mesos's agent: each carries a fresh 16-byte uuid, and per task only the oldest
 * unacknowledged update is in flight, sent again every `statusRetryMs` until a StatusUpdateAck with its
 * uuid arrives; then the next one goes. A task whose terminal update was acknowledged is forgotten.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AgentLinkClient, type AgentLinkClientOptions } from '../../core/src/agent-protocol/client';
import type { MasterMessage, StatusUpdate } from '../../core/src/agent-protocol/messages';
import type { AgentInfo, FrameworkInfo, Id, Resource, StatusSource, Task, TaskInfo, TaskState, TaskStatus } from '../../core/src/master/model/mesos';
import { TERMINAL_STATES } from '../../core/src/master/model/mesos';

/** SimTaskBehaviour says what a simulated task does. */
export interface SimTaskBehaviour {
  /** runMs is how long the task runs after TASK_RUNNING; null or absent: until killed. */
  runMs?: number | null;
  /** exitState is how it ends after runMs (default TASK_FINISHED). */
  exitState?: 'TASK_FINISHED' | 'TASK_FAILED';
}

/** SimAgentOptions configure a {@link SimAgent}. */
export interface SimAgentOptions {
  /** master is `host:port`. */
  master: string;
  hostname?: string;
  /** resources as Mesos objects, or Mesos text: `cpus:4;mem:4096;ports:[31000-32000];disk(role1):100`. */
  resources: Resource[] | string;
  /** agentId makes the first start() re-register, as an agent restarted with a checkpoint does. */
  agentId?: string;
  taskBehaviour?: (task: TaskInfo) => SimTaskBehaviour;
  /** statusRetryMs is the delay before an unacknowledged update is sent again (default 1000). */
  statusRetryMs?: number;
  /** answerPings false simulates an agent whose process hangs: connected, silent. */
  answerPings?: boolean;
  /** link tunes the AgentLinkClient (backoff, protocol version). */
  link?: AgentLinkClientOptions;
}

/** SimAgentEvents are what a test or benchmark may watch. */
export interface SimAgentEvents {
  /** registered: the master answered Register or Reregister. */
  registered: [agentId: string];
  /** update: a status update was sent (the first time or again). */
  update: [update: StatusUpdate, attempt: number];
  /** message: any master message, before the agent handled it. */
  message: [msg: MasterMessage];
}

interface SimTask {
  task: Task;
  framework: FrameworkInfo;
  /** Updates not yet acknowledged, oldest first; only the first is in flight. */
  pending: { update: StatusUpdate; attempts: number }[];
  retryTimer?: NodeJS.Timeout;
  exitTimer?: NodeJS.Timeout;
}

let counter = 0;

/** SimAgent is a simulated agent; see the module comment. */
export class SimAgent extends EventEmitter<SimAgentEvents> {
  /** answerPings can be switched off (and on) while running. */
  answerPings: boolean;
  private readonly hostname: string;
  private readonly resources: Resource[];
  private readonly taskList = new Map<string, SimTask>(); // by framework id + task id
  private readonly frameworkInfos = new Map<string, FrameworkInfo>();
  private client: AgentLinkClient | undefined;
  private id: string | undefined;
  private registered = false;
  private stopped = false;
  private waiting: { resolve: (id: string) => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly opts: SimAgentOptions) {
    super();
    this.hostname = opts.hostname ?? `sim-agent-${++counter}`;
    this.resources = typeof opts.resources === 'string' ? parseResources(opts.resources) : opts.resources;
    this.id = opts.agentId;
    this.answerPings = opts.answerPings ?? true;
  }

  /** agentId is the id the master gave (or the one the agent was constructed with). */
  get agentId(): string | undefined {
    return this.id;
  }

  /** connected tells whether the agent is registered on an open stream. */
  get connected(): boolean {
    return this.registered;
  }

  /**
   * start connects and registers (or re-registers, when the agent knows its id) and resolves with the
   * agent id once the master answered; it rejects when the master refuses the agent. After each later
   * reconnection the agent re-registers by itself. Call it again after crash() to come back.
   */
  start(): Promise<string> {
    this.client?.destroy();
    this.stopped = false;
    this.registered = false;
    const client = new AgentLinkClient({ ...this.opts.link, onMessage: (msg) => this.client === client && this.onMessage(msg) });
    this.client = client;
    client.on('connected', () => this.register(client));
    client.on('disconnected', () => {
      if (this.client === client) this.registered = false;
    });
    const registered = new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
    client.connect(this.opts.master);
    return registered;
  }

  /** tasks are the tasks the agent knows (a terminal one until its last update is acknowledged), as mesos.v1.Task. */
  tasks(): Task[] {
    return [...this.taskList.values()].map((t) => t.task);
  }

  /** frameworks are the frameworks of the known tasks. */
  frameworks(): FrameworkInfo[] {
    return [...this.frameworkInfos.values()];
  }

  /** unacknowledged counts the status updates still waiting for an acknowledgement. */
  unacknowledged(): number {
    let n = 0;
    for (const t of this.taskList.values()) n += t.pending.length;
    return n;
  }

  /** stop says goodbye, forgets its timers and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.registered = false;
    for (const t of this.taskList.values()) {
      clearTimeout(t.retryTimer);
      clearTimeout(t.exitTimer);
    }
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  /**
   * crash drops the stream at once, without waiting for the master (AgentLinkClient.destroy); tasks keep
   * "running" and their state is kept, as an agent's checkpoint would keep it. start() again re-registers.
   */
  crash(): void {
    this.registered = false;
    const client = this.client;
    this.client = undefined;
    client?.destroy();
  }

  private register(client: AgentLinkClient): void {
    if (this.client !== client) return;
    const agent_info: AgentInfo = { hostname: this.hostname, port: 5051, resources: this.resources };
    if (this.id === undefined) {
      client.send({ register: { agent_info, version: 'sim' } });
    } else {
      agent_info.id = { value: this.id };
      client.send({ reregister: { agent_info, tasks: this.tasks(), frameworks: this.frameworks(), version: 'sim' } });
    }
  }

  private onMessage(msg: MasterMessage): void {
    this.emit('message', msg);
    if (msg.registered) {
      this.id = msg.registered.agent_id.value;
      this.registered = true;
      for (const t of this.taskList.values()) {
        t.task.agent_id = { value: this.id };
        this.sendHead(t); // what was in flight when the stream broke goes again now
      }
      this.waiting?.resolve(this.id);
      this.waiting = undefined;
      this.emit('registered', this.id);
    } else if (msg.ping) {
      if (this.answerPings) this.client?.send({ pong: { seq: msg.ping.seq } });
    } else if (msg.run_task) {
      this.runTask(msg.run_task.framework, msg.run_task.task);
    } else if (msg.kill_task) {
      this.killTask(msg.kill_task.framework_id, msg.kill_task.task_id);
    } else if (msg.shutdown_framework) {
      const fid = msg.shutdown_framework.framework_id.value;
      for (const t of [...this.taskList.values()]) if (t.task.framework_id.value === fid) this.killTask(t.task.framework_id, t.task.task_id);
    } else if (msg.status_update_ack) {
      this.onAck(msg.status_update_ack.framework_id, msg.status_update_ack.task_id, msg.status_update_ack.uuid);
    } else if (msg.refused) {
      this.waiting?.reject(new Error(`the master refused agent ${this.hostname}: ${msg.refused.message}`));
      this.waiting = undefined;
    }
  }

  private runTask(framework: FrameworkInfo, info: TaskInfo): void {
    const frameworkId = framework.id?.value ?? '';
    const key = keyOf(frameworkId, info.task_id.value);
    if (this.taskList.has(key)) return; // a duplicate RunTask (the master retried): the task runs already
    this.frameworkInfos.set(frameworkId, framework);
    const task: Task = {
      name: info.name,
      task_id: info.task_id,
      framework_id: { value: frameworkId },
      executor_id: { value: info.task_id.value },
      agent_id: { value: this.id ?? '' },
      state: 'TASK_STAGING',
      ...(info.resources ? { resources: info.resources } : {}),
      ...(info.labels ? { labels: info.labels } : {}),
    };
    const t: SimTask = { task, framework, pending: [] };
    this.taskList.set(key, t);
    this.update(t, 'TASK_STARTING', 'SOURCE_EXECUTOR');
    this.update(t, 'TASK_RUNNING', 'SOURCE_EXECUTOR');
    const behaviour = this.opts.taskBehaviour?.(info) ?? {};
    if (behaviour.runMs !== null && behaviour.runMs !== undefined) {
      const exit = behaviour.exitState ?? 'TASK_FINISHED';
      t.exitTimer = setTimeout(() => {
        if (!TERMINAL_STATES.has(t.task.state)) this.update(t, exit, 'SOURCE_EXECUTOR', exit === 'TASK_FAILED' ? 'Command exited with status 1' : 'Command exited with status 0');
      }, behaviour.runMs);
      t.exitTimer.unref();
    }
  }

  private killTask(frameworkId: Id, taskId: Id): void {
    const t = this.taskList.get(keyOf(frameworkId.value, taskId.value));
    if (t === undefined) {
      // Unknown here (lost in a restart, or finished and acknowledged): say so, as Mesos's agent does.
      const lost: SimTask = {
        task: { name: '', task_id: taskId, framework_id: frameworkId, agent_id: { value: this.id ?? '' }, state: 'TASK_LOST' },
        framework: this.frameworkInfos.get(frameworkId.value) ?? { user: '', name: '', id: frameworkId },
        pending: [],
      };
      this.taskList.set(keyOf(frameworkId.value, taskId.value), lost);
      this.update(lost, 'TASK_LOST', 'SOURCE_AGENT', 'task unknown to the agent', 'REASON_TASK_UNKNOWN');
      return;
    }
    if (TERMINAL_STATES.has(t.task.state)) return;
    clearTimeout(t.exitTimer);
    this.update(t, 'TASK_KILLED', 'SOURCE_EXECUTOR', 'Command terminated with signal Terminated');
  }

  // A new status for the task: it becomes the task's state now and joins the task's queue of updates.
  private update(t: SimTask, state: TaskState, source: StatusSource, message?: string, reason?: string): void {
    const status: TaskStatus = {
      task_id: t.task.task_id,
      state,
      source,
      uuid: randomBytes(16),
      timestamp: Date.now() / 1000,
      agent_id: { value: this.id ?? '' },
      executor_id: t.task.executor_id ?? { value: t.task.task_id.value },
      ...(message ? { message } : {}),
      ...(reason ? { reason } : {}),
    };
    t.task.state = state;
    t.task.statuses = [status];
    t.task.status_update_state = state;
    t.task.status_update_uuid = status.uuid;
    t.pending.push({ update: { framework_id: t.task.framework_id, status }, attempts: 0 });
    if (t.pending.length === 1) this.sendHead(t);
  }

  // Sends the oldest unacknowledged update of the task and arms its retry.
  private sendHead(t: SimTask): void {
    clearTimeout(t.retryTimer);
    const head = t.pending[0];
    if (head === undefined || this.stopped) return;
    if (this.registered && this.client) {
      head.update.status.agent_id = { value: this.id ?? '' };
      head.attempts++;
      // As a real agent: the task's latest state rides along (Mesos's latest_state).
      this.client.send({ status_update: { ...head.update, latest_state: t.pending[t.pending.length - 1].update.status.state } });
      this.emit('update', head.update, head.attempts);
    }
    t.retryTimer = setTimeout(() => this.sendHead(t), this.opts.statusRetryMs ?? 1000);
    t.retryTimer.unref();
  }

  private onAck(frameworkId: Id, taskId: Id, uuid: Buffer): void {
    const key = keyOf(frameworkId.value, taskId.value);
    const t = this.taskList.get(key);
    const head = t?.pending[0];
    if (t === undefined || head === undefined || !head.update.status.uuid!.equals(uuid)) return; // a duplicate or stale ack
    t.pending.shift();
    if (t.pending.length > 0) {
      this.sendHead(t);
      return;
    }
    clearTimeout(t.retryTimer);
    if (TERMINAL_STATES.has(t.task.state)) {
      this.taskList.delete(key);
      const fid = frameworkId.value;
      if (![...this.taskList.values()].some((x) => x.task.framework_id.value === fid)) this.frameworkInfos.delete(fid);
    }
  }
}

function keyOf(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/**
 * parseResources reads Mesos's resource text: `name[(role)]:value` joined by `;`, where value is a
 * number (scalar), `[a-b,c-d]` (ranges) or `{x,y}` (set).
 *
 * ```ts
 * parseResources('cpus:4;mem(ops):1024;ports:[31000-32000]');
 * ```
 */
export function parseResources(text: string): Resource[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const m = /^([^:()]+)(?:\(([^)]*)\))?:(.+)$/.exec(part);
      if (!m) throw new Error(`resource "${part}" is not name:value, e.g. cpus:4, ports:[31000-32000] or zones:{a,b}`);
      const [, rawName, role, rawValue] = m;
      const name = rawName.trim();
      const value = rawValue.trim();
      const base = role && role !== '*' ? { name, reservations: [{ type: 'STATIC' as const, role }] } : { name };
      if (value.startsWith('[')) {
        const range = value
          .replace(/^\[|\]$/g, '')
          .split(',')
          .map((r) => {
            const [begin, end = begin] = r.split('-').map((x) => Number(x.trim()));
            if (!Number.isInteger(begin) || !Number.isInteger(end)) throw new Error(`resource "${part}": bad range "${r}"`);
            return { begin, end };
          });
        return { ...base, type: 'RANGES', ranges: { range } };
      }
      if (value.startsWith('{')) {
        return { ...base, type: 'SET', set: { item: value.replace(/^\{|\}$/g, '').split(',').map((s) => s.trim()).filter(Boolean) } };
      }
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`resource "${part}": "${value}" is not a number, [ranges] or {set}`);
      return { ...base, type: 'SCALAR', scalar: { value: n } };
    });
}
