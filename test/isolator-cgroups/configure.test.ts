// Configure refuses, with a coded error naming the path and what to do, whenever the module could not
// isolate: not root, a read-only cgroup file system, a missing controller, devices on v2, no hierarchy,
// bad parameters. Each case starts the real module process as the agent would.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../modules/helpers';
import { configureFails, MODULE } from './helpers';

const CONFORMANCE = path.join(ROOT, 'modules-api/dist/conformance-cli.js');
const dirs: string[] = [];
const fixture = (entries: Record<string, string | null>): string => {
  const dir = tempDir();
  dirs.push(dir);
  for (const [name, content] of Object.entries(entries)) {
    if (content === null) fs.mkdirSync(path.join(dir, name), { recursive: true });
    else fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
};

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('isolator-cgroups Configure refusals', () => {
  it('refuses when not root (run as nobody), naming the path and the uid', () => {
    if (process.getuid?.() !== 0) return console.warn('skipping: not root, cannot switch to nobody');
    if (spawnSync('setpriv', ['--version']).status !== 0) return console.warn('skipping: setpriv (util-linux) is not installed');
    const out = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CONFORMANCE, '--kind', 'isolator', '--parameters', JSON.stringify({ root: `tessera-test-${process.pid}-nobody` }), MODULE],
      { encoding: 'utf8', cwd: '/tmp', timeout: 60_000 },
    );
    expect(out.stdout).toMatch(/FAIL {2}start: .*\n\s+CGROUPS_NOT_WRITABLE: .*cannot create the cgroup \/sys\/fs\/cgroup\/\w+\/tessera-test-\d+-nobody: EACCES \(permission denied\); this module runs as uid 65534, not root: run the agent as root/);
  }, 60_000);

  it('refuses a read-only cgroup file system', async () => {
    const mount = tempDir();
    dirs.push(mount);
    if (spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mount]).status !== 0) return console.warn('skipping: cannot mount a tmpfs here');
    try {
      for (const c of ['cpu', 'memory']) fs.mkdirSync(path.join(mount, c));
      expect(spawnSync('mount', ['-o', 'remount,ro', mount]).status).toBe(0);
      const err = await configureFails({ cgroup_root: mount, hierarchy: 'v1', subsystems: ['cpu', 'memory'] });
      expect(err.code).toBe('CGROUPS_NOT_WRITABLE');
      expect(err.message).toContain(`cannot create the cgroup ${mount}/cpu/tessera: EROFS (read-only file system): remount it read-write (mount -o remount,rw ${mount}/cpu)`);
    } finally {
      spawnSync('umount', [mount]);
    }
  });

  it('refuses a subsystem whose controller is not mounted', async () => {
    const err = await configureFails({ cgroup_root: fixture({ cpu: null, freezer: null }), hierarchy: 'v1', subsystems: ['cpu', 'memory'] });
    expect(err.code).toBe('CGROUPS_CONTROLLER_MISSING');
    expect(err.message).toContain('cgroup v1 controller "memory" is not mounted (mounted: cpu, freezer)');
  });

  it('refuses devices on cgroup v2, saying eBPF is not supported', async () => {
    const err = await configureFails({ cgroup_root: fixture({ 'cgroup.controllers': 'cpu memory pids\n' }), subsystems: ['cpu', 'devices'] });
    expect(err.code).toBe('CGROUPS_DEVICES_UNSUPPORTED');
    expect(err.message).toContain('needs an eBPF device program');
  });

  it('refuses when there is no hierarchy of the version asked for', async () => {
    const missing = await configureFails({ cgroup_root: '/nonexistent/cgroup' });
    expect(missing.code).toBe('CGROUPS_NO_HIERARCHY');
    expect(missing.message).toContain('cgroup_root /nonexistent/cgroup does not exist');
    const v2 = await configureFails({ cgroup_root: fixture({ cpu: null }), hierarchy: 'v2' });
    expect(v2.code).toBe('CGROUPS_NO_HIERARCHY');
    expect(v2.message).toContain('no cgroup v2 hierarchy is mounted');
  });

  it('refuses bad parameters before Configure, naming the parameter', async () => {
    const err = await configureFails({ subsystems: ['gpu'], allowed_devices: ['c 195'] });
    expect(err.code).toBe('TSR_PARAMETERS_INVALID');
    expect(err.message).toContain('/parameters/subsystems');
    expect(err.message).toContain('/parameters/allowed_devices/0');
  });
});
