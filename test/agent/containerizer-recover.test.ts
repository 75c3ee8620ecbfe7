// "Agent restart": a first containerizer launches containers and is closed without killing them (as an
// agent killed with -9 leaves them); a second one on the same runtime dir recovers them, with a fresh
// isolator module process that gets Recover. Checks: a running container is re-attached and its later
// exit is reported with the right status; one that exited while "down" is reported from its status
// file; unknown leftovers are killed as orphans; --recover=cleanup kills live ones; kill works on
// recovered containers.
import fs from 'node:fs';
import path from 'node:path';
import type { CheckpointedContainer } from '../../core/src/agent/containerizer';
import { ForkServer } from '../../core/src/agent/containerizer/fork-server';
import { containersDir, writeMeta } from '../../core/src/agent/containerizer/launcher';
import { readStat } from '../../core/src/agent/containerizer/proc';
import type { ModuleHost } from '../../core/src/modules/module-host';
import { captureLog, readCalls, tempDir, waitFor } from '../modules/helpers';
import { FRAMEWORK, killLeftovers, makeRig, remember, startEchoHost, running, task, type Rig } from './containerizer-helpers';

const hosts: ModuleHost[] = [];
const rigs: Rig[] = [];
afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  await Promise.all(hosts.map((h) => h.stop()));
});

/** A command that runs until the file `name` appears in its sandbox, then exits with `code`. */
const until = (name: string, code: number): string => `while [ ! -f ${name} ]; do sleep 0.05; done; exit ${code}`;

async function agent(dirs: { workDir: string; runtimeDir: string } | undefined, calls: string): Promise<Rig> {
  const host = await startEchoHost({ env: { FIXTURE_LOG: calls } });
  hosts.push(host);
  const r = makeRig({ isolators: ['posix/cpu', 'posix/mem', 'echo'], modules: host, ...(dirs ? { dirs } : {}) });
  rigs.push(r);
  return r;
}

function checkpoint(r: Rig, id: string, t: ReturnType<typeof task>): CheckpointedContainer {
  const req = r.request(t, id);
  return { containerId: id, frameworkId: req.frameworkId, executorId: req.executorId, task: req.task, framework: FRAMEWORK, sandbox: req.sandbox };
}

describe('universal containerizer: recovery after an agent restart', () => {
  it('re-attaches a running container, reports one that ended while down, and kills orphans', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const first = await agent(undefined, calls);
    await first.c.recover([]);
    const tRunning = task('running', { value: until('go', 4) });
    const tEnded = task('ended', { value: until('go', 5) });
    const tOrphan = task('orphan', { value: 'sleep 100' });
    const live = await first.launch(tRunning, 'c-running');
    const ended = await first.launch(tEnded, 'c-ended');
    const orphan = await first.launch(tOrphan, 'c-orphan');
    await first.c.close();
    await hosts[hosts.length - 1].stop(); // the agent and its modules are gone; containers are not
    expect(running(live.pid!)).toBe(true);

    fs.writeFileSync(path.join(ended.sandbox, 'go'), '');
    await waitFor(() => !running(ended.pid!), 10_000, 'the container to end while the agent is down');

    const second = await agent({ workDir: first.workDir, runtimeDir: first.runtimeDir }, calls);
    const recovered = await second.c.recover([checkpoint(first, 'c-running', tRunning), checkpoint(first, 'c-ended', tEnded)]);
    expect(recovered).toEqual(
      expect.arrayContaining([
        { containerId: 'c-running', outcome: 'running', view: expect.objectContaining({ containerId: 'c-running', phase: 'RUNNING', pid: expect.any(Number) }) },
        {
          containerId: 'c-ended',
          outcome: 'terminated',
          termination: { state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 5', exitCode: 5 },
        },
      ]),
    );
    expect(recovered).toHaveLength(2);
    // the orphan (its runtime state is there, the checkpoint does not name it) was killed and removed
    expect(running(orphan.pid!)).toBe(false);
    expect(fs.readdirSync(path.join(first.runtimeDir, 'containers'))).toEqual(['c-running']);
    // the new module process got Recover with both checkpointed containers, then Cleanup for the ended one and the orphan
    const secondPid = hosts[hosts.length - 1].get('echo').pid;
    const seen = readCalls(calls).filter((c) => c.pid === secondPid);
    expect((seen.find((c) => c.call === 'recover')?.states as string[]).sort()).toEqual(['c-ended', 'c-running']);
    expect(seen.filter((c) => c.call === 'cleanup').map((c) => c.id).sort()).toEqual(['c-ended', 'c-orphan']);
    expect(second.c.containers()).toEqual([expect.objectContaining({ containerId: 'c-running', phase: 'RUNNING', pid: live.pid })]);
    expect(await second.c.wait('c-ended')).toMatchObject({ state: 'TASK_FAILED', exitCode: 5 });

    // the recovered container's later exit arrives with its status
    fs.writeFileSync(path.join(live.sandbox, 'go'), '');
    expect(await second.c.wait('c-running')).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command exited with status 4',
      exitCode: 4,
    });
    await waitFor(() => readCalls(calls).some((c) => c.pid === secondPid && c.call === 'cleanup' && c.id === 'c-running'), 5000, 'cleanup');
    expect(fs.readdirSync(path.join(first.runtimeDir, 'containers'))).toEqual([]);
  });

  it('kills a recovered container (TASK_KILLED) and reports usage for it', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const first = await agent(undefined, calls);
    const t = task('sleepy', { value: 'sleep 100' });
    const view = await first.launch(t, 'c-sleepy');
    await first.c.close();
    const second = await agent({ workDir: first.workDir, runtimeDir: first.runtimeDir }, calls);
    expect(await second.c.recover([checkpoint(first, 'c-sleepy', t)])).toEqual([{ containerId: 'c-sleepy', outcome: 'running', view: expect.objectContaining({ containerId: 'c-sleepy', pid: expect.any(Number) }) }]);
    expect(await second.c.usage('c-sleepy')).toMatchObject({ cpus_limit: 0.1, mem_limit_bytes: 32 * 1024 * 1024 });
    await second.c.kill('c-sleepy', { gracePeriodMs: 2000 });
    expect(await second.c.wait('c-sleepy')).toEqual({ state: 'TASK_KILLED', message: 'Command terminated with signal Terminated', signal: 'SIGTERM' });
    expect(running(view.pid!)).toBe(false);
  });

  it('with --recover=cleanup kills live containers: TASK_KILLED, REASON_AGENT_RESTARTED', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const first = await agent(undefined, calls);
    const t = task('doomed', { value: 'sleep 100' });
    const view = await first.launch(t, 'c-doomed');
    await first.c.close();
    const second = await agent({ workDir: first.workDir, runtimeDir: first.runtimeDir }, calls);
    const recovered = await second.c.recover([checkpoint(first, 'c-doomed', t)], { cleanup: true });
    expect(recovered).toEqual([
      {
        containerId: 'c-doomed',
        outcome: 'terminated',
        termination: { state: 'TASK_KILLED', reason: 'REASON_AGENT_RESTARTED', message: expect.stringContaining('--recover=cleanup') },
      },
    ]);
    expect(running(view.pid!)).toBe(false);
    expect(second.c.containers()).toEqual([]);
  });

  it('reports a checkpointed container with no runtime state as failed, and a container whose shim vanished without a status', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const first = await agent(undefined, calls);
    const t = task('vanished', { value: 'sleep 100' });
    const view = await first.launch(t, 'c-vanished');
    await first.c.close();
    process.kill(-view.pid!, 'SIGKILL'); // the shim and its command die together: no status file
    await waitFor(() => !running(view.pid!), 10_000, 'the group to die');
    const second = await agent({ workDir: first.workDir, runtimeDir: first.runtimeDir }, calls);
    const never = task('never', { value: 'true' });
    const recovered = await second.c.recover([checkpoint(first, 'c-vanished', t), checkpoint(first, 'c-never', never)]);
    expect(recovered).toEqual(
      expect.arrayContaining([
        {
          containerId: 'c-vanished',
          outcome: 'terminated',
          termination: { state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: expect.stringContaining('left no status') },
        },
      ]),
    );
    // c-never had no runtime dir at all: only the agent, from the task's state, can say what happened to it
    expect(recovered.map((r) => r.containerId)).toEqual(['c-vanished']);
  });

  it('destroys a container whose launch the agent restart interrupted (shim still held): launch failed, its command never runs', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const first = await agent(undefined, calls);
    await first.c.close();
    // The first agent "crashed" between starting the held shim and releasing it: its fork server (here still up,
    // as right after the crash) holds the stopped shims; container.json was written, no `released` marker.
    const { log } = captureLog();
    fs.mkdirSync(first.runtimeDir, { recursive: true });
    const server = new ForkServer(first.runtimeDir, log, () => undefined);
    const held: Record<string, { pid: number; startTime: number; sandbox: string }> = {};
    for (const [id, releaseMarker] of [['c-held', true], ['c-held-old', undefined]] as const) {
      const dir = path.join(containersDir(first.runtimeDir), id);
      fs.mkdirSync(dir, { recursive: true });
      const sandbox = first.request(task(id, { value: 'true' }), id).sandbox;
      const h = await server.spawn({ id, shim: '', containerDir: dir, argv: ['/bin/sh', '-c', 'touch ran'], env: {}, cwd: sandbox, stdout: path.join(sandbox, 'stdout'), stderr: path.join(sandbox, 'stderr') });
      remember(h.pid);
      await waitFor(() => readStat(h.pid)?.state === 'T', 5000, 'the shim to hold');
      // an agent without the marker (older) is judged by the stopped shim alone
      writeMeta(dir, { containerId: id, pid: h.pid, startTime: h.startTime, isolators: ['posix/cpu', 'posix/mem', 'echo'], startedAt: Date.now(), ...(releaseMarker ? { releaseMarker } : {}) });
      held[id] = { ...h, sandbox };
    }
    const second = await agent({ workDir: first.workDir, runtimeDir: first.runtimeDir }, calls);
    const recovered = await second.c.recover([checkpoint(first, 'c-held', task('c-held', { value: 'true' })), checkpoint(first, 'c-held-old', task('c-held-old', { value: 'true' }))]);
    server.close();
    const failed = { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringContaining('agent restarted while the container was being launched') };
    expect(recovered).toEqual(
      expect.arrayContaining([
        { containerId: 'c-held', outcome: 'terminated', termination: failed },
        { containerId: 'c-held-old', outcome: 'terminated', termination: failed },
      ]),
    );
    for (const h of Object.values(held)) {
      expect(running(h.pid)).toBe(false);
      expect(fs.existsSync(path.join(h.sandbox, 'ran'))).toBe(false);
    }
    expect(second.c.containers()).toEqual([]);
    expect(fs.readdirSync(containersDir(first.runtimeDir))).toEqual([]);
    const secondPid = hosts[hosts.length - 1].get('echo').pid;
    expect(readCalls(calls).filter((c) => c.pid === secondPid && c.call === 'cleanup').map((c) => c.id).sort()).toEqual(['c-held', 'c-held-old']);
    expect(await second.c.wait('c-held')).toEqual(failed);
  });
});
