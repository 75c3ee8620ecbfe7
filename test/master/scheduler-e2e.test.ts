// The master end to end: a real master (with the allocator-drf module process), simulated agents over
// the real agent protocol, and a scheduler client that shares no code with the master.
import http from 'node:http';
import path from 'node:path';
import protobuf from 'protobufjs';
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { waitFor } from '../modules/helpers';
import { raw, SchedulerClient, type Event } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

let running: RunningMaster;
const agents: SimAgent[] = [];
const clients: SchedulerClient[] = [];

beforeAll(async () => {
  running = await runMaster({ ip: '127.0.0.1', port: 0, log: createLog({ level: (process.env.E2E_LOG ?? 'warn') as LogLevel }), allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop()));
  await running.stop();
});

const FRAMEWORK = { user: 'root', name: 'e2e', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 60 };

async function agent(resources = 'cpus:4;mem:4096;ports:[31000-32000]', runMs: number | null = 200): Promise<SimAgent> {
  const a = new SimAgent({ master: running.address, hostname: `sim-${agents.length}`, resources, taskBehaviour: () => ({ runMs }), statusRetryMs: 300 });
  agents.push(a);
  await a.start();
  return a;
}

let current: SchedulerClient[] = [];
afterEach(async () => {
  // Each test's frameworks leave, so the next test's frameworks get the offers.
  await Promise.all(current.map((c) => c.call({ type: 'TEARDOWN' }).catch(() => undefined)));
  current = [];
});

async function framework(info: Record<string, unknown> = FRAMEWORK, autoAck = true): Promise<SchedulerClient> {
  const c = new SchedulerClient(running.address, autoAck);
  clients.push(c);
  current.push(c);
  await c.subscribe(info);
  return c;
}

const launch = (c: SchedulerClient, offer: any, taskId: string, resources = [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 128 } }]) =>
  c.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources, command: { value: 'true' } }] } }],
      filters: { refuse_seconds: 0 },
    },
  });

describe('scheduler API end to end (JSON)', () => {
  it('subscribes, gets offers, launches a task, sees RUNNING and FINISHED, acknowledges them', async () => {
    const a = await agent();
    const c = await framework(FRAMEWORK, false);
    const subscribed = c.events[0];
    expect(subscribed.subscribed.heartbeat_interval_seconds).toBe(1);
    expect(c.streamId).toMatch(/^[0-9a-f-]{36}$/);
    const offers = await c.next((e) => e.type === 'OFFERS');
    const offer = offers.offers.offers[0];
    expect(offer.hostname).toBe('sim-0');
    expect(offer.resources.find((r: any) => r.name === 'cpus').scalar.value).toBe(4);
    expect(offer.allocation_info.role).toBe('*');

    expect((await launch(c, offer, 'task-1')).status).toBe(202);
    // The agent sends the next update of a task only once the previous one is acknowledged.
    const starting = await c.update('task-1', 'TASK_STARTING');
    await c.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: offer.agent_id, task_id: { value: 'task-1' }, uuid: starting.update.status.uuid } });
    const running1 = await c.update('task-1', 'TASK_RUNNING');
    expect(running1.update.status.agent_id.value).toBe(offer.agent_id.value);
    expect(Buffer.from(running1.update.status.uuid, 'base64')).toHaveLength(16);
    expect((await c.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: offer.agent_id, task_id: { value: 'task-1' }, uuid: running1.update.status.uuid } })).status).toBe(202);
    const finished = await c.update('task-1', 'TASK_FINISHED');
    expect((await c.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: offer.agent_id, task_id: { value: 'task-1' }, uuid: finished.update.status.uuid } })).status).toBe(202);
    await waitFor(() => a.tasks().length === 0, 5000, 'the agent to forget the acknowledged task');
    // Heartbeats keep coming.
    await c.next((e) => e.type === 'HEARTBEAT', 3000);
  }, 30_000);

  it('refuses to launch a task id again until its terminal update is acknowledged, as Mesos does', async () => {
    await agent();
    const c = await framework({ ...FRAMEWORK, name: 'reuse' }, false);
    const ack = (e: Event) => c.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: e.update.status.agent_id, task_id: e.update.status.task_id, uuid: e.update.status.uuid } });
    const offer = async (): Promise<any> => (await c.next((e) => e.type === 'OFFERS', 10_000, c.events.length)).offers.offers[0];
    await launch(c, await offer(), 'reused');
    await ack(await c.update('reused', 'TASK_STARTING'));
    await ack(await c.update('reused', 'TASK_RUNNING'));
    const finished = await c.update('reused', 'TASK_FINISHED');
    // The terminal update arrived but is not acknowledged: the master still knows the task.
    let from = c.events.length;
    await launch(c, await offer(), 'reused');
    const err = await c.update('reused', 'TASK_ERROR', from);
    expect(err.update.status).toMatchObject({ reason: 'REASON_TASK_INVALID', message: 'Task has duplicate ID: reused' });
    expect((await ack(finished)).status).toBe(202);
    from = c.events.length;
    await launch(c, await offer(), 'reused');
    await ack(await c.update('reused', 'TASK_STARTING', from));
  }, 30_000);

  it('answers invalid launches with TASK_ERROR and unknown offers with TASK_LOST, as Mesos does', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'invalid' });
    const from = c.events.length;
    const offer = (await c.next((e) => e.type === 'OFFERS', 10_000, from)).offers.offers[0];
    await launch(c, offer, 'too-big', [{ name: 'cpus', type: 'SCALAR', scalar: { value: 999 } }]);
    const err = await c.update('too-big', 'TASK_ERROR');
    expect(err.update.status.reason).toBe('REASON_TASK_INVALID');
    expect(err.update.status.message).toMatch(/more resources/);
    await launch(c, offer, 'stale-offer');
    const lost = await c.update('stale-offer', 'TASK_LOST');
    expect(lost.update.status.reason).toBe('REASON_INVALID_OFFERS');
    expect(lost.update.status.message).toMatch(/no longer valid/);
  }, 30_000);

  it('reconciles: unknown tasks are TASK_LOST; KILL of an unknown task answers TASK_LOST', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'reconcile' });
    await c.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'never' } }] } });
    expect((await c.update('never', 'TASK_LOST')).update.status.reason).toBe('REASON_RECONCILIATION');
    await c.call({ type: 'KILL', kill: { task_id: { value: 'ghost' } } });
    await c.update('ghost', 'TASK_LOST');
  }, 30_000);

  it('answers bad calls with the Mesos status codes', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'codes' });
    expect((await c.call({ type: 'REVIVE' }, { streamId: 'not-the-stream' })).status).toBe(400);
    expect((await c.call({ type: 'REVIVE' }, { streamId: null })).status).toBe(400);
    expect((await c.call({ type: 'REVIVE' }, { contentType: 'text/plain' })).status).toBe(415);
    expect((await raw(running.address, '{"type":', { 'Content-Type': 'application/json' })).status).toBe(400);
    const unknownFw = await raw(running.address, JSON.stringify({ type: 'REVIVE', framework_id: { value: 'nope' } }), { 'Content-Type': 'application/json', 'Mesos-Stream-Id': 'x' });
    expect(unknownFw.status).toBe(400);
    expect(unknownFw.body).toMatch(/Framework cannot be found/);
    expect((await raw(running.address, '', {}, '/api/v1/scheduler', 'GET')).status).toBe(405);
    const subscribeWithStream = await raw(running.address, JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'a', name: 'b' } } }), { 'Content-Type': 'application/json', 'Mesos-Stream-Id': 'x' });
    expect(subscribeWithStream.status).toBe(400);
    const missingUser = await raw(running.address, JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { name: 'b' } } }), { 'Content-Type': 'application/json' });
    expect(missingUser.status).toBe(400);
    expect(missingUser.body).toMatch(/framework_info\.user/);
    const big = await raw(running.address, Buffer.alloc(17 * 1024 * 1024, 32), { 'Content-Type': 'application/json' });
    expect(big.status).toBe(413);
    expect((await c.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...FRAMEWORK, name: 'codes2', id: { value: c.frameworkId } } } })).status).toBe(200);
  }, 30_000);

  it('a second SUBSCRIBE closes the first stream after an ERROR "Framework failed over"; the old stream id stops working', async () => {
    const c1 = await framework({ ...FRAMEWORK, name: 'twice' });
    const c2 = new SchedulerClient(running.address);
    clients.push(c2);
    current.push(c2);
    await c2.subscribe({ ...FRAMEWORK, name: 'twice' }, c1.frameworkId);
    expect(c2.frameworkId).toBe(c1.frameworkId);
    await waitFor(() => c1.closed, 5000, 'the first stream to close');
    expect(c1.events.at(-1)).toEqual({ type: 'ERROR', error: { message: 'Framework failed over' } });
    c2.frameworkId = c1.frameworkId;
    expect((await c1.call({ type: 'REVIVE' })).status).toBe(400);
    expect((await c2.call({ type: 'REVIVE' })).status).toBe(202);
  }, 30_000);

  it('DECLINE takes offers on several agents (Mesos only holds ACCEPT to one agent) and recovers each with its filter', async () => {
    await Promise.all([agent('cpus:1;mem:256', null), agent('cpus:1;mem:256', null)]);
    const c = await framework({ ...FRAMEWORK, name: 'decline-many' });
    const from = c.events.length;
    // Offers of this framework still outstanding, one per agent, across OFFERS events.
    const byAgent = new Map<string, any>();
    const held = () => {
      for (const e of c.events.slice(from)) if (e.type === 'OFFERS') for (const o of e.offers.offers) if (running.master.offers.has(o.id.value)) byAgent.set(o.agent_id.value, o);
      return byAgent.size >= 2;
    };
    await waitFor(held, 10_000, 'offers on two agents');
    const offers = [...byAgent.values()];
    const agentIds = new Set(offers.map((o) => o.agent_id.value));
    const before = { ...running.master.counters };
    const declined = c.events.length;
    const res = await c.call({ type: 'DECLINE', decline: { offer_ids: offers.map((o) => o.id), filters: { refuse_seconds: 3600 } } });
    expect(res.status).toBe(202);
    for (const o of offers) expect(running.master.offers.has(o.id.value)).toBe(false);
    expect(running.master.counters.offersDeclined - before.offersDeclined).toBe(offers.length);
    expect(running.master.counters.invalidCalls).toBe(before.invalidCalls);
    // The resources went back to the allocator: another framework is offered both agents...
    const other = await framework({ ...FRAMEWORK, name: 'decline-other' });
    const seen = new Set<string>();
    await waitFor(() => {
      for (const e of other.events) if (e.type === 'OFFERS') for (const o of e.offers.offers) if (agentIds.has(o.agent_id.value)) seen.add(o.agent_id.value);
      return seen.size === agentIds.size;
    }, 10_000, 'the declined agents offered to another framework');
    // ...while the declining framework's filter keeps them from it for the hour it asked (many allocation cycles here).
    await new Promise((r) => setTimeout(r, 1000));
    const reoffered = c.events.slice(declined).filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers.offers).filter((o: any) => agentIds.has(o.agent_id.value));
    expect(reoffered).toEqual([]);
  }, 30_000);

  it('tells frameworks TASK_LOST and rescinds offers when an agent is removed', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'agent-loss' });
    const a = await agent('cpus:2;mem:1024', null);
    const from = c.events.length;
    const offer = (await c.next((e: Event) => e.type === 'OFFERS' && e.offers.offers.some((o: any) => o.hostname === a['hostname']), 10_000, from)).offers.offers.find((o: any) => o.hostname === a['hostname']);
    await launch(c, offer, 'doomed');
    await c.update('doomed', 'TASK_RUNNING');
    const other = await framework({ ...FRAMEWORK, name: 'bystander' });
    running.master.removeAgent(offer.agent_id.value, 'test');
    const lost = await c.update('doomed', 'TASK_LOST');
    expect(lost.update.status.reason).toBe('REASON_AGENT_REMOVED');
    // Every connected framework is told the agent failed (FAILURE with its id), as Mesos does.
    for (const fw of [c, other]) await fw.next((e: Event) => e.type === 'FAILURE' && e.failure.agent_id.value === offer.agent_id.value && e.failure.executor_id === undefined, 5000);
  }, 30_000);

  it('an operator TEARDOWN tells the framework "Framework has been removed" (ERROR) before its stream closes', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'torn-down' });
    const r = await raw(running.address, JSON.stringify({ type: 'TEARDOWN', teardown: { framework_id: { value: c.frameworkId } } }), { 'Content-Type': 'application/json' }, '/api/v1');
    expect(r.status).toBe(200);
    await waitFor(() => c.closed, 5000, 'the stream to close');
    expect(c.events.at(-1)).toEqual({ type: 'ERROR', error: { message: 'Framework has been removed' } });
  }, 30_000);
});

/** subscribeRaw sends a SUBSCRIBE and reads the stream to its end: status, and the records' events. */
async function subscribeRaw(info: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ status: number; events: Event[]; body: string }> {
  const r = await raw(running.address, JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: info, ...extra } }), { 'Content-Type': 'application/json' });
  const events: Event[] = [];
  for (let rest = r.body; rest.length > 0; ) {
    const nl = rest.indexOf('\n');
    const len = Number(rest.slice(0, nl));
    events.push(JSON.parse(rest.slice(nl + 1, nl + 1 + len)));
    rest = rest.slice(nl + 1 + len);
  }
  return { status: r.status, events, body: r.body };
}

const PARTITION_AWARE = { ...FRAMEWORK, capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }] };

describe('scheduler API: the master behaves as Mesos\'s', () => {
  it('refuses an invalid subscription on its stream (200, one ERROR event, end), as Mesos\'s refuseSubscription', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{ user: 'u', name: 'n', roles: ['a'] }, {}, /'FrameworkInfo.roles' needs the MULTI_ROLE capability/],
      [{ ...FRAMEWORK, roles: ['-bad role'] }, {}, /role '-bad role' is invalid/],
      [{ ...FRAMEWORK, roles: ['a', 'a'] }, {}, /names role 'a' twice/],
      [{ ...FRAMEWORK, role: 'a' }, {}, /'FrameworkInfo.role' must not be set when the framework has the MULTI_ROLE capability/],
      [{ ...FRAMEWORK, failover_timeout: -1 }, {}, /failover_timeout must be a finite number of seconds >= 0, not -1/],
      [FRAMEWORK, { suppressed_roles: ['other'] }, /suppressed role 'other' is not one of the framework's roles \(\*\)/],
    ];
    for (const [info, extra, message] of cases) {
      const r = await subscribeRaw(info, extra);
      expect(r.status).toBe(200);
      expect(r.events).toEqual([{ type: 'ERROR', error: { message: expect.stringMatching(message) } }]);
    }
    // Malformed calls are still 400 (Mesos's call validation), e.g. ids that disagree.
    const mismatch = await raw(running.address, JSON.stringify({ type: 'SUBSCRIBE', framework_id: { value: 'a' }, subscribe: { framework_info: { ...FRAMEWORK, id: { value: 'b' } } } }), { 'Content-Type': 'application/json' });
    expect(mismatch.status).toBe(400);
  }, 30_000);

  it('takes an empty framework id for none (a new framework), and sends the first HEARTBEAT at once', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'empty-id', id: { value: '' } });
    expect(c.frameworkId).toMatch(/-\d{4}$/);
    expect(c.events[1]).toEqual({ type: 'HEARTBEAT' });
    expect((await c.call({ type: 'REVIVE' })).status).toBe(202);
    // Another framework with an empty id is another new framework, not a failover of the first.
    const d = await framework({ ...FRAMEWORK, name: 'empty-id-2', id: { value: '' } });
    expect(d.frameworkId).not.toBe(c.frameworkId);
    expect(c.closed).toBe(false);
  }, 30_000);

  it('refuses a framework that was removed ("Framework has been removed") instead of bringing it back', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'removed' });
    const id = c.frameworkId;
    await c.call({ type: 'TEARDOWN' });
    current.splice(current.indexOf(c), 1);
    const again = await subscribeRaw({ ...FRAMEWORK, name: 'removed', id: { value: id } }, {});
    expect(again.events).toEqual([{ type: 'ERROR', error: { message: 'Framework has been removed' } }]);
    expect(running.master.frameworks.has(id)).toBe(false);
    // It is kept among the completed frameworks (as Mesos, the latest 50), in /state and GET_FRAMEWORKS.
    const state = JSON.parse((await raw(running.address, '', {}, '/state', 'GET')).body);
    expect(state.completed_frameworks.find((f: any) => f.id === id)).toMatchObject({ name: 'removed', active: false, tasks: [] });
    const frameworks = JSON.parse((await raw(running.address, JSON.stringify({ type: 'GET_FRAMEWORKS' }), { 'Content-Type': 'application/json' }, '/api/v1')).body);
    expect(frameworks.get_frameworks.completed_frameworks.map((f: any) => f.framework_info.id.value)).toContain(id);
  }, 30_000);

  it('a re-subscription while the old stream is open gets the offers the old stream held again', async () => {
    const a = await agent('cpus:1;mem:256', null);
    const c1 = await framework({ ...FRAMEWORK, name: 'resub-offers' });
    const onAgent = (e: Event) => e.type === 'OFFERS' && e.offers.offers.some((o: any) => o.hostname === a['hostname']);
    await c1.next(onAgent, 10_000);
    const c2 = new SchedulerClient(running.address);
    clients.push(c2);
    current.push(c2);
    await c2.subscribe({ ...FRAMEWORK, name: 'resub-offers', id: { value: c1.frameworkId } }, c1.frameworkId);
    c2.frameworkId = c1.frameworkId;
    const offer = (await c2.next(onAgent, 10_000)).offers.offers.find((o: any) => o.hostname === a['hostname']);
    expect(running.master.offers.get(offer.id.value)?.frameworkId).toBe(c1.frameworkId);
  }, 30_000);

  it('KILL: forwards its kill_policy; says nothing of a task whose terminal update awaits its ack; answers unknown tasks as reconciliation does', async () => {
    const a = await agent('cpus:2;mem:512', null);
    const kills: any[] = [];
    a.on('message', (m) => m.kill_task && kills.push(m.kill_task));
    const c = await framework({ ...PARTITION_AWARE, name: 'kill-semantics' }, false);
    const ack = (e: Event) => c.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: e.update.status.agent_id, task_id: e.update.status.task_id, uuid: e.update.status.uuid } });
    const offer = (await c.next((e) => e.type === 'OFFERS' && e.offers.offers.some((o: any) => o.hostname === a['hostname']), 10_000)).offers.offers.find((o: any) => o.hostname === a['hostname']);
    await launch(c, offer, 'victim');
    await ack(await c.update('victim', 'TASK_STARTING'));
    await ack(await c.update('victim', 'TASK_RUNNING'));
    const policy = { grace_period: { nanoseconds: 20e9 } };
    await c.call({ type: 'KILL', kill: { task_id: { value: 'victim' }, agent_id: offer.agent_id, kill_policy: policy } });
    await waitFor(() => kills.length === 1, 5000, 'the kill at the agent');
    expect(kills[0]).toMatchObject({ task_id: { value: 'victim' }, kill_policy: policy });
    await c.update('victim', 'TASK_KILLED'); // not acknowledged
    const from = c.events.length;
    await c.call({ type: 'KILL', kill: { task_id: { value: 'victim' }, agent_id: offer.agent_id } });
    // Unknown tasks: on an agent the master knows, TASK_GONE; elsewhere TASK_UNKNOWN (partition-aware).
    await c.call({ type: 'KILL', kill: { task_id: { value: 'nowhere' }, agent_id: offer.agent_id } });
    const gone = await c.update('nowhere', 'TASK_GONE', from);
    expect(gone.update.status).toMatchObject({ reason: 'REASON_RECONCILIATION', agent_id: offer.agent_id, source: 'SOURCE_MASTER' });
    await c.call({ type: 'KILL', kill: { task_id: { value: 'no-agent' } } });
    await c.update('no-agent', 'TASK_UNKNOWN', from);
    // SHUTDOWN of an executor that does not run there: nothing comes back.
    expect((await c.call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: 'no-executor' }, agent_id: offer.agent_id } })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    const updates = c.events.slice(from).filter((e) => e.type === 'UPDATE').map((e) => `${e.update.status.task_id.value} ${e.update.status.state}`);
    expect(updates.filter((u) => !u.startsWith('victim TASK_KILLED'))).toEqual(['nowhere TASK_GONE', 'no-agent TASK_UNKNOWN']);
  }, 30_000);

  it('a task that ended is shown ended and its resources are offered again before the framework acknowledges earlier updates (latest_state)', async () => {
    const a = await agent('cpus:1;mem:256', 100);
    const c = await framework({ ...FRAMEWORK, name: 'latest-state' }, false);
    const offer = (await c.next((e) => e.type === 'OFFERS' && e.offers.offers.some((o: any) => o.hostname === a['hostname']), 10_000)).offers.offers.find((o: any) => o.hostname === a['hostname']);
    const from = c.events.length;
    await launch(c, offer, 'quick', [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]);
    await c.update('quick', 'TASK_STARTING'); // never acknowledged: the agent holds RUNNING and FINISHED behind it
    await waitFor(() => running.master.frameworks.get(c.frameworkId)?.tasks.has('quick') === false, 10_000, 'the master to see the task ended');
    expect(running.master.frameworks.get(c.frameworkId)!.completedTasks.find((t) => t.task_id.value === 'quick')?.state).toBe('TASK_FINISHED');
    // The agent's whole cpu is offered again.
    await c.next((e) => e.type === 'OFFERS' && e.offers.offers.some((o: any) => o.hostname === a['hostname'] && o.resources.some((r: any) => r.name === 'cpus' && r.scalar.value === 1)), 10_000, from);
  }, 30_000);

  it('answers the calls it has nothing for as Mesos does: UNKNOWN 501, inverse offers 202, RECONCILE_OPERATIONS 200 with a Response', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'codes-mesos' });
    expect((await c.call({ type: 'UNKNOWN' })).status).toBe(501);
    expect((await c.call({ type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [{ value: 'x' }] } })).status).toBe(202);
    expect((await c.call({ type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: { inverse_offer_ids: [{ value: 'x' }] } })).status).toBe(202);
    const r = await c.call({ type: 'RECONCILE_OPERATIONS', reconcile_operations: { operations: [{ operation_id: { value: 'op-1' } }] } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ type: 'RECONCILE_OPERATIONS', reconcile_operations: { operation_statuses: [{ operation_id: { value: 'op-1' }, state: 'OPERATION_UNKNOWN', message: expect.any(String) }] } });
  }, 30_000);

  it('UPDATE_FRAMEWORK checks the new FrameworkInfo as SUBSCRIBE does, and keeps user, principal and checkpoint', async () => {
    const c = await framework({ ...FRAMEWORK, name: 'update-checks' });
    const update = (info: Record<string, unknown>) => c.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...FRAMEWORK, id: { value: c.frameworkId }, ...info } } });
    for (const [info, message] of [
      [{ roles: ['-bad role'] }, /role '-bad role' is invalid/],
      [{ failover_timeout: -5 }, /failover_timeout must be a finite number/],
      [{ user: 'someone-else' }, /Updating 'FrameworkInfo.user' is unsupported/],
    ] as const) {
      const r = await update(info);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(message);
    }
    expect((await update({ name: 'renamed', roles: ['*', 'extra'] })).status).toBe(200);
    expect(running.master.frameworks.get(c.frameworkId)!.info).toMatchObject({ name: 'renamed', roles: ['*', 'extra'] });
  }, 30_000);

  it('shows an agent\'s pid with the port it serves HTTP on', async () => {
    const a = await agent('cpus:1;mem:64', null);
    const state = JSON.parse((await raw(running.address, '', {}, '/state', 'GET')).body);
    expect(state.slaves.find((s: any) => s.hostname === a['hostname']).pid).toBe('slave(1)@127.0.0.1:5051');
  }, 30_000);
});

describe('scheduler API end to end (protobuf)', () => {
  it('subscribes and receives SUBSCRIBED and OFFERS as protobuf records, and calls in protobuf are accepted', async () => {
    // Built from the .proto files alone, as a non-JS client generated from them would be.
    const root = new protobuf.Root();
    root.resolvePath = (_o: string, target: string) => path.join(__dirname, '../../core/proto', target);
    root.loadSync(['mesos/v1/scheduler.proto'], { keepCase: true });
    const Call = root.lookupType('mesos.v1.scheduler.Call');
    const Event = root.lookupType('mesos.v1.scheduler.Event');
    await agent('cpus:1;mem:256');
    const body = Buffer.from(Call.encode(Call.fromObject({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name: 'proto-fw' } } })).finish());
    const [host, port] = running.address.split(':');
    const events: any[] = [];
    let streamId = '';
    const req = http.request({ host, port: Number(port), method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' } }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-protobuf');
      streamId = String(res.headers['mesos-stream-id']);
      let buf = Buffer.alloc(0);
      res.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        for (;;) {
          const nl = buf.indexOf(10);
          if (nl < 0) break;
          const len = Number(buf.subarray(0, nl).toString('ascii'));
          if (buf.length < nl + 1 + len) break;
          events.push(Event.toObject(Event.decode(buf.subarray(nl + 1, nl + 1 + len)), { enums: String, longs: Number }));
          buf = buf.subarray(nl + 1 + len);
        }
      });
    });
    req.end(body);
    try {
      await waitFor(() => events.some((e) => e.type === 'OFFERS'), 10_000, 'OFFERS in protobuf');
      const frameworkId = events[0].subscribed.framework_id.value;
      expect(events[0].type).toBe('SUBSCRIBED');
      const offer = events.find((e) => e.type === 'OFFERS').offers.offers[0];
      const decline = Buffer.from(Call.encode(Call.fromObject({ type: 'DECLINE', framework_id: { value: frameworkId }, decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } } })).finish());
      const res = await raw(running.address, decline, { 'Content-Type': 'application/x-protobuf', 'Mesos-Stream-Id': streamId });
      expect(res.status).toBe(202);
      const teardown = Buffer.from(Call.encode(Call.fromObject({ type: 'TEARDOWN', framework_id: { value: frameworkId } })).finish());
      expect((await raw(running.address, teardown, { 'Content-Type': 'application/x-protobuf', 'Mesos-Stream-Id': streamId })).status).toBe(202);
    } finally {
      req.destroy();
    }
  }, 30_000);
});
