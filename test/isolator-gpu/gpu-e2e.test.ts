// GPUs end to end: a real master (allocator-drf module), a `tessera agent` with the bundled GPU module
// (`--isolation=posix/cpu,posix/mem,gpu`, a fake nvidia-smi listing four GPUs whose minor numbers a fake
// /proc/driver/nvidia gives, device nodes made by mknod), a second agent without GPUs, and frameworks through the scheduler client. A framework
// without GPU_RESOURCES is never offered `gpus`; tasks see exactly their GPUs (environment,
// `nvidia-smi -L`, EPERM/ENXIO on the nodes); 0.5 GPU is TASK_ERROR; after `kill -9` of the agent and
// the module, the assignments and the denials hold and the one free GPU goes to the next task;
// `tessera run --gpus 1` runs on it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { AgentProcess, cleanupAll, Framework, startMaster } from '../agent/agent-cluster';
import { CLI, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { describeIf, DEVICES, expected, fakeDriverLibs, fakeNvidiaSmi, FOUR_UUIDS, gpuFacilityMissing, makeDevRoot, MODULE, probeCommand, removeDevicesRoot, writeProbe } from './helpers';

const root = `tessera-test-${process.pid}-gpu-e2e`;
const dirs: string[] = [];
let master: RunningMaster;
let agent: AgentProcess;
let agentId: string;
let plainAgentId: string;
let gpuFw: Framework;
let plainFw: Framework;
let devRoot: string;
let probe: string;
let workDir: string;

const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value } });
const gpuTask = (id: string, n: number, cmd: string) => ({ id, cmd, extra: { resources: [scalar('cpus', 0.01), scalar('mem', 16), scalar('gpus', n)] } });
const offersOf = (fw: Framework): any[] => fw.sched.events.filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers.offers ?? []);
const gpusIn = (offer: any): number => (offer.resources ?? []).filter((r: any) => r.name === 'gpus').reduce((n: number, r: any) => n + (r.scalar?.value ?? 0), 0);

/** The command of a GPU task: what it was given, `nvidia-smi -L`, then a probe of the nodes every 300 ms. */
const probingCmd = () =>
  `echo "NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES"; echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; nvidia-smi -L; while :; do ${probeCommand(probe, devRoot)}; sleep 0.3; done`;

/** sandboxOut reads a task's stdout from its sandbox (the agent's /state names the directory). */
async function sandboxOut(taskId: string): Promise<string> {
  const state = await agent.state();
  const e = state.frameworks.flatMap((f: any) => f.executors).find((x: any) => x.id === taskId);
  return e ? fs.readFileSync(path.join(e.directory, 'stdout'), 'utf8') : '';
}

/** probes lists the probe answers a task printed so far. */
async function probes(taskId: string): Promise<Record<string, string>[]> {
  return (await sandboxOut(taskId))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** seenBy waits for a task's first probes and returns what it was given. */
async function seenBy(taskId: string): Promise<{ visible: string; cuda: string; list: string[]; probe: Record<string, string> }> {
  await waitFor(async () => (await probes(taskId)).length > 0, 30_000, `the first probe of ${taskId}`);
  const out = await sandboxOut(taskId);
  return {
    visible: /^NVIDIA_VISIBLE_DEVICES=(.*)$/m.exec(out)![1],
    cuda: /^CUDA_VISIBLE_DEVICES=(.*)$/m.exec(out)![1],
    list: out.split('\n').filter((l) => l.startsWith('GPU ')),
    probe: (await probes(taskId))[0],
  };
}

/** modulePid finds the GPU module process the agent started. */
function modulePid(agentPid: number): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === agentPid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('isolator-gpu')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describeIf(gpuFacilityMissing())('GPUs through a real master and agent', () => {
  beforeAll(async () => {
    master = await startMaster();
    devRoot = makeDevRoot(4);
    const smi = fakeNvidiaSmi(devRoot);
    const libs = fakeDriverLibs();
    probe = writeProbe();
    workDir = tempDir();
    const plainDir = tempDir();
    const modules = writeModulesJson({ modules: [{ name: 'gpu', file: MODULE, parameters: { nvidia_smi: smi.path, proc_driver_nvidia: smi.proc, dev_root: devRoot, root, health_poll_interval_ms: 0, library_dirs: [libs] } }] });
    dirs.push(devRoot, smi.dir, libs, path.dirname(probe), workDir, plainDir, path.dirname(modules));
    agent = new AgentProcess({ master: master.address, workDir, resources: 'cpus:4;mem:4096;disk:1000', flags: [`--modules=${modules}`, '--isolation=posix/cpu,posix/mem,gpu'] });
    agentId = await agent.start();
    plainAgentId = await new AgentProcess({ master: master.address, workDir: plainDir, resources: 'cpus:2;mem:1024;disk:100' }).start();
  }, 90_000);

  afterAll(async () => {
    await cleanupAll();
    await removeDevicesRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('offers the agent\'s gpus only to the framework with GPU_RESOURCES', async () => {
    plainFw = await Framework.subscribe(master.address);
    gpuFw = await Framework.subscribe(master.address, { capabilities: ['GPU_RESOURCES'] });
    await waitFor(() => offersOf(gpuFw).some((o) => o.agent_id.value === agentId && gpusIn(o) === 4), 20_000, 'an offer of gpus:4 to the GPU framework');
    await waitFor(() => offersOf(plainFw).some((o) => o.agent_id.value === plainAgentId), 20_000, 'an offer of the plain agent to the plain framework');
    await new Promise((r) => setTimeout(r, 1500)); // 15 more allocation cycles
    expect(offersOf(plainFw).filter((o) => gpusIn(o) > 0 || o.agent_id.value === agentId)).toEqual([]);
  }, 60_000);

  it('gives tasks whole GPUs of their own: environment, nvidia-smi -L and the devices cgroup agree', async () => {
    await gpuFw.launch(agentId, [gpuTask('g1', 1, probingCmd())]);
    await gpuFw.sched.update('g1', 'TASK_RUNNING');
    await gpuFw.launch(agentId, [gpuTask('g2', 2, probingCmd())]);
    await gpuFw.sched.update('g2', 'TASK_RUNNING');
    const g1 = await seenBy('g1');
    const g2 = await seenBy('g2');
    expect(g1.visible).toBe(FOUR_UUIDS[0]);
    expect(g1.cuda).toBe(FOUR_UUIDS[0]);
    expect(g1.list).toEqual([`GPU 0: Tesla V100-SXM2-16GB (UUID: ${FOUR_UUIDS[0]})`]);
    expect(g1.probe).toEqual(expected([0]));
    expect(g2.visible).toBe(`${FOUR_UUIDS[1]},${FOUR_UUIDS[2]}`);
    expect(g2.list).toEqual([`GPU 0: Tesla V100-SXM2-16GB (UUID: ${FOUR_UUIDS[1]})`, `GPU 1: Tesla V100-SXM2-16GB (UUID: ${FOUR_UUIDS[2]})`]);
    expect(g2.probe).toEqual(expected([1, 2]));
    // Usage of each task's GPUs reaches /monitor/statistics (nvidia-smi's usage answer: usage-four-v100.csv).
    const stats = (await (await fetch(`http://${agent.address}/monitor/statistics`)).json()) as { executor_id: string; statistics: Record<string, unknown> }[];
    const gpuStats = (task: string) => stats.find((s) => s.executor_id === task)?.statistics.gpus_utilization;
    expect(gpuStats('g1')).toEqual({ [FOUR_UUIDS[0]]: 0, [`${FOUR_UUIDS[0]}/memory_used_bytes`]: 0, [`${FOUR_UUIDS[0]}/memory_total_bytes`]: 16160 * 2 ** 20 });
    expect(gpuStats('g2')).toEqual({
      [FOUR_UUIDS[1]]: 87,
      [`${FOUR_UUIDS[1]}/memory_used_bytes`]: 10240 * 2 ** 20,
      [`${FOUR_UUIDS[1]}/memory_total_bytes`]: 16160 * 2 ** 20,
      [FOUR_UUIDS[2]]: 42,
      [`${FOUR_UUIDS[2]}/memory_used_bytes`]: 2048 * 2 ** 20,
      [`${FOUR_UUIDS[2]}/memory_total_bytes`]: 16160 * 2 ** 20,
    });
  }, 90_000);

  it('ends a task asking for 0.5 GPU with TASK_ERROR', async () => {
    await gpuFw.launch(agentId, [gpuTask('half', 0.5, 'true')]);
    const s = (await gpuFw.sched.update('half', 'TASK_ERROR')).update.status;
    expect(s.message).toMatch(/0.5 gpus: GPUs are allocated whole/);
  }, 60_000);

  it('keeps the assignments and the denials after kill -9 of the agent and the module; the one free GPU goes to the next task', async () => {
    const agentPid = agent.proc!.pid!;
    const mod = modulePid(agentPid);
    expect(mod).toBeDefined();
    process.kill(mod!, 'SIGKILL');
    await agent.kill9();
    await waitFor(() => {
      try {
        process.kill(mod!, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, 'the module to be gone');
    const before = { g1: (await probes('g1').catch(() => [])).length };
    expect(await agent.start()).toBe(agentId);
    expect(modulePid(agent.proc!.pid!)).not.toBe(mod);
    // The tasks kept running through the restart and still open only their GPUs.
    await waitFor(async () => (await probes('g1')).length > before.g1 + 2, 30_000, 'more probes of g1 after the restart');
    expect((await probes('g1')).at(-1)).toEqual(expected([0]));
    expect((await probes('g2')).at(-1)).toEqual(expected([1, 2]));
    const checkpoint = JSON.parse(fs.readFileSync(path.join(workDir, 'modules', 'gpu', 'assignments.json'), 'utf8'));
    expect(checkpoint.containers.map((c: any) => c.gpus.map((g: any) => g.uuid).join(',')).sort()).toEqual([FOUR_UUIDS[0], `${FOUR_UUIDS[1]},${FOUR_UUIDS[2]}`].sort());
    // Only GPU 3 is free: the next GPU task gets it and nothing else.
    await gpuFw.launch(agentId, [gpuTask('g3', 1, probingCmd())]);
    await gpuFw.sched.update('g3', 'TASK_RUNNING');
    const g3 = await seenBy('g3');
    expect(g3.visible).toBe(FOUR_UUIDS[3]);
    expect(g3.list).toEqual([`GPU 0: Tesla V100-SXM2-16GB (UUID: ${FOUR_UUIDS[3]})`]);
    expect(g3.probe).toEqual(expected([3]));
  }, 120_000);

  it('frees GPUs and removes the cgroups when the tasks end; `tessera run --gpus 1` then lands on the agent', async () => {
    const cgroupsLeft = () => (fs.existsSync(path.join(DEVICES, root)) ? fs.readdirSync(path.join(DEVICES, root), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);
    expect(cgroupsLeft()).toHaveLength(3);
    await gpuFw.teardown();
    await plainFw.teardown();
    await waitFor(() => cgroupsLeft().length === 0, 30_000, 'the containers\' devices cgroups to be removed');
    await waitFor(() => JSON.parse(fs.readFileSync(path.join(workDir, 'modules', 'gpu', 'assignments.json'), 'utf8')).containers.length === 0, 10_000, 'an empty checkpoint');

    const cmd = 'test "$(nvidia-smi -L | grep -c ^GPU)" = 1 && test -n "$NVIDIA_VISIBLE_DEVICES"';
    const run = spawn(process.execPath, [CLI, 'run', `--master=${master.address}`, '--gpus=1', '--cpus=0.1', '--mem=16', '--name=gpu-run', '--timeout=30secs', '--', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout!.on('data', (c) => (out += c));
    run.stderr!.on('data', (c) => (out += c));
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    expect([code, out]).toEqual([0, expect.stringMatching(new RegExp(`on agent ${agentId} .*gpus:1[\\s\\S]*TASK_FINISHED`))]);
  }, 90_000);
});
