// AgentHooks with in-memory hook callers: order, capabilities, onError, and what is taken from answers.
// The same behaviour through real module processes and a real agent: test/agent/agent-hooks.test.ts.
import { TesseraError, type Caller } from '@tessera/modules-api';
import { createLog } from '../log';
import type { TaskInfo, TaskStatus } from '../master/model/mesos';
import { AgentHooks } from './hooks';

type Handler = (req: any) => unknown;

/** A hook module answering `handlers` (by RPC name), advertising their capabilities. */
function hook(name: string, handlers: Record<string, Handler>, onError: 'ignore' | 'fail' = 'fail') {
  const capabilities = Object.keys(handlers).map((rpc) => rpc.replace(/^[A-Z]/, (c) => c.toLowerCase()).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  const caller = {
    name,
    async unary(_service: string, rpc: string, req: object) {
      const h = handlers[rpc];
      if (!h) throw new Error(`unexpected call ${rpc}`);
      return h(req);
    },
  } as unknown as Caller;
  return { name, caller, onError, capabilities };
}

const lines: string[] = [];
const log = createLog({ level: 'debug', write: (l) => void lines.push(l) });
const task = (extra: Partial<TaskInfo> = {}): TaskInfo => ({ name: 't', task_id: { value: 't1' }, agent_id: { value: 'a1' }, command: { value: 'true' }, ...extra });
const framework = { user: 'root', name: 'fw', id: { value: 'f1' } };
const agent = { hostname: 'h', port: 5051, resources: [], attributes: [] };
const refuse = () => {
  throw new TesseraError('NOPE', 'refused');
};

describe('AgentHooks', () => {
  it('does nothing and waits for nothing without hooks of a kind', () => {
    const hooks = new AgentHooks([hook('status-only', { AgentTaskStatusDecorator: () => ({}) })], log);
    expect(hooks.decoratesLaunches).toBe(false);
    expect(hooks.decoratesStatuses).toBe(true);
    expect(hooks.removesExecutors).toBe(false);
    expect(hooks.decoratesAgent).toBe(false);
  });

  it('chains label decorators in order; an answer without labels changes nothing', async () => {
    const seen: unknown[] = [];
    const hooks = new AgentHooks(
      [
        hook('a', { AgentRunTaskLabelDecorator: (req) => ({ labels: { labels: [...(req.task.labels?.labels ?? []), { key: 'a', value: '1' }] } }) }),
        hook('none', { AgentRunTaskLabelDecorator: () => ({}) }),
        hook('b', { AgentRunTaskLabelDecorator: (req) => (seen.push(req.task.labels), { labels: { labels: [{ key: 'b' }] } }) }),
      ],
      log,
    );
    const r = await hooks.decorateLaunch('f1', task({ labels: { labels: [{ key: 'own', value: 'x' }] } }), framework, agent);
    expect(seen).toEqual([{ labels: [{ key: 'own', value: 'x' }, { key: 'a', value: '1' }] }]);
    expect(r).toEqual({ task: expect.objectContaining({ labels: { labels: [{ key: 'b' }] } }) });
  });

  it('replaces the environment with the decorators\' answer, keeping variables hooks cannot see (secrets)', async () => {
    let given: unknown;
    const hooks = new AgentHooks(
      [
        hook('env', {
          AgentExecutorEnvironmentDecorator: (req) => {
            given = req.executor;
            return { environment: { variables: [...req.executor.command.environment.variables, { name: 'ADDED', value: 'yes' }] } };
          },
        }),
      ],
      log,
    );
    const env = { variables: [{ name: 'OWN', value: 'mine' }, { name: 'TOKEN', type: 'SECRET', secret: { type: 'REFERENCE' } }] };
    const r = await hooks.decorateLaunch('f1', task({ command: { value: 'true', environment: env } }), framework, agent);
    expect(given).toMatchObject({ executorId: 't1', frameworkId: 'f1', command: { value: 'true', environment: { variables: [{ name: 'OWN', value: 'mine' }] } } });
    expect('task' in r && r.task.command?.environment?.variables).toEqual([
      { name: 'OWN', value: 'mine' },
      { name: 'ADDED', value: 'yes' },
      { name: 'TOKEN', type: 'SECRET', secret: { type: 'REFERENCE' } },
    ]);
  });

  it('onError: "ignore" logs and goes on, "fail" stops the launch with a message naming the module', async () => {
    const ok = { AgentRunTaskLabelDecorator: () => ({ labels: { labels: [{ key: 'ok' }] } }) };
    const ignored = new AgentHooks([hook('flaky', { AgentRunTaskLabelDecorator: refuse }, 'ignore'), hook('ok', ok)], log);
    expect(await ignored.decorateLaunch('f1', task(), framework, agent)).toEqual({ task: expect.objectContaining({ labels: { labels: [{ key: 'ok' }] } }) });
    expect(lines.some((l) => l.includes("agent hook module 'flaky' failed on task t1 of framework f1 (AgentRunTaskLabelDecorator): NOPE: refused; the labels stay as they were"))).toBe(true);
    const failing = new AgentHooks([hook('strict', { AgentExecutorEnvironmentDecorator: refuse })], log);
    const r = await failing.decorateLaunch('f1', task(), framework, agent);
    expect(r).toEqual({ error: expect.stringMatching(/^agent hook module 'strict' failed on task t1 of framework f1 \(AgentExecutorEnvironmentDecorator\): NOPE: refused\. The task was not launched/) });
  });

  it('decorates statuses in place (labels, container_status keeping the container id); a failing decorator never holds one back', async () => {
    const hooks = new AgentHooks(
      [
        hook('strict', { AgentTaskStatusDecorator: refuse }, 'fail'),
        hook('pid', { AgentTaskStatusDecorator: (req) => ({ labels: { labels: [{ key: 'state', value: req.status.state }] }, containerStatus: { executorPid: 7 } }) }),
      ],
      log,
    );
    const status: TaskStatus = { task_id: { value: 't1' }, state: 'TASK_RUNNING', container_status: { container_id: { value: 'c1' } } };
    await hooks.decorateStatus('f1', status);
    expect(status.labels).toEqual({ labels: [{ key: 'state', value: 'TASK_RUNNING' }] });
    expect(status.container_status).toEqual({ container_id: { value: 'c1' }, executor_pid: 7 });
    expect(lines.some((l) => l.includes("agent hook module 'strict' failed on the TASK_RUNNING update of task t1") && l.includes('the update goes out as it was'))).toBe(true);
  });

  it('decorates the agent: resources then attributes; a bad answer or a failure of a "fail" hook throws TSR_AGENT_HOOK_FAILED', async () => {
    const cpus = { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 2 } };
    const hooks = new AgentHooks(
      [
        hook('res', {
          AgentResourcesDecorator: (req) => ({ set: true, resources: [...req.agent.resources, { name: 'gpus', type: 'SCALAR', scalar: { value: 1 } }] }),
          AgentAttributesDecorator: (req) => ({ set: true, attributes: [{ name: 'gpus', type: 'TEXT', text: { value: String(req.agent.resources.length) } }] }),
        }),
        hook('unset', { AgentResourcesDecorator: () => ({ set: false, resources: [] }) }),
      ],
      log,
    );
    expect(await hooks.decorateAgent({ hostname: 'h', resources: [cpus], attributes: [] })).toEqual({
      resources: [cpus, { name: 'gpus', type: 'SCALAR', scalar: { value: 1 } }],
      attributes: [{ name: 'gpus', type: 'TEXT', text: { value: '2' } }],
    });
    const bad = new AgentHooks([hook('bad', { AgentResourcesDecorator: () => ({ set: true, resources: [{ name: 'cpus', type: 'SCALAR' }] }) })], log);
    await expect(bad.decorateAgent({ hostname: 'h', resources: [cpus] })).rejects.toMatchObject({
      code: 'TSR_AGENT_HOOK_FAILED',
      message: expect.stringContaining(`agent hook module 'bad' failed to decorate the agent's resources at startup (AgentResourcesDecorator): TSR_HANDLER_FAILED: the module answered resource "cpus" of type SCALAR without a non-negative scalar value`),
    });
    const ignored = new AgentHooks([hook('down', { AgentAttributesDecorator: refuse }, 'ignore')], log);
    expect(await ignored.decorateAgent({ hostname: 'h', resources: [cpus], attributes: [] })).toEqual({ resources: [cpus], attributes: [] });
  });
});
