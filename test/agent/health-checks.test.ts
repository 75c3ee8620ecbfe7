// Health checks (TaskInfo.health_check) and general checks (TaskInfo.check) end to end: a real master,
// a real `tessera agent` process running real containers, and a scheduler that shares no code with
// either. The updates a framework sees are Mesos's command executor's: TASK_RUNNING with `healthy`
// (REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), a kill after consecutive_failures with a terminal
// TASK_KILLED that says healthy: false, and check_status updates (REASON_TASK_CHECK_STATUS_UPDATED).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { operatorCall } from '../support/operator-client';
import type { Event } from '../support/scheduler-client';
import { describeIf, MODULE, removeRoot, v1Unusable } from '../isolator-cgroups/helpers';
import { tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster } from './agent-cluster';

let master: RunningMaster;
let agent: AgentProcess;
let agentId: string;
const dirs: string[] = [];
const cgroupRoot = `tessera-health-${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  master = await startMaster();
  const workDir = tempDir();
  dirs.push(workDir);
  agent = new AgentProcess({ master: master.address, workDir });
  agentId = await agent.start();
});
afterAll(async () => {
  await cleanupAll();
  if (!v1Unusable()) await removeRoot(cgroupRoot);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fast health check: every second from the start, no grace period, killed after two failures. */
const fast = { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 0, consecutive_failures: 2, timeout_seconds: 5 };

/**
 * The UPDATE events of a task, in order (reconciliation answers left out), each update once: the agent
 * sends an unacknowledged update again (after a restart, or when the acknowledgement is slow), with the
 * same uuid.
 */
const updates = (fw: Framework, taskId: string) => {
  const seen = new Set<string>();
  return fw.sched.events
    .filter((e) => e.type === 'UPDATE' && e.update.status.task_id.value === taskId && e.update.status.reason !== 'REASON_RECONCILIATION')
    .map((e) => e.update.status)
    .filter((s) => {
      if (!s.uuid) return true;
      if (seen.has(s.uuid)) return false;
      seen.add(s.uuid);
      return true;
    });
};

// Every framework a test subscribes leaves after it, also when the test failed: one left behind would
// keep the offers the next test waits for.
const subscribed: Framework[] = [];
const subscribe = async (...args: Parameters<typeof Framework.subscribe>): Promise<Framework> => {
  const fw = await Framework.subscribe(...args);
  subscribed.push(fw);
  return fw;
};
afterEach(async () => {
  await Promise.all(subscribed.splice(0).map((fw) => fw.teardown().catch(() => undefined)));
});

const healthOf = (fw: Framework, taskId: string) =>
  updates(fw, taskId)
    .filter((s) => s.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED')
    .map((s) => s.healthy);

const waitUpdate = (fw: Framework, pred: (s: any) => boolean, what: string, timeoutMs = 20_000): Promise<Event> =>
  fw.sched.next((e) => e.type === 'UPDATE' && pred(e.update.status), timeoutMs).catch((err: Error) => {
    throw new Error(`${what}: ${err.message}`);
  });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The statuses /state shows for a task (completed or not). */
async function stateStatuses(a: AgentProcess, taskId: string): Promise<any[]> {
  const state = await a.state();
  const fws = [...state.frameworks, ...(state.completed_frameworks ?? [])];
  const tasks = fws.flatMap((f: any) => [...f.executors, ...f.completed_executors]).flatMap((e: any) => [...e.tasks, ...e.completed_tasks]);
  return tasks.find((t: any) => t.id === taskId)?.statuses ?? [];
}

describe('health checks', () => {
  it('COMMAND check that fails: TASK_RUNNING healthy=false per failure, then TASK_KILLED healthy=false; /state shows the health', async () => {
    const fw = await subscribe(master.address);
    await fw.launch(agentId, [{ id: 'sick', cmd: 'sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: 'exit 1' }, ...fast } } }]);
    const killed = (await waitUpdate(fw, (s) => s.task_id.value === 'sick' && s.state === 'TASK_KILLED', 'the unhealthy task killed')).update.status;
    expect(fw.states('sick')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_KILLED']);
    const [, running, first, second] = updates(fw, 'sick');
    expect(running.healthy).toBeUndefined();
    expect(first).toMatchObject({ state: 'TASK_RUNNING', healthy: false, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', source: 'SOURCE_EXECUTOR' });
    expect(second).toMatchObject({ state: 'TASK_RUNNING', healthy: false, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' });
    // As Mesos's command executor: healthy false, no reason of its own, the signal that ended the command.
    expect(killed).toMatchObject({ healthy: false, source: 'SOURCE_EXECUTOR', message: 'Command terminated with signal Terminated' });
    expect(killed.reason).toBeUndefined();
    const shown = await stateStatuses(agent, 'sick');
    expect(shown.map((s) => [s.state, s.healthy])).toEqual([
      ['TASK_STARTING', undefined],
      ['TASK_RUNNING', undefined],
      ['TASK_RUNNING', false],
      ['TASK_RUNNING', false],
      ['TASK_KILLED', false],
    ]);
    // The master keeps the statuses as the agent sent them (its operator API shows the health too).
    const tasks = await operatorCall(master.address, { type: 'GET_TASKS' });
    const onMaster = [...(tasks.get_tasks.tasks ?? []), ...(tasks.get_tasks.completed_tasks ?? [])].find((t: any) => t.task_id.value === 'sick');
    expect(onMaster.statuses.map((s: any) => s.healthy)).toContain(false);
    // And its /state, as Mesos's: each status with its health.
    const state = await getJson(master.address, '/state');
    const legacy = [...state.body.frameworks, ...state.body.completed_frameworks].flatMap((f: any) => [...f.tasks, ...f.completed_tasks]).find((t: any) => t.id === 'sick');
    expect(legacy.statuses.map((s: any) => s.healthy)).toContain(false);
    await fw.teardown();
  });

  it('COMMAND check that succeeds: TASK_RUNNING healthy=true exactly once while the task stays healthy; a later kill says nothing of health', async () => {
    const fw = await subscribe(master.address);
    const marker = path.join(tempDir(), 'checked');
    dirs.push(path.dirname(marker));
    await fw.launch(agentId, [{ id: 'well', cmd: 'sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: `echo >> ${marker}` }, ...fast } } }]);
    await waitUpdate(fw, (s) => s.task_id.value === 'well' && s.healthy === true, 'the healthy update');
    await waitFor(() => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').length >= 4, 15_000, 'four checks to have run');
    expect(healthOf(fw, 'well')).toEqual([true]);
    await fw.kill('well', agentId);
    const killed = (await fw.sched.update('well', 'TASK_KILLED')).update.status;
    expect(killed.healthy).toBeUndefined();
    expect(fw.states('well')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_KILLED']);
    await fw.teardown();
  });

  it('HTTP check against a server the task runs: healthy once it answers (failures while it starts fall in the grace period)', async () => {
    const port = await freePort();
    const server = `require('http').createServer((q, r) => r.end(q.url === '/health' ? 'ok' : 'no')).listen(${port}, '127.0.0.1')`;
    const fw = await subscribe(master.address);
    await fw.launch(agentId, [
      { id: 'web', cmd: `sleep 1; exec ${process.execPath} -e "${server}"`, extra: { health_check: { type: 'HTTP', http: { port, path: '/health' }, ...fast, grace_period_seconds: 20 } } },
    ]);
    const healthy = (await waitUpdate(fw, (s) => s.task_id.value === 'web' && s.healthy !== undefined, 'the first health update')).update.status;
    expect(healthy).toMatchObject({ state: 'TASK_RUNNING', healthy: true, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' });
    expect(healthOf(fw, 'web')).toEqual([true]);
    await fw.teardown();
  });

  it('TCP check against a closed port: unhealthy twice, then killed (TASK_KILLING first for frameworks that take it)', async () => {
    const port = await freePort();
    const fw = await subscribe(master.address, { capabilities: ['TASK_KILLING_STATE'] });
    await fw.launch(agentId, [{ id: 'closed', cmd: 'sleep 100', extra: { health_check: { type: 'TCP', tcp: { port }, ...fast } } }]);
    const killed = (await waitUpdate(fw, (s) => s.task_id.value === 'closed' && s.state === 'TASK_KILLED', 'the task killed')).update.status;
    expect(fw.states('closed')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    expect(healthOf(fw, 'closed')).toEqual([false, false]);
    expect(killed.healthy).toBe(false);
    await fw.teardown();
  });

  it('ignores failures inside the grace period: a check that fails until the task is ready is reported healthy, never unhealthy', async () => {
    const fw = await subscribe(master.address);
    // The task becomes "ready" (a file in its sandbox) after 2 s; the check (run in the sandbox) fails until then.
    await fw.launch(agentId, [
      { id: 'slow-start', cmd: 'sleep 2; touch ready; sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: 'test -f ready' }, ...fast, consecutive_failures: 1, grace_period_seconds: 10 } } },
    ]);
    await waitUpdate(fw, (s) => s.task_id.value === 'slow-start' && s.healthy === true, 'the healthy update');
    expect(healthOf(fw, 'slow-start')).toEqual([true]);
    expect(fw.states('slow-start')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING']);
    await fw.teardown();
  });

  it('an invalid health check is TASK_ERROR (REASON_TASK_INVALID) before TASK_STARTING, naming the field', async () => {
    const fw = await subscribe(master.address);
    await fw.launch(agentId, [{ id: 'bad-check', cmd: 'sleep 100', extra: { health_check: { type: 'HTTP', http: { port: 8080, path: 'health' } } } }]);
    const error = (await fw.sched.update('bad-check', 'TASK_ERROR')).update.status;
    expect(error).toMatchObject({ reason: 'REASON_TASK_INVALID', message: "Task bad-check: health_check.http.path 'health' must start with '/'" });
    expect(fw.states('bad-check')).toEqual(['TASK_ERROR']);
    await fw.teardown();
  });
});

describe('general checks', () => {
  it('reports a COMMAND check result once as check_status (REASON_TASK_CHECK_STATUS_UPDATED); other updates carry the empty status', async () => {
    const fw = await subscribe(master.address);
    await fw.launch(agentId, [{ id: 'checked', cmd: 'sleep 100', extra: { check: { type: 'COMMAND', command: { command: { value: 'exit 3' } }, delay_seconds: 0, interval_seconds: 1 } } }]);
    const update = (await waitUpdate(fw, (s) => s.task_id.value === 'checked' && s.reason === 'REASON_TASK_CHECK_STATUS_UPDATED', 'the check update')).update.status;
    expect(update).toMatchObject({ state: 'TASK_RUNNING', check_status: { type: 'COMMAND', command: { exit_code: 3 } } });
    await new Promise((r) => setTimeout(r, 2500)); // more checks, same result: no more updates
    expect(updates(fw, 'checked').filter((s) => s.reason === 'REASON_TASK_CHECK_STATUS_UPDATED')).toHaveLength(1);
    const [starting] = updates(fw, 'checked');
    expect(starting.check_status).toEqual({ type: 'COMMAND', command: {} });
    const shown = await stateStatuses(agent, 'checked');
    expect(shown.find((s) => s.check_status?.command?.exit_code === 3)).toBeDefined();
    await fw.teardown();
  });
});

describe('health checks across an agent restart', () => {
  it('resume after kill -9 and restart (--recover=reconnect): a task that turns unhealthy afterwards is killed', async () => {
    const workDir = tempDir();
    dirs.push(workDir);
    const restarted = new AgentProcess({ master: master.address, workDir });
    const id = await restarted.start();
    const sick = path.join(tempDir(), 'sick');
    dirs.push(path.dirname(sick));
    const fw = await subscribe(master.address);
    await fw.launch(id, [{ id: 'survivor', cmd: 'sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: `test ! -f ${sick}` }, ...fast } } }]);
    await waitUpdate(fw, (s) => s.task_id.value === 'survivor' && s.healthy === true, 'the healthy update');
    await waitFor(async () => (await getJson(restarted.address, '/metrics/snapshot')).body['slave/status_updates_pending'] === 0, 20_000, 'every update acknowledged');

    await restarted.kill9();
    fs.writeFileSync(sick, '');
    await restarted.start();
    const killed = (await waitUpdate(fw, (s) => s.task_id.value === 'survivor' && s.state === 'TASK_KILLED', 'the task killed after the restart', 30_000)).update.status;
    expect(killed.healthy).toBe(false);
    expect(healthOf(fw, 'survivor')).toEqual([true, false, false]);
    await fw.teardown();
  });
});

describeIf(v1Unusable())('health checks with the cgroups isolator', () => {
  it('run a COMMAND check inside the task\'s cgroups', async () => {
    const workDir = tempDir();
    const modules = writeModulesJson({ modules: [{ name: 'cgroups', file: MODULE, parameters: { root: cgroupRoot, subsystems: ['cpu', 'memory', 'pids'] }, timeouts: { call: '10s' } }] });
    dirs.push(workDir, path.dirname(modules));
    const isolated = new AgentProcess({ master: master.address, workDir, flags: [`--modules=${modules}`, '--isolation=filesystem/posix,cgroups'] });
    const id = await isolated.start();
    const fw = await subscribe(master.address);
    await fw.launch(id, [{ id: 'in-cgroups', cmd: 'cat /proc/self/cgroup > task.cgroup; sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: 'cat /proc/self/cgroup > check.cgroup' }, ...fast } } }]);
    await waitUpdate(fw, (s) => s.task_id.value === 'in-cgroups' && s.healthy === true, 'the healthy update');
    const state = await isolated.state();
    const sandbox = state.frameworks.flatMap((f: any) => f.executors).find((e: any) => e.id === 'in-cgroups').directory;
    const task = fs.readFileSync(path.join(sandbox, 'task.cgroup'), 'utf8');
    const check = fs.readFileSync(path.join(sandbox, 'check.cgroup'), 'utf8');
    expect(task).toMatch(new RegExp(`:memory:/${cgroupRoot}/`));
    expect(check).toBe(task);
    await fw.teardown();
  });
});

const rootWithNobody = process.getuid?.() === 0 && fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('nobody:'));
describeIf(rootWithNobody ? undefined : 'they need root and a "nobody" user to switch to')('health checks of a task that runs as another user', () => {
  it('run a COMMAND check as the task\'s user (its uid and USER)', async () => {
    const workDir = tempDir();
    fs.chmodSync(workDir, 0o755); // task users must reach their sandboxes
    dirs.push(workDir);
    const other = new AgentProcess({ master: master.address, workDir });
    const id = await other.start();
    const fw = await subscribe(master.address, { user: 'nobody' });
    const check = 'test "$(id -un)" = nobody && test "$USER" = nobody && id -un > checked-by';
    await fw.launch(id, [{ id: 'as-nobody', cmd: 'sleep 100', extra: { health_check: { type: 'COMMAND', command: { value: check }, ...fast, consecutive_failures: 1 } } }]);
    const first = (await waitUpdate(fw, (s) => s.task_id.value === 'as-nobody' && s.healthy !== undefined, 'the first health update')).update.status;
    expect(first.healthy).toBe(true);
    const state = await other.state();
    const sandbox = state.frameworks.flatMap((f: any) => f.executors).find((e: any) => e.id === 'as-nobody').directory;
    expect(fs.statSync(path.join(sandbox, 'checked-by')).uid).toBe(Number(fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':')[2]));
    await fw.teardown();
  });
});
