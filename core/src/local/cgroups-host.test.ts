import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupMounts, probeCgroupsHost, removeCgroupsRoot } from './cgroups-host';

// mountinfo lines of a cgroup v1 host (as these machines), and of a cgroup2-only host.
const v1 = (dir: string, ro = false): string =>
  [
    `30 25 0:26 / ${dir}/cpu rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup ${ro ? 'ro' : 'rw'},cpu`,
    `31 25 0:27 / ${dir}/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,memory`,
    `32 25 0:28 / ${dir}/pids rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,pids`,
    `33 25 0:29 / ${dir}/unified rw,nosuid,nodev,noexec,relatime shared:12 - cgroup2 cgroup2 rw`,
    '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw',
  ].join('\n');

function fakeHierarchies(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cgroups-host-'));
  for (const c of ['cpu', 'memory', 'pids', 'unified']) fs.mkdirSync(path.join(dir, c));
  return dir;
}

describe('probeCgroupsHost', () => {
  it('reads the cgroup mounts of mountinfo', () => {
    expect(cgroupMounts(v1('/sys/fs/cgroup')).map((m) => [m.mountPoint, m.fsType, m.readOnly])).toEqual([
      ['/sys/fs/cgroup/cpu', 'cgroup', false],
      ['/sys/fs/cgroup/memory', 'cgroup', false],
      ['/sys/fs/cgroup/pids', 'cgroup', false],
      ['/sys/fs/cgroup/unified', 'cgroup2', false],
    ]);
  });

  it('needs root', () => {
    expect(probeCgroupsHost({ uid: 1000, mountinfo: v1('/sys/fs/cgroup') })).toEqual({ ok: false, problem: expect.stringMatching(/^it needs root/) });
  });

  it('says what is missing or read-only', () => {
    expect(probeCgroupsHost({ uid: 0, mountinfo: '' })).toEqual({ ok: false, problem: expect.stringContaining('no cgroup hierarchy is mounted') });
    const noPids = v1('/x').split('\n').filter((l) => !l.includes('pids') && !l.includes('cgroup2')).join('\n');
    expect(probeCgroupsHost({ uid: 0, mountinfo: noPids })).toEqual({ ok: false, problem: 'no cgroup hierarchy here offers cpu, memory, pids (cgroup v1 lacks pids)' });
    expect(probeCgroupsHost({ uid: 0, mountinfo: v1('/x', true) })).toEqual({ ok: false, problem: 'the cgroup v1 hierarchy at /x/cpu is mounted read-only' });
  });

  it('proves the hierarchies writable by making and removing a probe (here: directories standing in for them)', () => {
    const dir = fakeHierarchies();
    expect(probeCgroupsHost({ uid: 0, mountinfo: v1(dir) })).toEqual({ ok: true, version: 1, mounts: [`${dir}/cpu`, `${dir}/memory`, `${dir}/pids`] });
    for (const c of ['cpu', 'memory', 'pids']) expect(fs.readdirSync(path.join(dir, c))).toEqual([]);
    fs.rmSync(dir, { recursive: true });
    expect(probeCgroupsHost({ uid: 0, mountinfo: v1(dir) })).toEqual({ ok: false, problem: expect.stringContaining(`cannot make a cgroup in ${dir}/cpu (ENOENT)`) });
  });
});

describe('removeCgroupsRoot', () => {
  it('removes the root from every hierarchy where it is empty, and names the ones it could not', () => {
    const dir = fakeHierarchies();
    for (const c of ['cpu', 'memory', 'unified']) fs.mkdirSync(path.join(dir, c, 'tessera-local-x'));
    fs.mkdirSync(path.join(dir, 'memory', 'tessera-local-x', 'still-there'));
    expect(removeCgroupsRoot('tessera-local-x', { mountinfo: v1(dir) })).toEqual([`${dir}/memory/tessera-local-x`]);
    expect(fs.existsSync(path.join(dir, 'cpu', 'tessera-local-x'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'unified', 'tessera-local-x'))).toBe(false);
    expect(removeCgroupsRoot('../escape', { mountinfo: v1(dir) })).toEqual([]);
    fs.rmSync(dir, { recursive: true });
  });
});
