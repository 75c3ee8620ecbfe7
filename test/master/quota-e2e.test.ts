// Quota and weights end to end: the operator API (JSON, and protobuf through a client built from the
// .proto files alone) and Mesos's legacy /quota, /weights and /roles on a real master with the
// allocator-drf module process, simulated agents over the real agent protocol and the independent
// scheduler client; and a master restart on the same work_dir that keeps quotas and weights.
import fs from 'node:fs';
import { createLog } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { tempDir, waitFor } from '../modules/helpers';
import { fromProto, masterProto, operatorCall, post, type Json } from '../support/operator-client';
import { raw, SchedulerClient } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

const workDir = tempDir();
const logLines: string[] = [];
const log = createLog({ level: 'info', write: (line) => void (logLines.push(line), process.env.E2E_LOG ? process.stderr.write(`${line}\n`) : undefined) });
let running: RunningMaster;
let agents: SimAgent[] = [];
let current: SchedulerClient[] = [];

const start = () => runMaster({ ip: '127.0.0.1', port: running?.listener.port ?? 0, workDir, log, allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
beforeAll(async () => {
  running = await start();
});
afterEach(async () => {
  await Promise.all(current.map((c) => c.call({ type: 'TEARDOWN' }).catch(() => undefined)));
  for (const c of current) c.close();
  current = [];
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});
afterAll(async () => {
  await running.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

const fw = (role: string): Json => ({ user: 'root', name: `fw-${role}`, roles: [role], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 60 });
const scalars = (m: Record<string, number>): Json => Object.fromEntries(Object.entries(m).map(([name, value]) => [name, { value }]));
const config = (role: string, guarantees: Record<string, number> = {}, limits: Record<string, number> = {}): Json => ({ role, guarantees: scalars(guarantees), limits: scalars(limits) });
const sum = (resources: Json[] | undefined, name: string): number => (resources ?? []).filter((r) => r.name === name).reduce((s, r) => s + r.scalar.value, 0);

async function agent(hostname: string, resources: string): Promise<SimAgent> {
  const a = new SimAgent({ master: running.address, hostname, resources, taskBehaviour: () => ({ runMs: null }), statusRetryMs: 300, link: { initialBackoffMs: 50, maxBackoffMs: 250 } });
  agents.push(a);
  await a.start();
  return a;
}

async function framework(role: string): Promise<SchedulerClient> {
  const c = new SchedulerClient(running.address, true);
  current.push(c);
  await c.subscribe(fw(role));
  return c;
}

/** The next offer from `hostname` (after event index `from`). */
async function offerFrom(c: SchedulerClient, hostname: string, from = 0): Promise<Json> {
  const e = await c.next((x) => x.type === 'OFFERS' && x.offers.offers.some((o: Json) => o.hostname === hostname), 10_000, from);
  return e.offers.offers.find((o: Json) => o.hostname === hostname);
}

/** POSTs an operator call (JSON) and resolves with status and body. */
async function operator(call: Json): Promise<{ status: number; body: string }> {
  const r = await post(running.address, '/api/v1', JSON.stringify(call), { 'Content-Type': 'application/json', Accept: 'application/json' });
  return { status: r.status, body: r.body };
}

async function updateQuota(configs: Json[], force?: boolean): Promise<{ status: number; body: string }> {
  return operator({ type: 'UPDATE_QUOTA', update_quota: { ...(force === undefined ? {} : { force }), quota_configs: configs } });
}

async function getJson(path: string): Promise<Json> {
  const r = await raw(running.address, '', {}, path, 'GET');
  expect(r.status).toBe(200);
  return JSON.parse(r.body);
}

const quotaConfigs = async (): Promise<Json[]> => (await operatorCall(running.address, { type: 'GET_QUOTA' })).get_quota.status.configs ?? [];

describe('quota guarantees and limits steer the allocator', () => {
  it("a guarantee for role A holds back resources from role B (B gets at most the total less A's unmet guarantee); A gets its guarantee", async () => {
    await agent('q-guarantee', 'cpus:4;mem:1024');
    const b = await framework('qb');
    expect(sum((await offerFrom(b, 'q-guarantee')).resources, 'cpus')).toBe(4);

    const from = b.events.length;
    expect(await updateQuota([config('qa', { cpus: 3 })])).toEqual({ status: 200, body: '' });
    // B's outstanding offer is rescinded so that the guarantee applies at once.
    await b.next((e) => e.type === 'RESCIND', 5000, from);
    const held = await offerFrom(b, 'q-guarantee', from);
    expect([sum(held.resources, 'cpus'), sum(held.resources, 'mem')]).toEqual([1, 1024]);

    const a = await framework('qa');
    const guaranteed = await offerFrom(a, 'q-guarantee');
    expect(guaranteed.allocation_info.role).toBe('qa');
    expect(sum(guaranteed.resources, 'cpus')).toBe(3);

    // Operators see the quota: GET_QUOTA (configs, and the pre-1.9 infos), GET_ROLES, /roles, /quota, metrics.
    const status = (await operatorCall(running.address, { type: 'GET_QUOTA' })).get_quota.status;
    expect(status.configs).toEqual([{ role: 'qa', guarantees: { cpus: { value: 3 } } }]);
    expect(status.infos).toEqual([{ role: 'qa', guarantee: [expect.objectContaining({ name: 'cpus', type: 'SCALAR', scalar: { value: 3 } })] }]);
    const roles = (await operatorCall(running.address, { type: 'GET_ROLES' })).get_roles.roles;
    expect(roles.find((r: Json) => r.name === 'qa')).toMatchObject({ name: 'qa', weight: 1, frameworks: [{ value: a.frameworkId }] });
    const legacy = (await getJson('/master/roles')).roles.find((r: Json) => r.name === 'qa');
    expect(legacy).toMatchObject({ name: 'qa', weight: 1, quota: { role: 'qa', guarantee: { cpus: 3 }, limit: {} }, frameworks: [a.frameworkId] });
    expect(legacy.resources.cpus).toBe(3);
    expect((await getJson('/quota')).configs).toEqual([{ role: 'qa', guarantees: { cpus: { value: 3 } } }]);
    expect((await getJson('/metrics/snapshot'))['allocator/mesos/quota/roles/qa/resources/cpus/guarantee']).toBe(3);

    // Cleared (a config without guarantees and limits): the role is gone from GET_QUOTA.
    expect((await updateQuota([config('qa')])).status).toBe(200);
    expect(await quotaConfigs()).toEqual([]);
  }, 30_000);

  it("a limit caps what the role's frameworks are offered, however much is free", async () => {
    await agent('q-limit', 'cpus:4;mem:1024');
    expect((await updateQuota([config('ql', {}, { cpus: 1.5 })])).status).toBe(200);
    const c = await framework('ql');
    const first = await offerFrom(c, 'q-limit');
    expect([sum(first.resources, 'cpus'), sum(first.resources, 'mem')]).toEqual([1.5, 1024]);
    const from = c.events.length;
    expect((await c.call({ type: 'DECLINE', decline: { offer_ids: [first.id], filters: { refuse_seconds: 0 } } })).status).toBe(202);
    expect(sum((await offerFrom(c, 'q-limit', from)).resources, 'cpus')).toBe(1.5);
    expect((await updateQuota([config('ql')])).status).toBe(200);
  }, 30_000);

  it('weights 2:1 split an agent between two roles as weighted DRF does (4 tasks to 2)', async () => {
    expect((await operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'wa', weight: 2 }, { role: 'wb', weight: 1 }] } })).status).toBe(200);
    expect((await operatorCall(running.address, { type: 'GET_WEIGHTS' })).get_weights.weight_infos).toEqual([
      { role: 'wa', weight: 2 },
      { role: 'wb', weight: 1 },
    ]);
    const clients = { wa: await framework('wa'), wb: await framework('wb') };
    await agent('w-agent', 'cpus:6;mem:6000');
    // Each framework wants everything: on each offer it launches one 1-cpu task and declines the rest.
    const launched: Record<string, number> = { wa: 0, wb: 0 };
    const seen: Record<string, number> = { wa: 0, wb: 0 };
    const deadline = Date.now() + 20_000;
    while (launched.wa + launched.wb < 6) {
      if (Date.now() > deadline) throw new Error(`the agent was not split within 20 s: ${JSON.stringify(launched)}`);
      let acted = false;
      for (const [role, c] of Object.entries(clients)) {
        for (; seen[role] < c.events.length; seen[role]++) {
          const e = c.events[seen[role]];
          if (e.type !== 'OFFERS') continue;
          for (const offer of e.offers.offers.filter((o: Json) => o.hostname === 'w-agent')) {
            acted = true;
            const id = `${role}-${launched[role]}`;
            const task = { name: id, task_id: { value: id }, agent_id: offer.agent_id, command: { value: 'sleep 1000' }, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 10 } }] };
            const operations = sum(offer.resources, 'cpus') >= 1 ? [{ type: 'LAUNCH', launch: { task_infos: [task] } }] : [];
            if (operations.length) launched[role]++;
            expect((await c.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations, filters: { refuse_seconds: 0 } } })).status).toBe(202);
          }
        }
      }
      if (!acted) await new Promise((r) => setTimeout(r, 10));
    }
    expect(launched).toEqual({ wa: 4, wb: 2 });
    const roles = (await operatorCall(running.address, { type: 'GET_ROLES' })).get_roles.roles;
    expect(roles.filter((r: Json) => r.name === 'wa' || r.name === 'wb').map((r: Json) => [r.name, r.weight, sum(r.resources, 'cpus')])).toEqual([
      ['wa', 2, 4],
      ['wb', 1, 2],
    ]);
    expect(await getJson('/weights')).toEqual([
      { weight: 2, role: 'wa' },
      { weight: 1, role: 'wb' },
    ]);
  }, 40_000);
});

describe('invalid updates are refused with 400 (409) naming the problem, and change nothing', () => {
  it('UPDATE_QUOTA: guarantee above limit, role "*", non-scalar, negative, nested guarantee beyond the parent, over capacity', async () => {
    await agent('q-invalid', 'cpus:2;mem:512;ports:[31000-31009]');
    const refused = async (configs: Json[], pattern: RegExp) => {
      const r = await updateQuota(configs);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(pattern);
    };
    await refused([config('qi', { cpus: 2 }, { cpus: 1 })], /Invalid QuotaConfig: role 'qi': the guarantee cpus:2 is above the limit cpus:1/);
    await refused([config('*', { cpus: 1 })], /quota cannot be set on role '\*'/);
    await refused([config('qi', { ports: 2 })], /'ports' is not a scalar resource/);
    await refused([config('qi', {}, { mem: -1 })], /role 'qi': limits \{'mem': -1\} is invalid: the amount must not be negative/);
    await refused([config('qi', { cpus: 1 }), config('qi/sub', { cpus: 2 })], /the guarantees of role 'qi' \(cpus:1\) do not hold the sum of its children's guarantees \(cpus:2, of 'qi\/sub'\)/);
    await refused([config('qi', {}, { cpus: 1 }), config('qi/sub', {}, { cpus: 2 })], /the limit cpus:2 of role 'qi\/sub' is above the limit cpus:1 of its ancestor role 'qi'/);
    await refused([config('qi', { cpus: 1000 })], /total quota guarantees exceed the cluster's capacity \(cpus: 1000 guaranteed, \d+(\.\d+)? in the cluster\).*"force": true/);
    await refused([config('qi', { mem: 1 }), config('qi', { mem: 2 })], /role 'qi' appears more than once/);
    // A valid config next to an invalid one: all or nothing.
    await refused([config('qi-ok', { mem: 1 }), config('qi', { cpus: -1 })], /negative/);
    const missing = await operator({ type: 'UPDATE_QUOTA' });
    expect([missing.status, missing.body]).toEqual([400, expect.stringContaining("Expecting 'update_quota' to be present")]);
    const noRole = await operator({ type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ guarantees: {} }] } });
    expect([noRole.status, noRole.body]).toEqual([400, expect.stringMatching(/quota_configs\[0\]\.role: required field is missing/)]);
    expect(await quotaConfigs()).toEqual([]);

    // "force" skips the capacity check only.
    expect((await updateQuota([config('qi', { cpus: 1000 })], true)).status).toBe(200);
    expect(await quotaConfigs()).toEqual([{ role: 'qi', guarantees: { cpus: { value: 1000 } } }]);
    expect((await updateQuota([config('qi')])).status).toBe(200);
  }, 30_000);

  it('UPDATE_WEIGHTS: a weight that is not positive, an invalid role', async () => {
    for (const [info, pattern] of [
      [{ role: 'wi', weight: 0 }, /for role 'wi': Invalid weight '0': Weights must be positive/],
      [{ role: 'w i', weight: 1 }, /Invalid role 'w i'/],
    ] as const) {
      const r = await operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'wi-ok', weight: 3 }, info] } });
      expect(r.status).toBe(400);
      expect(r.body).toMatch(pattern);
    }
    const weights = (await operatorCall(running.address, { type: 'GET_WEIGHTS' })).get_weights.weight_infos ?? [];
    expect(weights.map((w: Json) => w.role)).not.toContain('wi-ok');
  });
});

describe('the deprecated calls and the legacy endpoints', () => {
  it('SET_QUOTA sets guarantee = limit for a role without quota; REMOVE_QUOTA clears it; both refuse as Mesos does', async () => {
    await agent('q-legacy', 'cpus:2;mem:512');
    const cpus = (value: number) => ({ name: 'cpus', type: 'SCALAR', scalar: { value } });
    const set = (role: string, value: number, force?: boolean) => operator({ type: 'SET_QUOTA', set_quota: { quota_request: { role, guarantee: [cpus(value)], ...(force ? { force } : {}) } } });
    expect((await set('ql1', 1)).status).toBe(200);
    expect(await quotaConfigs()).toEqual([{ role: 'ql1', guarantees: { cpus: { value: 1 } }, limits: { cpus: { value: 1 } } }]);
    const again = await set('ql1', 1);
    expect([again.status, again.body]).toEqual([400, expect.stringContaining("Cannot set quota for role 'ql1' which already has quota")]);
    const over = await set('ql2', 1000);
    expect([over.status, over.body]).toEqual([409, expect.stringMatching(/^Quota guarantees overcommit the cluster \(use 'force' to bypass this check\): cpus: 1001 guaranteed/)]);
    expect((await operator({ type: 'REMOVE_QUOTA', remove_quota: { role: 'ql1' } })).status).toBe(200);
    const none = await operator({ type: 'REMOVE_QUOTA', remove_quota: { role: 'ql1' } });
    expect([none.status, none.body]).toEqual([400, expect.stringContaining("Role 'ql1' has no quota set")]);
    expect(await quotaConfigs()).toEqual([]);
  });

  it('POST /quota, DELETE /quota/<role>, PUT and GET /weights', async () => {
    const body = JSON.stringify({ role: 'eng/web', guarantee: [{ name: 'mem', type: 'SCALAR', scalar: { value: 1 } }], force: true });
    const nested = await post(running.address, '/master/quota', body, { 'Content-Type': 'application/json' });
    expect([nested.status, nested.body]).toEqual([400, expect.stringContaining("the guarantees of role 'eng' (none)")]);
    expect((await post(running.address, '/quota', body.replace('eng/web', 'eng'), { 'Content-Type': 'application/json' })).status).toBe(200);
    expect((await getJson('/quota')).infos).toEqual([{ role: 'eng', guarantee: [expect.objectContaining({ name: 'mem', scalar: { value: 1 } })] }]);
    expect((await post(running.address, '/quota/eng', '', {}, 'DELETE')).status).toBe(200);
    expect((await getJson('/quota')).configs ?? []).toEqual([]);
    expect((await post(running.address, '/quota', '', {}, 'PATCH')).status).toBe(405);

    expect((await post(running.address, '/weights', JSON.stringify([{ role: 'lw', weight: 1.5 }]), { 'Content-Type': 'application/json' }, 'PUT')).status).toBe(200);
    expect(await getJson('/master/weights')).toEqual(expect.arrayContaining([{ weight: 1.5, role: 'lw' }]));
    const bad = await post(running.address, '/weights', JSON.stringify({ role: 'lw', weight: 1 }), {}, 'PUT');
    expect([bad.status, bad.body]).toEqual([400, expect.stringContaining('expected a JSON array of WeightInfo')]);
    // A role with a weight and no framework is a known role.
    expect((await operatorCall(running.address, { type: 'GET_ROLES' })).get_roles.roles).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'lw', weight: 1.5 })]));
  });

  it('UPDATE_QUOTA and GET_QUOTA in protobuf (a client built from the .proto files alone)', async () => {
    const { Call, Response } = masterProto();
    const call = Call.encode(Call.fromObject({ type: 'UPDATE_QUOTA', update_quota: { force: true, quota_configs: [{ role: 'qp', limits: { mem: { value: 64 } } }] } })).finish();
    const headers = { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' };
    expect((await post(running.address, '/api/v1', Buffer.from(call), headers)).status).toBe(200);
    const r = await post(running.address, '/api/v1', Buffer.from(Call.encode(Call.fromObject({ type: 'GET_QUOTA' })).finish()), headers);
    expect(r.status).toBe(200);
    expect(fromProto(Response, r.bytes).get_quota.status.configs).toEqual([{ role: 'qp', limits: { mem: { value: 64 } } }]);
    expect((await updateQuota([config('qp')])).status).toBe(200);
  });
});

describe('quotas and weights survive a master restart (registry)', () => {
  it('kept the allocator module in step so far: its stream never had to be reopened with a snapshot', () => {
    expect(running.master.link.streamsOpened).toBe(1);
    expect(logLines.some((l) => l.includes('allocator stream ended'))).toBe(false);
  });

  it('a restarted master on the same work_dir shows them and its allocator (fresh, from the snapshot) enforces them', async () => {
    await agent('q-restart', 'cpus:4;mem:1024');
    expect((await updateQuota([config('qr', { cpus: 3 }, { cpus: 3.5 })])).status).toBe(200);
    expect((await operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'qr', weight: 3 }] } })).status).toBe(200);
    await running.stop();
    running = await start();
    await waitFor(() => [...running.master.agents.values()].some((x) => x.info.hostname === 'q-restart' && x.conn), 10_000, 'the agent to re-register');

    expect(await quotaConfigs()).toEqual([{ role: 'qr', guarantees: { cpus: { value: 3 } }, limits: { cpus: { value: 3.5 } } }]);
    expect((await operatorCall(running.address, { type: 'GET_WEIGHTS' })).get_weights.weight_infos).toEqual(expect.arrayContaining([{ role: 'qr', weight: 3 }]));
    expect((await operatorCall(running.address, { type: 'GET_ROLES' })).get_roles.roles).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'qr', weight: 3 })]));
    const other = await framework('qother');
    expect(sum((await offerFrom(other, 'q-restart')).resources, 'cpus')).toBe(1);
  }, 60_000);
});
