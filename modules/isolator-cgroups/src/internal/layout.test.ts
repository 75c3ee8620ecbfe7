import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveParameters } from '../parameters';
import { chooseDriver, findLayout } from './layout';
import { parseMountinfo } from './mountinfo';

// This host's layout (hybrid: v1 controllers, an empty cgroup2), a pure v2 host, a co-mounted one.
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const COMOUNTED = `25 18 0:22 / /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
26 18 0:23 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
27 18 0:24 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids
`;

describe('finding the cgroup hierarchies', () => {
  it('parses v1 controllers, cgroup2, read-only mounts, mount roots and escapes', () => {
    const hybrid = parseMountinfo(HYBRID);
    expect(hybrid.map((m) => [m.mountPoint, m.fsType, m.controllers.join(',')])).toEqual([
      ['/sys/fs/cgroup/cpu', 'cgroup', 'cpu'],
      ['/sys/fs/cgroup/cpuacct', 'cgroup', 'cpuacct'],
      ['/sys/fs/cgroup/memory', 'cgroup', 'memory'],
      ['/sys/fs/cgroup/devices', 'cgroup', 'devices'],
      ['/sys/fs/cgroup/freezer', 'cgroup', 'freezer'],
      ['/sys/fs/cgroup/pids', 'cgroup', 'pids'],
      ['/sys/fs/cgroup/systemd', 'cgroup', ''],
      ['/sys/fs/cgroup/unified', 'cgroup2', ''],
    ]);
    const co = parseMountinfo(COMOUNTED);
    expect(co[0]).toEqual({ mountPoint: '/sys/fs/cgroup/cpu,cpuacct', fsType: 'cgroup', controllers: ['cpu', 'cpuacct'], readOnly: true, root: '/' });
    expect(co[2]).toMatchObject({ mountPoint: '/sys/fs/cgroup/my pids', root: '/docker/abc', readOnly: false });
  });

  it('chooses v1 on a hybrid host, and v2 when asked', () => {
    const layout = findLayout(undefined, parseMountinfo(HYBRID));
    expect(layout.v1.get('cpu')?.path).toBe('/sys/fs/cgroup/cpu');
    const v1 = chooseDriver(resolveParameters({ subsystems: 'all' }), layout);
    expect(v1.driver.version).toBe(1);
    expect(v1.subsystems).toEqual(['cpu', 'memory', 'pids', 'devices']);
    expect(v1.driver.describe()).toBe(
      'cgroup v1, root "tessera": cpu at /sys/fs/cgroup/cpu, cpuacct at /sys/fs/cgroup/cpuacct, memory at /sys/fs/cgroup/memory, pids at /sys/fs/cgroup/pids, devices at /sys/fs/cgroup/devices, freezer at /sys/fs/cgroup/freezer',
    );
    expect(chooseDriver(resolveParameters({ hierarchy: 'v2', subsystems: [] }), layout).driver.version).toBe(2);
  });

  it('refuses a read-only hierarchy before writing anything', () => {
    const { driver } = chooseDriver(resolveParameters({ subsystems: ['cpu'] }), findLayout(undefined, parseMountinfo(COMOUNTED)));
    expect(() => driver.setup()).toThrow('the cgroup v1 hierarchy at /sys/fs/cgroup/cpu,cpuacct is mounted read-only: remount it read-write');
  });

  it('chooses v2 where only v2 offers the controllers, and leaves devices out of "all" there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-layout-'));
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpu io memory pids\n');
      const mounts = parseMountinfo(`30 1 0:26 / ${dir} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`);
      const chosen = chooseDriver(resolveParameters({ subsystems: 'all' }), findLayout(undefined, mounts));
      expect(chosen.driver.version).toBe(2);
      expect(chosen.subsystems).toEqual(['cpu', 'memory', 'pids']);
      expect(chosen.warnings).toEqual(['subsystems "all" on this cgroup v2 host leaves out devices: not offered here (devices on v2 needs eBPF, not supported yet)']);
      expect(() => chooseDriver(resolveParameters({ hierarchy: 'v1' }), findLayout(undefined, mounts))).toThrow('no cgroup v1 hierarchy is mounted');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so when no cgroup file system is mounted at all', () => {
    expect(() => chooseDriver(resolveParameters({}), findLayout(undefined, []))).toThrow('no cgroup v2 hierarchy is mounted (/proc/self/mountinfo): mount cgroup2');
  });
});
