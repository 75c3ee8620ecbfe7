// Dynamic reservations end to end: ACCEPT with RESERVE and UNRESERVE on a real master with the
// allocator-drf module process, simulated agents over the real agent protocol, the independent scheduler
// client (JSON) and a client built from the .proto files alone (protobuf); and a master restart on the
// same work_dir that keeps the reservations.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import protobuf from 'protobufjs';
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { tempDir, waitFor } from '../modules/helpers';
import { masterProto, operatorCall, post, type Json } from '../support/operator-client';
import { raw, SchedulerClient, type Event } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

const workDir = tempDir();
const logLines: string[] = [];
const level = (process.env.E2E_LOG ?? 'info') as LogLevel;
const log = createLog({ level: 'info', write: (line) => void (logLines.push(line), level !== 'info' || process.env.E2E_LOG ? process.stderr.write(`${line}\n`) : undefined) });
let running: RunningMaster;
const agents: SimAgent[] = [];
const clients: SchedulerClient[] = [];
let current: SchedulerClient[] = [];

const start = () => runMaster({ ip: '127.0.0.1', port: running?.listener.port ?? 0, workDir, log, allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
beforeAll(async () => {
  running = await start();
});
afterEach(async () => {
  await Promise.all(current.map((c) => c.call({ type: 'TEARDOWN' }).catch(() => undefined)));
  current = [];
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop()));
  await running.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

const PRINCIPAL = 'db-principal';
// Frameworks that read reservations as a stack (Mesos >= 1.4); one without RESERVATION_REFINEMENT is offered
// them in the format before it (a test below).
const DB = { user: 'root', name: 'db', roles: ['db'], principal: PRINCIPAL, capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }], failover_timeout: 60 };
const WEB = { user: 'root', name: 'web', roles: ['web'], capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }], failover_timeout: 60 };
const DYN = { type: 'DYNAMIC', role: 'db', principal: PRINCIPAL };
const scalar = (name: string, value: number, extra: Json = {}): Json => ({ name, type: 'SCALAR', scalar: { value }, ...extra });
const reservedCpus = (value: number): Json => scalar('cpus', value, { reservations: [DYN] });

async function agent(hostname: string, resources = 'cpus:4;mem:1024'): Promise<SimAgent> {
  const a = new SimAgent({ master: running.address, hostname, resources, taskBehaviour: () => ({ runMs: null }), statusRetryMs: 300, link: { initialBackoffMs: 50, maxBackoffMs: 250 } });
  agents.push(a);
  await a.start();
  return a;
}

async function framework(info: Json): Promise<SchedulerClient> {
  const c = new SchedulerClient(running.address, true);
  clients.push(c);
  current.push(c);
  await c.subscribe(info);
  return c;
}

/** The next offer from `hostname` (after event index `from`). */
async function offerFrom(c: SchedulerClient, hostname: string, from = 0): Promise<Json> {
  const e = await c.next((x: Event) => x.type === 'OFFERS' && x.offers.offers.some((o: Json) => o.hostname === hostname), 10_000, from);
  return e.offers.offers.find((o: Json) => o.hostname === hostname);
}

async function accept(c: SchedulerClient, offer: Json, operations: Json[]): Promise<void> {
  const r = await c.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations, filters: { refuse_seconds: 0 } } });
  expect(r.status).toBe(202);
}

const RESERVE = (...resources: Json[]): Json => ({ type: 'RESERVE', reserve: { resources } });
const UNRESERVE = (...resources: Json[]): Json => ({ type: 'UNRESERVE', unreserve: { resources } });
const LAUNCH = (offer: Json, id: string, resources: Json[]): Json => ({
  type: 'LAUNCH',
  launch: { task_infos: [{ name: id, task_id: { value: id }, agent_id: offer.agent_id, resources, command: { value: 'sleep 1000' } }] },
});
const sum = (resources: Json[] | undefined, name: string, reserved: boolean): number =>
  (resources ?? []).filter((r) => r.name === name && Boolean(r.reservations?.length) === reserved).reduce((s, r) => s + r.scalar.value, 0);

async function slave(hostname: string): Promise<Json> {
  const state = JSON.parse((await raw(running.address, '', {}, '/state', 'GET')).body);
  return state.slaves.find((s: Json) => s.hostname === hostname);
}
async function agentTotal(hostname: string): Promise<Json[]> {
  const agentsView = await operatorCall(running.address, { type: 'GET_AGENTS' });
  return agentsView.get_agents.agents.find((a: Json) => a.agent_info.hostname === hostname).total_resources;
}

describe('ACCEPT with RESERVE and UNRESERVE (JSON)', () => {
  it('RESERVE then LAUNCH in one ACCEPT: the task runs on the just-reserved resources', async () => {
    await agent('res-launch');
    const c = await framework(DB);
    const offer = await offerFrom(c, 'res-launch');
    expect(offer.allocation_info.role).toBe('db');
    const from = c.events.length;
    await accept(c, offer, [RESERVE(reservedCpus(1), scalar('mem', 256, { reservations: [DYN] })), LAUNCH(offer, 'on-reserved', [reservedCpus(1), scalar('mem', 128, { reservations: [DYN] })])]);
    await c.update('on-reserved', 'TASK_RUNNING');
    const tasks = await operatorCall(running.address, { type: 'GET_TASKS' });
    const task = tasks.get_tasks.tasks.find((t: Json) => t.task_id.value === 'on-reserved');
    expect(task.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'cpus', reservations: [DYN], allocation_info: { role: 'db' } })]));
    const total = await agentTotal('res-launch');
    expect([sum(total, 'cpus', true), sum(total, 'cpus', false), sum(total, 'mem', true), sum(total, 'mem', false)]).toEqual([1, 3, 256, 768]);
    // The next offer holds the rest of the reservation (mem 128) and the unreserved resources.
    const next = await offerFrom(c, 'res-launch', from);
    expect([sum(next.resources, 'cpus', true), sum(next.resources, 'mem', true), sum(next.resources, 'cpus', false)]).toEqual([0, 128, 3]);
  }, 30_000);

  it('RESERVE: the next offers to the role carry the reservation, /state and GET_ROLES show it, other roles never get it', async () => {
    await agent('res-offer');
    const db = await framework(DB);
    const offer = await offerFrom(db, 'res-offer');
    const from = db.events.length;
    await accept(db, offer, [RESERVE(reservedCpus(2))]);
    const next = await offerFrom(db, 'res-offer', from);
    const reserved = next.resources.filter((r: Json) => r.reservations?.length);
    expect(reserved).toEqual([{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [DYN], allocation_info: { role: 'db' } }]);
    const s = await slave('res-offer');
    expect(s.resources).toMatchObject({ cpus: 4, mem: 1024 });
    expect(s.reserved_resources).toEqual({ db: expect.objectContaining({ cpus: 2 }) });
    expect(s.unreserved_resources).toMatchObject({ cpus: 2, mem: 1024 });
    expect(s.reserved_resources_full.db).toEqual([expect.objectContaining({ name: 'cpus', scalar: { value: 2 }, reservations: [DYN] })]);
    const roles = await operatorCall(running.address, { type: 'GET_ROLES' });
    expect(roles.get_roles.roles.map((r: Json) => r.name)).toContain('db');

    // Another role is offered the unreserved resources only, even while the db framework is suppressed.
    await db.call({ type: 'SUPPRESS' });
    await db.call({ type: 'DECLINE', decline: { offer_ids: [next.id], filters: { refuse_seconds: 0 } } });
    const web = await framework(WEB);
    const webOffer = await offerFrom(web, 'res-offer');
    expect(webOffer.resources.some((r: Json) => r.reservations?.length)).toBe(false);
    expect(sum(webOffer.resources, 'cpus', false)).toBe(2);
    await new Promise((r) => setTimeout(r, 500)); // several allocation cycles: the 2 reserved cpus stay unoffered
    expect(web.events.filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers.offers).some((o: Json) => o.resources.some((r: Json) => r.reservations?.length))).toBe(false);
  }, 30_000);

  it('UNRESERVE (legacy role + reservation format) gives the resources back to "*"', async () => {
    await agent('res-unreserve');
    const db = await framework(DB);
    const first = await offerFrom(db, 'res-unreserve');
    let from = db.events.length;
    await accept(db, first, [RESERVE(reservedCpus(1))]);
    const reservedOffer = await offerFrom(db, 'res-unreserve', from);
    expect(sum(reservedOffer.resources, 'cpus', true)).toBe(1);
    from = db.events.length;
    await accept(db, reservedOffer, [UNRESERVE({ ...scalar('cpus', 1, { role: 'db' }), reservation: { principal: PRINCIPAL } })]);
    const after = await offerFrom(db, 'res-unreserve', from);
    expect(sum(after.resources, 'cpus', true)).toBe(0);
    expect(sum(after.resources, 'cpus', false)).toBe(4);
    expect((await slave('res-unreserve')).reserved_resources).toEqual({});
    expect(sum(await agentTotal('res-unreserve'), 'cpus', true)).toBe(0);
  }, 30_000);

  it('offers a framework without RESERVATION_REFINEMENT its reservations as role + reservation (the format before Mesos 1.4), which it can use and give back as offered', async () => {
    await agent('res-legacy', 'cpus:4;mem:1024;mem(db):256');
    const legacy = await framework({ ...DB, name: 'db-legacy', capabilities: [{ type: 'MULTI_ROLE' }] });
    const first = await offerFrom(legacy, 'res-legacy');
    // Unreserved: role "*" (as Mesos writes it, for JSON clients that read `role`); static: role only; never a reservations stack.
    expect(first.resources.filter((r: Json) => r.name === 'mem')).toEqual([
      { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, role: '*', allocation_info: { role: 'db' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 256 }, role: 'db', allocation_info: { role: 'db' } },
    ]);
    let from = legacy.events.length;
    await accept(legacy, first, [RESERVE({ ...scalar('cpus', 2, { role: 'db' }), reservation: { principal: PRINCIPAL } })]);
    const reserved = await offerFrom(legacy, 'res-legacy', from);
    const dynamic = reserved.resources.find((r: Json) => r.name === 'cpus' && r.role === 'db');
    expect(dynamic).toEqual({ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: 'db', reservation: { principal: PRINCIPAL }, allocation_info: { role: 'db' } });
    expect(reserved.resources.some((r: Json) => r.reservations)).toBe(false);
    // The offered resources, sent back as they came: a LAUNCH on some, an UNRESERVE of the rest.
    from = legacy.events.length;
    await accept(legacy, reserved, [LAUNCH(reserved, 'legacy-task', [{ ...dynamic, scalar: { value: 1 } }]), UNRESERVE({ ...dynamic, scalar: { value: 1 } })]);
    await legacy.update('legacy-task', 'TASK_RUNNING');
    const tasks = await operatorCall(running.address, { type: 'GET_TASKS' });
    expect(tasks.get_tasks.tasks.find((t: Json) => t.task_id.value === 'legacy-task').resources).toEqual([
      expect.objectContaining({ name: 'cpus', scalar: { value: 1 }, reservations: [{ type: 'DYNAMIC', role: 'db', principal: PRINCIPAL }] }),
    ]);
    const total = await agentTotal('res-legacy');
    expect([sum(total, 'cpus', true), sum(total, 'cpus', false)]).toEqual([1, 3]);
  }, 30_000);

  it('drops invalid operations with Mesos-style errors in the log, and goes on with the next operations', async () => {
    await agent('res-invalid', 'cpus:4;mem:1024;mem(ops):256');
    const db = await framework(DB);
    const offer = await offerFrom(db, 'res-invalid');
    expect(sum(offer.resources, 'mem', true)).toBe(0); // reserved for ops
    const before = logLines.length;
    await accept(db, offer, [
      RESERVE(scalar('cpus', 1, { reservations: [{ ...DYN, role: 'analytics' }] })), // not a framework role
      RESERVE(scalar('cpus', 1, { reservations: [{ ...DYN, principal: 'mallory' }] })), // not the framework's principal
      RESERVE(scalar('cpus', 1, { reservations: [{ ...DYN, role: '*' }] })), // "*"
      RESERVE(reservedCpus(99)), // not in the offer
      UNRESERVE(scalar('cpus', 1)), // not reserved
      LAUNCH(offer, 'after-invalid', [scalar('cpus', 1), scalar('mem', 64)]), // still launched
      LAUNCH(offer, 'wants-reserved', [reservedCpus(1), scalar('mem', 64)]), // nothing was reserved
    ]);
    await db.update('after-invalid', 'TASK_RUNNING');
    const err = await db.update('wants-reserved', 'TASK_ERROR');
    expect(err.update.status.message).toMatch(/more resources/);
    const dropped = () => logLines.slice(before).filter((l) => l.includes('dropping'));
    await waitFor(() => dropped().length === 5, 5000, 'five dropped operations in the log');
    const text = dropped().join('\n');
    expect(text).toContain("A reserve operation was attempted for a resource with role 'analytics'");
    expect(text).toContain("attempted by principal 'db-principal', which does not match a reserved resource in the request with principal 'mallory'");
    expect(text).toContain('role "*" cannot be reserved');
    expect(text).toMatch(/cpus:99 cannot be reserved: they are not in the offers/);
    expect(text).toMatch(/Invalid UNRESERVE operation: Resource cpus:1 is not reserved/);
    expect(sum(await agentTotal('res-invalid'), 'cpus', true)).toBe(0);

    // A framework of role ops is offered the static reservation, which cannot be unreserved.
    const ops = await framework({ ...WEB, name: 'ops', roles: ['ops'] });
    const opsOffer = await ops.next((e: Event) => e.type === 'OFFERS' && e.offers.offers.some((o: Json) => o.hostname === 'res-invalid' && o.resources.some((r: Json) => r.reservations?.length)), 10_000);
    const o = opsOffer.offers.offers.find((x: Json) => x.hostname === 'res-invalid');
    const mark = logLines.length;
    await accept(ops, o, [UNRESERVE(scalar('mem', 256, { reservations: [{ type: 'STATIC', role: 'ops' }] }))]);
    await waitFor(() => logLines.slice(mark).some((l) => l.includes('is statically reserved')), 5000, 'the static reservation error');
  }, 30_000);
});

describe('the allocator module', () => {
  it('accepted every conversion the master sent: its stream never had to be reopened with a snapshot', () => {
    expect(running.master.link.streamsOpened).toBe(1);
    expect(logLines.some((l) => l.includes('allocator stream ended'))).toBe(false);
  });
});

describe('ACCEPT with RESERVE (protobuf)', () => {
  it('reserves through a protobuf call; the next protobuf offer carries the reservation', async () => {
    await agent('res-proto', 'cpus:2;mem:512');
    const root = new protobuf.Root();
    root.resolvePath = (_o: string, target: string) => path.join(__dirname, '../../core/proto', target);
    root.loadSync(['mesos/v1/scheduler.proto'], { keepCase: true });
    const Call = root.lookupType('mesos.v1.scheduler.Call');
    const EventType = root.lookupType('mesos.v1.scheduler.Event');
    const body = Buffer.from(Call.encode(Call.fromObject({ type: 'SUBSCRIBE', subscribe: { framework_info: { ...DB, name: 'db-proto' } } })).finish());
    const [host, port] = running.address.split(':');
    const events: Json[] = [];
    let streamId = '';
    const req = http.request({ host, port: Number(port), method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' } }, (res) => {
      streamId = String(res.headers['mesos-stream-id']);
      let buf = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const nl = buf.indexOf(10);
          if (nl < 0) break;
          const len = Number(buf.subarray(0, nl).toString('ascii'));
          if (buf.length < nl + 1 + len) break;
          events.push(EventType.toObject(EventType.decode(buf.subarray(nl + 1, nl + 1 + len)), { enums: String, longs: Number }));
          buf = buf.subarray(nl + 1 + len);
        }
      });
    });
    req.end(body);
    const send = async (call: Json) => {
      const bytes = Buffer.from(Call.encode(Call.fromObject({ framework_id: { value: events[0].subscribed.framework_id.value }, ...call })).finish());
      return raw(running.address, bytes, { 'Content-Type': 'application/x-protobuf', 'Mesos-Stream-Id': streamId });
    };
    const offerAt = (from: number) => waitFor(() => events.slice(from).flatMap((e) => (e.type === 'OFFERS' ? e.offers.offers : [])).find((o: Json) => o.hostname === 'res-proto'), 10_000, 'a protobuf offer');
    try {
      const offer = await offerAt(0);
      const from = events.length;
      const r = await send({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [RESERVE(reservedCpus(1))], filters: { refuse_seconds: 0 } } });
      expect(r.status).toBe(202);
      const next = await offerAt(from);
      expect(next.resources.filter((x: Json) => x.reservations?.length)).toEqual([expect.objectContaining({ name: 'cpus', scalar: { value: 1 }, reservations: [DYN] })]);
      await send({ type: 'TEARDOWN' });
    } finally {
      req.destroy();
    }
  }, 30_000);
});

describe("the operator API's RESERVE_RESOURCES and UNRESERVE_RESOURCES", () => {
  const OP = { type: 'DYNAMIC', role: 'db' }; // an operator's reservation: no principal without authentication
  const opPost = (call: Json) => post(running.address, '/api/v1', JSON.stringify(call), { 'Content-Type': 'application/json' });
  const reserveCall = (agentId: string | undefined, ...resources: Json[]): Json => ({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agentId }, resources } });
  const unreserveCall = (agentId: string | undefined, ...resources: Json[]): Json => ({ type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id: { value: agentId }, resources } });

  it("reserves an agent's free resources for a role (202; its outstanding offers rescinded, the role offered them, the registry keeps them); UNRESERVE gives them back", async () => {
    const a = await agent('op-res', 'cpus:4;mem:1024');
    const db = await framework(DB);
    const first = await offerFrom(db, 'op-res'); // outstanding while the operator reserves
    const from = db.events.length;
    const r = await opPost(reserveCall(a.agentId, scalar('cpus', 2, { reservations: [OP] })));
    expect(r).toMatchObject({ status: 202, body: '' });
    await db.next((e: Event) => e.type === 'RESCIND' && e.rescind.offer_id.value === first.id.value, 5000, from);
    const next = await offerFrom(db, 'op-res', from);
    expect(next.resources.filter((x: Json) => x.reservations?.length)).toEqual([{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [OP], allocation_info: { role: 'db' } }]);
    let total = await agentTotal('op-res');
    expect([sum(total, 'cpus', true), sum(total, 'cpus', false)]).toEqual([2, 2]);
    expect(running.registry!.reservationsOf(a.agentId!)).toEqual([expect.objectContaining({ name: 'cpus', scalar: { value: 2 }, reservations: [OP] })]);

    // Over protobuf, from a client built from the .proto files alone.
    const { Call } = masterProto();
    const bytes = Buffer.from(Call.encode(Call.fromObject(unreserveCall(a.agentId, scalar('cpus', 2, { reservations: [OP] })))).finish());
    const u = await post(running.address, '/api/v1', bytes, { 'Content-Type': 'application/x-protobuf' });
    expect(u.status).toBe(202);
    total = await agentTotal('op-res');
    expect([sum(total, 'cpus', true), sum(total, 'cpus', false)]).toEqual([0, 4]);
    expect(running.registry!.reservationsOf(a.agentId!)).toEqual([]);
  }, 30_000);

  it('answers 409 when the agent lacks the resources free, 400 for an unknown agent or resources that cannot be (un)reserved, and changes nothing', async () => {
    const a = await agent('op-busy', 'cpus:2;mem:512');
    const db = await framework(DB);
    const offer = await offerFrom(db, 'op-busy');
    await accept(db, offer, [LAUNCH(offer, 'busy', [scalar('cpus', 2), scalar('mem', 128)])]);
    await db.update('busy', 'TASK_RUNNING');
    const busy = await opPost(reserveCall(a.agentId, scalar('cpus', 1, { reservations: [OP] })));
    expect(busy.status).toBe(409);
    expect(busy.body).toMatch(/^Cannot reserve cpus\S*:1 on agent \S+ \(op-busy\): they are not free there; free \(neither used by tasks nor reserved otherwise\): mem\S*:384\. Kill tasks that use them, or reserve less$/);
    const bad = async (call: Json, message: RegExp) => {
      const r = await opPost(call);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(message);
    };
    await bad(reserveCall('no-such-agent', scalar('mem', 64, { reservations: [OP] })), /^No agent found with specified ID 'no-such-agent'/);
    await bad({ type: 'RESERVE_RESOURCES', reserve_resources: { resources: [] } }, /reserve_resources\.agent_id: required field is missing/);
    await bad(reserveCall('', scalar('mem', 64, { reservations: [OP] })), /Expecting 'reserve_resources.agent_id' to be present/);
    await bad(reserveCall(a.agentId), /Invalid RESERVE_RESOURCES: "reserve_resources.resources" is empty/);
    await bad(reserveCall(a.agentId, scalar('mem', 64)), /Invalid RESERVE_RESOURCES: Resource mem\S*:64 is not dynamically reserved/);
    await bad(reserveCall(a.agentId, scalar('mem', 64, { reservations: [OP], allocation_info: { role: 'db' } })), /has allocation_info: resources an operator names belong to no allocation/);
    await bad(unreserveCall(a.agentId, scalar('mem', 64)), /Invalid UNRESERVE_RESOURCES: Resource mem\S*:64 is not reserved/);
    await bad(unreserveCall(a.agentId, scalar('mem', 64, { reservations: [{ type: 'STATIC', role: 'db' }] })), /is statically reserved for role 'db'/);
    // Reserved resources nobody reserved: not free (409), nothing changed.
    expect((await opPost(unreserveCall(a.agentId, scalar('mem', 64, { reservations: [OP] })))).status).toBe(409);
    const total = await agentTotal('op-busy');
    expect([sum(total, 'cpus', true), sum(total, 'mem', true), sum(total, 'cpus', false), sum(total, 'mem', false)]).toEqual([0, 0, 2, 512]);
  }, 30_000);

  it('kept the allocator module in step: its stream never had to be reopened with a snapshot', () => {
    expect(running.master.link.streamsOpened).toBe(1);
    expect(logLines.some((l) => l.includes('allocator stream ended'))).toBe(false);
  });
});

describe('reservations survive a master restart (registry)', () => {
  it('a restarted master on the same work_dir offers the reservation again and shows it in GET_AGENTS', async () => {
    const a = await agent('res-restart', 'cpus:2;mem:512');
    const db = await framework(DB);
    const offer = await offerFrom(db, 'res-restart');
    await accept(db, offer, [RESERVE(reservedCpus(1))]);
    await waitFor(() => running.registry!.reservationsOf(a.agentId!).length === 1, 5000, 'the reservation in the registry');
    await db.call({ type: 'TEARDOWN' });
    current = [];
    await running.stop();
    running = await start();
    await waitFor(() => [...running.master.agents.values()].some((x) => x.info.hostname === 'res-restart'), 10_000, 'the agent to re-register');
    expect(sum(await agentTotal('res-restart'), 'cpus', true)).toBe(1);
    expect(sum(await agentTotal('res-restart'), 'cpus', false)).toBe(1);
    const again = await framework({ ...DB, name: 'db-after-restart' });
    const next = await offerFrom(again, 'res-restart');
    expect(next.resources.filter((r: Json) => r.reservations?.length)).toEqual([expect.objectContaining({ name: 'cpus', scalar: { value: 1 }, reservations: [DYN] })]);
  }, 60_000);
});
