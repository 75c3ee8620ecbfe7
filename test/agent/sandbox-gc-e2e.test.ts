// Sandbox garbage collection through a real master and a real `tessera agent` (--gc_delay,
// --disk_watch_interval): a finished task's sandbox goes once idle past the delay; a running task's stays.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { RunningMaster } from '../../core/src/master/run-master';
import { CLI, tempDir, waitFor } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, startMaster } from './agent-cluster';

let master: RunningMaster;
const dirs: string[] = [];
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

it('removes the sandbox of a finished task after --gc_delay, and keeps a running task\'s', async () => {
  master = await startMaster();
  const workDir = tempDir();
  dirs.push(workDir);
  const agent = new AgentProcess({ master: master.address, workDir, resources: 'cpus:1;mem:256;disk:100', flags: ['--gc_delay=1secs', '--disk_watch_interval=200ms'] });
  const agentId = await agent.start();
  const fw = await Framework.subscribe(master.address);
  await fw.launch(agentId, [{ id: 'short', cmd: 'echo done' }, { id: 'long', cmd: 'sleep 1000' }]);
  await fw.sched.update('short', 'TASK_FINISHED');
  await fw.sched.update('long', 'TASK_RUNNING');
  const state = await agent.state();
  const dirOf = (id: string) => state.frameworks.concat(state.completed_frameworks ?? []).flatMap((f: any) => [...f.executors, ...f.completed_executors]).find((e: any) => e.id === id).directory as string;
  const short = dirOf('short');
  const long = dirOf('long');
  expect(fs.existsSync(short)).toBe(true);
  await waitFor(() => !fs.existsSync(short), 15_000, 'the finished task\'s sandbox to be collected');
  expect(fs.existsSync(long)).toBe(true);
  await new Promise((r) => setTimeout(r, 1500)); // several more sweeps past the delay
  expect(fs.existsSync(long)).toBe(true);
  await fw.teardown();
}, 60_000);

it('keeps a sandbox for the delay after its task ended, however long the task was quiet before (Mesos counts from the executor\'s end)', async () => {
  master ??= await startMaster();
  const workDir = tempDir();
  dirs.push(workDir);
  // A --gc_delay that the disk's use shortens to about 2 s, below the task's 3 s without output: counted from
  // the last output, the sandbox would go at the first sweep after the end.
  const st = fs.statfsSync(workDir);
  const room = 0.9 - (1 - st.bavail / st.blocks);
  if (room < 0.05) return console.log(`skipped: the disk of ${workDir} is too full for --gc_delay to count`);
  const agent = new AgentProcess({ master: master.address, workDir, resources: 'cpus:1;mem:256;disk:100', flags: [`--gc_delay=${Math.ceil(2 / room)}secs`, '--disk_watch_interval=100ms'] });
  const agentId = await agent.start();
  const fw = await Framework.subscribe(master.address);
  await fw.launch(agentId, [{ id: 'quiet', cmd: 'sleep 3' }]);
  await fw.sched.update('quiet', 'TASK_FINISHED');
  const ended = Date.now();
  const state = await agent.state();
  const sandbox = state.frameworks.concat(state.completed_frameworks ?? []).flatMap((f: any) => [...f.executors, ...f.completed_executors]).find((e: any) => e.id === 'quiet').directory as string;
  await new Promise((r) => setTimeout(r, 700)); // several sweeps
  expect(fs.existsSync(sandbox)).toBe(true);
  await waitFor(() => !fs.existsSync(sandbox), 15_000, 'the sandbox to be collected after the delay');
  expect(Date.now() - ended).toBeGreaterThan(1500);
  await fw.teardown();
}, 60_000);

it('refuses a --gc_disk_headroom outside 0..1 and a --disk_watch_interval of 0, naming the flag (exit 2)', () => {
  const workDir = tempDir();
  dirs.push(workDir);
  const run = (flag: string) => spawnSync(process.execPath, [CLI, 'agent', '--master=127.0.0.1:1', `--work_dir=${workDir}`, flag], { encoding: 'utf8', timeout: 30_000 });
  const headroom = run('--gc_disk_headroom=1.5');
  expect(headroom.status).toBe(2);
  expect(headroom.stderr).toContain("error TSR_FLAG_INVALID: flag --gc_disk_headroom '1.5': must be at most 1");
  const interval = run('--disk_watch_interval=0secs');
  expect(interval.status).toBe(2);
  expect(interval.stderr).toContain("error TSR_FLAG_INVALID: flag --disk_watch_interval '0secs': must be longer than 0");
}, 60_000);
