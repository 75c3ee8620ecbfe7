// The cgroup v2 code path. For real under this host's unified hierarchy (which has no controllers
// enabled: placement in <root>/<id>/leaf, cpu.stat, cgroup.kill), and the controller files (cpu.weight,
// cpu.max, memory.max, memory.low, memory.events, pids.max) against a directory standing in for a v2
// mount that offers cpu, memory and pids.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, serveInProcess, type InProcessModule } from '@tessera/modules-api';
import { cgroupsModule, LEAF } from '@tessera/isolator-cgroups';
import { tempDir, waitFor } from '../modules/helpers';
import { configureFails, describeIf, held, hostModule, removeRoot, resources, running, UNIFIED, type Hosted } from './helpers';

const MB = 1024 * 1024;

function unifiedUnusable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  let type: number;
  try {
    type = Number(fs.statfsSync(UNIFIED).type);
  } catch {
    return `no cgroup2 file system at ${UNIFIED}`;
  }
  if (type !== 0x63677270) return `${UNIFIED} is not a cgroup2 file system`;
  const probe = path.join(UNIFIED, `tessera-probe-${process.pid}`);
  fs.mkdirSync(probe, { recursive: true });
  const hasKill = fs.existsSync(path.join(probe, 'cgroup.kill'));
  fs.rmdirSync(probe);
  return hasKill ? undefined : `${UNIFIED} has no cgroup.kill (Linux before 5.14)`;
}

describeIf(unifiedUnusable())('isolator-cgroups on the real unified hierarchy (no controllers)', () => {
  const root = `tessera-test-${process.pid}-v2`;
  let hosted: Hosted;

  beforeAll(async () => {
    hosted = await hostModule({ root, hierarchy: 'v2', subsystems: [] });
  });

  afterAll(async () => {
    await hosted?.stop();
    await removeRoot(root);
  });

  it('places the process in <root>/<id>/leaf, reads cpu.stat, and cgroup.kill ends everything at cleanup', async () => {
    const { client, lines } = hosted;
    const said = `isolating with cgroup v2 at ${UNIFIED}, root "${root}", controllers: none (placement and accounting only)`;
    await waitFor(() => lines.some((l) => l.includes(said)), 10_000, `the log line "${said}"`);
    const id = 'c1';
    await client.prepare({ value: id }, { resources: resources(0.5, 64) });
    expect(fs.existsSync(path.join(UNIFIED, root, id, LEAF))).toBe(true);
    const scratch = tempDir();
    const pidFile = path.join(scratch, 'daemon.pid');
    const task = await held(`sh -c 'setsid sleep 1000 & echo $! > ${pidFile}; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1000'`);
    await client.isolate({ value: id }, task.pid);
    expect(fs.readFileSync(`/proc/${task.pid}/cgroup`, 'utf8')).toContain(`0::/${root}/${id}/${LEAF}\n`);
    task.release();
    const usage = (await waitFor(async () => {
      const u = await client.usage({ value: id });
      return (u.cpusUserTimeSecs ?? 0) > 0 && u.processes === 3 ? u : undefined;
    }, 20_000, 'user time from cpu.stat and 3 processes'))!;
    expect(usage.threads).toBe(3);
    expect(await client.status({ value: id })).toMatchObject({ executorPid: task.pid, cgroups: { unified: `/${root}/${id}/${LEAF}` } });
    const daemon = Number(fs.readFileSync(pidFile, 'utf8'));
    fs.rmSync(scratch, { recursive: true, force: true });
    await client.cleanup({ value: id });
    expect((await task.exited).signal).toBe('SIGKILL');
    expect(running(daemon)).toBe(false);
    expect(fs.readdirSync(path.join(UNIFIED, root)).filter((e) => fs.statSync(path.join(UNIFIED, root, e)).isDirectory())).toEqual([]);
  }, 60_000);

  it('refuses the cpu subsystem at Configure, since the unified hierarchy here offers no cpu controller', async () => {
    const err = await configureFails({ root, hierarchy: 'v2', subsystems: ['cpu'] });
    expect(err.code).toBe('CGROUPS_CONTROLLER_MISSING');
    expect(err.message).toContain(`cgroup v2 at ${UNIFIED} does not offer controller(s) cpu`);
  });
});

describe('isolator-cgroups v2 controller files (directory fixture)', () => {
  let fixture: string;
  let mod: InProcessModule;
  let client: IsolatorClient;
  const sleepers: ChildProcess[] = [];
  const file = (...p: string[]) => path.join(fixture, 'tessera', ...p);
  const read = (...p: string[]) => fs.readFileSync(file(...p), 'utf8').trim();

  beforeAll(async () => {
    fixture = tempDir();
    fs.writeFileSync(path.join(fixture, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids\n');
    fs.writeFileSync(path.join(fixture, 'cgroup.subtree_control'), '');
    mod = await serveInProcess(cgroupsModule(), {
      parameters: { cgroup_root: fixture, subsystems: 'all', cpu_quota: true, memory_swap: true, pids_max: 100, oom_poll_interval_ms: 20 },
    });
    client = new IsolatorClient(mod);
  });

  afterAll(async () => {
    await mod?.stop();
    for (const s of sleepers) s.kill('SIGKILL');
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('detects v2 from cgroup.controllers, leaves devices out of "all" with a warning, and enables the controllers', () => {
    expect(mod.warnings.join('\n')).toContain('subsystems "all" on this cgroup v2 host leaves out devices');
    expect(fs.readFileSync(path.join(fixture, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory +pids');
    expect(read('cgroup.subtree_control')).toBe('+cpu +memory +pids');
  });

  it('writes cpu.weight, cpu.max, memory.max, memory.low, memory.swap.max and pids.max, and updates them', async () => {
    await client.prepare({ value: 'c1' }, { resources: resources(0.5, 64) });
    expect(fs.statSync(file('c1', LEAF)).isDirectory()).toBe(true);
    expect(read('c1', 'cpu.weight')).toBe('50'); // 100 per CPU, as Mesos
    expect(read('c1', 'cpu.max')).toBe('50000 100000');
    expect(read('c1', 'memory.max')).toBe(String(64 * MB));
    expect(read('c1', 'memory.low')).toBe(String(64 * MB));
    expect(read('c1', 'memory.swap.max')).toBe('0');
    expect(read('c1', 'pids.max')).toBe('100');

    await client.update({ value: 'c1' }, resources(2, 128));
    expect(read('c1', 'cpu.weight')).toBe('200');
    expect(read('c1', 'cpu.max')).toBe('200000 100000');
    expect(read('c1', 'memory.max')).toBe(String(128 * MB));
    await client.update({ value: 'c1' }, resources(1, 16));
    expect(read('c1', 'cpu.weight')).toBe('100');
    expect(read('c1', 'memory.max')).toBe(String(128 * MB)); // never lowered after prepare
    expect(read('c1', 'memory.low')).toBe(String(32 * MB)); // at least 32 MB, as Mesos
    // A cpus limit above the request, here unlimited, lifts the quota (Mesos 1.10 limits).
    await client.update({ value: 'c1' }, resources(1, 32), { cpus: { value: Infinity } });
    expect(read('c1', 'cpu.max')).toBe('max 100000');
    await client.cleanup({ value: 'c1' });
    expect(fs.existsSync(file('c1'))).toBe(false);
  });

  it('reads usage from cpu.stat, memory.current, memory.stat and the leaf, and answers status', async () => {
    await client.prepare({ value: 'c2' }, { resources: resources(1, 64) });
    // Real pids of the test's own sleepers: the module must not signal anything read from a plain directory.
    for (let i = 0; i < 2; i += 1) sleepers.push(spawn('sleep', ['1000']));
    fs.writeFileSync(file('c2', LEAF, 'cgroup.procs'), sleepers.map((s) => `${s.pid}\n`).join(''));
    fs.writeFileSync(file('c2', LEAF, 'cgroup.threads'), `${sleepers[0].pid}\n${sleepers[1].pid}\n${sleepers[1].pid! + 1}\n`);
    fs.writeFileSync(file('c2', 'cpu.stat'), 'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 500000\n');
    fs.writeFileSync(file('c2', 'memory.current'), '1048576\n');
    fs.writeFileSync(file('c2', 'memory.peak'), '2097152\n');
    fs.writeFileSync(file('c2', 'memory.swap.current'), '4096\n');
    fs.writeFileSync(file('c2', 'memory.stat'), 'anon 524288\nfile 262144\nkernel 8192\n');
    expect(await client.usage({ value: 'c2' })).toMatchObject({
      processes: 2,
      threads: 3,
      cpusUserTimeSecs: 2,
      cpusSystemTimeSecs: 1,
      cpusNrPeriods: 10,
      cpusNrThrottled: 4,
      cpusThrottledTimeSecs: 0.5,
      cpusLimit: 1,
      memTotalBytes: 1048576,
      memRssBytes: 524288,
      memCacheBytes: 262144,
      memSwapBytes: 4096,
      memLimitBytes: 64 * MB,
      memSoftLimitBytes: 64 * MB,
      memMaxTotalBytes: 2097152,
    });
    expect(await client.status({ value: 'c2' })).toMatchObject({ cgroups: { unified: `/tessera/c2/${LEAF}`, cpu: '/tessera/c2', memory: '/tessera/c2', pids: '/tessera/c2' } });
    await client.cleanup({ value: 'c2' });
    expect(sleepers.every((s) => s.exitCode === null && s.signalCode === null)).toBe(true);
  });

  it('turns an oom_kill in memory.events into the memory limitation', async () => {
    await client.prepare({ value: 'c3' }, { resources: resources(1, 64) });
    fs.writeFileSync(file('c3', 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n');
    fs.writeFileSync(file('c3', 'memory.peak'), `${64 * MB}\n`);
    fs.writeFileSync(file('c3', 'memory.stat'), 'anon 66060288\nfile 1048576\n');
    const ac = new AbortController();
    const watching = client.watch({ value: 'c3' }, ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(file('c3', 'memory.events'), 'low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n');
    const timer = setTimeout(() => ac.abort(), 10_000);
    const limitation = await watching.finally(() => clearTimeout(timer));
    expect(limitation).toMatchObject({
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: 'Memory limit exceeded: Requested: 64MB Maximum Used: 64MB\n\nMEMORY STATISTICS: \nanon 66060288\nfile 1048576',
      resources: [{ name: 'mem', scalar: { value: 64 } }],
    });
    await client.cleanup({ value: 'c3' });
  });

  it('recover removes the cgroups of containers nobody knows', async () => {
    fs.mkdirSync(file('ghost', LEAF), { recursive: true });
    await client.prepare({ value: 'kept' }, { resources: resources(1, 64) });
    await client.recover({ states: [{ containerId: { value: 'kept' } }], orphans: [] });
    expect(fs.existsSync(file('ghost'))).toBe(false);
    expect(fs.existsSync(file('kept', LEAF))).toBe(true);
    await client.cleanup({ value: 'kept' });
  });
});
