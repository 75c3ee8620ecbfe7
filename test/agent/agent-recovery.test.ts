// Agent recovery end to end: `kill -9` of a real `tessera agent` process while tasks run, and a restart
// on the same work_dir. Containers outlive the agent; the restarted agent re-registers with its id,
// resumes watching them, reports what ended while it was down, and resends unacknowledged updates.
import fs from 'node:fs';
import type { RunningMaster } from '../../core/src/master/run-master';
import { alive, tempDir, waitFor } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster, stopMaster } from './agent-cluster';

let master: RunningMaster;
const dirs: string[] = [];

beforeAll(async () => {
  master = await startMaster();
});
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function newAgent(flags: string[] = []): Promise<{ agent: AgentProcess; agentId: string }> {
  const workDir = tempDir();
  dirs.push(workDir);
  const agent = new AgentProcess({ master: master.address, workDir, flags });
  return { agent, agentId: await agent.start() };
}

// Every update the agent sent was acknowledged: nothing will be resent after the restart.
const settled = (agent: AgentProcess) =>
  waitFor(async () => (await getJson(agent.address, '/metrics/snapshot')).body['slave/status_updates_pending'] === 0, 20_000, 'every update acknowledged');

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('agent recovery', () => {
  it('keeps 20 running tasks across an agent kill -9 and restart; reports their later exit and one that ended while it was down', async () => {
    const { agent, agentId } = await newAgent();
    const fw = await Framework.subscribe(master.address);
    const sleepers = ids(20, 'sleeper');
    await fw.launch(agentId, [...sleepers.map((id) => ({ id, cmd: 'sleep 15' })), { id: 'short', cmd: 'sleep 1' }]);
    await waitFor(() => [...sleepers, 'short'].every((id) => fw.states(id).includes('TASK_RUNNING')), 30_000, 'all tasks RUNNING');
    await settled(agent);
    const pids = agent.containerPids();
    expect(pids).toHaveLength(21);

    await agent.kill9();
    expect(pids.filter(alive).length).toBeGreaterThanOrEqual(20); // containers do not die with the agent
    await waitFor(() => pids.filter(alive).length === 20, 10_000, "the short task's container to exit while the agent is down");
    const restartedId = await agent.start();
    expect(restartedId).toBe(agentId); // the id is kept in <work_dir>/meta

    const state = await agent.state();
    const running = state.frameworks.flatMap((f: any) => f.executors.flatMap((e: any) => e.tasks)).filter((t: any) => t.state === 'TASK_RUNNING');
    expect(running.map((t: any) => t.id).sort()).toEqual([...sleepers].sort());
    const answers = await fw.reconcile(agentId, sleepers);
    expect(answers.map((e) => e.update.status.state)).toEqual(sleepers.map(() => 'TASK_RUNNING'));

    const short = (await fw.sched.update('short', 'TASK_FINISHED')).update.status;
    expect(short.message).toBe('Command exited with status 0');
    await waitFor(() => sleepers.every((id) => fw.states(id).includes('TASK_FINISHED')), 40_000, 'all 20 tasks FINISHED');
    for (const id of sleepers) expect(fw.states(id)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    const finished = (await fw.sched.update(sleepers[0], 'TASK_FINISHED')).update.status;
    expect(finished).toMatchObject({ source: 'SOURCE_EXECUTOR', message: 'Command exited with status 0', agent_id: { value: agentId } });
    await fw.teardown();
  });

  it('resends an unacknowledged update after the restart, with the same uuid, and the next only after its ack', async () => {
    const { agent, agentId } = await newAgent();
    const fw = await Framework.subscribe(master.address, { autoAck: false });
    await fw.launch(agentId, [{ id: 'unacked', cmd: 'sleep 60' }]);
    const first = (await fw.sched.update('unacked', 'TASK_STARTING')).update.status;
    // The container must be released (running) before the agent dies: an agent killed in the middle of a
    // launch takes the held container with it, as Mesos destroys a container whose launch did not finish.
    await waitFor(async () => {
      const state = await agent.state();
      return state.frameworks.some((f: any) => f.executors.some((e: any) => e.tasks.some((t: any) => t.id === 'unacked' && t.state === 'TASK_RUNNING')));
    }, 20_000, 'the task to run on the agent (its RUNNING update waits behind the unacknowledged STARTING)');
    await agent.kill9();
    const from = fw.sched.events.length;
    await agent.start();
    const again = (await fw.sched.update('unacked', 'TASK_STARTING', from)).update.status;
    expect(again.uuid).toBe(first.uuid);
    expect(fw.states('unacked').every((s) => s === 'TASK_STARTING')).toBe(true);
    await fw.sched.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'unacked' }, uuid: first.uuid } });
    const running = (await fw.sched.update('unacked', 'TASK_RUNNING')).update.status;
    expect(running.uuid).not.toBe(first.uuid);
    await fw.teardown();
  });

  it('with --recover=cleanup kills the running tasks after the restart and reports them TASK_KILLED', async () => {
    const { agent, agentId } = await newAgent();
    const fw = await Framework.subscribe(master.address);
    const tasks = ids(3, 'doomed');
    await fw.launch(agentId, tasks.map((id) => ({ id, cmd: 'sleep 100' })));
    await waitFor(() => tasks.every((id) => fw.states(id).includes('TASK_RUNNING')), 20_000, 'all RUNNING');
    await settled(agent);
    const pids = agent.containerPids();
    await agent.kill9();
    expect(pids.every(alive)).toBe(true);
    await agent.start(['--recover=cleanup']);
    for (const id of tasks) {
      const killed = (await fw.sched.update(id, 'TASK_KILLED')).update.status;
      expect(killed.reason).toBe('REASON_AGENT_RESTARTED');
      expect(killed.source).toBe('SOURCE_AGENT');
    }
    await waitFor(() => !pids.some(alive), 10_000, 'the containers to be gone');
    await fw.teardown();
  });

  it('re-registers with its running task after a master restart (master with --work_dir), and the task can still be killed', async () => {
    const masterDir = tempDir();
    dirs.push(masterDir);
    const first = await startMaster({ workDir: masterDir });
    const port = first.listener.port;
    const workDir = tempDir();
    dirs.push(workDir);
    const agent = new AgentProcess({ master: first.address, workDir });
    const agentId = await agent.start();
    const fw = await Framework.subscribe(first.address);
    await fw.launch(agentId, [{ id: 'through-restart', cmd: 'sleep 60' }]);
    await fw.sched.update('through-restart', 'TASK_RUNNING');
    await settled(agent);
    fw.sched.close();

    await stopMaster(first);
    const second = await startMaster({ port, workDir: masterDir });
    await waitFor(() => second.master.agents.get(agentId)?.conn !== undefined, 30_000, 'the agent to re-register with the restarted master');
    expect(second.master.agents.get(agentId)!.tasks.size).toBe(1);
    const again = await Framework.subscribe(second.address, { frameworkId: fw.sched.frameworkId });
    const [answer] = await again.reconcile(agentId, ['through-restart']);
    expect(answer.update.status.state).toBe('TASK_RUNNING');
    await again.kill('through-restart', agentId);
    await again.sched.update('through-restart', 'TASK_KILLED');
    await again.teardown();
  });
});
