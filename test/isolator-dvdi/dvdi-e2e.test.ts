// External volumes end to end (issue 8): a real master, a real `tessera agent` process loading the
// bundled isolator-dvdi module (--isolation=posix/cpu,posix/mem,dvdi), a real tessera-volume-local
// plugin behind a counting proxy, and tasks launched through the scheduler API with Mesos
// ContainerInfo.volumes (DOCKER_VOLUME) or mesos-module-dvdi's DVDI_VOLUME_* variables. The volumes
// are sized (an ext4 image loop-mounted by the plugin), so the plugin's mounts show in
// /proc/self/mountinfo; the containers' bind mounts live in their own mount namespaces only.
import fs from 'node:fs';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { AgentProcess, cleanupAll, Framework, startMaster, type TaskSpec } from '../agent/agent-cluster';
import { alive, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import type { Event } from '../support/scheduler-client';
import { CountingProxy, MODULE_BUILD, mountPointsUnder, mountSupport, PluginProcess, unmountAll } from './support';

const noMounts = mountSupport();
if (noMounts) console.warn(`isolator-dvdi end-to-end tests are skipped: ${noMounts} (the agent must be root to mount volumes)`);
const describeMounts = noMounts ? describe.skip : describe;

jest.setTimeout(120_000);

const dir = tempDir();
const sockets = path.join(dir, 'plugins');
const root = path.join(dir, 'volumes-root');
const workDir = path.join(dir, 'agent');
fs.mkdirSync(sockets);
fs.mkdirSync(workDir);
const plugin = new PluginProcess(path.join(sockets, 'tessera-local.sock'), root);
/** The driver the tasks name: "counted", a proxy in front of the real plugin that counts calls. */
const proxy = new CountingProxy(path.join(sockets, 'counted.sock'), plugin.socket);
/** A second real plugin ("flaky"), killed to play a driver that is down. */
const flaky = new PluginProcess(path.join(sockets, 'flaky.sock'), path.join(dir, 'flaky-root'));
const modulesJson = writeModulesJson({
  modules: [
    {
      name: 'dvdi',
      file: MODULE_BUILD,
      timeouts: { call: '20s' },
      parameters: { plugin_socket_dirs: [sockets], plugin_spec_dirs: [], plugin_timeout: '10s', default_driver: 'counted' },
    },
  ],
});

let master: RunningMaster;
let agent: AgentProcess;
let agentId: string;
let fw: Framework;

/** MesosVolume is a ContainerInfo.volumes entry as a scheduler writes it (Mesos v1 JSON). */
function volume(name: string, containerPath: string, opts: { mode?: 'RW' | 'RO'; driver?: string; options?: Record<string, string> } = {}): Record<string, unknown> {
  const options = opts.options ?? { size: '16M', mode: '0777' };
  return {
    container_path: containerPath,
    mode: opts.mode ?? 'RW',
    source: {
      type: 'DOCKER_VOLUME',
      docker_volume: { driver: opts.driver ?? 'counted', name, driver_options: { parameter: Object.entries(options).map(([key, value]) => ({ key, value })) } },
    },
  };
}

const withVolumes = (id: string, cmd: string, volumes: Record<string, unknown>[]): TaskSpec => ({ id, cmd, extra: { container: { type: 'MESOS', volumes } } });

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE']);

/** ended waits for a task's terminal update and returns its status. */
async function ended(taskId: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const e: Event = await fw.sched.next((ev) => ev.type === 'UPDATE' && ev.update.status.task_id.value === taskId && TERMINAL.has(ev.update.status.state), timeoutMs);
  return e.update.status;
}

async function running(taskId: string): Promise<void> {
  const e = await fw.sched.next((ev) => ev.type === 'UPDATE' && ev.update.status.task_id.value === taskId && (ev.update.status.state === 'TASK_RUNNING' || TERMINAL.has(ev.update.status.state)), 30_000);
  if (e.update.status.state !== 'TASK_RUNNING') throw new Error(`task ${taskId} ended ${e.update.status.state}: ${e.update.status.message}`);
}

/** executor finds a task's executor in the agent's /state (directory = sandbox, container = container id). */
async function executor(taskId: string): Promise<{ directory: string; container: string }> {
  const state = await agent.state();
  const all = state.frameworks.concat(state.completed_frameworks ?? []).flatMap((f: any) => [...f.executors, ...(f.completed_executors ?? [])]);
  const e = all.find((x: any) => x.id === taskId);
  if (!e) throw new Error(`task ${taskId} is not in the agent's /state`);
  return e;
}

const sandboxFile = async (taskId: string, file: string): Promise<string> => fs.readFileSync(path.join((await executor(taskId)).directory, file), 'utf8');
/** data is where the plugin keeps a volume's data on the host (its Mountpoint). */
const data = (name: string): string => path.join(root, 'volumes', name, '_data');
const pluginMounted = (name: string): boolean => mountPointsUnder(data(name)).length > 0;
/** holders is how many mount IDs hold a volume at the plugin (the module mounts with one ID per agent). */
const holders = async (name: string): Promise<number> => (await plugin.volume(name))?.Status?.mountIds ?? 0;

beforeAll(async () => {
  if (noMounts) return;
  await plugin.start();
  await proxy.start();
  await flaky.start();
  master = await startMaster();
  agent = new AgentProcess({ master: master.address, workDir, flags: [`--modules=${modulesJson}`, '--isolation=posix/cpu,posix/mem,dvdi'] });
  agentId = await agent.start();
  fw = await Framework.subscribe(master.address);
});

afterAll(async () => {
  const steps: (() => unknown)[] = [
    () => cleanupAll(),
    // the agent and its module were killed: unmount what the plugin still has mounted (loop devices are freed with them)
    () => unmountAll(dir),
    () => proxy.stop(),
    () => plugin.stop(),
    () => flaky.stop(),
    () => unmountAll(dir),
    () => fs.rmSync(dir, { recursive: true, force: true }),
    () => fs.rmSync(path.dirname(modulesJson), { recursive: true, force: true }),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      console.warn(`isolator-dvdi e2e cleanup: ${(err as Error).message}`);
    }
  }
});

describeMounts('external volumes through a real agent', () => {
  it('keeps what a task wrote in a RW volume for a later task; a RO volume refuses writes', async () => {
    await fw.launch(agentId, [withVolumes('writer', 'echo "hello from writer" > data/hello.txt && cat /proc/self/mountinfo > mountinfo.txt', [volume('notes', 'data')])]);
    const wrote = await ended('writer');
    expect({ state: wrote.state, message: wrote.message, stderr: await sandboxFile('writer', 'stderr') }).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0', stderr: '' });
    const writer = await executor('writer');
    // the bind mount was in the container's namespace, at <sandbox>/data; never on the host
    expect(await sandboxFile('writer', 'mountinfo.txt')).toContain(` ${path.join(writer.directory, 'data')} `);
    expect(mountPointsUnder(writer.directory)).toEqual([]);
    // its last user gone, the volume is unmounted at the plugin
    expect(proxy.count('VolumeDriver.Mount', 'notes')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'notes')).toBe(1);
    expect(pluginMounted('notes')).toBe(false);

    const absolute = path.join(dir, 'abs-target');
    fs.mkdirSync(absolute);
    await fw.launch(agentId, [
      withVolumes('reader', `cat data/hello.txt && echo "written at an absolute path" > ${absolute}/note.txt`, [
        volume('notes', 'data'),
        volume('notes-abs', absolute, { options: { mode: '0777' } }), // absolute container_path: in the container's own mount namespace
      ]),
    ]);
    const read = await ended('reader');
    expect({ state: read.state, stderr: await sandboxFile('reader', 'stderr') }).toEqual({ state: 'TASK_FINISHED', stderr: '' });
    expect(await sandboxFile('reader', 'stdout')).toBe('hello from writer\n');
    expect(fs.readFileSync(path.join(data('notes-abs'), 'note.txt'), 'utf8')).toBe('written at an absolute path\n');
    expect(fs.readdirSync(absolute)).toEqual([]); // the host's directory itself was never written: the volume covered it in the container only
    expect(mountPointsUnder(absolute)).toEqual([]);

    await fw.launch(agentId, [
      withVolumes('read-only', 'cat ro/hello.txt; if echo overwritten > ro/hello.txt; then echo "write accepted"; exit 0; else echo "write refused"; exit 3; fi', [volume('notes', 'ro', { mode: 'RO' })]),
    ]);
    const ro = await ended('read-only');
    expect({ state: ro.state, message: ro.message }).toEqual({ state: 'TASK_FAILED', message: 'Command exited with status 3' });
    expect(await sandboxFile('read-only', 'stdout')).toBe('hello from writer\nwrite refused\n');
    expect(await sandboxFile('read-only', 'stderr')).toMatch(/Read-only file system/);
    expect(pluginMounted('notes')).toBe(false);
  });

  it('mounts a volume two running tasks share once, and unmounts it when the second ends', async () => {
    const wait = (name: string) => `while [ ! -e shared/${name} ]; do sleep 0.1; done`;
    // one launch per offer: an offer may hold only what a finished task gave back
    await fw.launch(agentId, [withVolumes('share-1', `echo one > shared/from-1; ${wait('stop-1')}; cat shared/from-2`, [volume('shared', 'shared')])]);
    await fw.launch(agentId, [withVolumes('share-2', `echo two > shared/from-2; ${wait('stop-2')}; cat shared/from-1`, [volume('shared', 'shared')])]);
    await running('share-1');
    await running('share-2');
    await waitFor(() => fs.existsSync(path.join(data('shared'), 'from-1')) && fs.existsSync(path.join(data('shared'), 'from-2')), 15_000, 'both tasks to write');
    expect(proxy.count('VolumeDriver.Mount', 'shared')).toBe(1);
    expect(pluginMounted('shared')).toBe(true);
    expect(await holders('shared')).toBe(1);

    fs.writeFileSync(path.join(data('shared'), 'stop-1'), '');
    expect((await ended('share-1')).state).toBe('TASK_FINISHED');
    expect(await sandboxFile('share-1', 'stdout')).toBe('two\n');
    // share-2 still uses it: still mounted, no Unmount yet, and share-2 still writes there
    expect(proxy.count('VolumeDriver.Unmount', 'shared')).toBe(0);
    expect(pluginMounted('shared')).toBe(true);
    expect(await holders('shared')).toBe(1);

    fs.writeFileSync(path.join(data('shared'), 'stop-2'), '');
    expect((await ended('share-2')).state).toBe('TASK_FINISHED');
    expect(await sandboxFile('share-2', 'stdout')).toBe('one\n');
    expect(proxy.count('VolumeDriver.Mount', 'shared')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'shared')).toBe(1);
    expect(pluginMounted('shared')).toBe(false);
    expect(await holders('shared')).toBe(0);
  });

  it('fails a launch whose driver is down with TASK_FAILED naming the driver and the error, leaving nothing mounted', async () => {
    await flaky.kill9(); // its socket file stays; nothing answers on it
    await fw.launch(agentId, [withVolumes('driver-down', 'echo ran', [volume('first', 'first'), volume('second', 'second', { driver: 'flaky' })])]);
    const failed = await ended('driver-down');
    expect(failed.state).toBe('TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/^isolator module dvdi: /);
    expect(failed.message).toMatch(/flaky/);
    expect(failed.message).toMatch(/DVDI_PLUGIN_UNAVAILABLE|nothing listens/);
    // all or nothing: the first volume, mounted by this launch, was unmounted again
    expect(proxy.count('VolumeDriver.Mount', 'first')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'first')).toBe(1);
    expect(pluginMounted('first')).toBe(false);
    expect(mountPointsUnder(root)).toEqual([]);
    expect(mountPointsUnder(workDir)).toEqual([]);
    expect(await sandboxFile('driver-down', 'stdout')).toBe('');
    expect(fs.readdirSync(path.join(workDir, 'modules', 'dvdi', 'containers'))).toEqual([]);
  });

  it('keeps a running task\'s volume across kill -9 of the agent and the module; volumes of tasks that ended meanwhile are unmounted after the restart', async () => {
    const loop = 'i=0; while [ ! -e v/stop ]; do i=$((i+1)); echo "$i" > v/counter || exit 4; [ "$(cat v/counter)" = "$i" ] || exit 5; sleep 0.1; done; echo "counted to $i"';
    await fw.launch(agentId, [withVolumes('long', loop, [volume('kept', 'v')])]);
    await running('long');
    await fw.launch(agentId, [withVolumes('short', 'while [ ! -e v/stop ]; do sleep 0.1; done; echo done', [volume('released', 'v')])]);
    await running('short');
    const short = await executor('short');
    expect(pluginMounted('kept') && pluginMounted('released')).toBe(true);

    const agentPid = agent.proc!.pid!;
    const modulePid = childPids(agentPid).find((pid) => cmdline(pid).includes(MODULE_BUILD));
    expect(modulePid).toBeDefined();
    process.kill(modulePid!, 'SIGKILL');
    await agent.kill9();
    await waitFor(() => !alive(modulePid!), 5000, 'the module to die');

    // while the agent is down: `short` ends, `long` goes on writing in its volume
    fs.writeFileSync(path.join(data('released'), 'stop'), '');
    await waitFor(() => fs.existsSync(path.join(workDir, 'run', 'containers', short.container, 'status')), 15_000, 'short to end while the agent is down');
    const before = Number(fs.readFileSync(path.join(data('kept'), 'counter'), 'utf8'));
    expect(pluginMounted('released')).toBe(true); // nobody has released it yet

    await agent.start();
    expect((await ended('short')).state).toBe('TASK_FINISHED');
    await waitFor(() => !pluginMounted('released'), 20_000, 'the volume of the task that ended while the agent was down to be unmounted');
    expect(proxy.count('VolumeDriver.Unmount', 'released')).toBe(1);
    expect(await holders('released')).toBe(0);
    // the running task kept its volume: still mounted, never unmounted, and it still writes there
    expect(pluginMounted('kept')).toBe(true);
    expect(proxy.count('VolumeDriver.Unmount', 'kept')).toBe(0);
    await waitFor(() => Number(fs.readFileSync(path.join(data('kept'), 'counter'), 'utf8')) > before + 5, 10_000, 'long to go on counting in its volume');
    expect(fw.states('long')).toEqual(['TASK_STARTING', 'TASK_RUNNING']);

    fs.writeFileSync(path.join(data('kept'), 'stop'), '');
    const done = await ended('long');
    expect({ state: done.state, message: done.message }).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0' });
    expect(await sandboxFile('long', 'stdout')).toMatch(/^counted to \d+\n$/);
    await waitFor(() => !pluginMounted('kept'), 10_000, 'kept to be unmounted after its last user');
    expect(proxy.count('VolumeDriver.Mount', 'kept')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'kept')).toBe(1);
  });

  it('honours the legacy DVDI_VOLUME_* environment form', async () => {
    const target = path.join(dir, 'legacy-target'); // under /tmp: the module creates it, as mesos-module-dvdi did
    const env = {
      DVDI_VOLUME_NAME: 'legacy',
      DVDI_VOLUME_DRIVER: 'counted',
      DVDI_VOLUME_OPTS: 'mode=0777,uid=0', // unsized (a plain directory): its data stays readable on the host after the task
      DVDI_VOLUME_CONTAINERPATH: target,
      DVDI_VOLUME_NAME2: 'legacy-unbound', // default driver (counted), no container path: used at the driver's mountpoint
    };
    const cmd = 'echo "in $DVDI_VOLUME_MOUNTPOINT" > "$DVDI_VOLUME_CONTAINERPATH/f" && echo unbound > "$DVDI_VOLUME_MOUNTPOINT2/g" && echo "$DVDI_VOLUME_MOUNTPOINT" && grep -c " $DVDI_VOLUME_CONTAINERPATH " /proc/self/mountinfo';
    await fw.launch(agentId, [{ id: 'legacy', cmd, extra: { command: { value: cmd, environment: { variables: Object.entries(env).map(([name, value]) => ({ type: 'VALUE', name, value })) } } } }]);
    const status = await ended('legacy');
    expect({ state: status.state, stderr: await sandboxFile('legacy', 'stderr') }).toEqual({ state: 'TASK_FINISHED', stderr: '' });
    expect(await sandboxFile('legacy', 'stdout')).toBe(`${target}\n1\n`);
    expect(fs.readFileSync(path.join(data('legacy'), 'f'), 'utf8')).toBe(`in ${target}\n`);
    expect(fs.readFileSync(path.join(data('legacy-unbound'), 'g'), 'utf8')).toBe('unbound\n');
    expect(fs.readdirSync(target)).toEqual([]); // mounted in the container's namespace only
    expect(proxy.count('VolumeDriver.Create', 'legacy')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'legacy')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'legacy-unbound')).toBe(1);
    expect(await holders('legacy')).toBe(0);
    expect(await holders('legacy-unbound')).toBe(0);
  });
});

/** childPids lists the processes whose parent is `pid` (from /proc). */
function childPids(pid: number): number[] {
  return fs.readdirSync('/proc').flatMap((e) => {
    if (!/^\d+$/.test(e)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === pid ? [Number(e)] : [];
    } catch {
      return [];
    }
  });
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
