// The agent's side of the master↔agent protocol, seen from a bare test master (real sockets, real
// containers): what Register carries, pongs, reliable status updates, duplicate and unknown tasks,
// re-registration with tasks after a dropped stream, a master that stops pinging, the agent id kept
// across an agent restart, and resources isolator modules provide.
import fs from 'node:fs';
import path from 'node:path';
import type { AgentMessage } from '../../core/src/agent-protocol/messages';
import type { AgentConnection } from '../../core/src/agent-protocol/server';
import { containersDir, readMeta } from '../../core/src/agent/containerizer/launcher';
import { runAgent, type RunAgentOptions, type RunningAgent } from '../../core/src/agent/run-agent';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import type { MasterInfo, TaskInfo } from '../../core/src/master/model/mesos';
import { quietLog, startTestMaster, type TestMaster } from '../support/test-master';
import { fixture, tempDir, waitFor, writeModulesJson } from '../modules/helpers';

const MASTER_INFO: MasterInfo = { id: 'M1', ip: 0, port: 5050, hostname: 'test-master' };
const FRAMEWORK = { user: 'root', name: 'fw', id: { value: 'F1' } };
const task = (id: string, cmd: string): TaskInfo => ({ name: id, task_id: { value: id }, agent_id: { value: 'A1' }, command: { value: cmd }, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }] });

let master: TestMaster;
let workDir: string;
let running: RunningAgent | undefined;
let pingSeconds = 30;

const sent = (kind: keyof AgentMessage) => master.messages.filter((m) => m.msg[kind]).map((m) => m.msg[kind]!);
const updates = (taskId: string) => master.messages.filter((m) => m.msg.status_update?.status.task_id.value === taskId).map((m) => m.msg.status_update!.status);
const lastConn = (): AgentConnection => master.connects[master.connects.length - 1];

async function start(extra: Partial<RunAgentOptions> = {}): Promise<RunningAgent> {
  running = await runAgent({
    master: master.address,
    ip: '127.0.0.1',
    port: 0,
    hostname: 'agent-under-test',
    workDir,
    resources: 'cpus:2;mem:512',
    attributes: 'rack:r1',
    isolation: ['posix/cpu', 'posix/mem'],
    log: quietLog,
    statusRetry: { initialMs: 100, maxMs: 200 },
    ...extra,
  });
  return running;
}

beforeEach(async () => {
  pingSeconds = 30;
  workDir = tempDir();
  master = await startTestMaster({
    onMessage(conn, msg) {
      if (msg.register || msg.reregister) conn.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO, ping_interval_seconds: pingSeconds } });
    },
  });
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await master.close();
  // Containers outlive the agent: end the ones this test started.
  const dir = containersDir(path.join(workDir, 'run'));
  for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const pid = readMeta(path.join(dir, id))?.pid;
    try {
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // ended already
    }
  }
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('agent protocol', () => {
  it('registers with hostname, HTTP port, resources (given and detected), attributes and capabilities; answers pings', async () => {
    const agent = await start();
    expect(await agent.registered()).toBe('A1');
    const [register] = sent('register') as any[];
    expect(register.agent_info.hostname).toBe('agent-under-test');
    expect(register.agent_info.port).toBe(agent.port);
    const names = register.agent_info.resources.map((r: any) => r.name);
    expect(names).toEqual(expect.arrayContaining(['cpus', 'mem', 'disk', 'ports']));
    expect(register.agent_info.resources.find((r: any) => r.name === 'cpus').scalar.value).toBe(2);
    expect(register.agent_info.attributes).toEqual([{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }]);
    expect(register.capabilities).toContain('MULTI_ROLE');
    lastConn().send({ ping: { seq: 41 } });
    await waitFor(() => sent('pong').some((p: any) => p.seq === 41), 5000, 'the pong');
    expect(agent.agent.identity()).toMatchObject({ id: 'A1', registered: true, port: agent.port });
    expect(fs.readFileSync(path.join(workDir, 'meta', 'journal.jsonl'), 'utf8')).toContain('"A1"');
  });

  it('retries an update until acknowledged, then sends the next; refuses a duplicate task; answers TASK_LOST for an unknown one', async () => {
    await (await start()).registered();
    lastConn().send({ run_task: { framework: FRAMEWORK, task: task('t1', 'sleep 30') } });
    await waitFor(() => updates('t1').length >= 3, 10_000, 'STARTING sent again and again');
    const starting = updates('t1');
    expect(new Set(starting.map((s) => s.state))).toEqual(new Set(['TASK_STARTING']));
    expect(new Set(starting.map((s) => s.uuid!.toString('hex'))).size).toBe(1);
    expect(starting[0].uuid).toHaveLength(16);
    lastConn().send({ status_update_ack: { framework_id: { value: 'F1' }, task_id: { value: 't1' }, uuid: starting[0].uuid! } });
    await waitFor(() => updates('t1').some((s) => s.state === 'TASK_RUNNING'), 10_000, 'TASK_RUNNING after the ack');
    const runningUpdate = updates('t1').find((s) => s.state === 'TASK_RUNNING')!;
    lastConn().send({ status_update_ack: { framework_id: { value: 'F1' }, task_id: { value: 't1' }, uuid: runningUpdate.uuid! } });

    lastConn().send({ run_task: { framework: FRAMEWORK, task: task('t1', 'sleep 30') } });
    await waitFor(() => updates('t1').some((s) => s.state === 'TASK_ERROR'), 10_000, 'TASK_ERROR for the duplicate');
    const dup = updates('t1').find((s) => s.state === 'TASK_ERROR')!;
    expect(dup).toMatchObject({ reason: 'REASON_TASK_INVALID', source: 'SOURCE_AGENT' });
    expect(dup.message).toMatch(/duplicate/);
    expect(dup.uuid).toBeUndefined(); // not the running task's stream: nobody acknowledges it
    expect(running!.agent.metrics()['slave/tasks_running']).toBe(1);

    lastConn().send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'nope' } } });
    await waitFor(() => updates('nope').length > 0, 10_000, 'TASK_LOST for the unknown task');
    expect(updates('nope')[0]).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_TASK_UNKNOWN', source: 'SOURCE_AGENT' });

    lastConn().send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 't1' }, kill_policy: { grace_period: { nanoseconds: 1e9 } } } });
    await waitFor(() => updates('t1').some((s) => s.state === 'TASK_KILLED'), 10_000, 'TASK_KILLED');
  });

  it('re-registers with its tasks and frameworks on a new stream, and resends what is unacknowledged', async () => {
    await (await start()).registered();
    lastConn().send({ run_task: { framework: FRAMEWORK, task: task('t2', 'sleep 30') } });
    await waitFor(() => updates('t2').length > 0, 10_000, 'the first update');
    const first = master.connects.length;
    lastConn().close('test: the master closes the stream');
    await waitFor(() => sent('reregister').length > 0, 15_000, 'the re-registration');
    expect(master.connects.length).toBeGreaterThan(first);
    const re = sent('reregister')[0] as any;
    expect(re.agent_info.id).toEqual({ value: 'A1' });
    expect(re.tasks.map((t: any) => t.task_id.value)).toEqual(['t2']);
    expect(re.frameworks.map((f: any) => f.id.value)).toEqual(['F1']);
    await waitFor(() => master.messages.some((m) => m.conn === lastConn() && m.msg.status_update?.status.task_id.value === 't2'), 10_000, 'the update resent on the new stream');
  });

  it('reconnects when the master stops pinging', async () => {
    pingSeconds = 0.2;
    await (await start()).registered();
    const first = master.connects.length;
    // No pings come: after 5 intervals (+1 s) the agent takes the master for gone and dials again.
    await waitFor(() => master.connects.length > first && sent('reregister').length > 0, 15_000, 'a new stream and a re-registration');
    expect(running!.agent.metrics()['slave/master_ping_timeouts']).toBeGreaterThanOrEqual(1);
  });

  it('keeps its id across an agent restart on the same work_dir (Reregister, not Register)', async () => {
    await (await start()).registered();
    await running!.stop();
    running = undefined;
    const registersBefore = sent('register').length;
    await (await start()).registered();
    expect(sent('register').length).toBe(registersBefore);
    expect((sent('reregister').pop() as any).agent_info.id).toEqual({ value: 'A1' });
  });

  it('adds what isolator modules provide (WatchResources) to its total and reports a change with resources_changed', async () => {
    const file = writeModulesJson({ modules: [{ name: 'provider', file: fixture('resource-provider'), parameters: { gpus: 2, changeAfterMs: 500 } }] });
    try {
      await (await start({ modules: loadModulesJson(file), isolation: ['posix/cpu', 'provider'] })).registered();
      const gpus = (rs: any[]) => rs.filter((r) => r.name === 'gpus').map((r) => r.scalar.value);
      expect(gpus((sent('register')[0] as any).agent_info.resources)).toEqual([2]);
      await waitFor(() => sent('resources_changed').length > 0, 10_000, 'resources_changed');
      const changed = (sent('resources_changed')[0] as any).total;
      expect(gpus(changed)).toEqual([3]);
      expect(changed.find((r: any) => r.name === 'cpus').scalar.value).toBe(2);
      expect(running!.agent.metrics()['slave/gpus_total']).toBe(3);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
