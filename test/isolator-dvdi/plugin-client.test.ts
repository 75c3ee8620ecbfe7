// The Docker volume plugin client against the real tessera-volume-local process and against scripted
// fake plugins for the error paths: real unix sockets, real directories, real loop mounts.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { TesseraError } from '@tessera/modules-api';
import { discover, VolumePluginClient, type DiscoveryOptions } from '../../modules/isolator-dvdi/src';
import { tempDir } from '../modules/helpers';
import { FakePlugin, mountPointsUnder, mountSupport, PluginProcess, unmountAll } from './support';

const noMounts = mountSupport();
if (noMounts) console.warn(`plugin-client tests that need loop mounts are skipped: ${noMounts}`);
const itMounts = noMounts ? it.skip : it;

const dir = tempDir();
const sockets = path.join(dir, 'plugins');
const specs = path.join(dir, 'specs');
const root = path.join(dir, 'root');
fs.mkdirSync(sockets);
fs.mkdirSync(specs);
const where: DiscoveryOptions = { socketDirs: [sockets], specDirs: [sockets, specs] };
const plugin = new PluginProcess(path.join(sockets, 'tessera-local.sock'), root);
const client = (name: string, timeoutMs = 5000) => new VolumePluginClient(discover(name, where), { timeoutMs });

async function failure(p: Promise<unknown>): Promise<TesseraError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return err as TesseraError;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  await plugin.start();
});

afterAll(async () => {
  await plugin.stop();
  unmountAll(dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('VolumePluginClient against tessera-volume-local', () => {
  it('activates, creates with options, mounts one mountpoint for two ids, refuses Remove while mounted', async () => {
    const c = client('tessera-local');
    expect(await c.activate()).toEqual(['VolumeDriver']);
    expect(await c.capabilities()).toEqual({ scope: 'local' });
    await c.create('plain', { mode: '0770' });
    const a = await c.mount('plain', 'id-a');
    const b = await c.mount('plain', 'id-b');
    expect(a).toBe(path.join(root, 'volumes/plain/_data'));
    expect(b).toBe(a);
    expect(fs.statSync(a).mode & 0o777).toBe(0o770);
    expect(await c.path('plain')).toBe(a);
    expect((await c.get('plain')).Status).toMatchObject({ mountIds: 2, size: 'unlimited' });

    const refused = await failure(c.remove('plain'));
    expect(refused.code).toBe('DVDI_PLUGIN_ERROR');
    expect(refused.message).toContain('volume driver "tessera-local"');
    expect(refused.message).toContain('VolumeDriver.Remove of volume "plain"');
    expect(refused.message).toContain('DVDI_LOCAL_IN_USE');

    await c.unmount('plain', 'id-a');
    expect((await c.get('plain')).Status).toMatchObject({ mountIds: 1 });
    await failure(c.remove('plain'));
    await c.unmount('plain', 'id-b');
    await c.unmount('plain', 'id-b'); // an id that no longer holds it: fine, as Docker's local driver
    expect((await c.list()).map((v) => v.Name)).toEqual(['plain']);
    await c.remove('plain');
    expect(await c.list()).toEqual([]);
    expect(fs.existsSync(path.join(root, 'volumes/plain'))).toBe(false);
  });

  itMounts('caps a sized volume with a loop-mounted ext4 image, mounted once while any id holds it', async () => {
    const c = client('tessera-local');
    await c.create('capped', { size: '16M', mode: '0777' });
    expect(await c.path('capped')).toBe(''); // not mounted by anyone yet
    const mp = await c.mount('capped', 'one');
    await c.mount('capped', 'two');
    expect(mountPointsUnder(path.join(root, 'volumes/capped'))).toEqual([mp]);
    fs.writeFileSync(path.join(mp, 'small'), Buffer.alloc(1024 * 1024));
    expect(() => fs.writeFileSync(path.join(mp, 'big'), Buffer.alloc(20 * 1024 * 1024))).toThrow(/ENOSPC/);
    fs.rmSync(path.join(mp, 'big'), { force: true });

    await c.unmount('capped', 'one');
    expect(mountPointsUnder(mp)).toEqual([mp]); // "two" still holds it
    await c.unmount('capped', 'two');
    expect(mountPointsUnder(mp)).toEqual([]);
    expect(fs.existsSync(path.join(mp, 'small'))).toBe(false); // the data is in the image, not the directory

    expect(await c.mount('capped', 'three')).toBe(mp);
    expect(fs.statSync(path.join(mp, 'small')).size).toBe(1024 * 1024); // and comes back with it
    await c.unmount('capped', 'three');
    await c.remove('capped');
  });

  it('refuses unknown options and bad sizes with the plugin\'s code', async () => {
    const c = client('tessera-local');
    const unknown = await failure(c.create('opts', { iops: '100' }));
    expect(unknown.message).toContain('DVDI_LOCAL_OPTION_INVALID: unknown option "iops"');
    const tiny = await failure(c.create('opts', { size: '1M' }));
    expect(tiny.message).toContain('at least 8M');
    const missing = await failure(c.get('no-such-volume'));
    expect(missing.code).toBe('DVDI_PLUGIN_ERROR');
    expect(missing.message).toContain('DVDI_LOCAL_NO_SUCH_VOLUME');
  });
});

describe('VolumePluginClient error paths', () => {
  it('names the driver when no plugin of that name is installed', async () => {
    let err: TesseraError | undefined;
    try {
      discover('nowhere', where);
    } catch (e) {
      err = e as TesseraError;
    }
    expect(err?.code).toBe('DVDI_PLUGIN_NOT_FOUND');
    expect(err?.message).toContain('volume driver "nowhere" is not installed');
    expect(err?.message).toContain(path.join(sockets, 'nowhere.sock'));
  });

  it('names the driver and the call when the plugin is down (its socket left behind)', async () => {
    const down = new PluginProcess(path.join(sockets, 'crashed.sock'), path.join(dir, 'crashed-root'));
    await down.start();
    const c = client('crashed');
    await c.activate();
    await down.kill9();
    expect(fs.existsSync(down.socket)).toBe(true);
    const err = await failure(c.mount('v', 'id'));
    expect(err.code).toBe('DVDI_PLUGIN_UNAVAILABLE');
    expect(err.message).toContain(`volume driver "crashed" (unix://${down.socket}) is not answering`);
    expect(err.message).toContain('VolumeDriver.Mount of volume "v"');
    expect(err.message).toContain('nothing listens there');
    fs.rmSync(down.socket, { force: true });
  });

  it('quotes an Err answer, whatever the HTTP status', async () => {
    const fake = await new FakePlugin(path.join(sockets, 'grumpy.sock'), (call) =>
      call === 'Plugin.Activate' ? { body: { Implements: ['VolumeDriver'] } } : call === 'VolumeDriver.Mount' ? { body: { Err: 'disk on fire' } } : { status: 500, body: { Err: 'backend offline' } },
    ).start();
    try {
      const c = client('grumpy');
      const mount = await failure(c.mount('v', 'id'));
      expect(mount.code).toBe('DVDI_PLUGIN_ERROR');
      expect(mount.message).toBe(`volume driver "grumpy" (unix://${fake.socket}): VolumeDriver.Mount of volume "v" failed: disk on fire`);
      const create = await failure(c.create('v', {}));
      expect(create.message).toContain('VolumeDriver.Create of volume "v" failed: backend offline');
    } finally {
      await fake.stop();
    }
  });

  it('gives up after the timeout on a plugin that never answers', async () => {
    const fake = await new FakePlugin(path.join(sockets, 'sleepy.sock'), (call) => (call === 'Plugin.Activate' ? { body: { Implements: ['VolumeDriver'] } } : { hang: true })).start();
    try {
      const err = await failure(client('sleepy', 300).mount('v', 'id'));
      expect(err.code).toBe('DVDI_PLUGIN_TIMEOUT');
      expect(err.message).toContain('volume driver "sleepy"');
      expect(err.message).toContain('did not answer VolumeDriver.Mount of volume "v" within 300 ms');
      const aborted = new AbortController();
      const pending = failure(client('sleepy', 60_000).unmount('v', 'id', aborted.signal));
      aborted.abort();
      const cancelled = await pending;
      expect(cancelled.code).toBe('DVDI_PLUGIN_TIMEOUT');
      expect(cancelled.message).toContain('was cancelled');
    } finally {
      await fake.stop();
    }
  });

  it('refuses a plugin that is not a volume driver, and answers that are not the protocol', async () => {
    const fake = await new FakePlugin(path.join(sockets, 'stranger.sock'), (call) =>
      call === 'Plugin.Activate' ? { body: { Implements: ['NetworkDriver'] } } : call === 'VolumeDriver.Path' ? { status: 500, body: '<html>oops</html>' } : { body: { Mountpoint: 'relative/path' } },
    ).start();
    try {
      const c = client('stranger');
      const activate = await failure(c.activate());
      expect(activate.code).toBe('DVDI_PLUGIN_NOT_VOLUME_DRIVER');
      expect(activate.message).toContain('lists NetworkDriver, not VolumeDriver');
      expect((await failure(c.path('v'))).message).toContain('HTTP 500 without an "Err": <html>oops</html>');
      const mount = await failure(c.mount('v', 'id'));
      expect(mount.code).toBe('DVDI_PLUGIN_BAD_RESPONSE');
      expect(mount.message).toContain('"relative/path", which is not an absolute path');
    } finally {
      await fake.stop();
    }
  });

  it('finds plugins through .spec (unix:// and tcp://) and .json files', async () => {
    fs.writeFileSync(path.join(specs, 'by-spec.spec'), `unix://${plugin.socket}\n`);
    expect(await client('by-spec').activate()).toEqual(['VolumeDriver']);

    const tcp = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify(req.url === '/Plugin.Activate' ? { Implements: ['VolumeDriver'] } : { Volumes: [{ Name: 'remote' }] })));
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    try {
      fs.writeFileSync(path.join(specs, 'by-tcp.spec'), `tcp://127.0.0.1:${port}`);
      const viaSpec = client('by-tcp');
      expect(viaSpec.endpoint.url).toBe(`tcp://127.0.0.1:${port}`);
      expect((await viaSpec.list()).map((v) => v.Name)).toEqual(['remote']);
      fs.mkdirSync(path.join(specs, 'by-json'));
      fs.writeFileSync(path.join(specs, 'by-json', 'by-json.json'), JSON.stringify({ Name: 'by-json', Addr: `http://127.0.0.1:${port}` }));
      expect(await client('by-json').activate()).toEqual(['VolumeDriver']);
      fs.writeFileSync(path.join(specs, 'broken.spec'), 'ftp://nowhere');
      expect(() => discover('broken', where)).toThrow(/scheme "ftp" is not unix, tcp, http or https/);
    } finally {
      tcp.closeAllConnections();
      await new Promise((r) => tcp.close(r));
    }
  });
});
