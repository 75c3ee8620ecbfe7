// Agent hooks end to end: real `tessera agent` processes started with `--hooks` naming real hook module
// processes (the label-hook fixture, its agent hooks switched on through its `env`, with parameters that
// make it fail or answer late), a real master and the independent scheduler client. Covers every agent
// hook the agent calls, onError "ignore" and "fail", killed hook modules, and the startup errors.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { alive, CLI, fixture, readCalls, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster } from './agent-cluster';

let master: RunningMaster;
const dirs: string[] = [];

beforeAll(async () => {
  master = await startMaster();
});
// A framework left subscribed by a failed test would keep the next agents' offers.
const subscribed: Framework[] = [];
afterEach(async () => {
  await Promise.all(subscribed.splice(0).map((f) => f.teardown()));
});
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

type Json = Record<string, any>;

/** A label-hook entry: `agentHooks` are the agent handlers it implements ("all" or a list), `log` its $FIXTURE_LOG. */
const hook = (name: string, agentHooks: string, log: string, extra: Json = {}): Json => ({
  name,
  file: fixture('label-hook'),
  env: { LABEL_HOOK_AGENT_HOOKS: agentHooks, FIXTURE_LOG: log },
  ...extra,
});

/** An agent started with `modules` and `--hooks=hooks`; its work_dir holds the fixture logs. */
async function agentWith(modules: Json[] | ((dir: string) => Json[]), hooks: string[], flags: string[] = []): Promise<{ agent: AgentProcess; agentId: string; dir: string }> {
  const dir = tempDir();
  dirs.push(dir);
  const file = writeModulesJson({ modules: typeof modules === 'function' ? modules(dir) : modules });
  dirs.push(path.dirname(file));
  const agent = new AgentProcess({ master: master.address, workDir: path.join(dir, 'work'), flags: [`--modules=${file}`, `--hooks=${hooks.join(',')}`, ...flags] });
  const agentId = await agent.start();
  return { agent, agentId, dir };
}

/** Every task the agent's /state shows (live and completed), by id. */
async function agentTask(agent: AgentProcess, taskId: string): Promise<Json | undefined> {
  const state = await agent.state();
  const executors = [...state.frameworks, ...(state.completed_frameworks ?? [])].flatMap((f: Json) => [...f.executors, ...f.completed_executors]);
  for (const e of executors) for (const t of [...e.tasks, ...e.completed_tasks]) if (t.id === taskId) return { ...t, executor: e };
  return undefined;
}

async function subscribe(): Promise<Framework> {
  const fw = await Framework.subscribe(master.address);
  subscribed.push(fw);
  return fw;
}

const statusOf = async (fw: Framework, taskId: string, state: string) => (await fw.sched.update(taskId, state)).update.status;

describe('agent hooks', () => {
  it('decorate labels, environment, status updates, resources and attributes in --hooks order, and hear of removed executors', async () => {
    const { agent, agentId, dir } = await agentWith(
      (d) => [
        hook('labels', 'all', path.join(d, 'labels.jsonl'), { parameters: { executorPid: 4242 } }),
        hook('team', 'agentRunTaskLabelDecorator,agentExecutorEnvironmentDecorator,agentTaskStatusDecorator', path.join(d, 'team.jsonl'), { parameters: { key: 'team', value: 'blue' }, onError: 'ignore' }),
        hook('flaky', 'all', path.join(d, 'flaky.jsonl'), { parameters: { failWith: 'flaky hook says no' }, onError: 'ignore' }),
        { name: 'master-only', file: fixture('label-hook') },
      ],
      ['labels', 'team', 'flaky', 'master-only'],
      ['--attributes=rack:r1'],
    );
    // Startup: the master sees the decorated resources and attributes ("flaky" failed on both: ignored).
    const slave = (await getJson(master.address, '/state')).body.slaves.find((s: Json) => s.id === agentId);
    expect(slave.resources.hooked).toBe(1);
    expect(slave.resources.cpus).toBe(8);
    expect(slave.attributes).toEqual({ rack: 'r1', decorated: 'yes' });
    expect(agent.output).toMatch(/agent hook module 'flaky' failed to decorate the agent's resources at startup \(AgentResourcesDecorator\): LABEL_HOOK_REFUSED: .*flaky hook says no; the resources stay as they were \(its onError is "ignore"\)/);
    expect(agent.output).toMatch(/agent hook master-only implements no agent hook this agent calls \(master_launch_task_label_decorator\)/);

    const fw = await subscribe();
    const fetched = path.join(dir, 'fetched.txt');
    fs.writeFileSync(fetched, 'a URI\n');
    await fw.launch(agentId, [
      {
        id: 'decorated',
        cmd: '',
        extra: {
          labels: { labels: [{ key: 'owner', value: 'me' }] },
          command: { value: 'echo "env=$LABEL_HOOK_DECORATED/$LABEL_HOOK_TEAM/$OWN/${LABEL_HOOK_FLAKY:-unset}"', environment: { variables: [{ name: 'OWN', value: 'mine' }] }, uris: [{ value: fetched }] },
        },
      },
    ]);
    const finished = await statusOf(fw, 'decorated', 'TASK_FINISHED');
    expect(fw.states('decorated')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    // Status updates: each status decorator appended its label; "labels" also set container_status.executor_pid.
    const running = await statusOf(fw, 'decorated', 'TASK_RUNNING');
    for (const s of [running, finished]) {
      expect(s.labels.labels).toEqual([
        { key: 'decorated', value: 'yes' },
        { key: 'team', value: 'blue' },
      ]);
      expect(s.container_status.executor_pid).toBe(4242);
    }

    // The task's labels on the agent: the framework's, then each run-task label decorator's.
    const task = await agentTask(agent, 'decorated');
    expect(task!.labels).toEqual([
      { key: 'owner', value: 'me' },
      { key: 'decorated', value: 'yes' },
      { key: 'team', value: 'blue' },
    ]);
    expect(finished.container_status.container_id.value).toBe(task!.executor.container);
    expect(task!.statuses.map((s: Json) => s.labels)).toEqual(task!.statuses.map(() => [{ key: 'decorated', value: 'yes' }, { key: 'team', value: 'blue' }]));
    // The environment decorators' variables reached the command, next to the task's own.
    const stdout = await getJson(agent.address, `/files/read?path=${encodeURIComponent(`${task!.executor.directory}/stdout`)}&offset=0`);
    expect(stdout.body.data).toBe('env=yes/blue/mine/unset\n');

    // The remove-executor hook heard of the ended container; "flaky" was called (and ignored) at every step.
    await waitFor(() => readCalls(path.join(dir, 'labels.jsonl')).some((c) => c.call === 'agentRemoveExecutorHook' && c.executorId === 'decorated'), 10_000, 'AgentRemoveExecutorHook');
    // The post-fetch hook ran once the URI was in the sandbox (and before the command wrote its stdout).
    const postFetch = readCalls(path.join(dir, 'labels.jsonl')).filter((c) => c.call === 'agentPostFetchHook');
    expect(postFetch).toHaveLength(1);
    expect(postFetch[0].directory).toBe(task!.executor.directory);
    expect(postFetch[0].containerId).toBe(task!.executor.container);
    expect(postFetch[0].files).toContain('fetched.txt');
    const flakyCalls = readCalls(path.join(dir, 'flaky.jsonl')).map((c) => c.call);
    for (const call of ['agentResourcesDecorator', 'agentAttributesDecorator', 'agentRunTaskLabelDecorator', 'agentExecutorEnvironmentDecorator', 'agentPostFetchHook', 'agentTaskStatusDecorator']) expect(flakyCalls).toContain(call);
    expect(agent.output).toMatch(/agent hook module 'flaky' failed on task decorated of framework \S+ \(AgentRunTaskLabelDecorator\): LABEL_HOOK_REFUSED: .*flaky hook says no; the labels stay as they were \(its onError is "ignore"\)/);
    expect(agent.output).toMatch(/agent hook module 'flaky' failed on the TASK_RUNNING update of task decorated/);
  }, 60_000);

  it('onError "fail": a failing launch hook ends the task TASK_FAILED naming the module, before any sandbox', async () => {
    const { agent, agentId, dir } = await agentWith((d) => [hook('refuser', 'agentExecutorEnvironmentDecorator', path.join(d, 'refuser.jsonl'), { parameters: { failWith: 'tasks need an owner label' } })], ['refuser']);
    const fw = await subscribe();
    await fw.launch(agentId, [{ id: 'refused', cmd: 'echo never' }]);
    const failed = await statusOf(fw, 'refused', 'TASK_FAILED');
    expect(fw.states('refused')).toEqual(['TASK_FAILED']);
    expect(failed.source).toBe('SOURCE_AGENT');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(
      /^agent hook module 'refuser' failed on task refused of framework \S+ \(AgentExecutorEnvironmentDecorator\): LABEL_HOOK_REFUSED: .*tasks need an owner label\. The task was not launched because the module's "onError" is "fail"/,
    );
    expect(failed.container_status).toBeUndefined();
    // Shown once acknowledged (until then it has no executor to be listed under).
    const task = (await waitFor(() => agentTask(agent, 'refused'), 10_000, 'the refused task in /state'))!;
    expect(task.state).toBe('TASK_FAILED');
    expect(task.executor.directory).toBeUndefined(); // no sandbox, no container
    expect(readCalls(path.join(dir, 'refuser.jsonl')).filter((c) => c.call === 'agentExecutorEnvironmentDecorator').map((c) => c.executorId)).toEqual(['refused']);
  }, 60_000);

  it('an environment a task cannot have is the hook\'s failure, not the framework\'s: it follows the hook\'s onError and names the module', async () => {
    const badEnv = { 'A=B': '1' };
    const ignoring = await agentWith(
      (d) => [
        hook('bad-env', 'agentExecutorEnvironmentDecorator', path.join(d, 'bad.jsonl'), { parameters: { variables: badEnv }, onError: 'ignore' }),
        hook('good-env', 'agentExecutorEnvironmentDecorator', path.join(d, 'good.jsonl'), { parameters: { variables: { GOOD: 'yes' } } }),
      ],
      ['bad-env', 'good-env'],
    );
    const fw = await subscribe();
    await fw.launch(ignoring.agentId, [{ id: 'kept', cmd: 'echo "good=$GOOD"' }]);
    await statusOf(fw, 'kept', 'TASK_FINISHED');
    expect(ignoring.agent.output).toMatch(
      /agent hook module 'bad-env' failed on task kept of framework \S+ \(AgentExecutorEnvironmentDecorator\): TSR_HANDLER_FAILED: the module answered an environment the task cannot have: environment variable name "A=B" cannot be in an environment.*; the environment stays as it was \(its onError is "ignore"\)/,
    );
    const task = await agentTask(ignoring.agent, 'kept');
    const stdout = await getJson(ignoring.agent.address, `/files/read?path=${encodeURIComponent(`${task!.executor.directory}/stdout`)}&offset=0`);
    expect(stdout.body.data).toBe('good=yes\n');

    const failing = await agentWith((d) => [hook('bad-env', 'agentExecutorEnvironmentDecorator', path.join(d, 'bad.jsonl'), { parameters: { variables: badEnv } })], ['bad-env']);
    await fw.launch(failing.agentId, [{ id: 'refused', cmd: 'echo never' }]);
    const failed = await statusOf(fw, 'refused', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/^agent hook module 'bad-env' failed on task refused .*"A=B" cannot be in an environment.*The task was not launched because the module's "onError" is "fail"/);
  }, 90_000);

  it('onError "fail": a failing post-fetch hook fails the launch naming the module; the command never runs', async () => {
    const { agentId, dir } = await agentWith((d) => [hook('scanner', 'agentPostFetchHook', path.join(d, 'scanner.jsonl'), { parameters: { failWith: 'the fetched files did not pass the scan' } })], ['scanner']);
    const fw = await subscribe();
    const marker = path.join(dir, 'ran');
    await fw.launch(agentId, [{ id: 'unscanned', cmd: `touch ${marker}` }]);
    const failed = await statusOf(fw, 'unscanned', 'TASK_FAILED');
    expect(fw.states('unscanned')).toEqual(['TASK_STARTING', 'TASK_FAILED']);
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/agent hook module 'scanner' failed after the fetch into container \S+ sandbox \(AgentPostFetchHook\): LABEL_HOOK_REFUSED: .*the fetched files did not pass the scan/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(readCalls(path.join(dir, 'scanner.jsonl')).filter((c) => c.call === 'agentPostFetchHook')).toHaveLength(1);
  }, 60_000);

  it('a launch hook past its call deadline fails the launch (onError "fail", the default) without waiting for its answer', async () => {
    const { agentId } = await agentWith((d) => [hook('slow', 'agentRunTaskLabelDecorator', path.join(d, 'slow.jsonl'), { parameters: { delayMs: 5000 }, timeouts: { call: '300ms' } })], ['slow']);
    const fw = await subscribe();
    await fw.launch(agentId, [{ id: 'too-slow', cmd: 'echo never' }]);
    const started = Date.now(); // the hook would answer after 5 s
    const failed = await statusOf(fw, 'too-slow', 'TASK_FAILED');
    expect(Date.now() - started).toBeLessThan(4000);
    expect(failed.message).toMatch(/agent hook module 'slow' failed on task too-slow of framework \S+ \(AgentRunTaskLabelDecorator\): \w+: .*(deadline|timed out)/i);
  }, 60_000);

  it('a killed hook module follows its onError: ignored ones are skipped, "fail" ones fail launches; running tasks are untouched', async () => {
    const fragile = { restart: { initialBackoff: '60s', maxBackoff: '60s' }, timeouts: { call: '500ms' } };
    const { agent, agentId, dir } = await agentWith(
      (d) => [
        hook('fragile-ignored', 'agentRunTaskLabelDecorator,agentExecutorEnvironmentDecorator', path.join(d, 'ignored.jsonl'), { ...fragile, parameters: { key: 'extra', value: '1' }, onError: 'ignore' }),
        hook('fragile', 'agentRunTaskLabelDecorator', path.join(d, 'fragile.jsonl'), fragile),
      ],
      ['fragile-ignored', 'fragile'],
    );
    const pidOf = (file: string) => readCalls(path.join(dir, file)).filter((c) => c.call === 'configure').pop()!.pid;
    const fw = await subscribe();
    await fw.launch(agentId, [{ id: 'before-kill', cmd: 'sleep 60' }]);
    await statusOf(fw, 'before-kill', 'TASK_RUNNING');
    expect((await agentTask(agent, 'before-kill'))!.labels).toEqual([
      { key: 'extra', value: '1' },
      { key: 'decorated', value: 'yes' },
    ]);

    // The ignored hook dies (restarted only after 60 s): launches go on without its label and variable.
    const ignoredPid = pidOf('ignored.jsonl');
    process.kill(ignoredPid, 'SIGKILL');
    await waitFor(() => !alive(ignoredPid), 5000, 'the module to die');
    await fw.launch(agentId, [{ id: 'without-extra', cmd: 'echo "extra=${LABEL_HOOK_EXTRA:-unset}"' }]);
    await statusOf(fw, 'without-extra', 'TASK_FINISHED');
    const without = await agentTask(agent, 'without-extra');
    expect(without!.labels).toEqual([{ key: 'decorated', value: 'yes' }]);
    expect((await getJson(agent.address, `/files/read?path=${encodeURIComponent(`${without!.executor.directory}/stdout`)}&offset=0`)).body.data).toBe('extra=unset\n');
    expect(agent.output).toMatch(/agent hook module 'fragile-ignored' failed on task without-extra .*TSR_MODULE_\w+.*its onError is "ignore"/);

    // The failing hook dies too: launches fail naming it.
    const fragilePid = pidOf('fragile.jsonl');
    process.kill(fragilePid, 'SIGKILL');
    await waitFor(() => !alive(fragilePid), 5000, 'the module to die');
    await fw.launch(agentId, [{ id: 'no-hook', cmd: 'echo never' }]);
    const failed = await statusOf(fw, 'no-hook', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/agent hook module 'fragile' failed on task no-hook of framework \S+ \(AgentRunTaskLabelDecorator\): TSR_MODULE_\w+: module fragile/);
    expect(fw.states('before-kill')).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    expect((await agentTask(agent, 'before-kill'))!.state).toBe('TASK_RUNNING');
  }, 60_000);
});

describe('tessera agent --hooks at startup', () => {
  const run = (modules: string, hooks: string, extra: string[] = []) => {
    const workDir = tempDir();
    dirs.push(workDir);
    return spawnSync(process.execPath, [CLI, 'agent', `--master=${master.address}`, `--work_dir=${workDir}`, '--ip=127.0.0.1', '--port=0', `--modules=${modules}`, `--hooks=${hooks}`, ...extra], { encoding: 'utf8', timeout: 30_000 });
  };

  it('refuses a name modules.json does not define, and a module that is not a hook, naming the flag (exit 2)', () => {
    const modules = writeModulesJson({ modules: [{ name: 'echo', file: fixture('echo-isolator') }, { name: 'labels', file: fixture('label-hook') }] });
    dirs.push(path.dirname(modules));
    const unknown = run(modules, 'labels,nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain(
      `error TSR_FLAG_INVALID: flag --hooks names module "nope", but ${modules} defines no module of that name (it defines: echo, labels): add an entry named "nope" to the modules file given by --modules, or fix --hooks`,
    );
    const twice = run(modules, 'labels,labels');
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain('flag --hooks names module "labels" twice');
    const isolator = run(modules, 'labels,echo');
    expect(isolator.status).toBe(2);
    expect(isolator.stderr).toContain(`error TSR_FLAG_INVALID: flag --hooks names a module of ${modules} that is not a hook module: module echo (echo-isolator 1.2.3) is used as hook but implements isolator`);
  }, 60_000);

  it('a resources decorator whose onError is "fail" stops the agent before it registers, naming the module (exit 1)', () => {
    const modules = writeModulesJson({
      modules: [{ name: 'no-resources', file: fixture('label-hook'), env: { LABEL_HOOK_AGENT_HOOKS: 'agentResourcesDecorator' }, parameters: { failWith: 'no resources today' } }],
    });
    dirs.push(path.dirname(modules));
    const r = run(modules, 'no-resources');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `TSR_AGENT_HOOK_FAILED: agent hook module 'no-resources' failed to decorate the agent's resources at startup (AgentResourcesDecorator): LABEL_HOOK_REFUSED: module no-resources: hook.AgentResourcesDecorator: no resources today. The agent does not start because the module's "onError" is "fail"`,
    );
  }, 60_000);
});
