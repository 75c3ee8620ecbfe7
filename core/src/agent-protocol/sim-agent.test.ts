// SimAgent (test/support/sim-agent.ts) against a tiny fake master: registration, the status update
// stream of a task (uuids, retries until acknowledged, order), kills, pings, and re-registration.
import { SimAgent, parseResources } from '../../../test/support/sim-agent';
import { startTestMaster, waitFor, type TestMaster } from '../../../test/support/test-master';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../master/model/mesos';
import type { AgentConnection } from './server';

const FRAMEWORK: FrameworkInfo = { user: 'root', name: 'fw', id: { value: 'F1' } };
const task = (id: string): TaskInfo => ({ name: id, task_id: { value: id }, agent_id: { value: 'S1' }, resources: parseResources('cpus:0.5;mem:64') });

/** FakeMaster answers (re-)registrations, records updates, and acks each update once it arrived `ackOn` times. */
interface FakeMaster {
  transport: TestMaster;
  updates: TaskStatus[];
  conn(): AgentConnection;
  registrations: string[];
}

async function startFakeMaster(ackOn = 1, port = 0): Promise<FakeMaster> {
  const updates: TaskStatus[] = [];
  const registrations: string[] = [];
  const seen = new Map<string, number>();
  const transport = await startTestMaster(
    {
      onMessage(conn, msg) {
        if (msg.register || msg.reregister) {
          registrations.push(msg.register ? 'register' : 'reregister');
          const id = msg.reregister?.agent_info.id?.value ?? 'S1';
          conn.send({ registered: { agent_id: { value: id }, master_info: { id: 'M', ip: 16777343, port: 5050 }, ping_interval_seconds: 15 } });
        } else if (msg.status_update) {
          const { framework_id, status } = msg.status_update;
          updates.push(status);
          const key = status.uuid!.toString('hex');
          const n = (seen.get(key) ?? 0) + 1;
          seen.set(key, n);
          if (n >= ackOn) conn.send({ status_update_ack: { framework_id, task_id: status.task_id, uuid: status.uuid! } });
        }
      },
    },
    { port },
  );
  return { transport, updates, registrations, conn: () => transport.connects[transport.connects.length - 1] };
}

const agents: SimAgent[] = [];
const masters: FakeMaster[] = [];
function sim(...args: ConstructorParameters<typeof SimAgent>): SimAgent {
  const a = new SimAgent(...args);
  agents.push(a);
  return a;
}
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const m of masters.splice(0)) await m.transport.close();
});

test('registers with its resources and reports STARTING, RUNNING, FINISHED with uuids, retrying until acked', async () => {
  const master = await startFakeMaster(2); // every update is acknowledged only when it came the second time
  masters.push(master);
  const agent = sim({ master: master.transport.address, hostname: 'node-1', resources: 'cpus:4;mem:4096;ports:[31000-32000]', statusRetryMs: 30, taskBehaviour: () => ({ runMs: 50 }) });
  expect(await agent.start()).toBe('S1');
  expect(master.transport.messages[0].msg).toEqual({
    register: {
      agent_info: {
        hostname: 'node-1',
        port: 5051,
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
          { name: 'mem', type: 'SCALAR', scalar: { value: 4096 } },
          { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
        ],
      },
      version: 'sim',
    },
  });

  master.conn().send({ run_task: { framework: FRAMEWORK, task: task('t1') } });
  await waitFor(() => agent.tasks().length === 0 && master.updates.length === 6, 'three updates, each sent twice');
  // In order, each sent again (same uuid) until acknowledged, the next only after the previous was acked.
  expect(master.updates.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_FINISHED', 'TASK_FINISHED']);
  for (let i = 0; i < 6; i += 2) expect(master.updates[i].uuid).toEqual(master.updates[i + 1].uuid);
  const first = master.updates[0];
  expect(first.uuid).toHaveLength(16);
  expect(new Set(master.updates.map((s) => s.uuid!.toString('hex'))).size).toBe(3);
  expect(first).toMatchObject({ task_id: { value: 't1' }, source: 'SOURCE_EXECUTOR', agent_id: { value: 'S1' }, executor_id: { value: 't1' } });
  expect(Math.abs(first.timestamp! - Date.now() / 1000)).toBeLessThan(5);
  expect(agent.unacknowledged()).toBe(0);
});

test('kills a task, tracks its state, and forgets it once the terminal update is acked', async () => {
  const master = await startFakeMaster(Infinity); // acks by hand below
  masters.push(master);
  const agent = sim({ master: master.transport.address, resources: 'cpus:1', statusRetryMs: 10_000, taskBehaviour: () => ({ runMs: null }) });
  await agent.start();
  master.conn().send({ run_task: { framework: FRAMEWORK, task: task('t1') } });
  const ack = (s: TaskStatus) => master.conn().send({ status_update_ack: { framework_id: { value: 'F1' }, task_id: s.task_id, uuid: s.uuid! } });
  await waitFor(() => master.updates.length === 1, 'STARTING');
  ack(master.updates[0]);
  await waitFor(() => master.updates.length === 2, 'RUNNING');
  expect(agent.tasks()).toMatchObject([{ task_id: { value: 't1' }, framework_id: { value: 'F1' }, state: 'TASK_RUNNING', agent_id: { value: 'S1' } }]);
  expect(agent.frameworks()).toEqual([FRAMEWORK]);
  // A stale ack (STARTING's uuid again) changes nothing.
  ack(master.updates[0]);
  master.conn().send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 't1' } } });
  await new Promise((r) => setTimeout(r, 50));
  expect(master.updates).toHaveLength(2); // KILLED waits behind the unacknowledged RUNNING
  expect(agent.tasks()[0].state).toBe('TASK_KILLED');
  ack(master.updates[1]);
  await waitFor(() => master.updates.length === 3, 'KILLED');
  expect(master.updates[2]).toMatchObject({ state: 'TASK_KILLED', source: 'SOURCE_EXECUTOR' });
  ack(master.updates[2]);
  await waitFor(() => agent.tasks().length === 0, 'the task to be forgotten');
  expect(agent.frameworks()).toEqual([]);
  // Killing a task it does not know yields TASK_LOST from the agent.
  master.conn().send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'ghost' } } });
  await waitFor(() => master.updates.length === 4, 'LOST');
  expect(master.updates[3]).toMatchObject({ task_id: { value: 'ghost' }, state: 'TASK_LOST', source: 'SOURCE_AGENT', reason: 'REASON_TASK_UNKNOWN' });
});

test('answers pings unless told not to', async () => {
  const master = await startFakeMaster();
  masters.push(master);
  const agent = sim({ master: master.transport.address, resources: 'cpus:1' });
  await agent.start();
  master.conn().send({ ping: { seq: 1 } });
  await waitFor(() => master.transport.messages.some((m) => m.msg.pong?.seq === 1), 'the pong');
  agent.answerPings = false;
  master.conn().send({ ping: { seq: 2 } });
  await new Promise((r) => setTimeout(r, 50));
  expect(master.transport.messages.some((m) => m.msg.pong?.seq === 2)).toBe(false);
});

test('re-registers with its tasks and frameworks after the master restarts, and resends what was unacknowledged', async () => {
  let master = await startFakeMaster(Infinity); // acknowledges nothing
  const port = master.transport.port;
  const agent = sim({ master: master.transport.address, resources: 'cpus:2', statusRetryMs: 60_000, link: { initialBackoffMs: 20, maxBackoffMs: 100 } });
  await agent.start();
  master.conn().send({ run_task: { framework: FRAMEWORK, task: task('t1') } });
  await waitFor(() => master.updates.length === 1, 'STARTING');
  const starting = master.updates[0];
  await master.transport.close();

  master = await startFakeMaster(1, port);
  masters.push(master);
  await waitFor(() => master.registrations.length === 1, 'the re-registration');
  expect(master.registrations).toEqual(['reregister']);
  const re = master.transport.messages[0].msg.reregister!;
  expect(re.agent_info).toMatchObject({ id: { value: 'S1' }, resources: [{ name: 'cpus', scalar: { value: 2 } }] });
  expect(re.frameworks).toEqual([FRAMEWORK]);
  expect(re.tasks).toMatchObject([{ task_id: { value: 't1' }, framework_id: { value: 'F1' }, state: 'TASK_RUNNING', status_update_state: 'TASK_RUNNING' }]);
  // The unacknowledged STARTING goes again at once (same uuid), then RUNNING once it is acked.
  await waitFor(() => master.updates.length === 2, 'STARTING again, then RUNNING');
  expect(master.updates.map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
  expect(master.updates[0].uuid).toEqual(starting.uuid);

  // A crash and a restart of the agent: it comes back with a Reregister too.
  agent.crash();
  await waitFor(() => master.transport.disconnects.length === 1, 'the crash');
  await agent.start();
  expect(master.registrations).toEqual(['reregister', 'reregister']);
});

test('an agent constructed with a known id re-registers on its first start', async () => {
  const master = await startFakeMaster();
  masters.push(master);
  const agent = sim({ master: master.transport.address, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }], agentId: 'S7' });
  expect(await agent.start()).toBe('S7');
  expect(master.registrations).toEqual(['reregister']);
});

test('parseResources reads Mesos resource text', () => {
  expect(parseResources('cpus:4; mem(ops):1024 ;ports:[31000-31005,32000-32000];zones:{a,b};disk:0.5')).toEqual([
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31005 }, { begin: 32000, end: 32000 }] } },
    { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
    { name: 'disk', type: 'SCALAR', scalar: { value: 0.5 } },
  ]);
  expect(() => parseResources('cpus=4')).toThrow('resource "cpus=4" is not name:value');
  expect(() => parseResources('cpus:many')).toThrow('"many" is not a number');
});
