import { PARAMETERS_SCHEMA, resolveParameters } from './parameters';
import { DEFAULT_ALLOWED_DEVICES, formatDeviceRule, parseDeviceRule } from './internal/devices';

describe('isolator-cgroups parameters', () => {
  it('has defaults: cpu, memory, pids; root tessera; no quota, no swap limit; no pids limit (as Mesos); auto', () => {
    expect(resolveParameters({})).toEqual({
      subsystems: ['cpu', 'memory', 'pids'],
      root: 'tessera',
      cpuQuota: false,
      memorySwap: false,
      pidsMax: undefined,
      allowedDevices: [],
      hierarchy: 'auto',
      cgroupRoot: undefined,
      oomPollIntervalMs: 100,
    });
  });

  it('takes subsystems as a list, a comma-separated string (Mesos format) or "all"', () => {
    expect(resolveParameters({ subsystems: ['devices', 'cpu'] }).subsystems).toEqual(['cpu', 'devices']);
    expect(resolveParameters({ subsystems: 'memory, pids' }).subsystems).toEqual(['memory', 'pids']);
    expect(resolveParameters({ subsystems: ['memory,cpu'] }).subsystems).toEqual(['cpu', 'memory']);
    expect(resolveParameters({ subsystems: 'all' }).subsystems).toBe('all');
    expect(resolveParameters({ subsystems: [] }).subsystems).toEqual([]);
    expect(() => resolveParameters({ subsystems: ['all', 'cpu'] })).toThrow('"all" cannot be combined');
    expect(() => resolveParameters({ subsystems: ['gpu'] })).toThrow('unknown subsystem "gpu"');
  });

  it('reads pids_max, booleans given as strings, and device rules', () => {
    expect(resolveParameters({ pids_max: 'max' }).pidsMax).toBeUndefined();
    expect(resolveParameters({ pids_max: 'none' }).pidsMax).toBeUndefined();
    expect(resolveParameters({ pids_max: '64' }).pidsMax).toBe(64);
    expect(resolveParameters({ cpu_quota: 'true' as unknown as boolean }).cpuQuota).toBe(true);
    expect(resolveParameters({ allowed_devices: ['c 195:* rwm'] }).allowedDevices).toEqual([{ type: 'c', major: 195, minor: undefined, access: 'rwm' }]);
  });

  it('refuses bad values with TSR_PARAMETERS_INVALID naming the parameter', () => {
    const bad = (p: object) => {
      try {
        resolveParameters(p);
      } catch (err) {
        return `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
      return 'accepted';
    };
    expect(bad({ root: '../etc' })).toMatch(/^TSR_PARAMETERS_INVALID: isolator-cgroups parameter root: "..\/etc" is not a cgroup name/);
    expect(bad({ root: 'a/../b' })).toContain('parameter root');
    expect(bad({ pids_max: 0 })).toContain('parameter pids_max');
    expect(bad({ allowed_devices: ['c 195:0 rwx'] })).toContain('parameter allowed_devices[0]: "c 195:0 rwx" is not a device rule');
    expect(bad({ hierarchy: 'v3' })).toContain('parameter hierarchy');
    expect(bad({ cgroup_root: 'relative' })).toContain('parameter cgroup_root');
    expect(bad({ oom_poll_interval_ms: 1 })).toContain('parameter oom_poll_interval_ms');
    expect(bad({ memory_swap: 'yes' })).toContain('parameter memory_swap');
    expect(bad({ cgroups_root: 'x' })).toContain('parameter cgroups_root: unknown parameter');
  });

  it('declares a schema with every parameter it reads', () => {
    expect(Object.keys(PARAMETERS_SCHEMA.properties as object).sort()).toEqual(
      ['allowed_devices', 'cgroup_root', 'cpu_quota', 'hierarchy', 'memory_swap', 'oom_poll_interval_ms', 'pids_max', 'root', 'subsystems'].sort(),
    );
  });
});

describe('device rules', () => {
  it('has Mesos default allow-list', () => {
    expect(DEFAULT_ALLOWED_DEVICES.map(formatDeviceRule)).toEqual([
      'c *:* m',
      'b *:* m',
      'c 1:3 rwm',
      'c 1:5 rwm',
      'c 1:7 rwm',
      'c 1:8 rwm',
      'c 1:9 rwm',
      'c 5:0 rwm',
      'c 5:1 rwm',
      'c 4:0 rwm',
      'c 4:1 rwm',
      'c 5:2 rwm',
      'c 136:* rwm',
      'c 10:200 rwm',
    ]);
  });

  it('parses and formats rules, refusing malformed ones', () => {
    expect(formatDeviceRule(parseDeviceRule(' b 8:* rw '))).toBe('b 8:* rw');
    expect(() => parseDeviceRule('c 195:0 rrw')).toThrow('is not a device rule');
    expect(() => parseDeviceRule('c 195 rwm')).toThrow('is not a device rule');
  });
});
