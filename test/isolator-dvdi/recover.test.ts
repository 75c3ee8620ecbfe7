// Recovery of the bundled isolator module under the core's module host, against the real plugin:
// kill -9 of the module (the supervisor restarts it and replays Recover) and of the whole "agent" (a
// new host over the same state directory): live containers keep their volumes, volumes of containers
// that ended while down are unmounted.
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, type ContainerConfig, type Volume } from '@tessera/modules-api';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { ModuleHost } from '../../core/src/modules/module-host';
import { alive, captureLog, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { bindMount, CountingProxy, MODULE_BUILD, mountPointsUnder, mountSupport, PluginProcess, unmountAll } from './support';

const noMounts = mountSupport();
if (noMounts) console.warn(`isolator-dvdi recovery tests are skipped: ${noMounts}`);
const describeMounts = noMounts ? describe.skip : describe;

const dir = tempDir();
const sockets = path.join(dir, 'plugins');
const root = path.join(dir, 'root');
const stateDir = path.join(dir, 'agent-state');
fs.mkdirSync(sockets);
const plugin = new PluginProcess(path.join(sockets, 'tessera-local.sock'), root);
const proxy = new CountingProxy(path.join(sockets, 'counted.sock'), plugin.socket);
const hosts: ModuleHost[] = [];
const modulesJson = writeModulesJson({ modules: [{ name: 'dvdi', file: MODULE_BUILD, parameters: { plugin_socket_dirs: [sockets], plugin_spec_dirs: [] } }] });

function newHost(): ModuleHost {
  const host = new ModuleHost({ config: loadModulesJson(modulesJson), log: captureLog().log, stateDir });
  hosts.push(host);
  return host;
}

const volume = (name: string, containerPath: string): Volume => ({
  containerPath,
  mode: 'RW',
  source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'counted', name, driverOptions: { size: '16M', mode: '0777' } } },
});

function config(id: string, volumes: Volume[]): ContainerConfig {
  const directory = path.join(dir, 'sandboxes', id);
  fs.mkdirSync(directory, { recursive: true });
  return { containerInfo: { type: 'MESOS', volumes }, commandInfo: { value: 'sleep 1000' }, directory, user: 'root' };
}

const mp = (name: string) => path.join(root, 'volumes', name, '_data');
const mounted = () => mountPointsUnder(path.join(root, 'volumes')).sort();
const checkpoints = () => fs.readdirSync(path.join(stateDir, 'dvdi', 'containers')).sort();

beforeAll(async () => {
  await plugin.start();
  await proxy.start();
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  unmountAll(dir);
  await proxy.stop();
  await plugin.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(modulesJson), { recursive: true, force: true });
});

describeMounts('isolator-dvdi recovery', () => {
  it('after kill -9 of the module: the live container keeps its volumes, the gone one\'s are unmounted', async () => {
    const host = newHost();
    await host.start();
    const isolator = host.isolator('dvdi');
    const live = config('c-live', [volume('live-vol', 'live'), volume('shared-vol', 'shared')]);
    const launch = await isolator.prepare({ value: 'c-live' }, live);
    await isolator.prepare({ value: 'c-gone' }, config('c-gone', [volume('gone-vol', 'gone'), volume('shared-vol', 'shared')]));
    for (const m of launch!.mounts!) bindMount(m.source!, m.target!, m.flags!);
    fs.writeFileSync(path.join(live.directory!, 'live', 'before'), 'written before the crash');
    expect(mounted()).toEqual([mp('gone-vol'), mp('live-vol'), mp('shared-vol')]);
    expect(proxy.count('VolumeDriver.Mount', 'shared-vol')).toBe(1);

    // The agent's recover callback: c-gone ended while the module was down.
    const module = host.get('dvdi');
    const recovered: string[][] = [];
    module.onRecover(async (caller) => {
      const states = [{ containerId: { value: 'c-live' }, pid: process.pid, directory: live.directory, config: live }];
      await new IsolatorClient(caller).recover({ states, orphans: [] });
      recovered.push(states.map((s) => s.containerId.value));
    });
    const pid = module.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid) && module.restartCount === 1 && recovered.length === 1, 20_000, 'the module to restart and recover');

    expect(mounted()).toEqual([mp('live-vol'), mp('shared-vol')]);
    expect(proxy.count('VolumeDriver.Unmount', 'gone-vol')).toBe(1);
    expect(proxy.count('VolumeDriver.Unmount', 'shared-vol')).toBe(0);
    expect(proxy.count('VolumeDriver.Unmount', 'live-vol')).toBe(0);
    expect(checkpoints()).toEqual(['c-live.json']);
    expect(fs.readFileSync(path.join(live.directory!, 'live', 'before'), 'utf8')).toBe('written before the crash');
    fs.writeFileSync(path.join(live.directory!, 'shared', 'after'), 'still writable');

    // The restarted module knows c-live: a new user of shared-vol joins without a second Mount.
    await isolator.prepare({ value: 'c-new' }, config('c-new', [volume('shared-vol', 'shared')]));
    expect(proxy.count('VolumeDriver.Mount', 'shared-vol')).toBe(1);
    await isolator.cleanup({ value: 'c-new' });
    unmountAll(live.directory!);
    await isolator.cleanup({ value: 'c-live' });
    expect(mounted()).toEqual([]);
    expect(proxy.count('VolumeDriver.Unmount', 'shared-vol')).toBe(1);
    expect(checkpoints()).toEqual([]);
    await host.stop();
  });

  it('after kill -9 of the agent and the module: a new agent recovers from the checkpoints', async () => {
    const first = newHost();
    await first.start();
    const isolator = first.isolator('dvdi');
    await isolator.prepare({ value: 'r-live' }, config('r-live', [volume('r-live-vol', 'data')]));
    await isolator.prepare({ value: 'r-ended' }, config('r-ended', [volume('r-ended-vol', 'data')]));
    await isolator.prepare({ value: 'r-orphan' }, config('r-orphan', [volume('r-orphan-vol', 'data')]));
    first.killAll(); // the agent dies: its modules die with it
    expect(mounted()).toEqual([mp('r-ended-vol'), mp('r-live-vol'), mp('r-orphan-vol')]);

    const second = newHost();
    await second.start();
    const again = second.isolator('dvdi');
    await again.recover({ states: [{ containerId: { value: 'r-live' } }], orphans: [{ value: 'r-orphan' }] });
    expect(mounted()).toEqual([mp('r-live-vol')]);
    expect(checkpoints()).toEqual(['r-live.json']);
    await again.cleanup({ value: 'r-ended' }); // already released: fine
    await again.cleanup({ value: 'r-live' });
    expect(mounted()).toEqual([]);
    expect(checkpoints()).toEqual([]);
  });
});
