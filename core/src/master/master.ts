/**
 * The master: frameworks, agents, tasks and offers, with Mesos's semantics. Offers come from the
 * allocator module over the AllocatorLink; agents speak the agent protocol; frameworks speak the
 * scheduler API through the HTTP layer, which hands calls here already decoded and checked for shape.
 *
 * Everything runs on one event loop and every method is synchronous: a call either changes the state
 * and answers, or throws a MasterError with the HTTP status Mesos uses. The one wait: with a registry
 * (`--work_dir`), an agent is admitted once the registry write holding it is durable (one fsync per
 * event-loop turn for all agents registering in it). Recovery after a restart is in recovery.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Allocation } from '@tessera/modules-api';
import { AllocatorLink, type AllocatorModule } from '../allocator/allocator-link';
import { registeredEncoder } from '../agent-protocol/protocol';
import type { AgentConnection, AgentLinkHandler } from '../agent-protocol/server';
import type { AgentMessage, Reregister, StatusUpdate } from '../agent-protocol/messages';
import type { Log } from '../log';
import { setLongTimeout } from '../long-timer';
import { frameworkProblem } from './framework-validation';
import { MasterError, SubscriptionRefused } from './master-error';
import { fromAbiResource, rolesOf, toAbiAgentInfo, toAbiFramework, toAbiResource } from './model/abi';
import { IdGenerator } from './model/ids';
import { TERMINAL_STATES, type FrameworkInfo, type Id, type MasterInfo, type Offer, type OfferOperation, type Resource, type Task, type TaskInfo, type TaskState, type TaskStatus } from './model/mesos';
import { ResourceBag, sumScalars } from './model/resources';
import { agentTotal, commitConversions } from './agent-reservations';
import type { MasterHooks } from './hooks';
import { applyConversion, downgradeResource, reserve, unreserve, upgradeResource, type Conversion } from './reservations';
import { toAbiQuota, type RoleQuota } from './quota';
import { forgetRecoveredAgent, recordChanges, recover, syncReregisteredTasks } from './recovery';
import type { Registry } from './registry';
import { taskKey, type AgentRecord, type FrameworkRecord, type OfferRecord, type RecoveredAgent, type Subscriber, type TaskRecord } from './state';

/** MasterOptions configure a master. */
export interface MasterOptions {
  /** What the master says about itself (SUBSCRIBED, GET_MASTER). */
  info: MasterInfo;
  /** The allocator module (supervised). */
  allocator: AllocatorModule;
  log: Log;
  /** Seconds between HEARTBEAT events (Mesos: 15; 5 is safe for clients that time out after 10). */
  heartbeatIntervalSeconds?: number;
  /** Milliseconds between allocation ticks (Mesos --allocation_interval, 1 s). */
  allocationIntervalMs?: number;
  /** Milliseconds between pings to each agent (--agent_ping_timeout, 15 s). */
  agentPingTimeoutMs?: number;
  /** Unanswered pings before an agent is removed (--max_agent_ping_timeouts, 5). */
  maxAgentPingTimeouts?: number;
  /** Milliseconds after which an unanswered offer is rescinded (--offer_timeout; none by default). */
  offerTimeoutMs?: number;
  /** Upper bound on a framework's failover_timeout, seconds (--framework_failover_timeout; none by default, as Mesos). */
  maxFailoverTimeoutSeconds?: number;
  /** Mints ids (tests pass their own). */
  ids?: IdGenerator;
  /**
   * The durable registry (`--work_dir`): the master recovers agents and frameworks from it on start()
   * and records admissions and removals in it before answering them. Without one, nothing survives a
   * restart.
   */
  registry?: Registry;
  /** Milliseconds recovered agents have to re-register after a restart (--agent_reregister_timeout, 10 min). */
  agentReregisterTimeoutMs?: number;
  /** The hook modules of `--hooks` (hooks.ts); without label decorators launches stay synchronous. */
  hooks?: MasterHooks;
}

const COMPLETED_TASKS_KEPT = 1000;
const COMPLETED_FRAMEWORKS_KEPT = 50;

/**
 * MasterEvents are what the operator API's SUBSCRIBE stream and the registry follow. Each fires after
 * the state changed.
 */
export interface MasterEvents {
  taskAdded: [task: Task];
  taskUpdated: [task: Task, status: TaskStatus];
  frameworkAdded: [framework: FrameworkRecord];
  frameworkUpdated: [framework: FrameworkRecord];
  frameworkRemoved: [framework: FrameworkRecord];
  agentAdded: [agent: AgentRecord];
  agentRemoved: [agent: AgentRecord];
}
const now = (): number => Date.now() / 1000;

/** Master holds the cluster's state; see the module comment. */
export class Master extends EventEmitter<MasterEvents> implements AgentLinkHandler {
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly offers = new Map<string, OfferRecord>();
  /** Agents from the registry that have not re-registered since the master started. */
  readonly recoveredAgents = new Map<string, RecoveredAgent>();
  /** Quotas by role (Mesos's `master->quotas`); changed by quota-changes.ts, kept in the registry. */
  readonly quotas = new Map<string, RoleQuota>();
  /** The weights operators set, by role (Mesos's `master->weights`); roles absent weigh 1. See weights.ts. */
  readonly weights = new Map<string, number>();
  // Agents known from the registry that re-registered since this master started (for the log).
  private reregisteredSinceRestart = 0;
  readonly ids: IdGenerator;
  readonly link: AllocatorLink;
  private readonly byConnection = new Map<number, AgentRecord>();
  /** Connections whose (re-)registration waits for the registry write; their other messages wait too. */
  private readonly admitting = new Map<number, { agentId: string; queued: AgentMessage[]; closed: boolean }>();
  private registered: { info: MasterInfo; encode: (agentId: string) => Buffer } | undefined;
  private stopped = false;
  /** Frameworks removed in this run (the latest 1,000): an agent that re-registers with their tasks is told to shut them down. */
  private readonly removedFrameworks = new Set<string>();
  /** The latest removed frameworks with their tasks, for /state and GET_FRAMEWORKS (Mesos --max_completed_frameworks, 50). */
  readonly completedFrameworks: FrameworkRecord[] = [];
  /**
   * Tasks whose terminal update the framework has not acknowledged yet (key: taskKey), with the agent and
   * the update's uuid. As Mesos keeps such a task until the acknowledgement, its id cannot be launched
   * again meanwhile (the agent would otherwise drop the unacknowledged update).
   */
  private readonly unackedTerminal = new Map<string, { frameworkId: string; agentId: string; uuid: Buffer | undefined }>();
  private tickTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingSeq = 0;
  readonly startTime = now();
  /** Counters for /metrics. */
  readonly counters = { offersSent: 0, offersDeclined: 0, offersRescinded: 0, tasksLaunched: 0, invalidCalls: 0, statusUpdates: 0 };

  constructor(readonly opts: MasterOptions) {
    super();
    this.ids = opts.ids ?? new IdGenerator(opts.info.id);
    this.link = new AllocatorLink({
      module: opts.allocator,
      snapshot: () => this.allocatorSnapshot(),
      onOffers: (allocations) => this.onOffers(allocations),
      log: opts.log.child('allocator-link'),
    });
    if (opts.registry) recordChanges(this, opts.registry);
  }

  /** Whether stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Opens the allocator stream and starts the allocation and ping timers. */
  start(): void {
    // Before the allocator stream opens, so its first snapshot holds the recovered frameworks.
    if (this.opts.registry) recover(this, this.opts.registry);
    this.link.open();
    this.tickTimer = setInterval(() => this.link.tick(), this.opts.allocationIntervalMs ?? 1000);
    this.pingTimer = setInterval(() => this.pingAgents(), this.opts.agentPingTimeoutMs ?? 15_000);
  }

  /** Stops timers, closes streams. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearInterval(this.pingTimer);
    for (const f of this.frameworks.values()) {
      f.failoverTimer?.cancel();
      clearInterval(f.heartbeat);
      f.subscriber?.close();
    }
    for (const a of this.agents.values()) {
      clearTimeout(a.removalTimer);
      a.conn?.close('master stopping');
    }
    for (const o of this.offers.values()) clearTimeout(o.timer);
    for (const r of this.recoveredAgents.values()) clearTimeout(r.timer);
    this.link.close();
  }

  // ---- allocator ------------------------------------------------------------------------------

  private allocatorSnapshot() {
    return {
      agents: [...this.agents.values()].map((a) => ({ info: toAbiAgentInfo(a.info), total: a.total.map(toAbiResource), used: usedByFramework(a), active: a.conn !== undefined, capabilities: a.capabilities })),
      frameworks: [...this.frameworks.values()].map((f) => toAbiFramework(f.info, f.subscriber !== undefined, [...f.suppressedRoles])),
      outstandingOffers: [...this.offers.values()].map((o) => ({ frameworkId: o.frameworkId, agentId: o.agentId, role: o.role, resources: (o.offer.resources ?? []).map(toAbiResource) })),
      // A fresh allocator (a restarted module, a reopened stream) knows quotas and weights from here only.
      quotas: [...this.quotas.values()].map(toAbiQuota),
      weights: [...this.weights].map(([role, weight]) => ({ role, weight })),
    };
  }

  private onOffers(allocations: Allocation[]): void {
    const byFramework = new Map<string, Offer[]>();
    for (const a of allocations) {
      const framework = this.frameworks.get(a.frameworkId ?? '');
      const agent = this.agents.get(a.agentId ?? '');
      const resources = (a.resources ?? []).map(fromAbiResource);
      if (!framework?.subscriber || !agent?.conn) {
        // Raced with a disconnection or removal: give the resources straight back.
        if (framework && agent) this.link.send({ recoverResources: { frameworkId: framework.id, agentId: agent.id, resources: a.resources ?? [], filters: { refuseSeconds: 0 } } });
        continue;
      }
      const id = this.ids.offer();
      const offer: Offer = {
        id: { value: id },
        framework_id: { value: framework.id },
        agent_id: { value: agent.id },
        hostname: agent.info.hostname,
        url: { scheme: 'http', address: { hostname: agent.info.hostname, ip: agent.conn.remoteAddress, port: agent.info.port ?? 5051 }, path: '/slave(1)' },
        resources,
        attributes: agent.info.attributes ?? [],
        allocation_info: { role: a.role ?? '*' },
      };
      const record: OfferRecord = { offer, frameworkId: framework.id, agentId: agent.id, role: a.role ?? '*' };
      if (this.opts.offerTimeoutMs) record.timer = setTimeout(() => this.rescind(id), this.opts.offerTimeoutMs);
      this.offers.set(id, record);
      framework.offers.add(id);
      agent.offers.add(id);
      // Frameworks without RESERVATION_REFINEMENT read reservations in the format before it (Mesos does the same).
      const refinement = (framework.info.capabilities ?? []).some((c) => c.type === 'RESERVATION_REFINEMENT');
      const sent = refinement ? offer : { ...offer, resources: resources.map(downgradeResource) };
      byFramework.set(framework.id, [...(byFramework.get(framework.id) ?? []), sent]);
    }
    for (const [fid, offers] of byFramework) {
      this.counters.offersSent += offers.length;
      this.frameworks.get(fid)!.subscriber!.send({ type: 'OFFERS', offers: { offers } });
    }
  }

  /** Takes an offer back (timeout, agent lost): RESCIND to the framework, resources to the allocator. */
  rescind(offerId: string, filtersSeconds = 0): void {
    const o = this.removeOffer(offerId);
    if (!o) return;
    this.counters.offersRescinded++;
    this.frameworks.get(o.frameworkId)?.subscriber?.send({ type: 'RESCIND', rescind: { offer_id: { value: offerId } } });
    this.recover(o.frameworkId, o.agentId, o.offer.resources ?? [], { refuse_seconds: filtersSeconds });
  }

  private removeOffer(offerId: string): OfferRecord | undefined {
    const o = this.offers.get(offerId);
    if (!o) return undefined;
    clearTimeout(o.timer);
    this.offers.delete(offerId);
    this.frameworks.get(o.frameworkId)?.offers.delete(offerId);
    this.agents.get(o.agentId)?.offers.delete(offerId);
    return o;
  }

  /** Gives resources a framework held back to the allocator (hooks.ts: a task that did not launch). */
  recoverResources(frameworkId: string, agentId: string, resources: readonly Resource[]): void {
    this.recover(frameworkId, agentId, resources);
  }

  private recover(frameworkId: string, agentId: string, resources: readonly Resource[], filters?: { refuse_seconds?: number }): void {
    if (resources.length === 0) return;
    this.link.send({
      recoverResources: {
        frameworkId,
        agentId,
        resources: resources.map(toAbiResource),
        ...(filters ? { filters: filters.refuse_seconds === undefined ? {} : { refuseSeconds: filters.refuse_seconds } } : {}),
      },
    });
  }

  // ---- frameworks -----------------------------------------------------------------------------

  /**
   * Handles SUBSCRIBE: a new framework, or a re-subscription (which closes the previous stream). A call
   * that is malformed throws a MasterError (400); a framework Mesos would refuse (invalid roles or
   * failover_timeout, one that was removed) throws SubscriptionRefused: its stream gets one ERROR event.
   */
  subscribe(call: { framework_id?: { value: string }; subscribe?: { framework_info?: FrameworkInfo; suppressed_roles?: string[] } }, subscriber: Subscriber): FrameworkRecord {
    const info = call.subscribe?.framework_info;
    if (!info) throw new MasterError(400, 'SUBSCRIBE needs subscribe.framework_info');
    // An empty id is no id (Mesos: `!has_id() || id() == ""`): some clients send one on first subscribe.
    const givenId = info.id?.value || undefined;
    if (call.framework_id?.value && givenId !== call.framework_id.value) {
      throw new MasterError(400, `framework_id '${call.framework_id.value}' differs from subscribe.framework_info.id '${givenId ?? ''}': a re-subscribing framework sets both to its id`);
    }
    const suppressedList = call.subscribe?.suppressed_roles ?? [];
    const problem = frameworkProblem(info, suppressedList);
    if (problem) throw new SubscriptionRefused(problem);
    if (givenId !== undefined && this.removedFrameworks.has(givenId)) throw new SubscriptionRefused('Framework has been removed');
    const roles = rolesOf(info);
    const suppressed = new Set(suppressedList);
    let f = givenId !== undefined ? this.frameworks.get(givenId) : undefined;
    const failover = this.boundedFailover(info, givenId);
    if (f) {
      // Re-subscription: replace the stream (Mesos closes the old one), keep tasks.
      f.failoverTimer?.cancel();
      f.failoverTimer = undefined;
      clearInterval(f.heartbeat);
      const old = f.subscriber;
      f.subscriber = undefined;
      old?.send({ type: 'ERROR', error: { message: 'Framework failed over' } }); // as Mesos tells the stream it replaces
      old?.close();
      f.info = { ...info, failover_timeout: failover, id: { value: f.id } };
      f.suppressedRoles = suppressed;
      f.unregisteredTime = undefined;
      f.recovered = false;
      f.subscriber = subscriber;
      // The allocator knows every framework of master.frameworks, recovered ones included (inactive):
      // they were added when recovered, or are in the snapshot its stream opened with.
      this.link.send({ updateFramework: toAbiFramework(f.info, true, [...suppressed]) });
      this.link.send({ activateFramework: { frameworkId: f.id } });
      this.emit('frameworkUpdated', f);
    } else {
      const id = givenId ?? this.mint(() => this.ids.framework());
      f = { id, info: { ...info, failover_timeout: failover, id: { value: id } }, subscriber, suppressedRoles: suppressed, tasks: new Map(), completedTasks: [], offers: new Set(), registeredTime: now(), recovered: false };
      this.frameworks.set(id, f);
      this.link.send({ addFramework: { framework: toAbiFramework(f.info, true, [...suppressed]), used: [] } });
      this.emit('frameworkAdded', f);
    }
    const heartbeat = this.opts.heartbeatIntervalSeconds ?? 5;
    subscriber.send({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: f.id }, heartbeat_interval_seconds: heartbeat, master_info: this.opts.info } });
    // The first HEARTBEAT at once, as Mesos's heartbeater: a client's timer starts from a heartbeat.
    subscriber.send({ type: 'HEARTBEAT' });
    const fw = f;
    fw.heartbeat = setInterval(() => fw.subscriber?.send({ type: 'HEARTBEAT' }), heartbeat * 1000);
    // Offers the previous stream held are unknown to this one: they go back to the allocator, which
    // may offer them again at once (Mesos's _failoverFramework: "offers are rescinded and regenerated").
    for (const id of [...f.offers]) {
      const o = this.removeOffer(id)!;
      this.recover(f.id, o.agentId, o.offer.resources ?? []);
    }
    this.opts.log.info(`framework ${f.id} (${f.info.name}) subscribed`, { roles });
    return f;
  }

  /**
   * The failover_timeout a framework gets: what it asked for, unless --framework_failover_timeout bounds
   * it (none by default, as Mesos), in which case the master says so in its log.
   */
  boundedFailover(info: FrameworkInfo, id: string | undefined): number {
    const asked = info.failover_timeout ?? 0;
    const max = this.opts.maxFailoverTimeoutSeconds;
    if (max === undefined || asked <= max) return asked;
    this.opts.log.warn(`framework ${id ?? '(new)'} (${info.name}) asks for failover_timeout ${asked} s; --framework_failover_timeout bounds it to ${max} s`);
    return max;
  }

  /** The stream of a framework dropped: it is disconnected until it re-subscribes or its failover_timeout passes. */
  disconnected(frameworkId: string, subscriber: Subscriber): void {
    const f = this.frameworks.get(frameworkId);
    if (!f || f.subscriber !== subscriber) return; // an old stream, already replaced
    if (this.stopped) return; // streams closed by stop(): a stopped master removes nobody (nor from the registry)
    f.subscriber = undefined;
    clearInterval(f.heartbeat);
    f.unregisteredTime = now();
    for (const id of [...f.offers]) this.rescind(id);
    this.link.send({ deactivateFramework: { frameworkId } });
    const timeout = (f.info.failover_timeout ?? 0) * 1000;
    this.opts.log.info(`framework ${frameworkId} disconnected; removing it in ${timeout / 1000} s unless it re-subscribes`);
    f.failoverTimer = setLongTimeout(() => this.removeFramework(frameworkId, 'its failover_timeout passed'), timeout);
  }

  /** Checks a non-SUBSCRIBE call's framework and stream; returns the framework. */
  frameworkFor(frameworkId: string | undefined, streamId: string | undefined): FrameworkRecord {
    if (!frameworkId) throw new MasterError(400, 'the call needs framework_id');
    const f = this.frameworks.get(frameworkId);
    if (!f) throw new MasterError(400, `Framework cannot be found: ${frameworkId}`);
    if (!f.subscriber) throw new MasterError(403, `framework ${frameworkId} is not connected: SUBSCRIBE again first`);
    if (streamId !== f.subscriber.streamId) {
      throw new MasterError(400, streamId ? `the Mesos-Stream-Id '${streamId}' is not the framework's current stream: use the id of the latest SUBSCRIBE` : 'the call needs the Mesos-Stream-Id header of the framework\'s SUBSCRIBE stream');
    }
    return f;
  }

  /**
   * Removes a framework: its tasks are killed, its offers taken back. `tell` is an ERROR event's message
   * for its stream before it closes (Mesos's "Framework has been removed" when an operator tears it down).
   */
  removeFramework(frameworkId: string, why: string, tell?: string): void {
    const f = this.frameworks.get(frameworkId);
    if (!f) return;
    this.opts.log.info(`removing framework ${frameworkId}: ${why}`);
    f.failoverTimer?.cancel();
    clearInterval(f.heartbeat);
    for (const id of [...f.offers]) this.removeOffer(id);
    const agents = new Set([...f.tasks.values()].map((t) => t.agentId));
    for (const agentId of agents) this.agents.get(agentId)?.conn?.send({ shutdown_framework: { framework_id: { value: frameworkId } } });
    for (const t of f.tasks.values()) {
      this.agents.get(t.agentId)?.tasks.delete(taskKey(frameworkId, t.task.task_id.value));
      // Operators see each task end with its framework (Mesos: TASK_KILLED, REASON_FRAMEWORK_REMOVED).
      const status = this.masterStatus({ task_id: t.task.task_id, agent_id: { value: t.agentId } }, 'TASK_KILLED', 'REASON_FRAMEWORK_REMOVED', `framework ${frameworkId} was removed: ${why}`);
      t.task.state = status.state;
      t.task.statuses = [...(t.task.statuses ?? []).slice(-9), status];
      f.completedTasks.push(t.task);
      this.emit('taskUpdated', t.task, status);
    }
    f.tasks.clear();
    f.completedTasks.splice(0, Math.max(0, f.completedTasks.length - COMPLETED_TASKS_KEPT));
    for (const [key, t] of this.unackedTerminal) if (t.frameworkId === frameworkId) this.unackedTerminal.delete(key);
    if (tell !== undefined) f.subscriber?.send({ type: 'ERROR', error: { message: tell } });
    f.subscriber?.close();
    this.frameworks.delete(frameworkId);
    f.subscriber = undefined;
    f.unregisteredTime ??= now();
    this.completedFrameworks.push(f);
    if (this.completedFrameworks.length > COMPLETED_FRAMEWORKS_KEPT) this.completedFrameworks.shift();
    this.removedFrameworks.add(frameworkId);
    if (this.removedFrameworks.size > COMPLETED_TASKS_KEPT) this.removedFrameworks.delete(this.removedFrameworks.values().next().value!);
    this.link.send({ removeFramework: { frameworkId } });
    this.emit('frameworkRemoved', f);
  }

  /** Sends a framework an UPDATE for a status (if it is connected). */
  forwardStatus(frameworkId: string, status: TaskStatus): void {
    this.frameworks.get(frameworkId)?.subscriber?.send({ type: 'UPDATE', update: { status } });
  }

  /** A status made by the master itself (TASK_ERROR, TASK_LOST...), without uuid: needs no ack. */
  masterStatus(task: { task_id: { value: string }; agent_id?: { value: string } }, state: TaskState, reason: string, message: string): TaskStatus {
    return { task_id: task.task_id, state, source: 'SOURCE_MASTER', reason, message, timestamp: now(), ...(task.agent_id ? { agent_id: task.agent_id } : {}) };
  }

  // ---- offers: ACCEPT and DECLINE --------------------------------------------------------------

  /**
   * Handles ACCEPT (one without operations declines its offers; DECLINE itself is decline()): LAUNCH, RESERVE and UNRESERVE apply in
   * order to what the offers hold, as Mesos's `_accept` does; an invalid RESERVE or UNRESERVE is dropped
   * with its error logged, an invalid task gets TASK_ERROR. What is left is recovered with `filters`.
   */
  accept(f: FrameworkRecord, offerIds: { value: string }[], operations: OfferOperation[], filters?: { refuse_seconds?: number }): void {
    // Offer validation (Mesos validation.cpp): each offer exists, is this framework's, one agent, no duplicates.
    const problem = this.offerProblem(f, offerIds);
    if (problem) {
      this.counters.invalidCalls++;
      for (const id of offerIds) {
        const o = this.offers.get(id.value);
        if (o && o.frameworkId === f.id) this.recover(f.id, o.agentId, this.removeOffer(id.value)!.offer.resources ?? [], filters ?? {});
      }
      const partitionAware = (f.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
      for (const op of operations) {
        for (const t of op.type === 'LAUNCH' ? (op.launch?.task_infos ?? []) : []) this.forwardStatus(f.id, this.masterStatus(t, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', 'REASON_INVALID_OFFERS', problem));
      }
      return;
    }
    const records = offerIds.map((id) => this.removeOffer(id.value)!);
    if (records.length === 0) return;
    const agent = this.agents.get(records[0].agentId)!;
    const offered = records.flatMap((o) => o.offer.resources ?? []);
    const remaining = ResourceBag.of(offered);
    // Like Mesos's injectAllocationInfo: resources the framework did not mark get the offers' role
    // (all offers of one ACCEPT come from one agent; with several roles, the framework must say).
    const offerRoles = new Set(records.map((o) => o.role));
    const role = offerRoles.size === 1 ? [...offerRoles][0] : undefined;
    const toLaunch: TaskInfo[] = [];
    const conversions: Conversion[] = [];
    for (const op of operations) {
      if (op.type === 'LAUNCH') {
        for (const task of op.launch?.task_infos ?? []) {
          const error = this.taskProblem(f, agent, task, role, remaining, toLaunch);
          if (error) {
            this.counters.invalidCalls++;
            this.forwardStatus(f.id, this.masterStatus(task, 'TASK_ERROR', 'REASON_TASK_INVALID', error));
            continue;
          }
          remaining.subtract(task.resources ?? []);
          toLaunch.push(task);
        }
      } else if (op.type === 'RESERVE' || op.type === 'UNRESERVE') {
        const ctx = { framework: f.info, offerRole: role, remaining, runningTasks: [...agent.tasks.values()].map((t) => ({ id: t.task.task_id.value, resources: t.task.resources ?? [] })) };
        const result = op.id
          ? { error: `operation feedback (Offer.Operation.id '${op.id.value}') is not supported by this master: leave "id" unset` }
          : op.type === 'RESERVE'
            ? reserve(op.reserve, ctx)
            : unreserve(op.unreserve, ctx);
        if ('error' in result) {
          this.opts.log.warn(`framework ${f.id}: dropping ${op.type} operation on agent ${agent.id}: ${result.error}`);
          continue;
        }
        applyConversion(remaining, result.conversion);
        conversions.push(result.conversion);
      } else if (op.type === 'LAUNCH_GROUP') {
        // Task groups need Mesos's default executor, which agents here do not run: each task is told so
        // (as Mesos answers a group it cannot launch), and its resources stay in the offer.
        this.counters.invalidCalls++;
        const why = 'LAUNCH_GROUP is not supported: Tessera agents run command tasks only (no default executor for task groups); launch each task with a LAUNCH operation';
        for (const task of op.launch_group?.task_group?.tasks ?? []) this.forwardStatus(f.id, this.masterStatus(task, 'TASK_ERROR', 'REASON_TASK_GROUP_INVALID', why));
      } else this.opts.log.warn(`framework ${f.id}: ACCEPT operation ${op.type ?? 'UNKNOWN'} on agent ${agent.id} dropped: this master does not support it (it applies LAUNCH, RESERVE and UNRESERVE)`);
    }
    if (conversions.length) {
      try {
        commitConversions(this, f, agent, conversions, offered, [...remaining.toList(), ...toLaunch.flatMap((t) => t.resources ?? [])]);
      } catch (err) {
        // The registry could not record the reservations: nothing changed; the offers go back.
        this.recover(f.id, agent.id, offered);
        for (const t of toLaunch) this.forwardStatus(f.id, this.masterStatus(t, 'TASK_LOST', 'REASON_INVALID_OFFERS', `the master could not record the reservations of this ACCEPT: ${(err as Error).message}`));
        throw err;
      }
    }
    if (toLaunch.length && this.opts.hooks?.decoratesLaunches) this.opts.hooks.launch(this, f, agent, toLaunch);
    else for (const t of toLaunch) this.launchTask(f, agent, t);
    if (operations.length === 0) this.counters.offersDeclined += records.length;
    this.recover(f.id, agent.id, remaining.toList(), filters ?? {});
  }

  /**
   * Handles DECLINE as Mesos's `Master::decline` does: each offer still held by this framework goes
   * back to the allocator with `filters`, whatever agent it is on (the one-agent rule is ACCEPT's, for
   * operations); an offer that is no longer valid is skipped with a warning, the call still succeeds.
   */
  decline(f: FrameworkRecord, offerIds: { value: string }[], filters?: { refuse_seconds?: number }): void {
    for (const { value } of offerIds) {
      const o = this.offers.get(value);
      if (!o || o.frameworkId !== f.id) {
        this.opts.log.warn(`framework ${f.id}: ignoring DECLINE of offer ${value}: it is no longer valid`);
        continue;
      }
      this.removeOffer(value);
      this.counters.offersDeclined++;
      this.recover(f.id, o.agentId, o.offer.resources ?? [], filters ?? {});
    }
  }

  private offerProblem(f: FrameworkRecord, offerIds: { value: string }[]): string | undefined {
    if (offerIds.length === 0) return 'no offer_ids given';
    const seen = new Set<string>();
    let agentId: string | undefined;
    for (const { value } of offerIds) {
      if (seen.has(value)) return `offer ${value} appears twice`;
      seen.add(value);
      const o = this.offers.get(value);
      if (!o) return `Offer ${value} is no longer valid`;
      if (o.frameworkId !== f.id) return `Offer ${value} has invalid framework ${o.frameworkId} while framework ${f.id} is expected`;
      if (agentId !== undefined && o.agentId !== agentId) return `Aggregated offers must belong to one single agent: offer ${value} is on ${o.agentId}, not ${agentId}`;
      agentId = o.agentId;
    }
    return undefined;
  }

  // Checks a task of an ACCEPT; on success its resources are in the current format with their allocation role.
  private taskProblem(f: FrameworkRecord, agent: AgentRecord, task: TaskInfo, role: string | undefined, remaining: ResourceBag, accepted: readonly TaskInfo[]): string | undefined {
    const id = task.task_id?.value;
    if (!id) return 'task_id is required';
    if (/[\s/]/.test(id) || id === '.' || id === '..') return `task id '${id}' contains whitespace or '/', or is '.' or '..'`;
    if (f.tasks.has(id) || this.unackedTerminal.has(taskKey(f.id, id)) || this.opts.hooks?.isPending(f.id, id) || accepted.some((t) => t.task_id.value === id)) {
      return `Task has duplicate ID: ${id}`;
    }
    const upgraded: Resource[] = [];
    for (const r of task.resources ?? []) {
      const u = upgradeResource(r);
      if (typeof u === 'string') return `Invalid resources: ${u}`;
      // Object.assign, not a spread, for objects a task keeps: V8 gives each object made by a spread at a
      // site that saw many shapes a hidden class of its own (~200 bytes each, two resources per task).
      upgraded.push(role !== undefined && !u.allocation_info ? Object.assign({}, u, { allocation_info: { role } }) : u);
    }
    task.resources = upgraded;
    if (task.agent_id?.value !== agent.id) return `Task uses agent ${task.agent_id?.value ?? '(none)'} but the offers are on agent ${agent.id}`;
    if (!task.command && !task.executor) return 'Task must set either command or executor';
    const resources = task.resources ?? [];
    if (resources.length === 0 || !resources.some((r) => r.type === 'SCALAR' && (r.scalar?.value ?? 0) > 0)) return 'Task uses no resources: give it cpus or mem';
    for (const r of resources) {
      if (r.type === 'SCALAR' && !((r.scalar?.value ?? -1) >= 0)) return `Resource ${r.name} has a negative or invalid value`;
      if (r.name === 'gpus' && r.type === 'SCALAR' && !Number.isInteger(r.scalar?.value ?? 0)) return `Task asks for ${r.scalar?.value} gpus: GPUs are allocated whole, ask for an integer`;
    }
    if (!remaining.contains(resources)) return `Task uses more resources ${describe(resources)} than available ${describe(remaining.toList())}`;
    return undefined;
  }

  /** Launches a checked task (accept(), or hooks.ts once the hooks decorated it). */
  launchTask(f: FrameworkRecord, agent: AgentRecord, info: TaskInfo): void {
    const task: Task = {
      name: info.name,
      task_id: info.task_id,
      framework_id: { value: f.id },
      executor_id: info.task_id,
      agent_id: { value: agent.id },
      state: 'TASK_STAGING',
      resources: info.resources ?? [],
      statuses: [],
      ...(info.labels ? { labels: info.labels } : {}),
      ...(info.container ? { container: info.container } : {}),
      ...(info.kill_policy ? { kill_policy: info.kill_policy } : {}),
      user: info.command?.user ?? f.info.user,
    };
    const record: TaskRecord = { task, frameworkId: f.id, agentId: agent.id };
    f.tasks.set(info.task_id.value, record);
    agent.tasks.set(taskKey(f.id, info.task_id.value), record);
    this.counters.tasksLaunched++;
    agent.conn!.send({ run_task: { framework: f.info, task: info } });
    this.emit('taskAdded', task);
  }

  // ---- agents ---------------------------------------------------------------------------------

  /** Agent protocol: one message from an agent. */
  onMessage(conn: AgentConnection, msg: AgentMessage): void {
    if (this.stopped) return;
    const admitting = this.admitting.get(conn.id);
    if (admitting) {
      // Waits for the admission; a repeated (re-)registration is answered by the first one.
      if (!msg.register && !msg.reregister) admitting.queued.push(msg);
      return;
    }
    if (msg.register) return this.registerAgent(conn, msg.register.agent_info, undefined, msg.register.version, msg.register.capabilities ?? []);
    if (msg.reregister) return this.registerAgent(conn, msg.reregister.agent_info, msg.reregister, msg.reregister.version, msg.reregister.capabilities ?? []);
    const agent = this.byConnection.get(conn.id);
    if (!agent) {
      conn.send({ refused: { message: 'register or reregister first' } });
      conn.close('not registered');
      return;
    }
    if (msg.pong) agent.missedPings = 0;
    else if (msg.status_update) this.onStatusUpdate(agent, msg.status_update);
    else if (msg.resources_changed) {
      agent.total = agentTotal(this, agent.id, agent.info.hostname, msg.resources_changed.total ?? [], agent.total);
      this.link.send({ updateAgent: { agentId: agent.id, total: agent.total.map(toAbiResource), capabilities: agent.capabilities } });
    }
  }

  // Admits an agent once the registry holds it: a new agent only then learns its id, so an id the
  // master answered is never forgotten by a restart. Without a registry, or when the registry already
  // holds the agent as it is, the admission is immediate.
  private registerAgent(conn: AgentConnection, info: AgentRecord['info'], re: Reregister | undefined, version: string | undefined, capabilities: string[]): void {
    const known = re && info.id ? (this.agents.get(info.id.value) ?? this.recoveredAgents.get(info.id.value)) : undefined;
    const id = known?.id ?? (re && info.id?.value ? info.id.value : this.mint(() => this.ids.agent()));
    const registeredTime = known?.registeredTime ?? now();
    const admit = () => this.admitAgent(conn, Object.assign({}, info, { id: { value: id } }), registeredTime, re, version, capabilities);
    const durable = this.opts.registry?.putAgent({ id, info: Object.assign({}, info, { id: { value: id } }), registeredTime });
    if (!durable) return admit();
    const pending = { agentId: id, queued: [] as AgentMessage[], closed: false };
    this.admitting.set(conn.id, pending);
    durable.then(
      () => {
        this.admitting.delete(conn.id);
        if (this.stopped) return;
        if (pending.closed) {
          // Gone before its answer: a new agent never learned this id and registers again with a new one.
          if (!re) this.opts.registry?.removeAgent(id)?.catch(() => undefined);
          return;
        }
        admit();
        for (const msg of pending.queued) this.onMessage(conn, msg);
      },
      (err: Error) => {
        this.admitting.delete(conn.id);
        this.opts.log.error(`agent ${id} (${info.hostname}) not admitted: ${err.message}`);
        conn.send({ refused: { message: `the master could not record the agent in its registry: ${err.message}` } });
        conn.close('registry write failed');
      },
    );
  }

  /** The encoded `registered` answer for an agent: the part every agent gets is encoded once per master info. */
  private registeredAnswer(agentId: string): Buffer {
    const info = this.opts.info;
    if (this.registered?.info !== info) {
      this.registered = { info, encode: registeredEncoder({ master_info: info, ping_interval_seconds: (this.opts.agentPingTimeoutMs ?? 15_000) / 1000 }) };
    }
    return this.registered.encode(agentId);
  }

  /** Whether an agent's (re-)registration is waiting for the registry write. */
  isAdmitting(agentId: string): boolean {
    for (const p of this.admitting.values()) if (p.agentId === agentId) return true;
    return false;
  }

  private admitAgent(conn: AgentConnection, info: AgentRecord['info'], registeredTime: number, re: Reregister | undefined, version: string | undefined, capabilities: string[]): void {
    const id = info.id!.value;
    let agent = re ? this.agents.get(id) : undefined;
    let shutdown: string[] = [];
    let recoveredNow = false;
    if (agent) {
      clearTimeout(agent.removalTimer);
      if (agent.conn && agent.conn.id !== conn.id) {
        this.byConnection.delete(agent.conn.id);
        agent.conn.close('the agent re-registered on a new connection');
      }
      agent.conn = conn;
      agent.info = info;
      agent.total = agentTotal(this, id, info.hostname, info.resources ?? [], agent.total);
      agent.reregisteredTime = now();
      agent.missedPings = 0;
      this.link.send({ updateAgent: { agentId: agent.id, total: agent.total.map(toAbiResource), capabilities } });
      this.link.send({ activateAgent: { agentId: agent.id } });
    } else {
      const recovered = this.recoveredAgents.get(id);
      if (recovered) {
        clearTimeout(recovered.timer);
        this.recoveredAgents.delete(id);
        recoveredNow = true;
      }
      agent = { id, info, total: agentTotal(this, id, info.hostname, info.resources ?? []), conn, tasks: new Map(), offers: new Set(), registeredTime, version, capabilities, missedPings: 0 };
      if (re) {
        agent.reregisteredTime = now();
        shutdown = this.adoptTasks(agent, re);
      }
      this.agents.set(id, agent);
      if (re && this.opts.registry) syncReregisteredTasks(this, this.opts.registry, agent, recovered !== undefined);
      this.emit('agentAdded', agent);
      this.link.send({ addAgent: { info: toAbiAgentInfo(agent.info), total: agent.total.map(toAbiResource), used: usedByFramework(agent), active: true, capabilities } });
    }
    this.byConnection.set(conn.id, agent);
    conn.send(this.registeredAnswer(agent.id));
    for (const frameworkId of shutdown) conn.send({ shutdown_framework: { framework_id: { value: frameworkId } } });
    if (!recoveredNow) this.opts.log.info(`agent ${agent.id} (${agent.info.hostname}) ${re ? 're-registered' : 'registered'}`, { tasks: agent.tasks.size });
    else {
      // After a restart every agent comes back within seconds: one line each would cost the master a
      // synchronous write per agent in its busiest moment. Each is a debug line; info says when all are back.
      this.opts.log.debug(`agent ${agent.id} (${agent.info.hostname}) re-registered after the master's restart`, { tasks: agent.tasks.size });
      this.reregisteredSinceRestart++;
      if (this.recoveredAgents.size === 0) this.opts.log.info(`all ${this.reregisteredSinceRestart} agents known from the registry re-registered after the master's restart`);
    }
  }

  // A re-registering agent the master does not know (the master restarted): take its tasks, and its
  // frameworks as recovered placeholders until they re-subscribe. Returns the frameworks removed
  // meanwhile (e.g. their failover_timeout passed before this agent came back): their tasks must go.
  private adoptTasks(agent: AgentRecord, re: Reregister): string[] {
    const removed = new Set<string>();
    for (const fi of re.frameworks ?? []) {
      const id = fi.id?.value;
      if (id && this.removedFrameworks.has(id)) removed.add(id);
      if (!id || this.frameworks.has(id) || this.removedFrameworks.has(id)) continue;
      const f: FrameworkRecord = { id, info: fi, suppressedRoles: new Set(), tasks: new Map(), completedTasks: [], offers: new Set(), registeredTime: now(), recovered: true };
      this.frameworks.set(id, f);
      this.link.send({ addFramework: { framework: toAbiFramework(fi, false, []), used: [] } });
      this.emit('frameworkAdded', f);
    }
    const agentId = { value: agent.id };
    for (const task of re.tasks ?? []) {
      if (TERMINAL_STATES.has(task.state)) continue;
      if (this.removedFrameworks.has(task.framework_id.value)) removed.add(task.framework_id.value);
      const f = this.frameworks.get(task.framework_id.value);
      if (!f) continue;
      // The decoded message is the master's own: the task is kept as it came, with the agent's id.
      task.agent_id = agentId;
      shareRepeats(task, f.info.id);
      const record: TaskRecord = { task, frameworkId: f.id, agentId: agent.id };
      f.tasks.set(task.task_id.value, record);
      agent.tasks.set(taskKey(f.id, task.task_id.value), record);
    }
    return [...removed];
  }

  private onStatusUpdate(agent: AgentRecord, update: StatusUpdate): void {
    this.counters.statusUpdates++;
    const frameworkId = update.framework_id.value;
    const status = Object.assign({}, update.status, { agent_id: { value: agent.id } });
    const key = taskKey(frameworkId, status.task_id.value);
    // The task's state is the latest the agent knows (an agent waits for the framework's acknowledgement
    // of one update before it sends the next, but says the latest state along with it), as Mesos.
    const latest = update.latest_state ?? status.state;
    const terminalUuid = TERMINAL_STATES.has(status.state) && status.uuid ? Buffer.from(status.uuid) : undefined;
    const record = agent.tasks.get(key);
    if (record) {
      const changed = record.task.state !== latest;
      record.task.state = latest;
      record.task.status_update_state = status.state;
      if (status.uuid) record.task.status_update_uuid = status.uuid;
      record.task.statuses = [...(record.task.statuses ?? []).slice(-9), status];
      if (TERMINAL_STATES.has(latest)) {
        agent.tasks.delete(key);
        // Its id stays taken until the framework acknowledges the terminal update itself (its uuid is
        // known once that update comes, when the state came as latest_state of an earlier one).
        if (status.uuid) this.unackedTerminal.set(key, { frameworkId, agentId: agent.id, uuid: terminalUuid });
        const f = this.frameworks.get(frameworkId);
        f?.tasks.delete(status.task_id.value);
        if (f) {
          f.completedTasks.push(record.task);
          if (f.completedTasks.length > COMPLETED_TASKS_KEPT) f.completedTasks.shift();
        }
        this.recover(frameworkId, agent.id, record.task.resources ?? []);
      }
      // Operators (the SUBSCRIBE stream, the registry) hear of changes, not of the agent's retries.
      if (changed) this.emit('taskUpdated', record.task, status);
    } else if (terminalUuid) {
      const pending = this.unackedTerminal.get(key);
      if (pending && pending.agentId === agent.id && pending.uuid === undefined) pending.uuid = terminalUuid;
    }
    // Forwarded every time the agent sends it: the agent retries until the framework acknowledges.
    this.forwardStatus(frameworkId, status);
  }

  /** acknowledged forgets a terminal task once the framework acknowledged its terminal update (its id may then be reused). */
  acknowledged(frameworkId: string, agentId: string, taskId: string, uuid: Buffer): void {
    const key = taskKey(frameworkId, taskId);
    const t = this.unackedTerminal.get(key);
    if (t && t.agentId === agentId && t.uuid?.equals(uuid)) this.unackedTerminal.delete(key);
  }

  /** Agent protocol: the connection ended. */
  onDisconnect(conn: AgentConnection): void {
    if (this.stopped) return; // stop() closed it: a stopped master removes nobody (nor from the registry)
    const admitting = this.admitting.get(conn.id);
    if (admitting) admitting.closed = true;
    const agent = this.byConnection.get(conn.id);
    this.byConnection.delete(conn.id);
    if (!agent || agent.conn?.id !== conn.id) return;
    agent.conn = undefined;
    for (const id of [...agent.offers]) this.rescind(id);
    this.link.send({ deactivateAgent: { agentId: agent.id } });
    const grace = (this.opts.agentPingTimeoutMs ?? 15_000) * (this.opts.maxAgentPingTimeouts ?? 5);
    this.opts.log.warn(`agent ${agent.id} disconnected; removing it in ${grace / 1000} s unless it re-registers`);
    agent.removalTimer = setTimeout(() => this.removeAgent(agent.id, 'it did not re-register in time'), grace);
  }

  private pingAgents(): void {
    const seq = ++this.pingSeq;
    for (const agent of [...this.agents.values()]) {
      if (!agent.conn) continue;
      if (agent.missedPings >= (this.opts.maxAgentPingTimeouts ?? 5)) {
        this.removeAgent(agent.id, `it missed ${agent.missedPings} pings`);
        continue;
      }
      agent.missedPings++;
      agent.conn.send({ ping: { seq } });
    }
  }

  /**
   * Removes an agent: its tasks become TASK_UNREACHABLE (partition-aware frameworks) or TASK_LOST.
   * Works for a recovered agent too (its tasks are the ones the registry knows).
   */
  removeAgent(agentId: string, why: string): void {
    if (this.recoveredAgents.has(agentId) && this.opts.registry) return forgetRecoveredAgent(this, this.opts.registry, agentId, why);
    const agent = this.agents.get(agentId);
    if (!agent) return;
    this.opts.log.warn(`removing agent ${agentId}: ${why}`);
    clearTimeout(agent.removalTimer);
    for (const id of [...agent.offers]) this.rescind(id);
    for (const t of agent.tasks.values()) {
      const f = this.frameworks.get(t.frameworkId);
      f?.tasks.delete(t.task.task_id.value);
      const partitionAware = (f?.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
      const status = this.masterStatus({ task_id: t.task.task_id, agent_id: { value: agentId } }, partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST', 'REASON_AGENT_REMOVED', `agent ${agentId} removed: ${why}`);
      t.task.state = status.state;
      f?.completedTasks.push(t.task);
      this.forwardStatus(t.frameworkId, status);
      this.emit('taskUpdated', t.task, status);
    }
    if (agent.conn) {
      this.byConnection.delete(agent.conn.id);
      agent.conn.close(`removed: ${why}`);
    }
    this.agents.delete(agentId);
    for (const [key, t] of this.unackedTerminal) if (t.agentId === agentId) this.unackedTerminal.delete(key);
    this.link.send({ removeAgent: { agentId } });
    this.agentFailure(agentId);
    this.opts.hooks?.agentLost(agent.id, agent.info, agent.total);
    this.emit('agentRemoved', agent);
  }

  /** agentFailure tells every connected framework that an agent is gone (FAILURE with its agent_id), as Mesos does. */
  agentFailure(agentId: string): void {
    for (const f of this.frameworks.values()) f.subscriber?.send({ type: 'FAILURE', failure: { agent_id: { value: agentId } } });
  }

  /** Whether a task ended and its terminal update waits for the framework's acknowledgement. */
  awaitsAcknowledgement(frameworkId: string, taskId: string): boolean {
    return this.unackedTerminal.has(taskKey(frameworkId, taskId));
  }

  /**
   * The agent a task runs on when that agent is recovered and has not re-registered yet: the master
   * cannot say anything about the task until it does (or is removed).
   */
  recoveringAgentOf(frameworkId: string, taskId: string): string | undefined {
    const agentId = this.opts.registry?.agentOf(frameworkId, taskId);
    return agentId !== undefined && this.recoveredAgents.has(agentId) ? agentId : undefined;
  }

  // Ids carry the master id, new per run, so a minted id cannot be one recovered from an earlier run;
  // the check covers a generator given a fixed master id (tests).
  private mint(next: () => string): string {
    for (;;) {
      const id = next();
      if (!this.frameworks.has(id) && !this.agents.has(id) && !this.recoveredAgents.has(id) && !this.opts.registry?.agents.has(id) && !this.opts.registry?.frameworks.has(id)) return id;
    }
  }

  /** A fresh uuid for master-side bookkeeping (stream ids). */
  static streamId(): string {
    return randomUUID();
  }

  /** A 16-byte uuid. */
  static uuid(): Buffer {
    return randomBytes(16);
  }
}

function describe(resources: readonly Resource[]): string {
  return resources
    .map((r) => `${r.name}${r.reservations?.length ? `(${r.reservations[r.reservations.length - 1].role})` : ''}:${r.type === 'SCALAR' ? r.scalar?.value : r.type === 'RANGES' ? `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(',')}]` : `{${(r.set?.item ?? []).join(',')}}`}`)
    .join(';');
}

// Mesos's role name rules (roles.cpp): not empty, not "." or "..", no leading "-", no whitespace or
// control characters, and each "/"-separated component the same.
/** usedByFramework is what an agent's tasks use, per framework, as the allocator ABI takes it: summed (sumScalars), as Mesos's allocator takes used Resources. */
function usedByFramework(agent: AgentRecord): Array<{ frameworkId: string; resources: ReturnType<typeof toAbiResource>[] }> {
  const byFw = new Map<string, Resource[]>();
  for (const t of agent.tasks.values()) {
    const list = byFw.get(t.frameworkId);
    if (list) list.push(...(t.task.resources ?? []));
    else byFw.set(t.frameworkId, [...(t.task.resources ?? [])]);
  }
  return [...byFw].map(([frameworkId, rs]) => ({ frameworkId, resources: sumScalars(rs).map(toAbiResource) }));
}

/**
 * shareRepeats makes the values a re-registered task repeats one object each: its executor's and its
 * statuses' task ids, its statuses' agent id (the task's, already the agent's own), its framework id
 * (the framework's) and its status_update_uuid (its last status's uuid). Decoding made a copy of each;
 * a task keeps ~40% less heap without them, which is what the GC copies while thousands of agents
 * re-register after a restart. Safe because the master never changes an id or uuid in place: it
 * replaces them.
 */
function shareRepeats(task: Task, frameworkId: Id | undefined): void {
  const id = task.task_id;
  const agentId = task.agent_id;
  if (frameworkId && task.framework_id.value === frameworkId.value) task.framework_id = frameworkId;
  if (task.executor_id?.value === id.value) task.executor_id = id;
  const statuses = task.statuses ?? [];
  for (const s of statuses) {
    if (s.task_id.value === id.value) s.task_id = id;
    if (agentId && s.agent_id?.value === agentId.value) s.agent_id = agentId;
    if (s.executor_id?.value === id.value) s.executor_id = id;
  }
  const last = statuses[statuses.length - 1];
  if (last?.uuid && task.status_update_uuid?.equals(last.uuid)) task.status_update_uuid = last.uuid;
}
