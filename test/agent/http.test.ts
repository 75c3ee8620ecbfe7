// The agent's HTTP endpoints over a real port: /state, the v1 operator API (JSON and protobuf, and its
// refusals), /monitor/statistics, /containers, /metrics, /metrics/snapshot, /health, /version, /flags.
// The view is built from real sandbox directories and a containerizer that only reports usage.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { startAgentHttp, type AgentHttp } from '../../core/src/agent/http/server';
import { createLog } from '../../core/src/log';
import { decodeProto, encodeProto } from '../../core/src/master/wire';
import { tempDir } from '../modules/helpers';
import { makeView, type TestView } from './http-view';

const log = createLog({ level: 'error' });
let view: TestView;
let server: AgentHttp;
let base: string;

const FW = { id: { value: 'F-0001' }, name: 'fw', user: 'root', roles: ['dev'], capabilities: [{ type: 'TASK_KILLING_STATE' as const }] };
const OTHER = { id: { value: 'F-0002' }, name: 'done-fw', user: 'root' };

beforeAll(async () => {
  view = makeView(tempDir());
  view.addExecutor(FW, 't1', 'TASK_RUNNING', { stats: { timestamp: 1700000100, cpus_user_time_secs: 1.5, cpus_limit: 0.5, mem_rss_bytes: 1048576, mem_limit_bytes: 67108864, processes: 2, some_extra_figure: 'n/a' } });
  view.addExecutor(FW, 't2', 'TASK_RUNNING', { stats: { cpus_system_time_secs: 0.25, mem_total_bytes: 2048.7 } });
  view.addExecutor(FW, 't3', 'TASK_RUNNING');
  view.containerizer.failing.add('c-t3'); // its isolator is down: listed without statistics
  view.addExecutor(FW, 't4', 'TASK_FINISHED', { live: false });
  view.addExecutor(OTHER, 'u1', 'TASK_FAILED', { live: false });
  server = await startAgentHttp({ ip: '127.0.0.1', port: 0, view, log, maxBodyBytes: 1024 });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  fs.rmSync(view.workDir, { recursive: true, force: true });
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

async function api(body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
  const r = await fetch(`${base}/api/v1`, { method: 'POST', headers, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

describe('/state', () => {
  it("answers Mesos's agent state JSON, also as /slave(1)/state", async () => {
    const r = await get('/state');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json');
    const s = JSON.parse(r.text);
    expect(s).toMatchObject({
      id: 'M-S0',
      pid: 'slave(1)@127.0.0.1:5051',
      hostname: 'agent-host',
      master_hostname: 'master-host',
      version: '0.1.0',
      start_time: 1700000000,
      resources: { cpus: 4, mem: 8704, disk: 10000, gpus: 0, ports: '[31000-32000]' },
      unreserved_resources: { cpus: 4, mem: 8192, disk: 10000, gpus: 0, ports: '[31000-32000]' },
      reserved_resources: { ops: { cpus: 0, mem: 512, disk: 0, gpus: 0 } },
      used_resources: { cpus: 1.5, mem: 192 },
      attributes: { rack: 'r1', level: 3 },
      flags: { master: 'master-host:5050', isolation: 'posix/cpu,posix/mem' },
    });
    expect(s.frameworks).toHaveLength(1);
    const fw = s.frameworks[0];
    expect(fw).toMatchObject({ id: 'F-0001', name: 'fw', user: 'root', role: 'dev', roles: ['dev'], capabilities: ['TASK_KILLING_STATE'] });
    expect(fw.executors.map((e: { id: string }) => e.id)).toEqual(['t1', 't2', 't3']);
    expect(fw.executors[0]).toEqual({
      id: 't1',
      name: 'Command Executor (Task: t1)',
      source: 't1',
      framework_id: 'F-0001',
      container: 'c-t1',
      directory: view.sandbox('F-0001', 't1', 'c-t1'),
      resources: { cpus: 0.5, mem: 64, disk: 0, gpus: 0 },
      role: 'dev',
      tasks: [
        {
          id: 't1',
          name: 'name-t1',
          framework_id: 'F-0001',
          executor_id: 't1',
          slave_id: 'M-S0',
          state: 'TASK_RUNNING',
          resources: { cpus: 0.5, mem: 64, disk: 0, gpus: 0 },
          statuses: [{ state: 'TASK_RUNNING', timestamp: 1700000000.5 }],
        },
      ],
      queued_tasks: [],
      completed_tasks: [],
    });
    // The finished task's executor is a completed one, with its sandbox still named.
    expect(fw.completed_executors).toHaveLength(1);
    expect(fw.completed_executors[0]).toMatchObject({ id: 't4', directory: view.sandbox('F-0001', 't4', 'c-t4'), tasks: [], completed_tasks: [{ id: 't4', state: 'TASK_FINISHED' }] });
    // A framework with nothing running any more.
    expect(s.completed_frameworks.map((f: { id: string }) => f.id)).toEqual(['F-0002']);

    const again = await get('/slave(1)/state');
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text).id).toBe('M-S0');
  });
});

describe('/api/v1', () => {
  it('answers GET_HEALTH exactly as Mesos', async () => {
    const r = await api({ type: 'GET_HEALTH' });
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json');
    expect(JSON.parse(r.text)).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
  });

  it('answers GET_STATE with tasks, executors and frameworks', async () => {
    const r = await api({ type: 'GET_STATE' });
    expect(r.status).toBe(200);
    const s = JSON.parse(r.text).get_state;
    expect(s.get_tasks.launched_tasks.map((t: { task_id: { value: string } }) => t.task_id.value)).toEqual(['t1', 't2', 't3']);
    expect(s.get_tasks.completed_tasks.map((t: { task_id: { value: string } }) => t.task_id.value)).toEqual(['t4', 'u1']);
    expect(s.get_executors.executors.map((e: { executor_info: { executor_id: { value: string } } }) => e.executor_info.executor_id.value)).toEqual(['t1', 't2', 't3']);
    expect(s.get_executors.executors[0].executor_info).toMatchObject({ framework_id: { value: 'F-0001' }, name: 'Command Executor (Task: t1)', source: 't1' });
    expect(s.get_frameworks.frameworks).toEqual([{ framework_info: expect.objectContaining({ id: { value: 'F-0001' }, name: 'fw' }) }]);
    expect(s.get_frameworks.completed_frameworks).toEqual([{ framework_info: expect.objectContaining({ id: { value: 'F-0002' } }) }]);
  });

  it('answers GET_CONTAINERS with status and the statistics the proto defines (none for a container whose isolator is down)', async () => {
    const r = await api({ type: 'GET_CONTAINERS', get_containers: { show_nested: false } });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text);
    expect(body.type).toBe('GET_CONTAINERS');
    const byId = Object.fromEntries(body.get_containers.containers.map((c: { container_id: { value: string } }) => [c.container_id.value, c]));
    expect(Object.keys(byId).sort()).toEqual(['c-t1', 'c-t2', 'c-t3']);
    expect(byId['c-t1']).toEqual({
      framework_id: { value: 'F-0001' },
      executor_id: { value: 't1' },
      executor_name: 'Command Executor (Task: t1)',
      container_id: { value: 'c-t1' },
      container_status: { container_id: { value: 'c-t1' }, executor_pid: 4242 },
      resource_statistics: { timestamp: 1700000100, processes: 2, cpus_user_time_secs: 1.5, cpus_limit: 0.5, mem_limit_bytes: 67108864, mem_rss_bytes: 1048576 },
    });
    // No timestamp from the isolators: the agent stamps it; a fraction of a byte is rounded.
    expect(byId['c-t2'].resource_statistics).toMatchObject({ cpus_system_time_secs: 0.25, mem_total_bytes: 2049 });
    expect(typeof byId['c-t2'].resource_statistics.timestamp).toBe('number');
    expect(byId['c-t3'].resource_statistics).toBeUndefined();
  });

  it('answers GET_FLAGS, GET_VERSION, GET_METRICS, GET_AGENT, GET_TASKS, GET_EXECUTORS and GET_FRAMEWORKS', async () => {
    const flags = JSON.parse((await api({ type: 'GET_FLAGS' })).text);
    expect(flags.get_flags.flags).toContainEqual({ name: 'isolation', value: 'posix/cpu,posix/mem' });
    const version = JSON.parse((await api({ type: 'GET_VERSION' })).text);
    expect(version.get_version.version_info.version).toMatch(/^\d+\.\d+\.\d+/);
    const metrics = JSON.parse((await api({ type: 'GET_METRICS', get_metrics: { timeout: { nanoseconds: 1e9 } } })).text);
    expect(metrics.get_metrics.metrics).toContainEqual({ name: 'slave/tasks_running', value: 3 });
    const agent = JSON.parse((await api({ type: 'GET_AGENT' })).text);
    expect(agent.get_agent.agent_info).toMatchObject({ id: { value: 'M-S0' }, hostname: 'agent-host', port: 5051 });
    for (const type of ['GET_TASKS', 'GET_EXECUTORS', 'GET_FRAMEWORKS']) {
      const r = await api({ type });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).type).toBe(type);
    }
  });

  it('speaks protobuf both ways', async () => {
    const body = encodeProto('mesos.v1.agent.Call', { type: 'GET_CONTAINERS' });
    const r = await fetch(`${base}/api/v1`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' }, body });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = decodeProto<{ type: string; get_containers: { containers: { container_id: { value: string }; resource_statistics?: { mem_rss_bytes?: number } }[] } }>(
      'mesos.v1.agent.Response',
      new Uint8Array(await r.arrayBuffer()),
    );
    expect(decoded.type).toBe('GET_CONTAINERS');
    expect(decoded.get_containers.containers.find((c) => c.container_id.value === 'c-t1')?.resource_statistics?.mem_rss_bytes).toBe(1048576);
  });

  it.each([
    ['GET', undefined, { type: 'GET_HEALTH' }, 405, /^Expecting a 'POST' request, received 'GET'$/],
    ['POST', {}, { type: 'GET_HEALTH' }, 400, /^Expecting 'Content-Type'/],
    ['POST', { 'Content-Type': 'text/plain' }, { type: 'GET_HEALTH' }, 415, /^Expecting 'Content-Type'/],
    ['POST', { 'Content-Type': 'application/json', Accept: 'text/html' }, { type: 'GET_HEALTH' }, 406, /^Expecting 'Accept'/],
    ['POST', { 'Content-Type': 'application/json' }, '{"type": ', 400, /not valid JSON/],
    ['POST', { 'Content-Type': 'application/json' }, { type: 'GET_METRICS', get_metrics: { timeout: { nanoseconds: 'soon' } } }, 400, /get_metrics\.timeout\.nanoseconds/],
    ['POST', { 'Content-Type': 'application/json' }, {}, 400, /no type.*GET_HEALTH, GET_FLAGS/],
    ['POST', { 'Content-Type': 'application/json' }, { type: 'LAUNCH_NESTED_CONTAINER' }, 501, /^LAUNCH_NESTED_CONTAINER is not implemented by this Tessera agent; the operator calls it serves are GET_HEALTH/],
    ['POST', { 'Content-Type': 'application/json' }, { type: 'GET_HEALTH', pad: 'x'.repeat(2000) }, 413, /exceeds the limit of 1024 bytes/],
  ])('%s with %j and %j answers %d', async (method, headers, body, status, message) => {
    const r = await fetch(`${base}/api/v1`, { method, headers: headers as Record<string, string> | undefined, body: method === 'GET' ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) });
    expect(r.status).toBe(status);
    expect(await r.text()).toMatch(message);
  });
});

describe('/monitor/statistics and /containers', () => {
  it("answers Mesos's array of executors with statistics; a container without usage is left out", async () => {
    const r = await get('/monitor/statistics');
    expect(r.status).toBe(200);
    const rows = JSON.parse(r.text) as { executor_id: string; statistics: Record<string, number> }[];
    expect(rows.map((x) => x.executor_id).sort()).toEqual(['t1', 't2']);
    expect(rows.find((x) => x.executor_id === 't1')).toEqual({
      executor_id: 't1',
      executor_name: 'Command Executor (Task: t1)',
      framework_id: 'F-0001',
      source: 't1',
      statistics: { timestamp: 1700000100, cpus_user_time_secs: 1.5, cpus_limit: 0.5, mem_rss_bytes: 1048576, mem_limit_bytes: 67108864, processes: 2 },
    });
    expect(JSON.parse((await get('/monitor/statistics.json')).text)).toHaveLength(2);
  });

  it('lists every live container on /containers', async () => {
    const rows = JSON.parse((await get('/containers')).text) as { container_id: string; statistics?: unknown; status?: unknown }[];
    expect(rows.map((x) => x.container_id).sort()).toEqual(['c-t1', 'c-t2', 'c-t3']);
    expect(rows.find((x) => x.container_id === 'c-t3')).toMatchObject({ status: { executor_pid: 4242 } });
    expect(rows.find((x) => x.container_id === 'c-t3')?.statistics).toBeUndefined();
  });
});

describe('metrics and small endpoints', () => {
  it('renders Prometheus text with agent figures and the module metrics', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toContain('# TYPE tessera_agent_tasks gauge\ntessera_agent_tasks{state="running"} 3\n');
    expect(r.text).toContain('tessera_agent_tasks_terminal_total{state="finished"} 3\n');
    expect(r.text).toContain('tessera_agent_resources_total{resource="cpus"} 4\n');
    expect(r.text).toContain('tessera_agent_resources_used_ratio{resource="cpus"} 0.25\n');
    expect(r.text).toContain('tessera_agent_registered 1\n');
    expect(r.text).toContain('tessera_agent_uptime_seconds 12.5\n');
    expect(r.text).toContain('tessera_agent_containerizer_launch_errors 0\n');
    expect(r.text).toContain('tessera_agent_containers 3\n');
    expect(r.text).toContain('tessera_module_up{module="test-isolator"} 1\n');
    expect(r.text).not.toContain('tessera_agent_modules_');
    // Every sample line is NAME{labels} VALUE.
    for (const line of r.text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+$/);
  });

  it('answers /metrics/snapshot, /health, /version, /flags', async () => {
    expect(JSON.parse((await get('/metrics/snapshot')).text)).toMatchObject({ 'slave/registered': 1, 'slave/tasks_running': 3 });
    const health = await get('/health');
    expect([health.status, health.text]).toEqual([200, '']);
    expect(JSON.parse((await get('/version')).text)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+/) });
    expect(JSON.parse((await get('/slave(1)/flags')).text)).toEqual({ flags: view.flags() });
  });

  it('answers 404 naming the endpoints for an unknown path, and 405 for a POST to a GET endpoint', async () => {
    const r = await get('/nope');
    expect(r.status).toBe(404);
    expect(r.text).toMatch(/^no endpoint \/nope on this agent; see \/state, \/api\/v1, \/files\/browse/);
    const post = await fetch(`${base}/state`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('startAgentHttp', () => {
  it('refuses a port another process holds with TSR_PORT_IN_USE', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await expect(startAgentHttp({ ip: '127.0.0.1', port, view, log })).rejects.toMatchObject({ code: 'TSR_PORT_IN_USE', message: expect.stringContaining(`127.0.0.1:${port}`) });
    } finally {
      holder.close();
    }
  });

  it('keeps serving after a client hangs up mid-request', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request(`${base}/api/v1`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': '500' } });
      req.on('error', () => resolve());
      req.write('{"type":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    expect((await get('/health')).status).toBe(200);
  });
});
