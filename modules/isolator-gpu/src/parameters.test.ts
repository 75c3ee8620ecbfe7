import { PARAMETERS_SCHEMA, resolveParameters } from './parameters';

describe('isolator-gpu parameters', () => {
  it('fills in the defaults, taking the core state directory unless state_dir is given', () => {
    expect(resolveParameters({}, '/var/lib/tessera/modules/gpu')).toEqual({
      nvidiaSmi: 'nvidia-smi',
      devices: undefined,
      devRoot: '/dev',
      root: 'tessera',
      cgroupRoot: undefined,
      healthPollIntervalMs: 30_000,
      commandTimeoutMs: 10_000,
      driverVolume: 'auto',
      driverVolumePath: '/usr/local/nvidia',
      ldconfig: 'ldconfig',
      libraryDirs: undefined,
      stateDir: '/var/lib/tessera/modules/gpu',
      procDevices: '/proc/devices',
      procDriverNvidia: '/proc/driver/nvidia',
    });
    expect(resolveParameters({ state_dir: '/srv/gpu' }, '/core').stateDir).toBe('/srv/gpu');
    expect(resolveParameters({}, '').stateDir).toBeUndefined();
  });

  it('reads devices as indexes or UUIDs (Mesos-format strings too)', () => {
    expect(resolveParameters({ devices: [0, '3', 'GPU-8f6e2b1c-0a7d-4e3f-9b52-c1d4e6f70a21'] }).devices).toEqual([0, 3, 'GPU-8f6e2b1c-0a7d-4e3f-9b52-c1d4e6f70a21']);
    expect(resolveParameters({ devices: [] }).devices).toEqual([]);
  });

  it('names the parameter and what is wrong', () => {
    expect(() => resolveParameters({ devices: [255] })).toThrow(/parameter devices\[0\]: must be a GPU index from 0 to 254 or a UUID/);
    expect(() => resolveParameters({ devices: ['gpu1'] })).toThrow(/devices\[0\]/);
    expect(() => resolveParameters({ dev_root: 'dev' })).toThrow(/parameter dev_root: must be an absolute path, not "dev"/);
    expect(() => resolveParameters({ proc_driver_nvidia: 'proc/driver/nvidia' })).toThrow(/parameter proc_driver_nvidia: must be an absolute path, not "proc\/driver\/nvidia"/);
    expect(() => resolveParameters({ root: '../x' })).toThrow(/parameter root: "..\/x" is not a cgroup name/);
    expect(() => resolveParameters({ health_poll_interval_ms: -1 })).toThrow(/health_poll_interval_ms: must be a whole number from 0/);
    expect(() => resolveParameters({ driver_volume: 'maybe' as never })).toThrow(/driver_volume: must be "auto", "mount", "env" or "off"/);
    expect(() => resolveParameters({ nvidia_smi: '' })).toThrow(/nvidia_smi: must be a non-empty string/);
    expect(() => resolveParameters({ gpus: 2 } as never)).toThrow(/parameter gpus: unknown parameter; known: nvidia_smi, devices/);
  });

  it('has a schema property for every parameter it reads', () => {
    expect(Object.keys(PARAMETERS_SCHEMA.properties as object).sort()).toEqual(
      ['cgroup_root', 'command_timeout_ms', 'dev_root', 'devices', 'driver_volume', 'driver_volume_path', 'health_poll_interval_ms', 'ldconfig', 'library_dirs', 'nvidia_smi', 'proc_devices', 'proc_driver_nvidia', 'root', 'state_dir'].sort(),
    );
  });
});
