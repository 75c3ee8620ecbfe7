// Isolator modules under a real agent: `kill -9` of the module process during a run leaves running
// tasks alone, a launch that hits the dead module fails naming it, the restarted module gets Recover
// with the live containers, and a new launch succeeds. Also: --isolation names are checked at startup.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { alive, CLI, fixture, readCalls, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, startMaster } from './agent-cluster';

let master: RunningMaster;
const dirs: string[] = [];

beforeAll(async () => {
  master = await startMaster();
});
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('agent with an isolator module', () => {
  it('survives kill -9 of the module: running tasks untouched, a launch meanwhile fails naming it, then Recover and launches again', async () => {
    const workDir = tempDir();
    dirs.push(workDir);
    const calls = path.join(workDir, 'calls.jsonl');
    // A long first restart backoff and a short call deadline make "a launch hits the dead module" certain.
    const modules = writeModulesJson({ modules: [{ name: 'echo', file: fixture('echo-isolator'), restart: { initialBackoff: '6s' }, timeouts: { call: '1s' } }] });
    dirs.push(path.dirname(modules));
    const agent = new AgentProcess({ master: master.address, workDir, flags: [`--modules=${modules}`, '--isolation=posix/cpu,echo,filesystem/posix'], env: { FIXTURE_LOG: calls } });
    const agentId = await agent.start();
    const fw = await Framework.subscribe(master.address);

    await fw.launch(agentId, [{ id: 'before', cmd: 'sleep 60' }]);
    await fw.sched.update('before', 'TASK_RUNNING');
    const state = await agent.state();
    const before = state.frameworks.flatMap((f: any) => f.executors).find((e: any) => e.id === 'before');
    expect(readCalls(calls).filter((c) => c.call === 'isolate').map((c) => c.id)).toContain(before.container);

    const modulePid = readCalls(calls).filter((c) => c.call === 'configure').pop()!.pid;
    process.kill(modulePid, 'SIGKILL');
    await waitFor(() => !alive(modulePid), 5000, 'the module to die');

    await fw.launch(agentId, [{ id: 'during', cmd: 'sleep 60' }]);
    const failed = (await fw.sched.update('during', 'TASK_FAILED')).update.status;
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/echo/);

    await waitFor(() => readCalls(calls).some((c) => c.call === 'recover' && c.pid !== modulePid), 20_000, 'the restarted module to get Recover');
    const recover = readCalls(calls).filter((c) => c.call === 'recover' && c.pid !== modulePid).pop()!;
    expect(recover.states).toContain(before.container);
    expect(fw.states('before')).toEqual(['TASK_STARTING', 'TASK_RUNNING']); // untouched

    await fw.launch(agentId, [{ id: 'after', cmd: 'sleep 60' }]);
    await fw.sched.update('after', 'TASK_RUNNING');
    expect(readCalls(calls).some((c) => c.call === 'prepare' && c.pid !== modulePid)).toBe(true);
    await fw.teardown();
  });

  it('refuses an --isolation name that is neither built in nor a module, naming both (exit 1)', () => {
    const workDir = tempDir();
    dirs.push(workDir);
    const modules = writeModulesJson({ modules: [{ name: 'echo', file: fixture('echo-isolator') }] });
    dirs.push(path.dirname(modules));
    const r = spawnSync(process.execPath, [CLI, 'agent', `--master=${master.address}`, `--work_dir=${workDir}`, '--port=0', `--modules=${modules}`, '--isolation=posix/cpu,gpu'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TSR_AGENT_ISOLATION_UNKNOWN/);
    expect(r.stderr).toMatch(/"gpu"/);
    expect(r.stderr).toMatch(/posix\/cpu, posix\/mem, filesystem\/posix/);
    expect(r.stderr).toMatch(/defines: echo/);
  });

  it('exits 2 naming the flag for bad flags', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'agent', ...args], { encoding: 'utf8', timeout: 30_000 });
    const noMaster = run('--work_dir=/tmp/x');
    expect(noMaster.status).toBe(2);
    expect(noMaster.stderr).toMatch(/--master is required/);
    const badResources = run(`--master=${master.address}`, '--work_dir=/tmp/x', '--resources=cpus=4');
    expect(badResources.status).toBe(2);
    expect(badResources.stderr).toMatch(/flag --resources: "cpus=4"/);
    const badRecover = run(`--master=${master.address}`, '--work_dir=/tmp/x', '--recover=sometimes');
    expect(badRecover.status).toBe(2);
    expect(badRecover.stderr).toMatch(/--recover 'sometimes'/);
    const badGrace = run(`--master=${master.address}`, '--work_dir=/tmp/x', '--executor_shutdown_grace_period=soon');
    expect(badGrace.status).toBe(2);
    expect(badGrace.stderr).toMatch(/executor_shutdown_grace_period/);
    // A value from the environment is named as such.
    const fromEnv = spawnSync(process.execPath, [CLI, 'agent', '--work_dir=/tmp/x'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TESSERA_MASTER: 'zk://h:2181/mesos' } });
    expect(fromEnv.status).toBe(2);
    expect(fromEnv.stderr).toContain("error TSR_FLAG_INVALID: environment variable TESSERA_MASTER 'zk://h:2181/mesos': must be HOST:PORT");
  });
});
