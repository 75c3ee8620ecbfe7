// Every message of the protocol, both ways, through AgentLinkClient and AgentLinkServer over a real
// socket: what one side sends is what the other receives, in order.
import { destroyClients, newClient, startTestMaster, waitFor, type TestMaster } from '../../../test/support/test-master';
import type { FrameworkInfo, Resource, Task, TaskInfo, TaskStatus } from '../master/model/mesos';
import { agentMessageKind, masterMessageKind, type AgentMessage, type AgentMessageKind, type MasterMessage, type MasterMessageKind } from './messages';

const uuid = Buffer.from('8536cb4346f9435399b9a6fb41c95329', 'hex');

const RESOURCES: Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 3.5 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 4096 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
  { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
  { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
];
const FRAMEWORK: FrameworkInfo = {
  user: 'root', name: 'marathon', id: { value: 'M-0001' }, roles: ['web'], failover_timeout: 604800, checkpoint: true,
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
};
const TASK_INFO: TaskInfo = {
  name: 'web', task_id: { value: 't1' }, agent_id: { value: 'M-S0' },
  resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, allocation_info: { role: 'web' } }],
  command: { value: 'python3 -m http.server $PORT0', environment: { variables: [{ name: 'MODE', value: 'prod' }] } },
  container: { type: 'DOCKER', docker: { image: 'nginx:1.25' } },
  kill_policy: { grace_period: { nanoseconds: 30_000_000_000 } },
  labels: { labels: [{ key: 'team', value: 'web' }] },
  data: Buffer.from([0, 1, 2, 255]),
};
const STATUS: TaskStatus = {
  task_id: { value: 't1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid, timestamp: 1700000000.125,
  agent_id: { value: 'M-S0' }, executor_id: { value: 't1' }, healthy: true, message: 'up', reason: 'REASON_COMMAND_EXECUTOR_FAILED',
};
const TASK: Task = {
  name: 'web', task_id: { value: 't1' }, framework_id: { value: 'M-0001' }, executor_id: { value: 't1' }, agent_id: { value: 'M-S0' },
  state: 'TASK_RUNNING', resources: TASK_INFO.resources, statuses: [STATUS], status_update_state: 'TASK_RUNNING', status_update_uuid: uuid,
};

const FROM_AGENT: Record<AgentMessageKind, AgentMessage> = {
  register: { register: { agent_info: { hostname: 'node-1', port: 5051, resources: RESOURCES, attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }] }, version: '0.1.0', capabilities: ['MULTI_ROLE'] } },
  reregister: { reregister: { agent_info: { hostname: 'node-1', id: { value: 'M-S0' }, resources: RESOURCES }, tasks: [TASK], frameworks: [FRAMEWORK], version: '0.1.0', capabilities: ['MULTI_ROLE', 'RESERVATION_REFINEMENT'] } },
  status_update: { status_update: { framework_id: { value: 'M-0001' }, status: STATUS } },
  pong: { pong: { seq: 2 ** 40 } },
  resources_changed: { resources_changed: { total: [...RESOURCES, { name: 'gpus', type: 'SCALAR', scalar: { value: 2 } }] } },
};

const FROM_MASTER: Record<MasterMessageKind, MasterMessage> = {
  registered: { registered: { agent_id: { value: 'M-S0' }, master_info: { id: 'M', ip: 16777343, port: 5050, hostname: 'master1', version: '0.1.0', address: { hostname: 'master1', ip: '127.0.0.1', port: 5050 } }, ping_interval_seconds: 15 } },
  run_task: { run_task: { framework: FRAMEWORK, task: TASK_INFO } },
  kill_task: { kill_task: { framework_id: { value: 'M-0001' }, task_id: { value: 't1' }, kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } } } },
  status_update_ack: { status_update_ack: { framework_id: { value: 'M-0001' }, task_id: { value: 't1' }, uuid } },
  ping: { ping: { seq: 2 ** 40 + 1 } },
  shutdown_framework: { shutdown_framework: { framework_id: { value: 'M-0001' } } },
  refused: { refused: { message: 'this master does not take agents of role ops: run the agent with --default_role' } },
};

let master: TestMaster;
afterEach(async () => {
  destroyClients();
  await master?.close();
});

test('every message type survives the trip both ways, in order', async () => {
  master = await startTestMaster();
  const received: MasterMessage[] = [];
  const agent = newClient({ onMessage: (m) => received.push(m) });
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the stream');

  const sent = Object.values(FROM_AGENT);
  for (const msg of sent) expect(agent.send(msg)).toBe(true);
  await waitFor(() => master.messages.length === sent.length, 'every agent message');
  expect(master.messages.map((m) => m.msg)).toEqual(sent);
  expect(master.messages.map((m) => agentMessageKind(m.msg))).toEqual(Object.keys(FROM_AGENT));

  const conn = master.connects[0];
  const replies = Object.values(FROM_MASTER);
  for (const msg of replies) conn.send(msg);
  await waitFor(() => received.length === replies.length, 'every master message');
  expect(received).toEqual(replies);
  expect(received.map(masterMessageKind)).toEqual(Object.keys(FROM_MASTER));
  await agent.close();
});

test('a burst keeps its order both ways', async () => {
  master = await startTestMaster({ onMessage: (conn, msg) => conn.send({ ping: { seq: msg.pong!.seq } }) });
  const seqs: number[] = [];
  const agent = newClient({ onMessage: (m) => seqs.push(m.ping!.seq) });
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the stream');
  for (let i = 0; i < 2000; i++) agent.send({ pong: { seq: i } });
  await waitFor(() => seqs.length === 2000, 'the echoes', 20_000);
  expect(seqs).toEqual([...Array(2000).keys()]);
  await agent.close();
});

test('a message built wrong throws at the sender, naming the field, and the connection stays', async () => {
  master = await startTestMaster();
  const agent = newClient();
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the stream');
  expect(() => master.connects[0].send({ ping: {} as { seq: number } })).toThrow('tessera.agent.v1.MasterMessage: ping.seq: required field is missing');
  master.connects[0].send({ ping: { seq: 1 } });
  agent.send({ pong: { seq: 1 } });
  await waitFor(() => master.messages.length === 1, 'the pong');
  await agent.close();
});
