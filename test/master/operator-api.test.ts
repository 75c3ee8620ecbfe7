// The operator API (POST /api/v1) and /metrics end to end: a real master with its allocator module,
// simulated agents over the real agent protocol, the independent scheduler client to run tasks, and an
// operator client that shares no code with the master (protobuf through protobufjs from core/proto).
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { CORE_VERSION } from '../../core/src/version';
import { waitFor } from '../modules/helpers';
import { fromProto, masterProto, operatorCall, OperatorStream, post, splitRecords, type Json } from '../support/operator-client';
import { SchedulerClient } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

let running: RunningMaster;
const agents: SimAgent[] = [];
const clients: SchedulerClient[] = [];
const streams: OperatorStream[] = [];

beforeAll(async () => {
  running = await runMaster({
    ip: '127.0.0.1',
    port: 0,
    log: createLog({ level: (process.env.E2E_LOG ?? 'error') as LogLevel }),
    allocationIntervalMs: 100,
    heartbeatIntervalSeconds: 1,
    flags: { port: '0', allocation_interval: '100ms', work_dir: '/var/lib/tessera' },
  });
});
afterAll(async () => {
  for (const s of streams) s.close();
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop()));
  await running.stop();
});

const FRAMEWORK = { user: 'root', name: 'ops', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 60 };
const TASK_RESOURCES = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
];

async function agent(hostname: string, resources = 'cpus:4;mem:4096;ports:[31000-32000]'): Promise<SimAgent> {
  const a = new SimAgent({ master: running.address, hostname, resources, taskBehaviour: () => ({ runMs: null }), statusRetryMs: 300 });
  agents.push(a);
  await a.start();
  return a;
}

async function framework(name: string): Promise<SchedulerClient> {
  const c = new SchedulerClient(running.address, true);
  clients.push(c);
  await c.subscribe({ ...FRAMEWORK, name });
  return c;
}

async function stream(format: 'json' | 'protobuf' = 'json'): Promise<OperatorStream> {
  const s = await OperatorStream.open(running.address, format);
  streams.push(s);
  return s;
}

/** Launches one task on the first offer from `hostname` and waits until it runs. */
async function launchRunning(c: SchedulerClient, hostname: string, taskId: string): Promise<Json> {
  const offers = await c.next((e) => e.type === 'OFFERS' && e.offers.offers.some((o: Json) => o.hostname === hostname));
  const offer = offers.offers.offers.find((o: Json) => o.hostname === hostname);
  const r = await c.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: TASK_RESOURCES, command: { value: 'sleep 1000' } }] } }],
      filters: { refuse_seconds: 0 },
    },
  });
  expect(r.status).toBe(202);
  await c.update(taskId, 'TASK_RUNNING');
  return offer;
}

const scalar = (resources: Json[] | undefined, name: string): number =>
  (resources ?? []).filter((r) => r.name === name).reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);

describe('operator API: every call in JSON', () => {
  let fw: SchedulerClient;
  let agentId: string;

  beforeAll(async () => {
    const a = await agent('ops-a');
    agentId = a.agentId!;
    fw = await framework('ops');
    await launchRunning(fw, 'ops-a', 'op-task-1');
  }, 30_000);
  // Its unanswered offers would hold the agents' resources from the next tests' frameworks.
  afterAll(() => fw.call({ type: 'TEARDOWN' }));

  it('GET_HEALTH, GET_VERSION, GET_FLAGS and GET_MASTER describe the master', async () => {
    expect(await operatorCall(running.address, { type: 'GET_HEALTH' })).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
    const version = await operatorCall(running.address, { type: 'GET_VERSION' });
    expect(version).toEqual({ type: 'GET_VERSION', get_version: { version_info: { version: CORE_VERSION } } });
    const flags = await operatorCall(running.address, { type: 'GET_FLAGS' });
    expect(flags.type).toBe('GET_FLAGS');
    expect(flags.get_flags.flags).toEqual([
      { name: 'port', value: '0' },
      { name: 'allocation_interval', value: '100ms' },
      { name: 'work_dir', value: '/var/lib/tessera' },
    ]);
    const m = await operatorCall(running.address, { type: 'GET_MASTER' });
    expect(m.type).toBe('GET_MASTER');
    expect(m.get_master.master_info.id).toBe(running.master.opts.info.id);
    expect(m.get_master.master_info.address.port).toBe(Number(running.address.split(':')[1]));
    expect(m.get_master.start_time).toBeCloseTo(running.master.startTime, 3);
    expect(m.get_master.elected_time).toBeGreaterThanOrEqual(m.get_master.start_time);
  });

  it('GET_METRICS gives the figures of /metrics/snapshot as name/value pairs (timeout ignored)', async () => {
    const r = await operatorCall(running.address, { type: 'GET_METRICS', get_metrics: { timeout: { nanoseconds: 1_000_000 } } });
    expect(r.type).toBe('GET_METRICS');
    const metrics = new Map<string, number>(r.get_metrics.metrics.map((m: Json) => [m.name, m.value]));
    const snapshot = JSON.parse((await post(running.address, '/metrics/snapshot', '', {}, 'GET')).body) as Record<string, number>;
    expect([...metrics.keys()].sort()).toEqual(Object.keys(snapshot).sort());
    expect(metrics.get('master/tasks_running')).toBe(1);
    expect(metrics.get('master/elected')).toBe(1);
    expect(metrics.get('master/cpus_used')).toBe(1);
    // What Mesos exporters read besides: disk, and each resource's used fraction.
    expect(metrics.get('master/cpus_percent')).toBeCloseTo(1 / metrics.get('master/cpus_total')!, 6);
    for (const name of ['master/disk_total', 'master/disk_used', 'master/mem_percent', 'master/disk_percent', 'master/gpus_percent']) expect(metrics.has(name)).toBe(true);
    // Without get_metrics too.
    expect((await operatorCall(running.address, { type: 'GET_METRICS' })).get_metrics.metrics.length).toBe(metrics.size);
  });

  it('serves Mesos\'s fixed endpoints under both names: /flags, /version, /redirect (to itself, the leader)', async () => {
    for (const p of ['/flags', '/master/flags']) expect(JSON.parse((await post(running.address, p, '', {}, 'GET')).body)).toHaveProperty('flags');
    expect(JSON.parse((await post(running.address, '/master/version', '', {}, 'GET')).body)).toHaveProperty('version');
    const redirect = await post(running.address, '/master/redirect', '', {}, 'GET');
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toBe(`//${running.master.opts.info.hostname}:${running.master.opts.info.port}`);
  });

  it('GET_AGENTS lists the agent with its resources, allocated and offered', async () => {
    const r = await operatorCall(running.address, { type: 'GET_AGENTS' });
    expect(r.type).toBe('GET_AGENTS');
    const a = r.get_agents.agents.find((x: Json) => x.agent_info.id.value === agentId);
    expect(a).toMatchObject({ active: true, version: 'sim', agent_info: { hostname: 'ops-a', port: 5051 } });
    expect(a.pid).toMatch(/^slave\(1\)@/);
    expect(a.registered_time.nanoseconds).toBeGreaterThan(1.6e18);
    expect(scalar(a.total_resources, 'cpus')).toBe(4);
    expect(scalar(a.allocated_resources, 'cpus')).toBe(1);
    expect(scalar(a.allocated_resources, 'mem')).toBe(128);
    expect(Array.isArray(a.offered_resources ?? [])).toBe(true);
  });

  it('GET_FRAMEWORKS lists the framework, connected, with its allocation', async () => {
    const r = await operatorCall(running.address, { type: 'GET_FRAMEWORKS' });
    expect(r.type).toBe('GET_FRAMEWORKS');
    expect(r.get_frameworks.completed_frameworks).toBeUndefined();
    const f = r.get_frameworks.frameworks.find((x: Json) => x.framework_info.id.value === fw.frameworkId);
    expect(f).toMatchObject({ active: true, connected: true, recovered: false, framework_info: { name: 'ops', user: 'root', roles: ['*'] } });
    expect(f.registered_time.nanoseconds).toBeGreaterThan(1.6e18);
    expect(scalar(f.allocated_resources, 'cpus')).toBe(1);
    for (const o of f.offers ?? []) expect(o.framework_id.value).toBe(fw.frameworkId);
  });

  it('GET_TASKS, GET_EXECUTORS and GET_STATE show the running task', async () => {
    const tasks = await operatorCall(running.address, { type: 'GET_TASKS' });
    expect(tasks.type).toBe('GET_TASKS');
    const t = tasks.get_tasks.tasks.find((x: Json) => x.task_id.value === 'op-task-1');
    expect(t).toMatchObject({ name: 'op-task-1', state: 'TASK_RUNNING', framework_id: { value: fw.frameworkId }, agent_id: { value: agentId } });
    expect(t.statuses.map((s: Json) => s.state)).toContain('TASK_RUNNING');
    expect(await operatorCall(running.address, { type: 'GET_EXECUTORS' })).toEqual({ type: 'GET_EXECUTORS', get_executors: {} });
    const state = await operatorCall(running.address, { type: 'GET_STATE' });
    expect(state.type).toBe('GET_STATE');
    expect(state.get_state.get_tasks.tasks.map((x: Json) => x.task_id.value)).toContain('op-task-1');
    expect(state.get_state.get_executors).toEqual({});
    expect(state.get_state.get_frameworks.frameworks.map((x: Json) => x.framework_info.id.value)).toContain(fw.frameworkId);
    expect(state.get_state.get_agents.agents.map((x: Json) => x.agent_info.id.value)).toContain(agentId);
  });

  it('GET_ROLES gives each role weight 1, its frameworks and what is allocated to it', async () => {
    const r = await operatorCall(running.address, { type: 'GET_ROLES' });
    expect(r.type).toBe('GET_ROLES');
    const star = r.get_roles.roles.find((x: Json) => x.name === '*');
    expect(star.weight).toBe(1);
    expect(star.frameworks).toContainEqual({ value: fw.frameworkId });
    // The running task's cpu at least; outstanding offers of the role add to it.
    expect(scalar(star.resources, 'cpus')).toBeGreaterThanOrEqual(1);
  });

  it('answers on /master/api/v1 too, and in protobuf to a JSON request that accepts only protobuf', async () => {
    const r = await post(running.address, '/master/api/v1', '{"type":"GET_HEALTH"}', { 'Content-Type': 'application/json' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const p = await post(running.address, '/api/v1', '{"type":"GET_HEALTH"}', { 'Content-Type': 'application/json', Accept: 'application/x-protobuf' });
    expect(p.status).toBe(200);
    expect(p.headers['content-type']).toBe('application/x-protobuf');
    expect(fromProto(masterProto().Response, p.bytes)).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
  });

  it('GET_STATE and GET_TASKS in protobuf decode with protobufjs from core/proto', async () => {
    const { Call, Response } = masterProto();
    const call = (type: string) => Buffer.from(Call.encode(Call.fromObject({ type })).finish());
    const headers = { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' };
    const tasks = await post(running.address, '/api/v1', call('GET_TASKS'), headers);
    expect(tasks.status).toBe(200);
    expect(tasks.headers['content-type']).toBe('application/x-protobuf');
    const t = fromProto(Response, tasks.bytes);
    expect(t.type).toBe('GET_TASKS');
    const task = t.get_tasks.tasks.find((x: Json) => x.task_id.value === 'op-task-1');
    expect(task.state).toBe('TASK_RUNNING');
    expect(task.resources.find((x: Json) => x.name === 'cpus').scalar.value).toBe(1);
    const state = await post(running.address, '/api/v1', call('GET_STATE'), headers);
    expect(state.status).toBe(200);
    const s = fromProto(Response, state.bytes);
    expect(s.type).toBe('GET_STATE');
    expect(s.get_state.get_agents.agents.find((x: Json) => x.agent_info.id.value === agentId).active).toBe(true);
    expect(s.get_state.get_frameworks.frameworks.find((x: Json) => x.framework_info.id.value === fw.frameworkId).connected).toBe(true);
    expect(s.get_state.get_tasks.tasks.map((x: Json) => x.task_id.value)).toContain('op-task-1');
    // The same state in JSON.
    const json = await operatorCall(running.address, { type: 'GET_STATE' });
    expect(json.get_state.get_tasks.tasks.length).toBe(s.get_state.get_tasks.tasks.length);
  });
});

describe('operator API: SUBSCRIBE', () => {
  it('streams SUBSCRIBED, then FRAMEWORK_ADDED, TASK_ADDED, TASK_UPDATED, AGENT_ADDED, AGENT_REMOVED, FRAMEWORK_REMOVED and HEARTBEATs', async () => {
    const listenersBefore = running.master.listenerCount('taskAdded');
    const s = await stream();
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.headers['transfer-encoding']).toBe('chunked');
    const subscribed = s.events[0];
    expect(subscribed.type).toBe('SUBSCRIBED');
    expect(subscribed.subscribed.heartbeat_interval_seconds).toBe(1);
    expect(subscribed.subscribed.get_state.get_executors).toEqual({});
    expect(subscribed.subscribed.get_state.get_agents).toBeDefined();
    expect(running.master.listenerCount('taskAdded')).toBe(listenersBefore + 1);

    const a = await agent('stream-a', 'cpus:2;mem:1024');
    const added = await s.next((e) => e.type === 'AGENT_ADDED' && e.agent_added.agent.agent_info.hostname === 'stream-a');
    expect(added.agent_added.agent).toMatchObject({ active: true, agent_info: { id: { value: a.agentId } } });
    expect(scalar(added.agent_added.agent.total_resources, 'cpus')).toBe(2);

    const c = await framework('streamed');
    const fwAdded = await s.next((e) => e.type === 'FRAMEWORK_ADDED' && e.framework_added.framework.framework_info.name === 'streamed');
    expect(fwAdded.framework_added.framework).toMatchObject({ connected: true, active: true, recovered: false });

    await launchRunning(c, 'stream-a', 'streamed-task');
    const taskAdded = await s.next((e) => e.type === 'TASK_ADDED' && e.task_added.task.task_id.value === 'streamed-task');
    expect(taskAdded.task_added.task).toMatchObject({ state: 'TASK_STAGING', framework_id: { value: c.frameworkId }, agent_id: { value: a.agentId } });
    const updated = await s.next((e) => e.type === 'TASK_UPDATED' && e.task_updated.status.task_id.value === 'streamed-task' && e.task_updated.state === 'TASK_RUNNING');
    expect(updated.task_updated.framework_id).toEqual({ value: c.frameworkId });
    expect(updated.task_updated.status.state).toBe('TASK_RUNNING');
    expect(Buffer.from(updated.task_updated.status.uuid, 'base64')).toHaveLength(16);

    running.master.removeAgent(a.agentId!, 'operator test');
    const lost = await s.next((e) => e.type === 'TASK_UPDATED' && e.task_updated.status.task_id.value === 'streamed-task' && e.task_updated.state === 'TASK_LOST');
    expect(lost.task_updated.status.reason).toBe('REASON_AGENT_REMOVED');
    expect((await s.next((e) => e.type === 'AGENT_REMOVED')).agent_removed.agent_id).toEqual({ value: a.agentId });

    await c.call({ type: 'TEARDOWN' });
    const removed = await s.next((e) => e.type === 'FRAMEWORK_REMOVED' && e.framework_removed.framework_info.id.value === c.frameworkId);
    expect(removed.framework_removed.framework_info.name).toBe('streamed');
    await s.next((e) => e.type === 'HEARTBEAT', 3000);

    // One record per chunk, JSON in ASCII only.
    for (const chunk of s.chunks) {
      expect(splitRecords(chunk)).toMatchObject({ records: [expect.anything()], rest: Buffer.alloc(0) });
      expect(/[^\x00-\x7f]/.test(chunk.toString('latin1'))).toBe(false);
    }
    s.close();
    await waitFor(() => running.master.listenerCount('taskAdded') === listenersBefore, 5000, 'the stream to let go of the master');
    expect(running.master.listenerCount('agentAdded')).toBe(running.master.listenerCount('taskAdded'));
  }, 30_000);

  it('streams FRAMEWORK_UPDATED when a framework re-subscribes, and streams protobuf records to a protobuf client', async () => {
    const s = await stream('protobuf');
    expect(s.headers['content-type']).toBe('application/x-protobuf');
    expect(s.events[0].type).toBe('SUBSCRIBED');
    expect(s.events[0].subscribed.heartbeat_interval_seconds).toBe(1);
    const c = await framework('resubscriber');
    await s.next((e) => e.type === 'FRAMEWORK_ADDED' && e.framework_added.framework.framework_info.id.value === c.frameworkId);
    const again = new SchedulerClient(running.address, true);
    clients.push(again);
    await again.subscribe({ ...FRAMEWORK, name: 'resubscriber' }, c.frameworkId);
    const updated = await s.next((e) => e.type === 'FRAMEWORK_UPDATED' && e.framework_updated.framework.framework_info.id.value === c.frameworkId);
    expect(updated.framework_updated.framework.connected).toBe(true);
    await s.next((e) => e.type === 'HEARTBEAT', 3000);
    await again.call({ type: 'TEARDOWN' });
    s.close();
  }, 30_000);
});

describe('operator API: TEARDOWN', () => {
  it('removes a framework (200, empty body); unknown frameworks and a missing teardown field are 400', async () => {
    const c = await framework('doomed');
    const r = await post(running.address, '/api/v1', JSON.stringify({ type: 'TEARDOWN', teardown: { framework_id: { value: c.frameworkId } } }), { 'Content-Type': 'application/json' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(running.master.frameworks.has(c.frameworkId)).toBe(false);
    await waitFor(() => c.closed, 5000, 'the scheduler stream to close');
    const frameworks = await operatorCall(running.address, { type: 'GET_FRAMEWORKS' });
    expect((frameworks.get_frameworks.frameworks ?? []).map((f: Json) => f.framework_info.id.value)).not.toContain(c.frameworkId);

    const unknown = await post(running.address, '/api/v1', JSON.stringify({ type: 'TEARDOWN', teardown: { framework_id: { value: 'no-such-fw' } } }), { 'Content-Type': 'application/json' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(/no-such-fw/);
    const missing = await post(running.address, '/api/v1', '{"type":"TEARDOWN"}', { 'Content-Type': 'application/json' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatch(/teardown/);
    const { Call } = masterProto();
    const proto = await post(running.address, '/api/v1', Buffer.from(Call.encode(Call.fromObject({ type: 'TEARDOWN', teardown: { framework_id: { value: 'nope' } } })).finish()), { 'Content-Type': 'application/x-protobuf' });
    expect(proto.status).toBe(400);
    expect(proto.body).toMatch(/nope/);
  }, 30_000);
});

describe('operator API: refusals', () => {
  const json = { 'Content-Type': 'application/json' };
  // Every case has a message pattern: it.each calls a function with fewer arguments than parameters as a done-callback test.
  const any = /(?:)/;
  const cases: [string, () => Promise<{ status: number; body: string; headers: Record<string, unknown> }>, number, RegExp][] = [
    ['GET', () => post(running.address, '/api/v1', '', {}, 'GET'), 405, /POST/],
    ['no Content-Type', () => post(running.address, '/api/v1', '{"type":"GET_HEALTH"}', {}), 400, /Content-Type/],
    ['text/plain', () => post(running.address, '/api/v1', '{"type":"GET_HEALTH"}', { 'Content-Type': 'text/plain' }), 415, /application\/json/],
    ['JSON in UTF-16', () => post(running.address, '/api/v1', '{"type":"GET_HEALTH"}', { 'Content-Type': 'application/json; charset=utf-16' }), 415, /UTF-8/],
    ['broken JSON', () => post(running.address, '/api/v1', '{"type":', json), 400, /not valid JSON/],
    ['a JSON array', () => post(running.address, '/api/v1', '[1,2]', json), 400, /expected an object/],
    ['a wrong type of field', () => post(running.address, '/api/v1', '{"type":"TEARDOWN","teardown":{"framework_id":{"value":7}}}', json), 400, /teardown\.framework_id\.value/],
    ['garbage protobuf', () => post(running.address, '/api/v1', Buffer.from([0x0a, 0xff, 0xff, 0xff]), { 'Content-Type': 'application/x-protobuf' }), 400, /protobuf/],
    ['no type', () => post(running.address, '/api/v1', '{}', json), 400, /type/],
    ['an unknown type', () => post(running.address, '/api/v1', '{"type":"GET_EVERYTHING"}', json), 400, /GET_STATE/],
    ['UNKNOWN', () => post(running.address, '/api/v1', '{"type":"UNKNOWN"}', json), 400, any],
    ['MARK_AGENT_GONE', () => post(running.address, '/api/v1', '{"type":"MARK_AGENT_GONE"}', json), 501, /MARK_AGENT_GONE is not implemented/],
    ['READ_FILE', () => post(running.address, '/api/v1', '{"type":"READ_FILE"}', json), 501, /READ_FILE/],
    ['an unacceptable Accept', () => post(running.address, '/api/v1', '{"type":"GET_HEALTH"}', { ...json, Accept: 'text/html' }), 406, /Accept/],
    ['SUBSCRIBE with an unacceptable Accept', () => post(running.address, '/api/v1', '{"type":"SUBSCRIBE"}', { ...json, Accept: 'text/html' }), 406, /recordio/],
    ['an unknown path', () => post(running.address, '/api/v2', '{}', json), 404, /\/api\/v1, /],
  ];
  it.each(cases)('%s', async (_name, send, status, message) => {
    const r = await send();
    expect(r.status).toBe(status);
    expect(r.body).toMatch(message);
    if (status === 405) expect(r.headers.allow).toBe('POST');
  });
});

describe('GET /metrics', () => {
  it('renders the master and module metrics in the Prometheus text format', async () => {
    const r = await post(running.address, '/metrics', '', {}, 'GET');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = r.body.split('\n');
    for (const [name, type] of [
      ['tessera_master_uptime_seconds', 'gauge'],
      ['tessera_master_agents', 'gauge'],
      ['tessera_master_frameworks', 'gauge'],
      ['tessera_master_tasks', 'gauge'],
      ['tessera_master_outstanding_offers', 'gauge'],
      ['tessera_master_offers_sent_total', 'counter'],
      ['tessera_master_offers_declined_total', 'counter'],
      ['tessera_master_offers_rescinded_total', 'counter'],
      ['tessera_master_tasks_launched_total', 'counter'],
    ]) {
      expect(lines).toContain(`# TYPE ${name} ${type}`);
      expect(lines.some((l) => l.startsWith(`# HELP ${name} `))).toBe(true);
    }
    const value = (sample: string) => Number(lines.find((l) => l.startsWith(`${sample} `))?.split(' ')[1]);
    expect(value('tessera_master_elected')).toBe(1);
    expect(value('tessera_master_offers_sent_total')).toBe(running.master.counters.offersSent);
    expect(value('tessera_master_offers_sent_total')).toBeGreaterThan(0);
    expect(value('tessera_master_tasks_launched_total')).toBe(running.master.counters.tasksLaunched);
    expect(value('tessera_master_tasks_launched_total')).toBeGreaterThanOrEqual(1);
    expect(value('tessera_master_agents{state="active"}')).toBeGreaterThanOrEqual(1);
    expect(value('tessera_master_resources_total{resource="cpus"}')).toBeGreaterThanOrEqual(4);
    // The module host's metrics follow.
    expect(lines).toContain('# TYPE tessera_module_calls_total counter');
    expect(lines).toContain('tessera_module_up{module="allocator-drf"} 1');
    // Every sample line belongs to a family announced before it.
    const announced = new Set<string>();
    for (const l of lines) {
      if (l.startsWith('# TYPE ')) announced.add(l.split(' ')[2]);
      else if (l && !l.startsWith('#')) expect(announced.has(l.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, ''))).toBe(true);
    }
    // /metrics/snapshot stays as it was.
    const snapshot = await post(running.address, '/metrics/snapshot', '', {}, 'GET');
    expect(JSON.parse(snapshot.body)['master/elected']).toBe(1);
  });
});
