// The agent end to end: a real master, a real `tessera agent` process (from the bundle) running real
// containers, and a scheduler that shares no code with either. Task states as Mesos reports them.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningMaster } from '../../core/src/master/run-master';
import { tempDir, waitFor } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster } from './agent-cluster';

let master: RunningMaster;
let agent: AgentProcess;
let agentId: string;
const dirs: string[] = [];

beforeAll(async () => {
  master = await startMaster();
  const workDir = tempDir();
  dirs.push(workDir);
  agent = new AgentProcess({ master: master.address, workDir });
  agentId = await agent.start();
});
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const statusOf = async (fw: Framework, taskId: string, state: string) => (await fw.sched.update(taskId, state)).update.status;

describe('tessera agent end to end', () => {
  it('runs `echo hello`: STARTING, RUNNING, FINISHED, and hello is in the sandbox stdout read through /files/read', async () => {
    const fw = await Framework.subscribe(master.address);
    await fw.launch(agentId, [{ id: 'hello', cmd: 'echo hello' }]);
    const finished = await statusOf(fw, 'hello', 'TASK_FINISHED');
    expect(fw.states('hello')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(finished.source).toBe('SOURCE_EXECUTOR');
    expect(finished.message).toBe('Command exited with status 0');
    expect(finished.agent_id.value).toBe(agentId);
    expect(finished.executor_id.value).toBe('hello');
    expect(Buffer.from(finished.uuid, 'base64')).toHaveLength(16);

    const state = await agent.state();
    const executor = state.frameworks.concat(state.completed_frameworks ?? []).flatMap((f: any) => [...f.executors, ...f.completed_executors]).find((e: any) => e.id === 'hello');
    expect(executor.directory).toMatch(new RegExp(`/slaves/${agentId}/frameworks/${fw.sched.frameworkId}/executors/hello/runs/[0-9a-f-]{36}$`));
    const read = await getJson(agent.address, `/files/read?path=${encodeURIComponent(`${executor.directory}/stdout`)}&offset=0`);
    expect(read.status).toBe(200);
    expect(read.body.data).toContain('hello');
    await fw.teardown();
  });

  it('reports a failing command as TASK_FAILED "Command exited with status 3"', async () => {
    const fw = await Framework.subscribe(master.address);
    await fw.launch(agentId, [{ id: 'fails', cmd: 'exit 3' }]);
    const failed = await statusOf(fw, 'fails', 'TASK_FAILED');
    expect(failed.message).toBe('Command exited with status 3');
    expect(failed.reason).toBe('REASON_COMMAND_EXECUTOR_FAILED');
    expect(failed.source).toBe('SOURCE_EXECUTOR');
    await fw.teardown();
  });

  it('answers an invalid task (a custom executor) with TASK_ERROR and the reason', async () => {
    const fw = await Framework.subscribe(master.address);
    await fw.launch(agentId, [{ id: 'custom', cmd: 'true', extra: { command: undefined, executor: { executor_id: { value: 'my-executor' }, command: { value: './my-executor' } } } }]);
    const error = await statusOf(fw, 'custom', 'TASK_ERROR');
    expect(error.reason).toBe('REASON_TASK_INVALID');
    expect(error.message).toMatch(/command tasks only/);
    expect(fw.states('custom')).toEqual(['TASK_ERROR']);
    await fw.teardown();
  });

  it('kills a task: TASK_KILLED; with TASK_KILLING_STATE, TASK_KILLING first', async () => {
    const plain = await Framework.subscribe(master.address);
    await plain.launch(agentId, [{ id: 'sleeper', cmd: 'sleep 100' }]);
    await plain.sched.update('sleeper', 'TASK_RUNNING');
    await plain.kill('sleeper', agentId);
    const killed = await statusOf(plain, 'sleeper', 'TASK_KILLED');
    expect(plain.states('sleeper')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    expect(killed.message).toMatch(/signal/i);
    await plain.teardown();

    const aware = await Framework.subscribe(master.address, { capabilities: ['TASK_KILLING_STATE'] });
    await aware.launch(agentId, [{ id: 'sleeper-2', cmd: 'sleep 100' }]);
    await aware.sched.update('sleeper-2', 'TASK_RUNNING');
    await aware.kill('sleeper-2', agentId);
    await aware.sched.update('sleeper-2', 'TASK_KILLED');
    expect(aware.states('sleeper-2')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    await aware.teardown();
  });

  it('kills a task that ignores SIGTERM only after the kill policy\'s grace period (SIGKILL then)', async () => {
    const fw = await Framework.subscribe(master.address);
    await fw.launch(agentId, [{ id: 'stubborn', cmd: 'trap "" TERM; while true; do sleep 0.2; done', killGraceSeconds: 2 }]);
    await fw.sched.update('stubborn', 'TASK_RUNNING');
    await new Promise((r) => setTimeout(r, 300)); // the trap is set
    const asked = Date.now();
    await fw.kill('stubborn', agentId);
    const killed = await statusOf(fw, 'stubborn', 'TASK_KILLED');
    expect(Date.now() - asked).toBeGreaterThanOrEqual(1900);
    expect(killed.message).toMatch(/Killed|SIGKILL/);
    await fw.teardown();
  });

  it('kills a task while its URI is still being fetched: TASK_KILLED during launch at once, and the command never runs', async () => {
    // A server that takes the request and never answers: the fetch would wait out its 60 s timeout.
    const requested: http.IncomingMessage[] = [];
    const server = http.createServer((req) => void requested.push(req));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const fw = await Framework.subscribe(master.address);
      const marker = `${tempDir()}/ran`;
      await fw.launch(agentId, [{ id: 'fetching', cmd: `touch ${marker}`, extra: { command: { value: `touch ${marker}`, uris: [{ value: `http://127.0.0.1:${port}/app.bin`, extract: false }] } } }]);
      await waitFor(() => requested.length > 0, 20_000, 'the agent to fetch the URI');
      const asked = Date.now();
      await fw.kill('fetching', agentId);
      const killed = await fw.sched.update('fetching', 'TASK_KILLED'); // within 10 s, not after the fetch timed out
      expect(killed.update.status).toMatchObject({ state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH' });
      expect(Date.now() - asked).toBeLessThan(10_000);
      expect(fw.states('fetching')).toEqual(['TASK_STARTING', 'TASK_KILLED']);
      expect(fs.existsSync(marker)).toBe(false);
      await fw.teardown();
    } finally {
      for (const r of requested) r.socket.destroy();
      server.close();
    }
  });

  it('kills every task of a framework that is torn down', async () => {
    const fw = await Framework.subscribe(master.address);
    await fw.launch(agentId, [{ id: 'td-1', cmd: 'sleep 100' }, { id: 'td-2', cmd: 'sleep 100' }]);
    await fw.sched.update('td-1', 'TASK_RUNNING');
    await fw.sched.update('td-2', 'TASK_RUNNING');
    await fw.teardown();
    await waitFor(async () => {
      const s = await agent.state();
      return s.frameworks.every((f: any) => f.executors.length === 0);
    }, 20_000, 'the torn-down framework\'s containers to end');
    const metrics = (await getJson(agent.address, '/metrics/snapshot')).body;
    expect(metrics['slave/tasks_running']).toBe(0);
    expect(metrics['slave/tasks_killed']).toBeGreaterThanOrEqual(2);
  });
});
