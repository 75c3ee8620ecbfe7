// The master's web UI (GET /): served as one self-contained page, and its script, run against a small
// stand-in for the browser DOM, renders what the master's real /state says.
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { waitFor } from '../modules/helpers';
import { raw, SchedulerClient } from '../support/scheduler-client';
import { SimAgent } from '../support/sim-agent';

let running: RunningMaster;
let agent: SimAgent;
let client: SchedulerClient;

beforeAll(async () => {
  running = await runMaster({ ip: '127.0.0.1', port: 0, log: createLog({ level: (process.env.E2E_LOG ?? 'error') as LogLevel }), allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
  agent = new SimAgent({ master: running.address, hostname: 'ui-node<b>', resources: 'cpus:4;mem:2048;gpus:1', taskBehaviour: () => ({ runMs: null }) });
  await agent.start();
});
afterAll(async () => {
  client?.close();
  await agent.stop();
  await running.stop();
});

describe('web UI', () => {
  it('answers GET / and /index.html with one self-contained HTML page', async () => {
    for (const path of ['/', '/index.html']) {
      const res = await raw(running.address, '', {}, path, 'GET');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<title>Tessera master</title>');
      expect(res.body).toMatch(/var STATE_URL = 'state';[\s\S]*fetch\(STATE_URL/);
      for (const link of ['state', 'metrics', 'api/v1']) expect(res.body).toContain(`href="${link}"`);
      // Nothing loaded from elsewhere: no src attributes, no absolute URLs, no stylesheet links.
      expect(res.body).not.toMatch(/\ssrc=|https?:\/\/|<link/);
    }
    const head = await raw(running.address, '', {}, '/', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    const post = await raw(running.address, '{}', { 'Content-Type': 'application/json' }, '/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('renders the master, agents, frameworks and tasks from /state, as text', async () => {
    client = new SchedulerClient(running.address, true);
    await client.subscribe({ user: 'root', name: 'ui-framework', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }, { type: 'GPU_RESOURCES' }], failover_timeout: 60 });
    const offer = (await client.next((e) => e.type === 'OFFERS')).offers.offers[0];
    const resources = [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 1536 } }];
    await client.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 'web', task_id: { value: 'ui-task-1' }, agent_id: offer.agent_id, resources, command: { value: 'sleep 100' } }] } }] } });
    await client.update('ui-task-1', 'TASK_RUNNING');
    await waitFor(() => [...running.master.frameworks.values()].some((f) => [...f.tasks.values()].some((t) => t.task.state === 'TASK_RUNNING')), 5000, 'the master to see the task running');

    const page = await raw(running.address, '', {}, '/', 'GET');
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body)![1];
    const dom = fakeDom(page.body);
    const timers: number[] = [];
    const fetched: string[] = [];
    const fetchState = (url: string, init: RequestInit) => {
      fetched.push(url);
      return fetch(`http://${running.address}/${url}`, init);
    };
    new Function('document', 'fetch', 'setTimeout', script)(dom.document, fetchState, (_fn: () => void, ms: number) => void timers.push(ms));
    await waitFor(() => dom.text('status').startsWith('updated'), 5000, `the page to render (status: ${dom.text('status')})`);

    expect(fetched).toEqual(['state']);
    expect(timers).toEqual([2000]); // polls again in 2 s
    expect(dom.text('master-id')).toBe(running.master.opts.info.id);
    expect(dom.text('master-version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(dom.text('master-uptime')).toMatch(/^\d+s$/);
    expect(dom.text('n-agents')).toBe('1 / 1');
    expect(dom.text('n-frameworks')).toBe('1 / 1');
    expect(dom.text('n-tasks')).toBe('1');
    expect(dom.text('n-cpus')).toBe('1.5 / 4');
    expect(dom.text('n-mem')).toBe('1.5 GB / 2 GB');
    expect(dom.text('n-gpus')).toBe('0 / 1');
    // The agent's hostname has markup in it: it is shown as text.
    expect(dom.rows('agents')).toEqual([['ui-node<b>', agent.agentId, 'yes', '1.5 / 4', '1.5 GB / 2 GB', '0 MB / 0 MB', '0 / 1', 'sim']]);
    expect(dom.rows('frameworks')).toEqual([['ui-framework', client.frameworkId, 'yes', '*', 'root', '1', '0', expect.stringMatching(/ago$/)]]);
    expect(dom.rows('active')).toEqual([['ui-task-1', 'web', 'ui-framework', 'ui-node<b>', 'TASK_RUNNING', '1.5', '1.5 GB', expect.stringMatching(/ago$/)]]);
    expect(dom.rows('recent')).toEqual([['no completed tasks yet']]);

    // Once its framework is removed (as each `tessera run` is), the task is among the recent ones still.
    await client.call({ type: 'TEARDOWN' });
    await waitFor(() => running.master.completedFrameworks.some((f) => f.id === client.frameworkId), 5000, 'the framework to be removed');
    const after = fakeDom(page.body);
    new Function('document', 'fetch', 'setTimeout', script)(after.document, fetchState, () => undefined);
    await waitFor(() => after.text('status').startsWith('updated'), 5000, `the page to render again (status: ${after.text('status')})`);
    expect(after.rows('recent')[0].slice(0, 5)).toEqual(['ui-task-1', 'web', 'ui-framework', 'ui-node<b>', 'TASK_KILLED']);
  }, 30_000);
});

/** A stand-in for the few DOM calls the page's script makes; elements keep text only (no HTML parsing). */
interface FakeElement {
  tag: string;
  textContent: string;
  className: string;
  colSpan: number;
  children: FakeElement[];
  readonly firstChild: FakeElement | null;
  appendChild(c: FakeElement): void;
  removeChild(c: FakeElement): void;
}

function element(tag: string): FakeElement {
  return {
    tag,
    textContent: '',
    className: '',
    colSpan: 1,
    children: [],
    get firstChild() {
      return this.children[0] ?? null;
    },
    appendChild(c) {
      this.children.push(c);
    },
    removeChild(c) {
      this.children.splice(this.children.indexOf(c), 1);
    },
  };
}

function fakeDom(html: string) {
  const byId = new Map<string, FakeElement>();
  for (const m of html.matchAll(/<(\w+)[^>]*\sid="([^"]+)"/g)) byId.set(m[2], element(m[1]));
  const document = {
    getElementById: (id: string) => byId.get(id) ?? null,
    createElement: (tag: string) => element(tag),
  };
  return {
    document,
    text: (id: string) => byId.get(id)!.textContent,
    rows: (id: string) => byId.get(id)!.children.map((tr) => tr.children.map((td) => td.textContent)),
  };
}
