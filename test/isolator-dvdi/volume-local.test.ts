// tessera-volume-local as a process: protocol details Docker relies on, state across restarts
// (kill -9 included), adoption of volume directories, and its command line.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../modules/helpers';
import { mountPointsUnder, mountSupport, PLUGIN_BIN, PluginProcess, post, unmountAll } from './support';

const noMounts = mountSupport();
if (noMounts) console.warn(`tessera-volume-local tests that need loop mounts are skipped: ${noMounts}`);
const itMounts = noMounts ? it.skip : it;

const dir = tempDir();
const root = path.join(dir, 'root');
const socket = path.join(dir, 'plugins', 'local.sock');
let plugin = new PluginProcess(socket, root);

const cli = (args: string[]): Promise<{ code: number; stderr: string; stdout: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [PLUGIN_BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });

beforeAll(async () => {
  await plugin.start();
});

afterAll(async () => {
  await plugin.stop();
  unmountAll(dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tessera-volume-local', () => {
  it('speaks the protocol as Docker expects it', async () => {
    const activate = await post(socket, 'Plugin.Activate');
    expect(activate).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });
    expect((await post(socket, 'VolumeDriver.Capabilities')).body).toEqual({ Capabilities: { Scope: 'local' } });
    const unknown = await post(socket, 'NetworkDriver.CreateNetwork');
    expect(unknown.status).toBe(404);
    expect(unknown.body.Err).toContain('not a call of the Docker volume plugin protocol');
    const traversal = await post(socket, 'VolumeDriver.Create', { Name: '../../etc' });
    expect(traversal.status).toBe(500);
    expect(traversal.body.Err).toMatch(/^DVDI_LOCAL_INVALID_REQUEST: volume name "..\/..\/etc" may only hold/);
    const noId = await post(socket, 'VolumeDriver.Create', { Name: 'p1' }).then(() => post(socket, 'VolumeDriver.Mount', { Name: 'p1' }));
    expect(noId.body.Err).toContain('DVDI_LOCAL_INVALID_REQUEST: ID undefined');
    expect((await post(socket, 'VolumeDriver.Create', { Name: 'p1', Opts: { mode: '0700' } })).body.Err).toContain('DVDI_LOCAL_EXISTS');
    expect((await post(socket, 'VolumeDriver.Create', { Name: 'p1' })).body).toEqual({ Err: '' }); // same options: fine
    expect((await post(socket, 'VolumeDriver.Remove', { Name: 'p1' })).body).toEqual({ Err: '' });
  });

  itMounts('keeps its volumes and their mount ids across kill -9, and mounts sized volumes again after a reboot', async () => {
    await post(socket, 'VolumeDriver.Create', { Name: 'kept', Opts: { size: '16M' } });
    await post(socket, 'VolumeDriver.Create', { Name: 'idle', Opts: { size: '16M' } });
    await post(socket, 'VolumeDriver.Create', { Name: 'dir' });
    const mp = (await post(socket, 'VolumeDriver.Mount', { Name: 'kept', ID: 'agent-1' })).body.Mountpoint;
    await post(socket, 'VolumeDriver.Mount', { Name: 'dir', ID: 'agent-1' });
    fs.writeFileSync(path.join(mp, 'data'), 'survives');

    await plugin.kill9();
    plugin = await new PluginProcess(socket, root).start(); // replaces the stale socket
    expect((await plugin.volume('kept'))?.Status).toMatchObject({ mountIds: 1, size: 16 * 1024 * 1024 });
    expect((await plugin.volume('dir'))?.Status).toMatchObject({ mountIds: 1 });
    expect((await plugin.volume('idle'))?.Mountpoint).toBe('');
    expect(mountPointsUnder(path.join(root, 'volumes'))).toEqual([mp]);

    // A reboot unmounts everything: the restarted plugin mounts what its callers still hold.
    await plugin.stop();
    execFileSync('umount', [mp]);
    plugin = await new PluginProcess(socket, root).start();
    expect(mountPointsUnder(path.join(root, 'volumes'))).toEqual([mp]);
    expect(fs.readFileSync(path.join(mp, 'data'), 'utf8')).toBe('survives');

    expect((await post(socket, 'VolumeDriver.Unmount', { Name: 'kept', ID: 'agent-1' })).body).toEqual({ Err: '' });
    expect(mountPointsUnder(path.join(root, 'volumes'))).toEqual([]);
    await post(socket, 'VolumeDriver.Unmount', { Name: 'dir', ID: 'agent-1' });
  });

  itMounts('adopts volume directories when its state file is lost', async () => {
    await plugin.stop();
    fs.rmSync(path.join(root, 'state.json'));
    plugin = await new PluginProcess(socket, root).start();
    const names = (await post(socket, 'VolumeDriver.List')).body.Volumes.map((v: { Name: string }) => v.Name);
    expect(names).toEqual(['dir', 'idle', 'kept']);
    expect((await plugin.volume('kept'))?.Status).toMatchObject({ size: 16 * 1024 * 1024, mountIds: 0 });
    expect(plugin.stderr.join('\n')).toContain('volume directory not in the state file: adopted');
    for (const name of names) expect((await post(socket, 'VolumeDriver.Remove', { Name: name })).body).toEqual({ Err: '' });
  });

  it('refuses a second plugin on a live socket, bad flags, and explains itself', async () => {
    const second = await cli([`--socket=${socket}`, `--root=${path.join(dir, 'other')}`]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`DVDI_LOCAL_LISTEN_FAILED: another process answers on ${socket}`);
    const bad = await cli(['--sokcet=/x.sock']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DVDI_LOCAL_FLAG_INVALID: unknown flag --sokcet');
    expect((await cli(['--socket=/run/x'])).stderr).toContain('must end in .sock');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tessera-volume-local');
  });
});
