// Master hooks end to end: masters started with `--hooks` naming real hook module processes (the
// label-hook fixture, with parameters that make it fail or answer late), simulated agents over the real
// agent protocol and the independent scheduler client. Covers the label decorator chain, onError
// "ignore" and "fail", a hook past its call deadline, a killed hook module, and the startup errors.
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../core/src/cli';
import { createLog } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { fixture, ROOT, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { operatorCall, type Json } from '../support/operator-client';
import { raw, SchedulerClient, type Event } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

const ALLOCATOR = { name: 'allocator-drf', file: path.join(ROOT, 'modules/allocator-drf/dist/module.js') };
const hook = (name: string, extra: Json = {}): Json => ({ name, file: fixture('label-hook'), ...extra });
const MODULES = writeModulesJson({
  modules: [
    ALLOCATOR,
    hook('labels'),
    hook('team', { parameters: { key: 'team', value: 'blue' }, onError: 'ignore' }),
    hook('flaky', { parameters: { failWith: 'flaky hook says no' }, onError: 'ignore' }),
    hook('refuser', { parameters: { failWith: 'tasks need an owner label' }, onError: 'fail' }),
    hook('slow', { parameters: { delayMs: 3000 }, timeouts: { call: '300ms' } }),
    hook('slow-kill', { parameters: { delayMs: 1500 }, timeouts: { call: '5s' } }),
    hook('fragile', { restart: { initialBackoff: '60s', maxBackoff: '60s' }, timeouts: { call: '500ms' } }),
    hook('fragile-ignored', { parameters: { key: 'extra', value: '1' }, restart: { initialBackoff: '60s', maxBackoff: '60s' }, timeouts: { call: '500ms' }, onError: 'ignore' }),
    { name: 'echo', file: fixture('echo-isolator') },
    hook('lost-watch', { env: { LABEL_HOOK_AGENT_HOOKS: 'masterAgentLostHook', FIXTURE_LOG: path.join(tempDir(), 'lost.log') } }),
    hook('lost-broken', { parameters: { failWith: 'cannot page anyone' }, env: { LABEL_HOOK_AGENT_HOOKS: 'masterAgentLostHook' }, onError: 'fail' }),
  ],
});

const logLines: string[] = [];
const log = createLog({ level: 'info', write: (line) => void (logLines.push(line), process.env.E2E_LOG ? process.stderr.write(`${line}\n`) : undefined) });
const masters: RunningMaster[] = [];
const agents: SimAgent[] = [];
const clients: SchedulerClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop()));
  for (const m of masters) await m.stop();
});

const FRAMEWORK = { user: 'root', name: 'hooked', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 60 };

/** A master with `hooks`, one agent and one subscribed framework. */
async function cluster(hooks: string[]): Promise<{ m: RunningMaster; a: SimAgent; c: SchedulerClient }> {
  const m = await runMaster({ ip: '127.0.0.1', port: 0, log, modules: loadModulesJson(MODULES), hooks, allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
  masters.push(m);
  const a = new SimAgent({ master: m.address, hostname: `hooks-${masters.length}`, resources: 'cpus:4;mem:1024', taskBehaviour: () => ({ runMs: null }), statusRetryMs: 300 });
  agents.push(a);
  await a.start();
  const c = new SchedulerClient(m.address, true);
  clients.push(c);
  await c.subscribe(FRAMEWORK);
  return { m, a, c };
}

const used = new Set<string>();

/** Launches one task (1 cpu) with `labels` on an offer not used yet; returns the offer. */
async function launch(c: SchedulerClient, taskId: string, labels?: Json[]): Promise<Json> {
  const offer = (await c.next((e: Event) => e.type === 'OFFERS' && !used.has(e.offers.offers[0].id.value), 10_000)).offers.offers[0];
  used.add(offer.id.value);
  const task = { name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }], command: { value: 'sleep 1000' }, ...(labels ? { labels: { labels } } : {}) };
  const r = await c.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }], filters: { refuse_seconds: 0 } } });
  expect(r.status).toBe(202);
  return offer;
}

const labelsOnAgent = (a: SimAgent, taskId: string): Json[] | undefined => a.tasks().find((t) => t.task_id.value === taskId)?.labels?.labels;

describe('master hooks: the agent-lost hook', () => {
  it('tells the hooks of an agent removed after missed pings; a failing one is only logged', async () => {
    const watch = loadModulesJson(MODULES).modules.find((x) => x.name === 'lost-watch')!;
    const lostLog = watch.env!.FIXTURE_LOG;
    const m = await runMaster({ ip: '127.0.0.1', port: 0, log, modules: loadModulesJson(MODULES), hooks: ['lost-broken', 'lost-watch'], allocationIntervalMs: 100, agentPingTimeoutMs: 100, maxAgentPingTimeouts: 2 });
    masters.push(m);
    const a = new SimAgent({ master: m.address, hostname: 'goes-quiet', resources: 'cpus:1;mem:128', statusRetryMs: 300 });
    agents.push(a);
    await a.start();
    a.answerPings = false;
    await waitFor(() => fs.existsSync(lostLog) && fs.readFileSync(lostLog, 'utf8').includes('masterAgentLostHook'), 10_000, 'the agent-lost hook call');
    const calls = fs.readFileSync(lostLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((c) => c.call === 'masterAgentLostHook');
    expect(calls[0]).toEqual(expect.objectContaining({ agentId: a.agentId, hostname: 'goes-quiet' }));
    expect(logLines.some((l) => l.includes(`master hook module 'lost-broken' failed on lost agent ${a.agentId} (goes-quiet): LABEL_HOOK_REFUSED: module lost-broken: hook.MasterAgentLostHook: cannot page anyone`))).toBe(true);
    expect(logLines.some((l) => /master hook lost-watch: .*is told of removed agents/.test(l))).toBe(true);
    await a.stop();
  }, 30_000);

  it('tells them of an agent that did not come back in time after a master restart', async () => {
    const workDir = tempDir();
    const lostLog = path.join(tempDir(), 'lost-after-restart.log');
    const modules = loadModulesJson(MODULES);
    modules.modules.find((x) => x.name === 'lost-watch')!.env = { LABEL_HOOK_AGENT_HOOKS: 'masterAgentLostHook', FIXTURE_LOG: lostLog };
    const first = await runMaster({ ip: '127.0.0.1', port: 0, log, workDir, modules, hooks: ['lost-watch'], allocationIntervalMs: 100 });
    const a = new SimAgent({ master: first.address, hostname: 'never-back', resources: 'cpus:1;mem:128', statusRetryMs: 300 });
    await a.start();
    await a.stop();
    await first.stop();
    const second = await runMaster({ ip: '127.0.0.1', port: 0, log, workDir, modules, hooks: ['lost-watch'], allocationIntervalMs: 100, agentReregisterTimeoutMs: 300 });
    masters.push(second);
    await waitFor(() => fs.existsSync(lostLog) && fs.readFileSync(lostLog, 'utf8').includes('masterAgentLostHook'), 10_000, 'the agent-lost hook call after the restart');
    const call = fs.readFileSync(lostLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((c) => c.call === 'masterAgentLostHook');
    expect(call).toEqual(expect.objectContaining({ agentId: a.agentId, hostname: 'never-back' }));
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 30_000);
});

describe('master hooks: launch-task label decorators', () => {
  it('runs the hooks in --hooks order, each seeing the previous labels; the result reaches the agent, /state and GET_TASKS', async () => {
    const { m, a, c } = await cluster(['labels', 'team', 'flaky']);
    await launch(c, 'decorated', [{ key: 'owner', value: 'me' }]);
    await c.update('decorated', 'TASK_RUNNING');
    const expected = [
      { key: 'owner', value: 'me' },
      { key: 'decorated', value: 'yes' },
      { key: 'team', value: 'blue' },
    ];
    expect(labelsOnAgent(a, 'decorated')).toEqual(expected);
    const state = JSON.parse((await raw(m.address, '', {}, '/state', 'GET')).body);
    expect(state.frameworks[0].tasks[0].labels).toEqual(expected);
    const tasks = await operatorCall(m.address, { type: 'GET_TASKS' });
    expect(tasks.get_tasks.tasks[0].labels.labels).toEqual(expected);
    // "flaky" failed on every call; its onError is ignore: logged, and the labels stay as they were.
    expect(logLines.some((l) => l.includes("master hook module 'flaky' failed on task decorated") && l.includes('flaky hook says no') && l.includes('onError is "ignore"'))).toBe(true);
  }, 30_000);

  it('onError "fail": the task is answered TASK_ERROR naming the module and its error, never reaches the agent, and its resources come back', async () => {
    const { a, c } = await cluster(['labels', 'refuser']);
    await launch(c, 'refused');
    const err = await c.update('refused', 'TASK_ERROR');
    expect(err.update.status.source).toBe('SOURCE_MASTER');
    expect(err.update.status.reason).toBe('REASON_TASK_INVALID');
    expect(err.update.status.message).toMatch(/master hook module 'refuser' failed on task refused of framework .*: LABEL_HOOK_REFUSED: .*tasks need an owner label\. The task was not launched because the module's "onError" is "fail"/);
    expect(a.tasks()).toEqual([]);
    // The unused 3 cpus are offered again at once, the refused task's cpu once the hook failed.
    const offeredCpus = () =>
      c.events
        .filter((e) => e.type === 'OFFERS')
        .flatMap((e) => e.offers.offers)
        .filter((o: Json) => !used.has(o.id.value))
        .reduce((n: number, o: Json) => n + o.resources.find((r: Json) => r.name === 'cpus').scalar.value, 0);
    await waitFor(() => offeredCpus() === 4, 10_000, 'all 4 cpus to be offered again');
  }, 30_000);

  it('a hook past its call deadline fails the launch; KILL and RECONCILE of a task waiting for its hooks answer as Mesos', async () => {
    const { a, c } = await cluster(['slow-kill', 'slow']);
    // slow-kill answers after 1.5 s: meanwhile the task is pending.
    await launch(c, 'pending');
    const from = c.events.length;
    await c.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'pending' } }] } });
    expect((await c.update('pending', 'TASK_STAGING', from)).update.status.reason).toBe('REASON_RECONCILIATION');
    // A second task with the same id is a duplicate while the first waits.
    await launch(c, 'pending');
    expect((await c.update('pending', 'TASK_ERROR', from)).update.status.message).toMatch(/duplicate ID/);
    await c.call({ type: 'KILL', kill: { task_id: { value: 'pending' } } });
    expect((await c.update('pending', 'TASK_KILLED', from)).update.status.reason).toBe('REASON_TASK_KILLED_DURING_LAUNCH');
    // Once its hooks are done the killed task does not launch.
    await new Promise((r) => setTimeout(r, 2000));
    expect(a.tasks()).toEqual([]);

    // "slow" answers after 3 s but its deadline (timeouts.call) is 300 ms; its onError is fail (the default).
    await launch(c, 'too-slow');
    const err = await c.update('too-slow', 'TASK_ERROR', from);
    expect(err.update.status.message).toMatch(/master hook module 'slow' failed on task too-slow/);
    expect(err.update.status.message).toMatch(/DEADLINE|deadline|timed out/i);
    expect(a.tasks()).toEqual([]);
  }, 30_000);

  it('a killed hook module follows its onError: ignored ones are skipped, "fail" ones fail the launch', async () => {
    const { m, a, c } = await cluster(['fragile-ignored', 'fragile']);
    await launch(c, 'before-kill');
    await c.update('before-kill', 'TASK_RUNNING');
    expect(labelsOnAgent(a, 'before-kill')).toEqual([
      { key: 'extra', value: '1' },
      { key: 'decorated', value: 'yes' },
    ]);
    // The ignored hook dies (restarted only after 60 s): launches go on without its label.
    process.kill(m.modules.get('fragile-ignored').pid!, 'SIGKILL');
    await waitFor(() => m.modules.get('fragile-ignored').status !== 'ready', 5000, 'the module to be seen dead');
    await launch(c, 'without-extra');
    await c.update('without-extra', 'TASK_RUNNING');
    expect(labelsOnAgent(a, 'without-extra')).toEqual([{ key: 'decorated', value: 'yes' }]);
    // The failing hook dies too: launches fail with TASK_ERROR naming it.
    process.kill(m.modules.get('fragile').pid!, 'SIGKILL');
    await waitFor(() => m.modules.get('fragile').status !== 'ready', 5000, 'the module to be seen dead');
    await launch(c, 'no-hook');
    const err = await c.update('no-hook', 'TASK_ERROR');
    expect(err.update.status.message).toMatch(/master hook module 'fragile' failed on task no-hook .*: TSR_MODULE_\w+: module fragile/);
    expect(a.tasks().map((t) => t.task_id.value).sort()).toEqual(['before-kill', 'without-extra']);
  }, 30_000);
});

describe('master hooks and operator reservations', () => {
  it('refuses RESERVE_RESOURCES on an agent while a launch there waits for its hooks (409), and takes it after', async () => {
    const { m, a, c } = await cluster(['slow-kill']); // answers after 1.5 s
    await launch(c, 'pending-launch');
    const reserve = () =>
      raw(m.address, JSON.stringify({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: a.agentId }, resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 }, reservations: [{ type: 'DYNAMIC', role: 'ops' }] }] } }), { 'Content-Type': 'application/json' }, '/api/v1');
    const busy = await reserve();
    expect(busy.status).toBe(409);
    expect(busy.body).toMatch(/tasks launched on it are waiting for their master hooks; try again in a moment/);
    await c.update('pending-launch', 'TASK_RUNNING');
    expect((await reserve()).status).toBe(202);
  }, 30_000);
});

describe('--hooks at startup', () => {
  it('refuses a name modules.json does not define, naming the flag and the file', async () => {
    const err = await runMaster({ ip: '127.0.0.1', port: 0, log, modules: loadModulesJson(MODULES), hooks: ['nope'] }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'TSR_FLAG_INVALID' });
    expect((err as Error).message).toBe(
      `flag --hooks names module "nope", but ${MODULES} defines no module of that name (it defines: allocator-drf, labels, team, flaky, refuser, slow, slow-kill, fragile, fragile-ignored, echo, lost-watch, lost-broken): add an entry named "nope" to the modules file given by --modules, or fix --hooks`,
    );
  });

  it('`tessera master --hooks=<isolator>` exits non-zero with an error naming the flag, the module and its kinds', async () => {
    let out = '';
    const code = await main(['master', '--ip=127.0.0.1', '--port=0', `--modules=${MODULES}`, '--hooks=labels,echo', '--quiet'], () => undefined, (s) => void (out += s)); // errors go to stderr
    expect(code).toBe(2);
    expect(out).toContain(`error TSR_FLAG_INVALID: flag --hooks names a module of ${MODULES} that is not a hook module: module echo (echo-isolator 1.2.3) is used as hook but implements isolator`);
  }, 30_000);
});
