// The universal containerizer with real container processes: stdio files, exit codes, signals, kill
// with a grace period, environment, argv commands, invalid tasks, usage, and running as another user;
// once with the bash fork server starting the containers and once with the agent spawning the POSIX shim.
import fs from 'node:fs';
import path from 'node:path';
import { LaunchError } from '../../core/src/agent/containerizer';
import { waitFor } from '../modules/helpers';
import { env, killLeftovers, makeRig, read, running, task, type Rig } from './containerizer-helpers';

const rigs: Rig[] = [];
afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
});

let launcher: 'fork-server' | 'direct' = 'fork-server';
function rig(): Rig {
  const r = makeRig({ launcher });
  rigs.push(r);
  return r;
}

async function launchError(p: Promise<unknown>): Promise<LaunchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LaunchError);
    return err as LaunchError;
  }
  throw new Error('expected the launch to fail');
}

describe.each(['fork-server', 'direct'] as const)('universal containerizer: command tasks (%s launcher)', (kind) => {
  beforeAll(() => {
    launcher = kind;
  });

  it('runs a shell command with stdout and stderr files in the sandbox and reports TASK_FINISHED', async () => {
    const r = rig();
    const view = await r.launch(task('hello', { value: 'echo hello; echo oops >&2' }));
    expect(view).toMatchObject({ containerId: 'c-hello', taskId: 'hello', executorId: 'hello', frameworkId: 'fw-1', phase: 'RUNNING' });
    expect(view.pid).toBeGreaterThan(1);
    const t = await r.c.wait('c-hello');
    expect(t).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0', exitCode: 0 });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('hello\n');
    expect(read(path.join(view.sandbox, 'stderr'))).toBe('oops\n');
    expect(r.c.containers()).toEqual([]);
    // the runtime state is removed once the container is gone; wait() still answers
    expect(fs.existsSync(path.join(r.runtimeDir, 'containers', 'c-hello'))).toBe(false);
    expect(await r.c.wait('c-hello')).toMatchObject({ state: 'TASK_FINISHED' });
  });

  it('maps a non-zero exit to TASK_FAILED with the status', async () => {
    const r = rig();
    await r.launch(task('three', { value: 'exit 3' }));
    expect(await r.c.wait('c-three')).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command exited with status 3',
      exitCode: 3,
    });
  });

  it('maps death by a signal to TASK_FAILED naming the signal', async () => {
    const r = rig();
    await r.launch(task('segv', { value: 'kill -SEGV $$' }));
    expect(await r.c.wait('c-segv')).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command terminated with signal Segmentation fault',
      signal: 'SIGSEGV',
    });
  });

  it('kills with SIGTERM: TASK_KILLED, and the process group is gone', async () => {
    const r = rig();
    const view = await r.launch(task('sleeper', { value: 'sleep 100' }));
    await r.c.kill('c-sleeper', { gracePeriodMs: 10_000 });
    const t = await r.c.wait('c-sleeper');
    expect(t).toEqual({ state: 'TASK_KILLED', message: 'Command terminated with signal Terminated', signal: 'SIGTERM' });
    expect(running(view.pid!)).toBe(false);
  });

  it('a kill right after the launch still ends the task with SIGTERM (10 at once)', async () => {
    const r = rig();
    const ids = Array.from({ length: 10 }, (_, i) => `quick${i}`);
    await Promise.all(ids.map((id) => r.launch(task(id, { value: 'sleep 100' }))));
    await Promise.all(ids.map((id) => r.c.kill(`c-${id}`, { gracePeriodMs: 20_000 })));
    for (const id of ids) expect(await r.c.wait(`c-${id}`)).toEqual({ state: 'TASK_KILLED', message: 'Command terminated with signal Terminated', signal: 'SIGTERM' });
  });

  it('sends SIGKILL after the grace period to a command that ignores SIGTERM', async () => {
    const r = rig();
    const view = await r.launch(task('stubborn', { value: "trap '' TERM; echo ready; while :; do sleep 0.1; done" }));
    await waitFor(() => read(path.join(view.sandbox, 'stdout')).includes('ready'), 10_000, 'the trap to be set');
    const started = Date.now();
    const killed = r.c.kill('c-stubborn', { gracePeriodMs: 1500 });
    await new Promise((res) => setTimeout(res, 500));
    expect(running(view.pid!)).toBe(true); // SIGTERM alone did nothing
    await killed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // not before the grace period ended
    expect(await r.c.wait('c-stubborn')).toEqual({ state: 'TASK_KILLED', message: 'Command terminated with signal Killed', signal: 'SIGKILL' });
    expect(running(view.pid!)).toBe(false);
  });

  it('honours a grace period too long for a timer (30 days): no SIGKILL right away', async () => {
    const r = rig();
    const view = await r.launch(task('patient', { value: "trap '' TERM; echo ready; while :; do sleep 0.1; done" }));
    await waitFor(() => read(path.join(view.sandbox, 'stdout')).includes('ready'), 10_000, 'the trap to be set');
    void r.c.kill('c-patient', { gracePeriodMs: 30 * 24 * 3600 * 1000 });
    await new Promise((res) => setTimeout(res, 500));
    expect(running(view.pid!)).toBe(true); // SIGTERM is ignored and the grace period is far from over
    process.kill(-view.pid!, 'SIGKILL');
    expect(await r.c.wait('c-patient')).toMatchObject({ state: 'TASK_KILLED' });
  });

  it('gives the command Mesos environment variables, CommandInfo.environment, and the sandbox as working directory', async () => {
    const r = rig();
    const view = await r.launch(
      task('envy', {
        value: 'echo "$MESOS_TASK_ID|$MESOS_FRAMEWORK_ID|$MESOS_AGENT_ID|$MESOS_SLAVE_ID|$MESOS_EXECUTOR_ID|$MESOS_SANDBOX|$FOO|$(pwd)"; test -n "$PATH"; test -z "$JEST_WORKER_ID"',
        environment: env({ FOO: 'bar baz' }),
      }),
    );
    expect(await r.c.wait('c-envy')).toMatchObject({ state: 'TASK_FINISHED' });
    const sandbox = fs.realpathSync(view.sandbox);
    expect(read(path.join(view.sandbox, 'stdout'))).toBe(`envy|fw-1|agent-1|agent-1|envy|${view.sandbox}|bar baz|${sandbox}\n`);
  });

  it('passes variables the fork server cannot export (UID, BASH_ENV) by starting that container directly', async () => {
    const r = rig();
    const view = await r.launch(task('special', { value: 'echo "$UID $BASH_ENV"', environment: env({ UID: '4242', BASH_ENV: '/nonexistent' }) }));
    expect(await r.c.wait('c-special')).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('4242 /nonexistent\n');
  });

  it("passes variables named like the shim's own (n, id, dir, cwd, go) through unchanged, and still reports the exit", async () => {
    const r = rig();
    const vars = { n: '7', id: 'x', dir: '/nonexistent', cwd: '/nonexistent', go: 'stop', code: 'c', child: 'k', out: 'o', err: 'e' };
    const view = await r.launch(task('shadow', { value: 'echo "$n|$id|$dir|$cwd|$go|$code|$child|$out|$err"; exit 3', environment: env(vars) }));
    expect(await r.c.wait('c-shadow')).toMatchObject({ state: 'TASK_FAILED', message: 'Command exited with status 3' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('7|x|/nonexistent|/nonexistent|stop|c|k|o|e\n');
  });

  it('runs an argv command (shell: false) without a shell', async () => {
    const r = rig();
    const view = await r.launch(task('argv', { shell: false, value: '/bin/echo', arguments: ['echo', 'a  b', '$HOME', 'c'] }));
    expect(await r.c.wait('c-argv')).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('a  b $HOME c\n');
  });

  it('reports a missing program as TASK_FAILED with the shell status 127', async () => {
    const r = rig();
    const view = await r.launch(task('missing', { shell: false, value: '/no/such/program' }));
    expect(await r.c.wait('c-missing')).toMatchObject({ state: 'TASK_FAILED', message: 'Command exited with status 127' });
    expect(read(path.join(view.sandbox, 'stderr'))).toMatch(/not found|No such file/);
  });

  it('refuses a task without a command with TASK_ERROR and leaves nothing behind', async () => {
    const r = rig();
    const err = await launchError(r.launch(task('nocmd', undefined)));
    expect(err.code).toBe('TSR_CONTAINER_LAUNCH_FAILED');
    expect(err.failure).toEqual({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: expect.stringContaining('task nocmd has no command') });
    const empty = await launchError(r.launch(task('emptycmd', { value: '' })));
    expect(empty.failure).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: expect.stringContaining('CommandInfo.value is empty') });
    expect(r.c.containers()).toEqual([]);
    expect(fs.readdirSync(path.join(r.runtimeDir, 'containers'))).toEqual([]);
  });

  it('refuses a second container with the same id', async () => {
    const r = rig();
    await r.launch(task('dup', { value: 'sleep 100' }));
    await expect(r.launch(task('dup', { value: 'true' }))).rejects.toMatchObject({ code: 'TSR_CONTAINER_EXISTS' });
    await r.c.kill('c-dup', { gracePeriodMs: 1000 });
  });

  it('reports usage of the process tree merged with the task limits, in Mesos wire shape', async () => {
    const r = rig();
    await r.launch(task('busy', { value: 'sleep 100 & sleep 100 & wait' }));
    const usage = await waitFor(async () => {
      const u = await r.c.usage('c-busy');
      return u && (u.processes as number) >= 4 ? u : undefined; // shim, sh, two sleeps
    }, 10_000, 'usage of 4 processes') as Record<string, unknown>;
    expect(usage).toMatchObject({ cpus_limit: 0.1, mem_limit_bytes: 32 * 1024 * 1024 });
    expect(usage.mem_rss_bytes as number).toBeGreaterThan(0);
    expect(usage.threads as number).toBeGreaterThanOrEqual(4);
    expect(typeof usage.cpus_user_time_secs).toBe('number');
    expect(typeof usage.cpus_system_time_secs).toBe('number');
    expect(usage.timestamp as number).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(await r.c.usage('unknown')).toBeUndefined();
    await r.c.kill('c-busy', { gracePeriodMs: 1000 });
  });

  it('lists running containers and forgets terminated ones', async () => {
    const r = rig();
    await r.launch(task('listed', { value: 'sleep 100' }));
    expect(r.c.containers()).toEqual([expect.objectContaining({ containerId: 'c-listed', phase: 'RUNNING', pid: expect.any(Number) })]);
    await r.c.kill('c-listed', { gracePeriodMs: 1000 });
    expect(r.c.containers()).toEqual([]);
    await expect(r.c.wait('never-launched')).rejects.toMatchObject({ code: 'TSR_CONTAINER_UNKNOWN' });
    await expect(r.c.kill('never-launched', { gracePeriodMs: 0 })).rejects.toMatchObject({ code: 'TSR_CONTAINER_UNKNOWN' });
  });

  it('runs the task as another user when asked (agent running as root)', async () => {
    if (process.getuid?.() !== 0) {
      console.log('skipped: switching users needs the agent to run as root');
      return;
    }
    const r = rig();
    fs.chmodSync(r.workDir, 0o755); // the user must reach its sandbox and the shim (mkdtemp makes 0700)
    const req = r.request(task('nobody', { value: 'id -u; echo hi > mine.txt' }));
    const view = await r.c.launch({ ...req, user: 'nobody' });
    expect({ ...(await r.c.wait('c-nobody')), stderr: read(path.join(view.sandbox, 'stderr')) }).toMatchObject({ state: 'TASK_FINISHED', stderr: '' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('65534\n');
    expect(fs.statSync(path.join(view.sandbox, 'mine.txt')).uid).toBe(65534);
    const err = await launchError(r.c.launch({ ...r.request(task('ghost', { value: 'true' })), user: 'no-such-user-xyz' }));
    expect(err.failure).toEqual({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringContaining('user "no-such-user-xyz" does not exist on this agent') });
  });

  it('refuses an --isolation name that is neither built in nor a module', () => {
    expect(() => makeRig({ isolators: ['posix/cpu', 'cgroups/mem'] })).toThrow(
      expect.objectContaining({ code: 'TSR_AGENT_ISOLATION_UNKNOWN', message: expect.stringContaining('--isolation names "cgroups/mem"') }),
    );
    // A Mesos isolator name is pointed to the module that does its work here.
    expect(() => makeRig({ isolators: ['posix/cpu', 'cgroups/mem'] })).toThrow(/Mesos's "cgroups\/mem" is the cgroups module here: add \{"name": "cgroups", "package": "@tessera\/isolator-cgroups"\} to --modules/);
    expect(() => makeRig({ isolators: ['docker/volume'] })).toThrow(/is the dvdi module here/);
    expect(() => makeRig({ isolators: ['my/own'] })).toThrow(/add the module to modules.json$/);
  });
});
