// The isolator module through the real gRPC stack (serveInProcess + IsolatorClient, as the agent calls
// it) against the real tessera-volume-local process: the test performs the launch info's bind mounts
// itself, as the containerizer will, and checks /proc/self/mountinfo and the plugin's own state.
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, serveInProcess, TesseraError, type ContainerConfig, type InProcessModule, type Volume } from '@tessera/modules-api';
import { dvdiModule, type VolumeIsolator } from '../../modules/isolator-dvdi/src';
import { tempDir } from '../modules/helpers';
import { bindMount, CountingProxy, FakePlugin, mountPointsUnder, mountSupport, PluginProcess, post, unmountAll } from './support';

const noMounts = mountSupport();
if (noMounts) console.warn(`isolator-dvdi mount tests are skipped: ${noMounts}`);
const describeMounts = noMounts ? describe.skip : describe;

const dir = tempDir();
const sockets = path.join(dir, 'plugins');
const root = path.join(dir, 'root');
const stateDir = path.join(dir, 'state');
fs.mkdirSync(sockets);
const plugin = new PluginProcess(path.join(sockets, 'tessera-local.sock'), root);
const proxy = new CountingProxy(path.join(sockets, 'counted.sock'), plugin.socket);
let mod: InProcessModule;
let isolator: IsolatorClient;
let inner: VolumeIsolator;

const volume = (driver: string, name: string, containerPath: string, opts: { mode?: 'RW' | 'RO'; options?: Record<string, string> } = {}): Volume => ({
  containerPath,
  mode: opts.mode ?? 'RW',
  source: { type: 'DOCKER_VOLUME', dockerVolume: { driver, name, driverOptions: opts.options } },
});

function config(id: string, volumes: Volume[], env: Record<string, string> = {}): ContainerConfig {
  const directory = path.join(dir, 'sandboxes', id);
  fs.mkdirSync(directory, { recursive: true });
  const command = { value: 'true', environment: { variables: Object.entries(env).map(([name, value]) => ({ name, value })) } };
  return { taskInfo: { taskId: id, name: id, command, container: { type: 'MESOS', volumes } }, commandInfo: command, containerInfo: { type: 'MESOS', volumes }, directory, user: 'root' };
}

async function failure(p: Promise<unknown>): Promise<TesseraError> {
  try {
    await p;
  } catch (err) {
    return TesseraError.wrap(err);
  }
  throw new Error('expected a failure');
}

const checkpointFiles = () => (fs.existsSync(path.join(stateDir, 'containers')) ? fs.readdirSync(path.join(stateDir, 'containers')) : []);
const pluginMounts = () => mountPointsUnder(path.join(root, 'volumes'));

beforeAll(async () => {
  await plugin.start();
  await proxy.start();
  mod = await serveInProcess(
    dvdiModule((iso) => (inner = iso)),
    { parameters: { plugin_socket_dirs: [sockets], plugin_spec_dirs: [], default_driver: 'counted', plugin_timeout: '2s' }, stateDir },
  );
  isolator = new IsolatorClient(mod);
});

afterAll(async () => {
  await mod?.stop();
  unmountAll(dir);
  await proxy.stop();
  await plugin.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describeMounts('isolator-dvdi prepare and cleanup with real mounts', () => {
  it('mounts RW and RO volumes: a RW volume keeps a file for a later container, a RO mount refuses writes', async () => {
    await post(plugin.socket, 'VolumeDriver.Create', { Name: 'reference', Opts: {} });
    fs.mkdirSync(path.join(dir, 'absolute-target'));
    const first = config('c-write', [
      volume('counted', 'rw-data', 'data', { options: { size: '16M', mode: '0777' } }),
      volume('tessera-local', 'reference', 'ref', { mode: 'RO' }),
      volume('tessera-local', 'abs', path.join(dir, 'absolute-target')),
    ]);
    const launch = await isolator.prepare({ value: 'c-write' }, first);
    const rw = path.join(root, 'volumes/rw-data/_data');
    const ref = path.join(root, 'volumes/reference/_data');
    expect(launch?.mounts).toEqual([
      expect.objectContaining({ source: rw, target: path.join(first.directory!, 'data'), flags: ['rbind'] }),
      expect.objectContaining({ source: ref, target: path.join(first.directory!, 'ref'), flags: ['rbind', 'ro'] }),
      expect.objectContaining({ source: path.join(root, 'volumes/abs/_data'), target: path.join(dir, 'absolute-target'), flags: ['rbind'] }),
    ]);
    expect(launch?.cloneNamespaces).toEqual(['NEWNS']);
    expect(pluginMounts()).toEqual([rw]); // the sized volume's ext4 image; plain volumes are directories
    expect(proxy.count('VolumeDriver.Create', 'rw-data')).toBe(1);
    expect(checkpointFiles()).toEqual(['c-write.json']);

    fs.writeFileSync(path.join(ref, 'readme'), 'read me');
    for (const m of launch!.mounts!) bindMount(m.source!, m.target!, m.flags!);
    fs.writeFileSync(path.join(first.directory!, 'data', 'hello'), 'from the first task');
    expect(fs.readFileSync(path.join(first.directory!, 'ref', 'readme'), 'utf8')).toBe('read me');
    expect(() => fs.writeFileSync(path.join(first.directory!, 'ref', 'nope'), 'x')).toThrow(/EROFS/);
    unmountAll(first.directory!);
    unmountAll(path.join(dir, 'absolute-target'));
    await isolator.cleanup({ value: 'c-write' });
    expect(pluginMounts()).toEqual([]);
    expect(proxy.count('VolumeDriver.Unmount', 'rw-data')).toBe(1);
    expect(checkpointFiles()).toEqual([]);

    const second = config('c-read', [volume('counted', 'rw-data', 'again')]);
    const relaunch = await isolator.prepare({ value: 'c-read' }, second);
    bindMount(relaunch!.mounts![0].source!, relaunch!.mounts![0].target!, relaunch!.mounts![0].flags!);
    expect(fs.readFileSync(path.join(second.directory!, 'again', 'hello'), 'utf8')).toBe('from the first task');
    unmountAll(second.directory!);
    await isolator.cleanup({ value: 'c-read' });
    expect(pluginMounts()).toEqual([]);
  });

  it('mounts a volume shared by two containers once, and unmounts it when the second goes', async () => {
    const before = { mount: proxy.count('VolumeDriver.Mount', 'shared'), unmount: proxy.count('VolumeDriver.Unmount', 'shared') };
    // Both prepares at once: the per-volume lock makes the second wait for the first's mount.
    await Promise.all(['c-a', 'c-b'].map((id) => isolator.prepare({ value: id }, config(id, [volume('counted', 'shared', 'shared', { options: { size: '16M' } })]))));
    expect(proxy.count('VolumeDriver.Mount', 'shared') - before.mount).toBe(1);
    expect(pluginMounts()).toEqual([path.join(root, 'volumes/shared/_data')]);
    expect(inner.volumes().map((u) => [u.name, [...u.users].sort()])).toEqual([['shared', ['c-a', 'c-b']]]);

    await isolator.cleanup({ value: 'c-a' });
    expect(proxy.count('VolumeDriver.Unmount', 'shared') - before.unmount).toBe(0);
    expect(pluginMounts()).toEqual([path.join(root, 'volumes/shared/_data')]);
    expect((await plugin.volume('shared'))?.Status).toMatchObject({ mountIds: 1 });

    await isolator.cleanup({ value: 'c-b' });
    expect(proxy.count('VolumeDriver.Unmount', 'shared') - before.unmount).toBe(1);
    expect(pluginMounts()).toEqual([]);
    expect(inner.volumes()).toEqual([]);
  });

  it('fails a prepare whose driver is down, naming it, and leaves nothing mounted', async () => {
    const dead = await new PluginProcess(path.join(sockets, 'dead.sock'), path.join(dir, 'dead-root')).start();
    await dead.kill9();
    const before = proxy.count('VolumeDriver.Unmount', 'first');
    const err = await failure(
      isolator.prepare({ value: 'c-down' }, config('c-down', [volume('counted', 'first', 'one', { options: { size: '16M' } }), volume('dead', 'second', 'two')])),
    );
    expect(err.code).toBe('DVDI_PLUGIN_UNAVAILABLE');
    expect(err.message).toContain(`volume driver "dead" (unix://${dead.socket}) is not answering`);
    expect(proxy.count('VolumeDriver.Unmount', 'first') - before).toBe(1); // the first volume was rolled back
    expect(pluginMounts()).toEqual([]);
    expect((await plugin.volume('first'))?.Status).toMatchObject({ mountIds: 0 });
    expect(checkpointFiles()).toEqual([]);
    expect(inner.volumes()).toEqual([]);

    const missing = await failure(isolator.prepare({ value: 'c-missing' }, config('c-missing', [volume('not-installed', 'x', 'x')])));
    expect(missing.code).toBe('DVDI_PLUGIN_NOT_FOUND');
    expect(missing.message).toContain('volume driver "not-installed" is not installed on this agent');
    await isolator.cleanup({ value: 'c-down' }); // the agent cleans up after a failed prepare: fine
  });

  it('rolls back the volumes already mounted when a later one answers Err', async () => {
    const grumpy = await new FakePlugin(path.join(sockets, 'grumpy.sock'), (call) =>
      call === 'Plugin.Activate' ? { body: { Implements: ['VolumeDriver'] } } : call === 'VolumeDriver.Mount' ? { body: { Err: 'quota exceeded on the array' } } : { body: { Err: '' } },
    ).start();
    try {
      const err = await failure(isolator.prepare({ value: 'c-err' }, config('c-err', [volume('counted', 'kept-safe', 'a', { options: { size: '16M' } }), volume('grumpy', 'g', 'b')])));
      expect(err.code).toBe('DVDI_PLUGIN_ERROR');
      expect(err.message).toContain('volume driver "grumpy"');
      expect(err.message).toContain('VolumeDriver.Mount of volume "g" failed: quota exceeded on the array');
      expect(pluginMounts()).toEqual([]);
      expect(checkpointFiles()).toEqual([]);
    } finally {
      await grumpy.stop();
    }
  });

  it('mounts the legacy DVDI_VOLUME_* environment form of mesos-module-dvdi', async () => {
    const target = path.join(dir, 'legacy-target', 'nested'); // under /tmp: created, as mesos-module-dvdi did
    const cfg = config('c-legacy', [], {
      DVDI_VOLUME_NAME: 'legacy-one',
      DVDI_VOLUME_DRIVER: 'tessera-local',
      DVDI_VOLUME_OPTS: 'size=16M, mode=0777',
      DVDI_VOLUME_CONTAINERPATH: target,
      DVDI_VOLUME_NAME1: 'legacy-two', // default_driver ("counted" here; "rexray" by default), no path
    });
    const launch = await isolator.prepare({ value: 'c-legacy' }, cfg);
    const one = path.join(root, 'volumes/legacy-one/_data');
    const two = path.join(root, 'volumes/legacy-two/_data');
    expect(launch?.mounts).toEqual([expect.objectContaining({ source: one, target, flags: ['rbind'] })]);
    expect(launch?.environment?.variables).toEqual([
      { name: 'DVDI_VOLUME_MOUNTPOINT', value: target },
      { name: 'DVDI_VOLUME_MOUNTPOINT1', value: two },
    ]);
    expect(proxy.count('VolumeDriver.Mount', 'legacy-two')).toBe(1);
    expect((await plugin.volume('legacy-one'))?.Status).toMatchObject({ size: 16 * 1024 * 1024, mode: '0777', mountIds: 1 });
    bindMount(one, target, launch!.mounts![0].flags!);
    fs.writeFileSync(path.join(target, 'legacy'), 'ok');
    unmountAll(target);
    await isolator.cleanup({ value: 'c-legacy' });
    expect(pluginMounts()).toEqual([]);
    expect(proxy.count('VolumeDriver.Unmount', 'legacy-two')).toBe(1);
    await isolator.prepare({ value: 'c-legacy-2' }, config('c-legacy-2', [volume('tessera-local', 'legacy-one', 'check')]));
    expect(fs.readFileSync(path.join(one, 'legacy'), 'utf8')).toBe('ok');
    await isolator.cleanup({ value: 'c-legacy-2' });
  });
});

describe('isolator-dvdi refuses bad requests before touching any plugin', () => {
  const cases: [string, ContainerConfig, string, RegExp][] = [
    ['the same volume twice', config('v1', [volume('counted', 'dup', 'a'), volume('counted', 'dup', 'b')]), 'DVDI_VOLUME_DUPLICATE', /asks for volume "dup" of driver "counted" again/],
    ['two volumes on one path', config('v2', [volume('counted', 'p1', 'same'), volume('counted', 'p2', 'same/')]), 'DVDI_VOLUME_DUPLICATE', /both mount at container path/],
    ['a shell in a volume name', config('v3', [volume('counted', 'x;rm -rf /', 'a')]), 'DVDI_VOLUME_INVALID', /docker_volume.name: volume name "x;rm -rf \/" may only hold/],
    ['a command substitution in an option', config('v4', [volume('counted', 'ok', 'a', { options: { size: '$(reboot)' } })]), 'DVDI_VOLUME_INVALID', /option "size" holds "\$"/],
    ['a traversal in an option', config('v5', [volume('counted', 'ok', 'a', { options: { path: '/srv/../etc' } })]), 'DVDI_VOLUME_INVALID', /".." path segment/],
    ['a traversal in a container path', config('v6', [volume('counted', 'ok', '../../etc')]), 'DVDI_VOLUME_INVALID', /container_path: "..\/..\/etc" holds a ".." segment/],
    ['a bad driver name', config('v7', [volume('../sock', 'ok', 'a')]), 'DVDI_VOLUME_INVALID', /docker_volume.driver: driver name "..\/sock"/],
    ['a missing absolute path', config('v8', [volume('counted', 'ok', '/nonexistent/tessera/path')]), 'DVDI_CONTAINER_PATH_MISSING', /"\/nonexistent\/tessera\/path" does not exist on this agent/],
    ['a stray legacy variable', config('v9', [], { DVDI_VOLUME_DRIVER3: 'rexray' }), 'DVDI_VOLUME_INVALID', /DVDI_VOLUME_DRIVER3: is set but DVDI_VOLUME_NAME3 is not/],
    ['legacy options without "="', config('v10', [], { DVDI_VOLUME_NAME: 'n', DVDI_VOLUME_OPTS: 'size' }), 'DVDI_VOLUME_INVALID', /DVDI_VOLUME_OPTS: entry "size" is not of the form key=value/],
    ['a relative legacy path', config('v11', [], { DVDI_VOLUME_NAME: 'n', DVDI_VOLUME_CONTAINERPATH: 'rel' }), 'DVDI_VOLUME_INVALID', /must be an absolute path/],
  ];
  it.each(cases)('refuses %s', async (_what, cfg, code, message) => {
    const before = proxy.calls.length;
    const id = path.basename(cfg.directory!);
    const err = await failure(isolator.prepare({ value: id }, cfg));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`container ${id}`);
    expect(proxy.calls.length).toBe(before);
    expect(checkpointFiles()).toEqual([]);
    await isolator.cleanup({ value: id });
  });

  it('refuses a sandbox path through a symbolic link', async () => {
    const cfg = config('v-link', [volume('counted', 'ok', 'escape/inner')]);
    fs.symlinkSync('/etc', path.join(cfg.directory!, 'escape'));
    const err = await failure(isolator.prepare({ value: 'v-link' }, cfg));
    expect(err.code).toBe('DVDI_VOLUME_INVALID');
    expect(err.message).toContain('is a symbolic link');
  });

  it('refuses a second prepare of a prepared container, and volumes without a state directory', async () => {
    await isolator.prepare({ value: 'twice' }, config('twice', []));
    const again = await failure(isolator.prepare({ value: 'twice' }, config('twice', [])));
    expect(again.code).toBe('DVDI_ALREADY_PREPARED');
    await isolator.cleanup({ value: 'twice' });

    const stateless = await serveInProcess(dvdiModule(), { parameters: { plugin_socket_dirs: [sockets] } });
    try {
      expect(stateless.warnings.join('\n')).toContain('has no state directory');
      const client = new IsolatorClient(stateless);
      expect(await client.prepare({ value: 'plain' }, config('plain', []))).toBeUndefined();
      const err = await failure(client.prepare({ value: 'vols' }, config('vols', [volume('counted', 'x', 'x')])));
      expect(err.code).toBe('DVDI_NO_STATE_DIR');
      expect(err.message).toContain('set its state_dir parameter');
    } finally {
      await stateless.stop();
    }
  });
});
