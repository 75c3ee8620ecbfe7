/**
 * The agent (Mesos's slave): keeps one stream to the master (AgentLinkClient), registers — or
 * re-registers with its id, every task it knows and their frameworks — on each new stream, answers
 * pings and notices a master that stopped pinging, hands run/kill/shutdown to the TaskManager and
 * acknowledgements to the status update manager, and reports its total resources (given, detected,
 * plus what isolator modules provide). It implements AgentView for the HTTP endpoints.
 *
 * ```ts
 * const agent = new Agent({ master: '10.0.0.1:5050', hostname, workDir, runtimeDir, given, detected, attributes,
 *                           containerizer, checkpoint, flags, executorShutdownGracePeriodMs: 5000, recover: 'reconnect', log });
 * await agent.recover();                       // checkpointed tasks: resumed or reported
 * await agent.decorate({ ip: '10.0.0.2', port: 5051 }); // agent hooks: resources and attributes (with `hooks`)
 * agent.start({ ip: '10.0.0.2', port: 5051 }); // where the endpoints listen; connects to the master
 * const agentId = await agent.registered();
 * await agent.stop();                          // containers keep running
 * ```
 *
 * Everything runs on the event loop; the agent id is checkpointed (<work_dir>/meta) and kept across
 * agent restarts.
 */
import os from 'node:os';
import path from 'node:path';
import { AgentLinkClient, type AgentLinkClientOptions } from '../agent-protocol/client';
import type { MasterMessage } from '../agent-protocol/messages';
import type { Log } from '../log';
import type { AgentInfo, Attribute, Resource } from '../master/model/mesos';
import { CORE_VERSION } from '../version';
import type { AgentIdentity, AgentView, FrameworkView } from './agent-view';
import type { Checkpoint } from './checkpoint';
import type { Containerizer } from './containerizer/types';
import type { AgentHooks } from './hooks';
import { agentMetrics } from './metrics';
import { formatResources, mergeResources } from './resources';
import { SandboxGc } from './sandbox-gc';
import { StatusUpdateManager } from './status-update-manager';
import { TaskManager } from './tasks';

/** AGENT_CAPABILITIES are what this agent tells the master it can do (Mesos agent capabilities). */
export const AGENT_CAPABILITIES = ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'];

/** How often an unreachable master is logged as a warning (every attempt is at debug level). */
const UNREACHABLE_WARN_EVERY_MS = 30_000;

/** AgentOptions configure an {@link Agent}; runAgent (run-agent.ts) builds them from flags. */
export interface AgentOptions {
  /** master is `host:port`. */
  master: string;
  hostname?: string;
  workDir: string;
  runtimeDir: string;
  /** given are the resources of --resources; detected fill in every name they do not mention. */
  given: Resource[];
  detected: Resource[];
  attributes: Attribute[];
  containerizer: Containerizer;
  checkpoint: Checkpoint;
  /** flags as given, for /flags and /state. */
  flags?: Record<string, string>;
  /** executorShutdownGracePeriodMs: kill grace period when no kill policy gives one (Mesos default 5 s). */
  executorShutdownGracePeriodMs?: number;
  /** Sandbox garbage collection (sandbox-gc.ts): Mesos's --gc_delay (1 week), --gc_disk_headroom (0.1), --disk_watch_interval (1 min). */
  gc?: { delayMs?: number; diskHeadroom?: number; intervalMs?: number };
  /** switchUser (Mesos --switch_user, default true): tasks run as CommandInfo.user, else FrameworkInfo.user; false: as the agent's user. */
  switchUser?: boolean;
  /** recover: reconnect resumes running tasks after a restart; cleanup kills them. */
  recover?: 'reconnect' | 'cleanup';
  log: Log;
  /** moduleMetrics is the module host's metrics (ModuleMetrics). */
  moduleMetrics?: { prometheus(): string; snapshot(): Record<string, number> };
  /** statusRetry tunes the status update retries (tests). */
  statusRetry?: { initialMs?: number; maxMs?: number };
  /** link tunes the master link (tests: backoff, keepalive). */
  link?: Pick<AgentLinkClientOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'keepaliveMs'>;
  /** missedPingsBeforeReconnect: pings the master may skip before the agent reconnects (default 5, as Mesos). */
  missedPingsBeforeReconnect?: number;
  /** hooks are the agent hooks of --hooks (core/src/agent/hooks.ts). */
  hooks?: AgentHooks;
}

/** Agent is the agent; see the module comment. */
export class Agent implements AgentView {
  readonly containerizer: Containerizer;
  private readonly log: Log;
  private readonly sum: StatusUpdateManager;
  private readonly tasks: TaskManager;
  /** gc removes completed sandboxes (--gc_delay). */
  readonly gc: SandboxGc;
  private readonly provided = new Map<string, Resource[]>();
  private readonly startTime = Date.now() / 1000;
  private agentId: string | undefined;
  private link: AgentLinkClient | undefined;
  /** While the master cannot be reached: since when, when that was last logged, how many tries. */
  private unreachable: { since: number; warnedAt: number; attempts: number } | undefined;
  private registeredNow = false;
  private stopped = false;
  private endpoint = { ip: '127.0.0.1', port: 0 };
  private waiters: ((id: string) => void)[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private pingIntervalMs = 15_000;
  private lastTotal = '';
  // The agent's own resources and attributes: from flags and detection, or as the agent hooks decorated them.
  private given: Resource[];
  private detected: Resource[];
  private attributes: Attribute[];
  /** Counters for the agent's metrics. */
  readonly counters = { registrations: 0, reregistrations: 0, masterMessages: 0, pingTimeouts: 0 };

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log;
    this.containerizer = opts.containerizer;
    this.agentId = opts.checkpoint.state.agentId;
    this.given = opts.given;
    this.detected = opts.detected;
    this.attributes = opts.attributes;
    this.sum = new StatusUpdateManager({
      checkpoint: opts.checkpoint,
      send: (update) => (this.registeredNow && this.link ? this.link.send({ status_update: update }) : false),
      log: opts.log.child('status-updates'),
      retryInitialMs: opts.statusRetry?.initialMs,
      retryMaxMs: opts.statusRetry?.maxMs,
      onTerminalAcknowledged: (t) => this.tasks.acknowledged(t),
      agentId: () => this.agentId,
    });
    this.tasks = new TaskManager({
      containerizer: opts.containerizer,
      checkpoint: opts.checkpoint,
      sum: this.sum,
      workDir: opts.workDir,
      agentId: () => this.agentId ?? '',
      defaultGraceMs: opts.executorShutdownGracePeriodMs ?? 5000,
      switchUser: opts.switchUser ?? true,
      log: opts.log.child('tasks'),
      hooks: opts.hooks,
      agentInfo: () => this.info(),
    });
    this.gc = new SandboxGc({
      root: this.sandboxRoot(),
      delayMs: opts.gc?.delayMs ?? 7 * 24 * 3600 * 1000,
      headroom: opts.gc?.diskHeadroom ?? 0.1,
      inUse: () => this.tasks.sandboxes(),
      log: opts.log.child('gc'),
    });
  }

  /** recover resumes the checkpointed tasks (before start): running ones are watched again, ended ones reported. */
  async recover(): Promise<void> {
    if (this.agentId) this.log.info(`recovering agent ${this.agentId} from ${path.join(this.opts.workDir, 'meta')}`);
    await this.tasks.recover({ cleanup: this.opts.recover === 'cleanup' });
  }

  /**
   * decorate runs the agent hooks that decorate the agent's resources and attributes (Mesos does it at
   * startup, before registering): call it before start. Throws TSR_AGENT_HOOK_FAILED for a failing
   * decorator whose onError is "fail". Without such hooks it does nothing.
   */
  async decorate(endpoint: { ip: string; port: number }): Promise<void> {
    const hooks = this.opts.hooks;
    if (!hooks?.decoratesAgent) return;
    this.endpoint = endpoint;
    const before = mergeResources(this.given, this.detected);
    const { resources, attributes } = await hooks.decorateAgent({ ...this.info(), resources: before });
    if (JSON.stringify(resources) !== JSON.stringify(before)) {
      // Decorated resources stand for the operator's --resources: module-provided ones of those names are left out.
      this.given = resources;
      this.detected = [];
      this.log.info(`agent hooks decorated the resources: ${formatResources(resources)}`);
    }
    if (JSON.stringify(attributes) !== JSON.stringify(this.attributes)) {
      this.attributes = attributes;
      this.log.info(`agent hooks decorated the attributes: ${attributes.map((a) => a.name).join(', ') || 'none'}`);
    }
  }

  /** start records where the endpoints listen (advertised to the master) and connects to the master. */
  start(endpoint: { ip: string; port: number }): void {
    this.endpoint = endpoint;
    this.gc.start(this.opts.gc?.intervalMs ?? 60_000);
    this.lastTotal = JSON.stringify(this.total());
    this.log.info(`resources: ${formatResources(this.total())}`);
    this.connect();
  }

  /** registered resolves with the agent id once the master (re-)registered this agent. */
  registered(): Promise<string> {
    if (this.registeredNow && this.agentId) return Promise.resolve(this.agentId);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** setProvided records what one isolator module provides (WatchResources); a change goes to the master. */
  setProvided(source: string, resources: Resource[]): void {
    this.provided.set(source, resources);
    const total = this.total();
    const text = JSON.stringify(total);
    if (text === this.lastTotal) return;
    this.lastTotal = text;
    this.log.info(`resources changed (module ${source}): ${formatResources(total)}`);
    if (this.registeredNow) this.link?.send({ resources_changed: { total } });
  }

  /** stop closes the master link and the status retries; containers keep running (they outlive the agent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gc.stop();
    clearTimeout(this.pingTimer);
    this.tasks.close();
    this.sum.close();
    const link = this.link;
    this.link = undefined;
    this.registeredNow = false;
    await link?.close();
    await this.containerizer.close();
    this.opts.checkpoint.close();
  }

  // ---- AgentView --------------------------------------------------------------------------------

  identity(): AgentIdentity {
    return {
      id: this.agentId,
      hostname: this.hostname(),
      ip: this.endpoint.ip,
      port: this.endpoint.port,
      resources: this.total(),
      attributes: this.attributes,
      master: this.opts.master,
      registered: this.registeredNow,
      version: CORE_VERSION,
      startTime: this.startTime,
      workDir: this.opts.workDir,
      runtimeDir: this.opts.runtimeDir,
    };
  }

  frameworks(): FrameworkView[] {
    return this.tasks.frameworks();
  }

  flags(): Record<string, string> {
    return this.opts.flags ?? {};
  }

  sandboxRoot(): string {
    return path.join(this.opts.workDir, 'slaves');
  }

  metrics(): Record<string, number> {
    return {
      ...agentMetrics({
        startTime: this.startTime,
        registered: this.registeredNow,
        total: this.total(),
        tasks: this.tasks,
        sum: this.sum,
        containers: this.containerizer.containers().length,
        counters: this.counters,
      }),
      ...(this.opts.moduleMetrics?.snapshot() ?? {}),
    };
  }

  modulePrometheus(): string {
    return this.opts.moduleMetrics?.prometheus() ?? '';
  }

  // ---- master link ------------------------------------------------------------------------------

  private hostname(): string {
    return this.opts.hostname ?? os.hostname();
  }

  private total(): Resource[] {
    return mergeResources(this.given, this.detected, [...this.provided.values()].flat());
  }

  // The agent as hooks see it.
  private info(): AgentInfo {
    return { hostname: this.hostname(), port: this.endpoint.port, resources: this.total(), attributes: this.attributes, ...(this.agentId ? { id: { value: this.agentId } } : {}) };
  }

  private connect(): void {
    if (this.stopped) return;
    const client = new AgentLinkClient({ ...this.opts.link, log: this.log.child('master-link'), onMessage: (msg) => this.link === client && this.onMessage(msg) });
    this.link = client;
    client.on('connected', () => {
      if (this.link !== client) return;
      if (this.unreachable) this.log.info(`reached the master ${this.opts.master} after ${Math.round((Date.now() - this.unreachable.since) / 1000)} s`);
      this.unreachable = undefined;
      this.register(client);
    });
    client.on('disconnected', ({ wasConnected, error, retryInMs }) => {
      if (this.link !== client) return;
      if (wasConnected) this.log.warn(`lost the master ${this.opts.master}${error ? `: ${error.message}` : ''}; reconnecting`);
      else this.masterUnreachable(error, retryInMs);
      this.registeredNow = false;
      clearTimeout(this.pingTimer);
    });
    client.connect(this.opts.master);
  }

  // A master that cannot be reached is a warning at once and then every 30 s (with how long and how often),
  // so that an agent pointed at the wrong --master says so instead of waiting in silence.
  private masterUnreachable(error: Error | undefined, retryInMs: number | undefined): void {
    const now = Date.now();
    const u = (this.unreachable ??= { since: now, warnedAt: 0, attempts: 0 });
    u.attempts++;
    const why = error ? `: ${error.message}` : '';
    if (now - u.warnedAt < UNREACHABLE_WARN_EVERY_MS) return this.log.debug(`master ${this.opts.master} not reachable${why}; retrying in ${retryInMs} ms`);
    u.warnedAt = now;
    const since = u.attempts > 1 ? ` (${u.attempts} attempts over ${Math.round((now - u.since) / 1000)} s)` : '';
    this.log.warn(`cannot reach the master ${this.opts.master}${since}${why}; still trying: check --master and that the master runs there`);
  }

  // A new link: the old stream is dropped (as when the master stopped answering).
  private relink(why: string): void {
    this.log.warn(`${why}; reconnecting to ${this.opts.master}`);
    this.registeredNow = false;
    this.link?.destroy();
    this.link = undefined;
    this.connect();
  }

  private register(client: AgentLinkClient): void {
    const agent_info: AgentInfo = { hostname: this.hostname(), port: this.endpoint.port, resources: this.total(), attributes: this.attributes };
    if (this.agentId === undefined) {
      client.send({ register: { agent_info, version: CORE_VERSION, capabilities: AGENT_CAPABILITIES } });
      return;
    }
    agent_info.id = { value: this.agentId };
    client.send({ reregister: { agent_info, tasks: this.tasks.liveTasks(), frameworks: this.tasks.liveFrameworks(), version: CORE_VERSION, capabilities: AGENT_CAPABILITIES } });
  }

  private onMessage(msg: MasterMessage): void {
    if (this.stopped) return;
    this.counters.masterMessages++;
    if (msg.registered) return this.onRegistered(msg.registered.agent_id.value, msg.registered.ping_interval_seconds);
    if (msg.ping) {
      this.link?.send({ pong: { seq: msg.ping.seq } });
      this.armPingWatch();
      return;
    }
    if (msg.refused) {
      this.log.error(`TSR_AGENT_REFUSED: the master ${this.opts.master} refused this agent: ${msg.refused.message}`);
      return;
    }
    if (!this.registeredNow) return; // nothing but registration is valid before it
    if (msg.run_task) this.tasks.run(msg.run_task.framework, msg.run_task.task);
    else if (msg.kill_task) this.tasks.kill(msg.kill_task.framework_id.value, msg.kill_task.task_id.value, msg.kill_task.kill_policy);
    else if (msg.shutdown_framework) this.tasks.shutdownFramework(msg.shutdown_framework.framework_id.value);
    else if (msg.status_update_ack) this.sum.acknowledge(msg.status_update_ack.framework_id.value, msg.status_update_ack.task_id.value, msg.status_update_ack.uuid);
  }

  private onRegistered(id: string, pingIntervalSeconds: number | undefined): void {
    const again = this.agentId !== undefined;
    if (this.agentId !== id) {
      if (this.agentId) this.log.warn(`the master gave agent id ${id} instead of ${this.agentId}; using the new id`);
      this.agentId = id;
      const info: AgentInfo = { hostname: this.hostname(), port: this.endpoint.port, resources: this.total(), attributes: this.attributes, id: { value: id } };
      this.opts.checkpoint.durable({ op: 'agent', id, info }).catch((err) => this.log.error(`agent id ${id} not checkpointed: ${(err as Error).message}`));
    }
    this.registeredNow = true;
    if (again) this.counters.reregistrations++;
    else this.counters.registrations++;
    this.log.info(`${again ? 're-registered' : 'registered'} with master ${this.opts.master} as agent ${id}`);
    if (pingIntervalSeconds && pingIntervalSeconds > 0) this.pingIntervalMs = pingIntervalSeconds * 1000;
    this.armPingWatch();
    // The total may have changed while the stream was being set up (a module reported resources).
    const total = JSON.stringify(this.total());
    if (total !== this.lastTotal) {
      this.lastTotal = total;
      this.link?.send({ resources_changed: { total: this.total() } });
    }
    this.sum.resendAll();
    for (const w of this.waiters.splice(0)) w(id);
  }

  // A master that stops pinging is gone even if the connection looks open (Mesos: ping timeout).
  private armPingWatch(): void {
    clearTimeout(this.pingTimer);
    const missed = this.opts.missedPingsBeforeReconnect ?? 5;
    const timeoutMs = this.pingIntervalMs * missed + 1000;
    this.pingTimer = setTimeout(() => {
      this.counters.pingTimeouts++;
      this.relink(`no ping from the master for ${Math.round(timeoutMs / 1000)} s`);
    }, timeoutMs);
    this.pingTimer.unref();
  }
}
