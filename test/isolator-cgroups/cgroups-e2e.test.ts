// The cgroups isolator end to end, as an operator runs it: a real master, a real `tessera agent` process
// with `--modules` (the bundled module, modules/isolator-cgroups/dist/module.js) and
// `--isolation=filesystem/posix,cgroups`, frameworks through the scheduler API, and this host's real
// cgroup v1 hierarchies. Each agent gets a cgroup root of its own for this run (removed in afterAll).
// Covered: an OOM kill reported as TASK_FAILED / REASON_CONTAINER_LIMITATION_MEMORY, cpu shares and CFS
// quota in the task's cgroup and throttling in /monitor/statistics, a contained fork bomb next to a task
// that finishes normally, a denied device (EPERM) next to /dev/null, and `kill -9` of agent and module
// followed by a restart: limits still apply, statistics still read, a later OOM is still reported, and
// nothing is left under the root once every task ended.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster } from '../agent/agent-cluster';
import { CGROUP, cgroupTree, describeIf, MODULE, readCg, removeRoot, running, v1Unusable } from './helpers';

const MB = 1024 * 1024;
const run = `tessera-e2e-${process.pid}-${Date.now().toString(36)}`;
const roots: string[] = [];
const dirs: string[] = [];
let master: RunningMaster;

/** v1Unwritable says why this host's cgroup v1 controllers cannot be written, or undefined when they can. */
function v1Unwritable(): string | undefined {
  const unusable = v1Unusable();
  if (unusable) return `cgroup v1 is not usable here: ${unusable}`;
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'freezer']) {
    const probe = path.join(CGROUP, c, `${run}-probe`);
    try {
      fs.mkdirSync(probe);
      fs.rmdirSync(probe);
    } catch (err) {
      return `cgroup v1 controller ${c} is not writable at ${CGROUP}/${c}: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/** TaskDir is where a task runs: its container id (its cgroup's name) and its sandbox. */
interface TaskDir {
  container: string;
  sandbox: string;
}

/** CgroupsAgent is an agent process with the cgroups module, on a root of its own. */
interface CgroupsAgent {
  agent: AgentProcess;
  agentId: string;
  root: string;
  cg(controller: string, container: string, file: string): string;
  task(taskId: string): Promise<TaskDir>;
}

async function startAgent(name: string, parameters: Record<string, unknown> = {}): Promise<CgroupsAgent> {
  const root = `${run}-${name}`;
  roots.push(root);
  const workDir = tempDir();
  dirs.push(workDir);
  const modules = writeModulesJson({
    modules: [{ name: 'cgroups', file: MODULE, parameters: { root, subsystems: 'all', cpu_quota: true, pids_max: 64, ...parameters }, timeouts: { call: '10s' } }],
  });
  dirs.push(path.dirname(modules));
  const agent = new AgentProcess({ master: master.address, workDir, flags: [`--modules=${modules}`, '--isolation=filesystem/posix,cgroups'] });
  const agentId = await agent.start();
  return {
    agent,
    agentId,
    root,
    cg: (controller, container, file) => path.join(CGROUP, controller, root, container, file),
    async task(taskId) {
      const executor = await waitFor(async () => {
        const state = await agent.state();
        return state.frameworks.flatMap((f: any) => f.executors).find((e: any) => e.id === taskId && e.container);
      }, 10_000, `task ${taskId} in the agent's /state`);
      return { container: executor.container, sandbox: executor.directory };
    },
  };
}

/** terminal waits for a task's terminal update and returns its status. */
async function terminal(fw: Framework, taskId: string, timeoutMs = 30_000): Promise<any> {
  const e = await fw.sched.next(
    (ev) => ev.type === 'UPDATE' && ev.update.status.task_id.value === taskId && ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR'].includes(ev.update.status.state),
    timeoutMs,
  );
  return e.update.status;
}

/** statisticsOf reads a task's statistics from the agent's /monitor/statistics. */
async function statisticsOf(agent: AgentProcess, taskId: string): Promise<Record<string, number> | undefined> {
  const { body } = await getJson(agent.address, '/monitor/statistics');
  return (body as any[]).find((r) => r.executor_id === taskId)?.statistics;
}

/** modulePid finds the agent's module process of that name (a child started with TESSERA_MODULE_NAME). */
function modulePid(agentPid: number, name: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== agentPid) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`TESSERA_MODULE_NAME=${name}`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** procsOf lists the processes in a container's cgroup of one controller. */
const procsOf = (file: string): number[] => (fs.existsSync(file) ? readCg(file).split('\n').filter(Boolean).map(Number) : []);

// Waits in its sandbox until the test creates `go`, then keeps 200 MB in tail (no newline in the input).
const ALLOCATE_ON_GO = 'while [ ! -e go ]; do sleep 0.1; done; head -c 200M /dev/zero | tail';

describeIf(v1Unwritable())('isolator-cgroups under a real agent (cgroup v1)', () => {
  let a: CgroupsAgent;
  let fw: Framework;

  beforeAll(async () => {
    master = await startMaster();
    a = await startAgent('a');
    fw = await Framework.subscribe(master.address);
  }, 60_000);

  afterAll(async () => {
    await cleanupAll();
    for (const root of roots) await removeRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('a task with mem 64 that allocates 200 MB ends TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY, naming the limit', async () => {
    await fw.launch(a.agentId, [{ id: 'oom', cmd: 'head -c 200M /dev/zero | tail', cpus: 0.5, mem: 64 }]);
    const { container } = await a.task('oom');
    const status = await terminal(fw, 'oom');
    expect({ state: status.state, reason: status.reason, source: status.source }).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      source: 'SOURCE_AGENT',
    });
    expect(status.message).toMatch(/^Memory limit exceeded: Requested: 64MB Maximum Used: \d+(B|KB|MB)\n\nMEMORY STATISTICS: \n/);
    expect(status.limitation?.resources?.[0]).toMatchObject({ name: 'mem', type: 'SCALAR' });
    // Cleanup removed the container's cgroups.
    await waitFor(() => !fs.existsSync(path.join(CGROUP, 'memory', a.root, container)), 10_000, 'the cgroup to be removed');
  }, 60_000);

  it('a task with cpus 0.5 gets cpu.shares 512 and a 50 ms / 100 ms quota; burning CPU it is throttled in /monitor/statistics', async () => {
    await fw.launch(a.agentId, [{ id: 'burn', cmd: 'while :; do :; done', cpus: 0.5, mem: 32 }]);
    await fw.sched.update('burn', 'TASK_RUNNING');
    const { container } = await a.task('burn');
    expect(readCg(a.cg('cpu', container, 'cpu.shares'))).toBe('512');
    expect(readCg(a.cg('cpu', container, 'cpu.cfs_period_us'))).toBe('100000');
    expect(readCg(a.cg('cpu', container, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(Number(readCg(a.cg('memory', container, 'memory.limit_in_bytes')))).toBe(32 * MB);
    const stats = (await waitFor(async () => {
      const s = await statisticsOf(a.agent, 'burn');
      return s && s.cpus_nr_throttled > 0 && s.cpus_throttled_time_secs > 0 ? s : undefined;
    }, 20_000, 'throttling of the burner in /monitor/statistics'))!;
    expect(stats).toMatchObject({ cpus_limit: 0.5, mem_limit_bytes: 32 * MB });
    expect(stats.cpus_nr_periods).toBeGreaterThanOrEqual(stats.cpus_nr_throttled);
    expect(stats.cpus_user_time_secs + stats.cpus_system_time_secs).toBeGreaterThan(0);
    await fw.kill('burn', a.agentId, 0);
    expect((await terminal(fw, 'burn')).state).toBe('TASK_KILLED');
    await waitFor(() => !fs.existsSync(path.join(CGROUP, 'cpu', a.root, container)), 10_000, 'the cgroup to be removed');
  }, 60_000);

  it('a fork bomb is contained by pids.max; the agent and another task keep working; killing it leaves no process', async () => {
    // The task's shell forks once, for the bomb, then becomes sleep: forking once pids.max is reached
    // fails ("Cannot fork"), and a shell that cannot fork exits, which would end the task.
    await fw.launch(a.agentId, [{ id: 'bomb', cmd: '(b() { b | b & }; b) & exec sleep 100', cpus: 0.1, mem: 64 }]);
    await fw.sched.update('bomb', 'TASK_RUNNING');
    const { container, sandbox } = await a.task('bomb');
    expect(readCg(a.cg('pids', container, 'pids.max'))).toBe('64');
    await waitFor(async () => {
      const events = a.cg('pids', container, 'pids.events');
      if (fs.existsSync(events)) return Number(readCg(events).split(' ')[1]) > 0;
      // The task ended (its cgroup is gone): say how, rather than that a file is missing.
      const ended = await terminal(fw, 'bomb', 5000);
      throw new Error(`the fork bomb's task ended: ${JSON.stringify(ended)}\nstderr: ${fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8').slice(-2000)}`);
    }, 20_000, 'forks refused by pids.max');
    expect(Number(readCg(a.cg('pids', container, 'pids.current')))).toBeLessThanOrEqual(64);

    // Meanwhile the agent answers and runs another task to its normal end.
    await fw.launch(a.agentId, [{ id: 'bystander', cmd: 'for i in 1 2 3; do echo $i; done; sleep 0.5', cpus: 0.1, mem: 32 }]);
    const bystander = await terminal(fw, 'bystander');
    expect({ state: bystander.state, message: bystander.message }).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0' });
    expect((await getJson(a.agent.address, '/state')).status).toBe(200);
    const stats = await statisticsOf(a.agent, 'bomb');
    expect(stats?.processes).toBeGreaterThan(1);
    expect(stats?.processes).toBeLessThanOrEqual(64);
    expect(Number(readCg(a.cg('pids', container, 'pids.current')))).toBeLessThanOrEqual(64);

    await fw.kill('bomb', a.agentId, 0);
    expect((await terminal(fw, 'bomb')).state).toBe('TASK_KILLED');
    // A cgroup cannot be removed while it holds a process: its removal means every fork is dead.
    await waitFor(() => !fs.existsSync(path.join(CGROUP, 'pids', a.root, container)), 10_000, 'the cgroup to be removed');
    expect(cgroupTree(a.root)).toEqual([]);
  }, 90_000);

  it('with the devices subsystem a task cannot open a denied device (EPERM) and can use /dev/null', async () => {
    // mknod is allowed ("c *:* m"), opening 195:0 (an NVIDIA GPU's major) is not; /dev/null is on the allow-list.
    const cmd = [
      'mknod ./gpu0 c 195 0 || exit 3',
      'if head -c 1 ./gpu0 > /dev/null 2> open.err; then exit 4; fi',
      'cat open.err',
      'grep -q "Operation not permitted" open.err || exit 5',
      'echo hello > /dev/null || exit 6',
      'head -c 4 /dev/zero | wc -c',
    ].join('; ');
    await fw.launch(a.agentId, [{ id: 'devices', cmd, cpus: 0.1, mem: 32 }]);
    const { sandbox } = await a.task('devices');
    const status = await terminal(fw, 'devices');
    const output = `${fs.readFileSync(path.join(sandbox, 'stdout'), 'utf8')}${fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8')}`;
    expect({ state: status.state, message: status.message, output }).toMatchObject({ state: 'TASK_FINISHED', message: 'Command exited with status 0' });
    expect(output).toMatch(/'?\.\/gpu0'?.*: Operation not permitted/);
    expect(output).toMatch(/\b4\n/);
    // Outside the container the same node fails for want of a driver, not for permission.
    expect(spawnSync('head', ['-c', '1', path.join(sandbox, 'gpu0')], { encoding: 'utf8' }).stderr).not.toContain('Operation not permitted');
  }, 60_000);

  it('leaves nothing under the root once its tasks ended', async () => {
    await waitFor(async () => ((await getJson(a.agent.address, '/containers')).body as unknown[]).length === 0, 10_000, 'no containers');
    expect(cgroupTree(a.root)).toEqual([]);
  });

  it('after kill -9 of the agent and of the module, a restarted agent keeps the limits, reads statistics, reports a later OOM, and cleans up every cgroup', async () => {
    const b = await startAgent('b', { oom_poll_interval_ms: 100 });
    await fw.launch(b.agentId, [
      { id: 'later-oom', cmd: ALLOCATE_ON_GO, cpus: 0.5, mem: 64 },
      { id: 'steady', cmd: 'sleep 1000', cpus: 0.25, mem: 32 },
    ]);
    await Promise.all(['later-oom', 'steady'].map((id) => fw.sched.update(id, 'TASK_RUNNING')));
    const hog = await b.task('later-oom');
    const steady = await b.task('steady');
    const pids = b.agent.containerPids();
    expect(pids).toHaveLength(2);

    const agentPid = b.agent.proc!.pid!;
    const module = modulePid(agentPid, 'cgroups');
    expect(module).toBeDefined();
    await b.agent.kill9();
    process.kill(module!, 'SIGKILL');
    await waitFor(() => !running(module!), 10_000, 'the module process to die');

    // With neither agent nor module running, the tasks run on inside their cgroups, under their limits.
    expect(pids.every(running)).toBe(true);
    expect(Number(readCg(b.cg('memory', hog.container, 'memory.limit_in_bytes')))).toBe(64 * MB);
    expect(readCg(b.cg('cpu', hog.container, 'cpu.shares'))).toBe('512');
    expect(readCg(b.cg('cpu', steady.container, 'cpu.cfs_quota_us'))).toBe('25000');
    expect(pids.filter((p) => procsOf(b.cg('memory', steady.container, 'cgroup.procs')).includes(p))).toHaveLength(1);

    expect(await b.agent.start()).toBe(b.agentId);
    const [answer] = await fw.reconcile(b.agentId, ['later-oom']);
    expect(answer.update.status.state).toBe('TASK_RUNNING');
    // Statistics come from the recovered cgroups again.
    const stats = (await waitFor(() => statisticsOf(b.agent, 'later-oom'), 10_000, 'statistics of the recovered task'))!;
    expect(stats).toMatchObject({ mem_limit_bytes: 64 * MB, cpus_limit: 0.5 });
    expect(stats.processes).toBeGreaterThanOrEqual(1);
    expect(stats.mem_total_bytes).toBeGreaterThan(0);
    expect(await statisticsOf(b.agent, 'steady')).toMatchObject({ mem_limit_bytes: 32 * MB, cpus_limit: 0.25 });

    // The limit still applies, and the OOM is watched by the new module process and reported.
    fs.writeFileSync(path.join(hog.sandbox, 'go'), '');
    const oom = await terminal(fw, 'later-oom');
    expect({ state: oom.state, reason: oom.reason }).toEqual({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY' });
    expect(oom.message).toContain('Memory limit exceeded: Requested: 64MB');

    await fw.kill('steady', b.agentId, 0);
    expect((await terminal(fw, 'steady')).state).toBe('TASK_KILLED');
    await waitFor(async () => ((await getJson(b.agent.address, '/containers')).body as unknown[]).length === 0, 10_000, 'no containers');
    expect(pids.filter(running)).toEqual([]);
    expect(cgroupTree(b.root)).toEqual([]);
  }, 120_000);
});
