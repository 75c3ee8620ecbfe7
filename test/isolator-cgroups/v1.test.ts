// The cgroups isolator module on this host's real cgroup v1 hierarchies, run as the agent runs it (a
// process behind a ModuleHost, called through IsolatorClient), with real processes held before they run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError, type ContainerLimitation, type IsolatorClient } from '@tessera/modules-api';
import { tempDir, waitFor } from '../modules/helpers';
import { CGROUP, cgroupTree, describeIf, held, hostModule, readCg, removeRoot, resources, running, v1Unusable, type Hosted } from './helpers';

const root = `tessera-test-${process.pid}-v1`;
const MB = 1024 * 1024;
let hosted: Hosted;
let client: IsolatorClient;
const sandbox = tempDir();
const cg = (controller: string, id: string, file: string) => path.join(CGROUP, controller, root, id, file);
/** left lists what remains of one container's cgroups, in every hierarchy. */
const left = (id: string) => cgroupTree(root).filter((p) => p.split('/')[1] === id);

/** watchFor waits up to `ms` for the first limitation of a container. */
function watchFor(id: string, ms: number): { limitation: Promise<ContainerLimitation | undefined>; stop: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const limitation = client.watch({ value: id }, ac.signal).finally(() => clearTimeout(timer));
  return { limitation, stop: () => ac.abort() };
}

describeIf(v1Unusable())('isolator-cgroups on cgroup v1', () => {
  beforeAll(async () => {
    hosted = await hostModule({ root, subsystems: 'all', cpu_quota: true, pids_max: 64, oom_poll_interval_ms: 50 });
    client = hosted.client;
  });

  afterAll(async () => {
    await hosted?.stop();
    await removeRoot(root);
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  it('detects v1 from mountinfo and says so at Configure', async () => {
    const said = `isolating with cgroup v1, root "${root}": cpu at /sys/fs/cgroup/cpu, cpuacct at /sys/fs/cgroup/cpuacct, memory at /sys/fs/cgroup/memory`;
    await waitFor(() => hosted.lines.some((l) => l.includes(said)), 10_000, `the log line "${said}"`);
  });

  it('cpus 0.5 gets shares 512 and quota 50 ms per 100 ms; a CPU burner is throttled; update changes the limits', async () => {
    const id = 'cpu-burn';
    await client.prepare({ value: id }, { resources: resources(0.5, 64), directory: sandbox });
    expect(readCg(cg('cpu', id, 'cpu.shares'))).toBe('512');
    expect(readCg(cg('cpu', id, 'cpu.cfs_period_us'))).toBe('100000');
    expect(readCg(cg('cpu', id, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(Number(readCg(cg('memory', id, 'memory.limit_in_bytes')))).toBe(64 * MB);
    expect(Number(readCg(cg('memory', id, 'memory.soft_limit_in_bytes')))).toBe(64 * MB);

    const burner = await held(`sh -c 'while :; do :; done'`);
    await client.isolate({ value: id }, burner.pid);
    const placed = fs.readFileSync(`/proc/${burner.pid}/cgroup`, 'utf8');
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'freezer']) expect(placed).toContain(`:${c}:/${root}/${id}\n`);
    burner.release();

    const stats = (await waitFor(async () => {
      const s = await client.usage({ value: id });
      // throttled_time grows when a throttled period ends, a moment after nr_throttled counts it.
      const throttled = (s.cpusNrThrottled ?? 0) > 0 && (s.cpusThrottledTimeSecs ?? 0) > 0;
      return throttled && (s.cpusUserTimeSecs ?? 0) + (s.cpusSystemTimeSecs ?? 0) > 0 ? s : undefined;
    }, 20_000, 'throttling of the CPU burner in usage'))!;
    expect(stats).toMatchObject({ processes: 1, threads: 1, cpusLimit: 0.5, memLimitBytes: 64 * MB, memSoftLimitBytes: 64 * MB });
    expect(stats.cpusNrPeriods).toBeGreaterThanOrEqual(stats.cpusNrThrottled!);
    expect(stats.memTotalBytes).toBeGreaterThan(0);
    expect(stats.timestamp).toBeGreaterThan(0);

    expect(await client.status({ value: id })).toMatchObject({ executorPid: burner.pid, cgroups: { cpu: `/${root}/${id}`, memory: `/${root}/${id}`, freezer: `/${root}/${id}` } });

    await client.update({ value: id }, resources(1, 128));
    expect(readCg(cg('cpu', id, 'cpu.shares'))).toBe('1024');
    expect(readCg(cg('cpu', id, 'cpu.cfs_quota_us'))).toBe('100000');
    expect(Number(readCg(cg('memory', id, 'memory.limit_in_bytes')))).toBe(128 * MB);
    // Lowering memory later changes the soft limit only: a lower hard limit could OOM-kill the running task.
    await client.update({ value: id }, resources(1, 64));
    expect(Number(readCg(cg('memory', id, 'memory.limit_in_bytes')))).toBe(128 * MB);
    expect(Number(readCg(cg('memory', id, 'memory.soft_limit_in_bytes')))).toBe(64 * MB);

    await client.cleanup({ value: id });
    expect((await burner.exited).signal).toBe('SIGKILL');
    expect(left(id)).toEqual([]);
  }, 60_000);

  it('a task with mem 64 that allocates 200 MB is OOM-killed and watch yields the memory limitation', async () => {
    const id = 'oom';
    await client.prepare({ value: id }, { resources: resources(0.5, 64), directory: sandbox });
    // tail keeps its whole input when it holds no newline: 200 MB of zeros.
    const hog = await held(`sh -c 'head -c 200M /dev/zero | tail'`);
    await client.isolate({ value: id }, hog.pid);
    const watch = watchFor(id, 30_000);
    hog.release();
    const limitation = await watch.limitation;
    expect(limitation).toBeDefined();
    expect(limitation!.reason).toBe('REASON_CONTAINER_LIMITATION_MEMORY');
    expect(limitation!.message).toMatch(/^Memory limit exceeded: Requested: 64MB Maximum Used: \d+(B|KB|MB)\n\nMEMORY STATISTICS: \n(cache|rss) \d+/);
    expect(limitation!.resources).toMatchObject([{ name: 'mem', type: 'SCALAR', scalar: { value: expect.any(Number) } }]);
    expect(limitation!.resources![0].scalar!.value).toBeGreaterThan(32);
    expect(Number(readCg(cg('memory', id, 'memory.oom_control')).match(/oom_kill (\d+)/)![1])).toBeGreaterThan(0);
    await client.cleanup({ value: id });
    await hog.exited;
    expect(left(id)).toEqual([]);
  }, 60_000);

  it('a fork bomb under pids_max 64 is contained, the host keeps working, and cleanup kills all of it', async () => {
    const id = 'fork-bomb';
    await client.prepare({ value: id }, { resources: resources(0.2, 64), directory: sandbox });
    expect(readCg(cg('pids', id, 'pids.max'))).toBe('64');
    const bomb = await held(`sh -c 'b() { b | b & }; b; sleep 100'`);
    await client.isolate({ value: id }, bomb.pid);
    bomb.release();
    await waitFor(() => Number(readCg(cg('pids', id, 'pids.events')).split(' ')[1]) > 0, 20_000, 'forks refused by pids.max');
    for (let i = 0; i < 5; i += 1) {
      expect(Number(readCg(cg('pids', id, 'pids.current')))).toBeLessThanOrEqual(64);
      // The host still starts processes.
      expect(spawnSync('true').status).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    const usage = await client.usage({ value: id });
    expect(usage.processes).toBeGreaterThan(1);
    expect(usage.processes).toBeLessThanOrEqual(64);
    const bombPids = fs.readFileSync(cg('freezer', id, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    await client.cleanup({ value: id });
    expect(bombPids.filter(running)).toEqual([]);
    expect(left(id)).toEqual([]);
    // No limitation (as Mesos), but the operator hears that forks failed on pids.max.
    await waitFor(() => hosted.lines.some((l) => l.includes('container fork-bomb reached its pids.max')), 10_000, 'the pids.max warning');
  }, 60_000);

  it('with devices, a denied device cannot be opened (EPERM) and /dev/null can', async () => {
    const id = 'devices';
    const node = path.join(sandbox, 'nvidia0');
    expect(spawnSync('mknod', [node, 'c', '195', '0']).status).toBe(0);
    // Outside the container the open fails for want of a driver, not for permission.
    expect(spawnSync('cat', [node], { encoding: 'utf8' }).stderr).not.toContain('Operation not permitted');
    await client.prepare({ value: id }, { resources: resources(0.1, 32), directory: sandbox });
    const list = readCg(cg('devices', id, 'devices.list'));
    expect(list).toContain('c 1:3 rwm');
    expect(list).toContain('c 136:* rwm');
    expect(list).not.toContain('a *:* rwm');
    const task = await held(`sh -c 'cat ${node}; echo hello > /dev/null && echo NULL-OK; head -c 4 /dev/zero | wc -c'`);
    await client.isolate({ value: id }, task.pid);
    task.release();
    await task.exited;
    expect(task.output()).toContain(`cat: ${node}: Operation not permitted`);
    expect(task.output()).toContain('NULL-OK');
    expect(task.output()).toMatch(/\b4\n/);
    await client.cleanup({ value: id });
  }, 30_000);

  it('cleanup kills processes nobody told it about, in sub-cgroups too, and leaves no cgroup', async () => {
    const id = 'daemons';
    await client.prepare({ value: id }, { resources: resources(0.1, 64), directory: sandbox });
    const pidFile = path.join(sandbox, 'daemon.pid');
    const task = await held(`sh -c 'setsid sleep 1000 & echo $! > ${pidFile}; sleep 1000'`);
    await client.isolate({ value: id }, task.pid);
    task.release();
    const daemon = await waitFor(() => (fs.existsSync(pidFile) && Number(fs.readFileSync(pidFile, 'utf8'))) || 0, 10_000, 'the daemon');
    // The task made a cgroup of its own below its container and moved the daemon there.
    fs.mkdirSync(cg('memory', id, 'inner'));
    fs.writeFileSync(cg('memory', id, 'inner/cgroup.procs'), String(daemon));
    expect((await client.usage({ value: id })).processes).toBe(3);
    await client.cleanup({ value: id });
    expect(running(daemon)).toBe(false);
    expect(running(task.pid)).toBe(false);
    expect(left(id)).toEqual([]);
    // A second cleanup (a retry after a lost answer) is fine.
    await client.cleanup({ value: id });
  }, 30_000);

  it('refuses calls for unknown containers, gone pids and ids that cannot be cgroup names, with codes', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: TesseraError) => e.code);
    expect(await code(client.usage({ value: 'nope' }))).toBe('CGROUPS_UNKNOWN_CONTAINER');
    expect(await code(client.status({ value: 'nope' }))).toBe('CGROUPS_UNKNOWN_CONTAINER');
    expect(await code(client.prepare({ value: '../escape' }, {}))).toBe('CGROUPS_INVALID_CONTAINER_ID');
    expect(await code(client.prepare({ value: 'cpu.shares' }, {}))).toBe('CGROUPS_INVALID_CONTAINER_ID');
    await client.prepare({ value: 'gone' }, { resources: resources(0.1, 32) });
    const gone = await held('true');
    gone.release();
    await gone.exited;
    const err = await client.isolate({ value: 'gone' }, gone.pid).catch((e: TesseraError) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('CGROUPS_ISOLATE_FAILED');
    expect((err as TesseraError).message).toContain(`process ${gone.pid} does not exist`);
    await client.cleanup({ value: 'gone' });
    expect(left('gone')).toEqual([]);
  });

  it('leaves nothing under its root once every container is cleaned up', () => {
    expect(cgroupTree(root)).toEqual([]);
  });
});
