// A master restarted on the same work_dir and port: the agents re-register by themselves with their
// tasks, the frameworks re-subscribe with their ids, and no task is forgotten — also when the master
// died without a clean stop, and when an agent never comes back (its tasks are reported lost).
import fs from 'node:fs';
import path from 'node:path';
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { tempDir, waitFor } from '../modules/helpers';
import { raw, SchedulerClient, type Event } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

const log = createLog({ level: (process.env.E2E_LOG ?? 'warn') as LogLevel });
const workDir = tempDir();
const masters: RunningMaster[] = [];
const agents: SimAgent[] = [];
const clients: SchedulerClient[] = [];
let port = 0;

const FRAMEWORK = { user: 'root', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 60 };

async function startMaster(agentReregisterTimeoutMs = 60_000): Promise<RunningMaster> {
  // offerTimeoutMs: offers a framework leaves unanswered go to the other framework.
  const m = await runMaster({ ip: '127.0.0.1', port, workDir, log, allocationIntervalMs: 100, heartbeatIntervalSeconds: 1, offerTimeoutMs: 1000, agentReregisterTimeoutMs });
  port = m.listener.port;
  masters.push(m);
  return m;
}

async function subscribe(name: string, frameworkId?: string): Promise<SchedulerClient> {
  const c = new SchedulerClient(`127.0.0.1:${port}`, true);
  clients.push(c);
  await c.subscribe({ ...FRAMEWORK, name }, frameworkId);
  return c;
}

// Launches one task per agent: each offer from an agent the framework has no task on yet gets one
// (1 cpu), the rest is declined, until the framework runs a task on `wanted` agents (default: all).
async function taskOnEveryAgent(c: SchedulerClient, prefix: string, wanted = agents.length): Promise<Map<string, string>> {
  const byAgent = new Map<string, string>(); // agent id -> task id
  let from = 0;
  while (byAgent.size < wanted) {
    const e = await c.next((x) => x.type === 'OFFERS', 10_000, from);
    from = c.events.indexOf(e) + 1;
    for (const offer of e.offers.offers) {
      const agentId = offer.agent_id.value;
      if (byAgent.has(agentId)) {
        await c.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } } });
        continue;
      }
      const taskId = `${prefix}-${byAgent.size}`;
      byAgent.set(agentId, taskId);
      const task = { name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 64 } }], command: { value: 'sleep 1000' } };
      expect((await c.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }], filters: { refuse_seconds: 0 } } })).status).toBe(202);
    }
  }
  await Promise.all([...byAgent.values()].map((t) => c.update(t, 'TASK_RUNNING')));
  await c.call({ type: 'SUPPRESS' }); // leave the next offers to the other framework
  return byAgent;
}

// Every active task the master knows: `<framework id>/<task id>` -> [state, agent id].
function knownTasks(m: RunningMaster): Map<string, [string, string]> {
  const tasks = new Map<string, [string, string]>();
  for (const f of m.master.frameworks.values()) for (const t of f.tasks.values()) tasks.set(`${f.id}/${t.task.task_id.value}`, [t.task.state, t.agentId]);
  return tasks;
}

async function stateTasks(): Promise<string[]> {
  const res = await raw(`127.0.0.1:${port}`, '', {}, '/state', 'GET');
  expect(res.status).toBe(200);
  const state = JSON.parse(res.body);
  return state.frameworks.flatMap((f: any) => f.tasks.map((t: any) => `${f.id}/${t.id} ${t.state}`)).sort();
}

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop()));
  for (const m of masters) await m.stop().catch(() => undefined);
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('master restart on the same work_dir', () => {
  let before: Map<string, [string, string]>;
  let a: SchedulerClient;
  let b: SchedulerClient;
  let aTasks: Map<string, string>;
  let bTasks: Map<string, string>;
  let killedAgentId: string; // the agent of the task killed in the first test

  it('comes back with its agents, frameworks and every task after a clean stop', async () => {
    const m1 = await startMaster();
    for (let i = 0; i < 3; i++) {
      const agent = new SimAgent({ master: `127.0.0.1:${port}`, hostname: `restart-${i}`, resources: 'cpus:4;mem:1024', taskBehaviour: () => ({ runMs: null }), statusRetryMs: 200, link: { initialBackoffMs: 50, maxBackoffMs: 250 } });
      agents.push(agent);
      await agent.start();
    }
    a = await subscribe('restart-a');
    aTasks = await taskOnEveryAgent(a, 'a');
    b = await subscribe('restart-b');
    bTasks = await taskOnEveryAgent(b, 'b');
    before = knownTasks(m1);
    expect(before.size).toBe(6);
    const stateBefore = await stateTasks();
    const agentIds = agents.map((x) => x.agentId);

    await m1.stop();
    a.close();
    b.close();
    const m2 = await startMaster();
    expect(m2.master.opts.info.id).not.toBe(m1.master.opts.info.id); // a new master id per run, as Mesos
    // The frameworks are known before they re-subscribe (recovered, disconnected).
    expect([...m2.master.frameworks.keys()].sort()).toEqual([a.frameworkId, b.frameworkId].sort());

    // The agents re-register by themselves, with the same ids and their tasks.
    await waitFor(() => m2.master.agents.size === 3 && m2.master.recoveredAgents.size === 0, 10_000, 'the agents to re-register');
    expect(agents.map((x) => x.agentId)).toEqual(agentIds);
    // The frameworks re-subscribe with their ids and get their tasks back.
    const a2 = await subscribe('restart-a', a.frameworkId);
    const b2 = await subscribe('restart-b', b.frameworkId);
    expect([a2.frameworkId, b2.frameworkId]).toEqual([a.frameworkId, b.frameworkId]);
    expect(knownTasks(m2)).toEqual(before);
    for (const [, [state]] of knownTasks(m2)) expect(state).toBe('TASK_RUNNING');
    // What the master keeps of a re-registered task is all its agent reported (the ids and the uuid it
    // repeats are kept once, not changed).
    const reported = new Map(agents.flatMap((x) => x.tasks().map((t) => [`${t.framework_id.value}/${t.task_id.value}`, t] as const)));
    for (const f of m2.master.frameworks.values()) {
      for (const t of f.tasks.values()) {
        const sent = reported.get(`${f.id}/${t.task.task_id.value}`);
        expect(sent?.statuses?.length).toBeGreaterThan(0);
        expect(t.task).toEqual(sent);
      }
    }
    expect(await stateTasks()).toEqual(stateBefore);
    expect(await operatorTasks()).toEqual(stateBefore);

    // Offers resume, and a KILL of a recovered task reaches its agent: TASK_KILLED comes back.
    await a2.next((e: Event) => e.type === 'OFFERS', 10_000);
    const [agentId, taskId] = [...aTasks][1];
    killedAgentId = agentId;
    expect((await a2.call({ type: 'KILL', kill: { task_id: { value: taskId }, agent_id: { value: agentId } } })).status).toBe(202);
    const killed = await a2.update(taskId, 'TASK_KILLED');
    expect(killed.update.status.agent_id.value).toBe(agentId);
    await waitFor(() => !m2.master.frameworks.get(a.frameworkId)!.tasks.has(taskId), 5000, 'the kill to reach the master');
    before.delete(`${a.frameworkId}/${taskId}`);
    a = a2;
    b = b2;
  }, 60_000);

  it('comes back after the master died without a clean stop; an agent that never returns is removed and its tasks reported TASK_LOST', async () => {
    const m2 = masters[masters.length - 1];
    // The master "dies": connections reset, no goodbye, the registry is not closed. Its lock goes with
    // the process (a dead pid's lock is taken over); this process lives on, so the test drops it.
    await m2.listener.close();
    m2.master.stop();
    await m2.modules.stop();
    fs.rmSync(path.join(workDir, 'master', 'registry', 'LOCK'));
    masters.pop();
    a.close();
    b.close();
    // One agent dies too, and never comes back: one whose tasks all still run (the task killed above is
    // terminal and reconciliation would rightly answer for it).
    const gone = agents.find((x) => x.agentId !== killedAgentId)!;
    gone.crash();
    const goneTasks = [...aTasks, ...bTasks].filter(([agentId]) => agentId === gone.agentId).map(([, taskId]) => taskId);
    expect(goneTasks).toHaveLength(2);

    const m3 = await startMaster(8000);
    const a3 = await subscribe('restart-a', a.frameworkId);
    const b3 = await subscribe('restart-b', b.frameworkId);
    await waitFor(() => m3.master.agents.size === 2, 10_000, 'the two live agents to re-register');
    expect(m3.master.recoveredAgents.has(gone.agentId!)).toBe(true);
    const live = [...before].filter(([, [, agentId]]) => agentId !== gone.agentId);
    expect([...knownTasks(m3)].sort()).toEqual(live.sort());

    // While the agent may still come back, reconciliation says nothing about its tasks.
    const [lostA] = goneTasks.filter((t) => t.startsWith('a-'));
    const [liveA] = [...aTasks].filter(([agentId, t]) => agentId !== gone.agentId && m3.master.frameworks.get(a.frameworkId)!.tasks.has(t)).map(([, t]) => t);
    const from = a3.events.length;
    await a3.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: lostA } }, { task_id: { value: liveA } }] } });
    await a3.update(liveA, 'TASK_RUNNING', from);
    expect(a3.events.slice(from).some((e) => e.type === 'UPDATE' && e.update.status.task_id.value === lostA)).toBe(false);

    // Once --agent_reregister_timeout passes, the agent is removed and each framework hears of its task.
    const lost = await Promise.all([a3.update(lostA, 'TASK_LOST'), b3.update(goneTasks.find((t) => t.startsWith('b-'))!, 'TASK_LOST')]);
    for (const e of lost) {
      expect(e.update.status.reason).toBe('REASON_AGENT_REMOVED');
      expect(e.update.status.message).toMatch(/did not re-register within 8 s/);
    }
    expect(m3.master.recoveredAgents.size).toBe(0);
    expect(m3.registry!.agents.has(gone.agentId!)).toBe(false);
    // Reconciliation now answers from what the master reported.
    const from2 = a3.events.length;
    await a3.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: lostA } }] } });
    expect((await a3.update(lostA, 'TASK_LOST', from2)).update.status.reason).toBe('REASON_RECONCILIATION');
    a = a3;
    b = b3;
  }, 60_000);

  it('removes a framework that does not re-subscribe within its failover_timeout (at least the agents\' window), and its tasks are shut down', async () => {
    const c = await subscribe('restart-c'); // failover_timeout 0 below
    await c.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...FRAMEWORK, name: 'restart-c', failover_timeout: 0, id: { value: c.frameworkId } } } });
    const [[agentId, taskId]] = [...(await taskOnEveryAgent(c, 'c', 1))];
    const host = agents.find((x) => x.agentId === agentId)!;
    await masters.pop()!.stop();
    for (const x of [a, b, c]) x.close();

    const m4 = await startMaster(1500);
    expect(m4.master.frameworks.get(c.frameworkId)?.recovered).toBe(true);
    await subscribe('restart-a', a.frameworkId);
    await subscribe('restart-b', b.frameworkId);
    await waitFor(() => !m4.master.frameworks.has(c.frameworkId), 10_000, 'framework c to be removed');
    await waitFor(() => host.tasks().some((t) => t.task_id.value === taskId && t.state === 'TASK_KILLED'), 10_000, "framework c's task to be killed on its agent");
    expect(m4.registry!.frameworks.has(c.frameworkId)).toBe(false);
    expect(m4.master.frameworks.has(a.frameworkId) && m4.master.frameworks.has(b.frameworkId)).toBe(true);
  }, 60_000);
});

// GET_TASKS of the operator API: the same tasks as /state.
async function operatorTasks(): Promise<string[]> {
  const res = await raw(`127.0.0.1:${port}`, JSON.stringify({ type: 'GET_TASKS' }), { 'Content-Type': 'application/json', Accept: 'application/json' }, '/api/v1');
  expect(res.status).toBe(200);
  const body = JSON.parse(res.body);
  return (body.get_tasks.tasks ?? []).map((t: any) => `${t.framework_id.value}/${t.task_id.value} ${t.state}`).sort();
}
