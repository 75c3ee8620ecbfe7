import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devicesMountAdvice } from './devices-cgroup';

describe('devicesMountAdvice', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-proc-cgroups-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const procCgroups = (text: string) => {
    const file = path.join(dir, `cgroups-${Math.random().toString(16).slice(2)}`);
    fs.writeFileSync(file, text);
    return file;
  };
  const header = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t18\t1\n';

  it('on a v2-only host whose kernel has the controller free (a GPU VM as seen): mount it outside /sys/fs/cgroup', () => {
    expect(devicesMountAdvice(true, procCgroups(`${header}devices\t0\t18\t1\n`))).toBe(
      'mount the v1 devices controller (mkdir -p /run/tessera/cgroup/devices && mount -t cgroup -o devices devices /run/tessera/cgroup/devices; the module finds it wherever it is mounted)',
    );
    expect(devicesMountAdvice(false, procCgroups(`${header}devices\t0\t1\t1\n`))).toMatch(/mkdir -p \/sys\/fs\/cgroup\/devices && mount -t cgroup -o devices devices \/sys\/fs\/cgroup\/devices/);
  });

  it('says when the kernel disabled the controller or lacks it', () => {
    expect(devicesMountAdvice(true, procCgroups(`${header}devices\t0\t1\t0\n`))).toMatch(/has the devices controller but it is disabled .*cgroup_no_v1/);
    expect(devicesMountAdvice(true, procCgroups(header))).toMatch(/this kernel has no devices controller .* CONFIG_CGROUP_DEVICE/);
  });
});
