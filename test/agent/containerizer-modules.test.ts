// The isolator pipeline with a real isolator module process (the echo-isolator fixture) behind a real
// ModuleHost: prepare/isolate/cleanup order, launch info environment, a failing Prepare, a limitation
// from Watch (also one that races with the process's exit and arrives only during cleanup), a module
// killed with SIGKILL during a run, and bind mounts from a launch info.
import fs from 'node:fs';
import path from 'node:path';
import { LaunchError } from '../../core/src/agent/containerizer';
import type { ModuleHost } from '../../core/src/modules/module-host';
import { readCalls, tempDir, waitFor } from '../modules/helpers';
import { env, killLeftovers, makeRig, read, startEchoHost, running, task, type Rig } from './containerizer-helpers';

const hosts: ModuleHost[] = [];
const rigs: Rig[] = [];
afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  await Promise.all(hosts.map((h) => h.stop()));
});

async function setup(entry: Record<string, unknown> = {}): Promise<{ r: Rig; host: ModuleHost; calls: string }> {
  const calls = path.join(tempDir(), 'calls.jsonl');
  const host = await startEchoHost({ env: { FIXTURE_LOG: calls }, parameters: { greeting: 'bonjour' }, ...entry });
  hosts.push(host);
  const r = makeRig({ isolators: ['posix/cpu', 'posix/mem', 'echo'], modules: host });
  rigs.push(r);
  await r.c.recover([]);
  return { r, host, calls };
}

const callsFor = (file: string, id: string): string[] =>
  readCalls(file)
    .filter((c) => c.id === id)
    .map((c) => c.call);

describe('universal containerizer: isolator modules', () => {
  it('prepares, isolates the held pid, merges the launch environment, watches, and cleans up after the exit', async () => {
    const { r, calls } = await setup();
    const view = await r.launch(task('greet', { value: 'echo "$GREETING"' }));
    const isolate = readCalls(calls).find((c) => c.call === 'isolate' && c.id === 'c-greet');
    expect(isolate?.pid).toBe(view.pid); // the shim's pid, isolated while it was held
    expect(await r.c.wait('c-greet')).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('bonjour\n');
    await waitFor(() => callsFor(calls, 'c-greet').includes('cleanup'), 5000, 'cleanup');
    const order = callsFor(calls, 'c-greet').filter((c) => c !== 'watch');
    expect(order).toEqual(['prepare', 'isolate', 'cleanup']);
  });

  it('reports usage through the module too, merged with the built-ins', async () => {
    const { r } = await setup();
    await r.launch(task('used', { value: 'sleep 100' }));
    const usage = await r.c.usage('c-used');
    // echo reports memRssBytes 1024 and processes 1; it comes after posix/mem in --isolation, so it wins
    expect(usage).toMatchObject({ mem_rss_bytes: 1024, processes: 1, cpus_limit: 0.1 });
    expect(typeof usage?.cpus_user_time_secs).toBe('number');
    await r.c.kill('c-used', { gracePeriodMs: 1000 });
  });

  it('fails the launch closed, naming the module, when its Prepare fails; only prepared isolators are cleaned up', async () => {
    const { r, calls } = await setup();
    let err: LaunchError | undefined;
    try {
      await r.launch(task('refused', { value: 'echo should not run', environment: env({ ECHO_FAIL_PREPARE: 'no GPUs left on this agent' }) }));
    } catch (e) {
      err = e as LaunchError;
    }
    expect(err).toBeInstanceOf(LaunchError);
    expect(err!.failure).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: 'isolator module echo: isolator.Prepare: ECHO_PREPARE_REFUSED: no GPUs left on this agent', // the module's own code, for its docs
    });
    expect(callsFor(calls, 'c-refused')).toEqual([]); // Prepare threw before recording; no Cleanup for it
    expect(read(path.join(r.workDir, 'sandboxes', 'c-refused', 'stdout'))).toBe('');
    expect(read(path.join(r.workDir, 'sandboxes', 'c-refused', 'stderr'))).toContain('Failed to launch container: isolator module echo:');
    expect(r.c.containers()).toEqual([]);
  });

  it('destroys a container when the module reports a limitation: TASK_FAILED with its reason and message', async () => {
    const { r, calls } = await setup();
    const view = await r.launch(task('hog', { value: 'sleep 100', environment: env({ ECHO_LIMITATION: 'Memory limit exceeded: requested 32MB, max usage 40MB' }) }));
    const t = await r.c.wait('c-hog');
    expect(t).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: 'Memory limit exceeded: requested 32MB, max usage 40MB',
      limitation: { reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message: 'Memory limit exceeded: requested 32MB, max usage 40MB' },
    });
    expect(running(view.pid!)).toBe(false);
    await waitFor(() => callsFor(calls, 'c-hog').includes('cleanup'), 5000, 'cleanup');
  });

  it('reports a process that died before its limitation arrived as the limitation: watches stay open until cleanup returned', async () => {
    // As an OOM kill under the cgroups module: the kernel kills the task (SIGKILL), its process exits at
    // once, and the module notices the kill a poll later, or at Cleanup, which reports it on the Watch
    // stream before it answers. The limitation, not the signal, is how the task ended.
    const { r, calls } = await setup();
    const message = 'Memory limit exceeded: Requested: 32MB Maximum Used: 32MB';
    await r.launch(task('oom', { value: 'kill -KILL $$', environment: env({ ECHO_LIMITATION_AT_CLEANUP: message }) }));
    expect(await r.c.wait('c-oom')).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message,
      signal: 'SIGKILL',
      limitation: { reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message },
    });
    expect(callsFor(calls, 'c-oom')).toContain('cleanup');
    expect(r.lines.some((l) => l.includes('hit a limitation from echo as it ended'))).toBe(true);
  });

  it('takes a limitation that arrives while cleanup runs after the exit as the termination; without one, the exit is reported', async () => {
    const { r } = await setup();
    const message = 'Memory limit exceeded: noticed a poll after the exit';
    // The process exits at once; the limitation comes 200 ms after the watch opened, while cleanup takes 1 s.
    await r.launch(task('late', { value: 'true', environment: env({ ECHO_LIMITATION: message, ECHO_LIMITATION_AFTER_MS: '200', ECHO_CLEANUP_DELAY_MS: '1000' }) }));
    await r.launch(task('clean', { value: 'true', environment: env({ ECHO_CLEANUP_DELAY_MS: '300' }) }));
    expect(await r.c.wait('c-late')).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message });
    expect(await r.c.wait('c-clean')).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0', exitCode: 0 });
  });

  it('survives a SIGKILLed module: running containers are untouched, the module recovers them, watches reopen, new launches work', async () => {
    const { r, host, calls } = await setup({ restart: { initialBackoff: '200ms' } });
    const steady = await r.launch(task('steady', { value: 'sleep 100' }));
    const limited = await r.launch(
      task('later', { value: 'sleep 100', environment: env({ ECHO_LIMITATION: 'limit hit after the restart', ECHO_LIMITATION_AFTER_MS: '2500' }) }),
    );
    const firstPid = host.get('echo').pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => host.get('echo').restartCount === 1 && host.get('echo').status === 'ready', 15_000, 'the module to restart');
    // the restarted module got Recover with both live containers
    const recover = readCalls(calls).find((c) => c.call === 'recover' && c.pid !== firstPid);
    expect((recover?.states as string[]).sort()).toEqual(['c-later', 'c-steady']);
    expect(running(steady.pid!)).toBe(true);
    // the watch reopened on the new process fires the limitation it now knows about
    expect(await r.c.wait('c-later')).toMatchObject({ state: 'TASK_FAILED', message: 'limit hit after the restart' });
    expect(running(limited.pid!)).toBe(false);
    expect(running(steady.pid!)).toBe(true);
    // a new launch goes through the restarted module
    const fresh = await r.launch(task('fresh', { value: 'echo "$GREETING"' }));
    expect(await r.c.wait('c-fresh')).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(fresh.sandbox, 'stdout'))).toBe('bonjour\n');
    expect(r.c.containers().map((c) => c.containerId)).toEqual(['c-steady']);
    await r.c.kill('c-steady', { gracePeriodMs: 1000 });
  });

  it('fails a launch that hits the dead module with a reason naming it', async () => {
    const { r, host } = await setup({ restart: { initialBackoff: '20s' }, timeouts: { call: '1s' } });
    const steady = await r.launch(task('before', { value: 'sleep 100' }));
    process.kill(host.get('echo').pid!, 'SIGKILL');
    await waitFor(() => host.get('echo').status === 'restarting', 10_000, 'the module to be down');
    let err: LaunchError | undefined;
    try {
      await r.launch(task('during', { value: 'true' }));
    } catch (e) {
      err = e as LaunchError;
    }
    expect(err?.failure).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(err?.failure.message).toMatch(/^isolator module echo: TSR_MODULE_UNAVAILABLE: module echo is restarting .*isolator\.Prepare gave up after/);
    expect(running(steady.pid!)).toBe(true);
    expect(r.c.containers().map((c) => c.containerId)).toEqual(['c-before']);
  });

  it('performs a bind mount from a launch info in a private mount namespace (read-only)', async () => {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/unshare')) {
      console.log('skipped: bind mounts need root and util-linux unshare');
      return;
    }
    const { r } = await setup();
    const data = tempDir();
    fs.writeFileSync(path.join(data, 'file.txt'), 'mounted data\n');
    const view = await r.launch(
      task('mounted', {
        value: 'cat data/file.txt; if { echo x > data/new.txt; } 2>/dev/null; then echo writable; else echo read-only; fi',
        environment: env({ ECHO_MOUNT: `${data}:data:ro` }),
      }),
    );
    const t = await r.c.wait('c-mounted');
    expect({ ...t, stderr: read(path.join(view.sandbox, 'stderr')) }).toMatchObject({ state: 'TASK_FINISHED', stderr: '' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('mounted data\nread-only\n');
    // the mount lived only in the container's namespace
    expect(fs.readdirSync(path.join(view.sandbox, 'data'))).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(path.join(view.sandbox, 'data'));
  });
});
