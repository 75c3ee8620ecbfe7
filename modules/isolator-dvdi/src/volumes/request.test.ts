import type { ContainerConfig, Volume } from '@tessera/modules-api';
import { TesseraError } from '@tessera/modules-api';
import { parseLegacyOptions, taskEnvironment } from './legacy-env';
import { MAX_VOLUMES, volumeRequests } from './request';

const legacy = { enabled: true, defaultDriver: 'rexray' };
const docker = (driver: string, name: string, containerPath: string, extra: Partial<Volume> = {}): Volume => ({
  containerPath,
  source: { type: 'DOCKER_VOLUME', dockerVolume: { driver, name, driverOptions: { size: '5' } } },
  ...extra,
});
const env = (vars: Record<string, string>) => ({ variables: Object.entries(vars).map(([name, value]) => ({ name, value })) });

function refusal(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (err) {
    return err as TesseraError;
  }
  throw new Error('expected a refusal');
}

describe('volumeRequests, the Mesos way', () => {
  it('reads DOCKER_VOLUME volumes with their mode and options, and leaves other sources to other isolators', () => {
    const config: ContainerConfig = {
      containerInfo: {
        volumes: [
          docker('rexray', 'db', 'data'),
          { containerPath: '/host', hostPath: '/srv', mode: 'RO', source: { type: 'HOST_PATH' } },
          docker('rexray', 'logs', '/var/log/app', { mode: 'RO' }),
        ],
      },
    };
    expect(volumeRequests('c1', config, legacy)).toEqual([
      { driver: 'rexray', name: 'db', options: { size: '5' }, readOnly: false, containerPath: 'data', origin: 'container_info.volumes[0]', legacy: false },
      { driver: 'rexray', name: 'logs', options: { size: '5' }, readOnly: true, containerPath: '/var/log/app', origin: 'container_info.volumes[2]', legacy: false },
    ]);
  });

  it("falls back to the task's ContainerInfo, and answers nothing for a container without volumes", () => {
    expect(volumeRequests('c1', { taskInfo: { container: { volumes: [docker('d', 'v', 'x')] } } }, legacy).map((r) => r.name)).toEqual(['v']);
    expect(volumeRequests('c1', {}, legacy)).toEqual([]);
  });

  it('refuses a DOCKER_VOLUME without docker_volume, and more than MAX_VOLUMES volumes', () => {
    expect(refusal(() => volumeRequests('c1', { containerInfo: { volumes: [{ containerPath: 'x', source: { type: 'DOCKER_VOLUME' } }] } }, legacy)).message).toContain(
      'source.docker_volume is missing',
    );
    const many = Array.from({ length: MAX_VOLUMES + 1 }, (_, i) => docker('d', `v${i}`, `p${i}`));
    expect(refusal(() => volumeRequests('c1', { containerInfo: { volumes: many } }, legacy)).code).toBe('DVDI_VOLUME_INVALID');
  });

  it.each([
    ['an empty name', docker('d', '', 'x'), /a volume name is required/],
    ['a name with a slash', docker('d', 'a/b', 'x'), /volume name "a\/b" may only hold/],
    ['a too long name', docker('d', 'n'.repeat(256), 'x'), /longer than 255 characters/],
    ['a quote in an option', { ...docker('d', 'v', 'x'), source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'd', name: 'v', driverOptions: { o: "a'b" } } } } as Volume, /holds "'"/],
    ['a newline in an option', { ...docker('d', 'v', 'x'), source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'd', name: 'v', driverOptions: { o: 'a\nb' } } } } as Volume, /holds "\\x0a"/],
    ['a bad option key', { ...docker('d', 'v', 'x'), source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'd', name: 'v', driverOptions: { 'a b': '1' } } } } as Volume, /option key "a b"/],
    ['no container path', docker('d', 'v', ''), /a container path is required/],
    ['the sandbox itself', docker('d', 'v', './'), /names the sandbox itself/],
    ['the root directory', docker('d', 'v', '/'), /names the root directory/],
    ['a bad mode', docker('d', 'v', 'x', { mode: 'RWX' as never }), /mode "RWX" is neither RW nor RO/],
  ])('refuses %s', (_what, v, message) => {
    const err = refusal(() => volumeRequests('c9', { containerInfo: { volumes: [v] } }, legacy));
    expect(err.code).toBe('DVDI_VOLUME_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('container c9: container_info.volumes[0]');
  });

  it('accepts options with the characters drivers use', () => {
    const v = { ...docker('d', 'v', 'x'), source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'd', name: 'v', driverOptions: { o: 'addr=10.0.0.1,rw', device: ':/export/x', size: '1.5GiB' } } } } as Volume;
    expect(volumeRequests('c1', { containerInfo: { volumes: [v] } }, legacy)[0].options).toEqual({ o: 'addr=10.0.0.1,rw', device: ':/export/x', size: '1.5GiB' });
  });
});

describe('volumeRequests, the mesos-module-dvdi environment way', () => {
  it('reads DVDI_VOLUME_* with suffixes 1-9, the default driver and container path rules', () => {
    const config: ContainerConfig = {
      commandInfo: {
        environment: env({
          DVDI_VOLUME_NAME: 'testing',
          DVDI_VOLUME_DRIVER: 'platform1',
          DVDI_VOLUME_OPTS: 'size=5,iops=150,volumetype=io1,newfstype=ext4,overwritefs=false',
          DVDI_VOLUME_NAME1: 'testing2',
          DVDI_VOLUME_OPTS1: 'size=6',
          DVDI_VOLUME_CONTAINERPATH1: '/tmp/ebs-auto',
          DVDI_VOLUME_NAME9: 'last',
        }),
      },
    };
    expect(volumeRequests('c1', config, legacy)).toEqual([
      {
        driver: 'platform1',
        name: 'testing',
        options: { size: '5', iops: '150', volumetype: 'io1', newfstype: 'ext4', overwritefs: 'false' },
        readOnly: false,
        containerPath: undefined,
        origin: 'DVDI_VOLUME_NAME',
        legacy: true,
        legacySuffix: '',
      },
      { driver: 'rexray', name: 'testing2', options: { size: '6' }, readOnly: false, containerPath: '/tmp/ebs-auto', origin: 'DVDI_VOLUME_NAME1', legacy: true, legacySuffix: '1' },
      { driver: 'rexray', name: 'last', options: {}, readOnly: false, containerPath: undefined, origin: 'DVDI_VOLUME_NAME9', legacy: true, legacySuffix: '9' },
    ]);
  });

  it('prefers the command environment over the task and executor ones, and can be turned off', () => {
    const config: ContainerConfig = {
      commandInfo: { environment: env({ DVDI_VOLUME_NAME: 'mine' }) },
      taskInfo: { command: { environment: env({ DVDI_VOLUME_NAME: 'task', DVDI_VOLUME_DRIVER: 'from-task' }) } },
      executorInfo: { command: { environment: env({ DVDI_VOLUME_DRIVER: 'from-executor' }) } },
    };
    expect(taskEnvironment(config).get('DVDI_VOLUME_DRIVER')).toBe('from-task');
    expect(volumeRequests('c1', config, legacy).map((r) => `${r.driver}/${r.name}`)).toEqual(['from-task/mine']);
    expect(volumeRequests('c1', config, { ...legacy, enabled: false })).toEqual([]);
  });

  it('refuses the same volume in both forms', () => {
    const config: ContainerConfig = { containerInfo: { volumes: [docker('rexray', 'v', 'x')] }, commandInfo: { environment: env({ DVDI_VOLUME_NAME: 'v' }) } };
    const err = refusal(() => volumeRequests('c1', config, legacy));
    expect(err.code).toBe('DVDI_VOLUME_DUPLICATE');
    expect(err.message).toContain('DVDI_VOLUME_NAME asks for volume "v" of driver "rexray" again (already asked for by container_info.volumes[0])');
  });

  it('parses DVDI_VOLUME_OPTS like mesos-module-dvdi', () => {
    expect(parseLegacyOptions('')).toEqual({});
    expect(parseLegacyOptions(' a=1 , b = 2 ,,c=')).toEqual({ a: '1', b: '2', c: '' });
    expect(parseLegacyOptions('a=1,a=2')).toBe('key "a" is given twice');
    expect(parseLegacyOptions('=1')).toBe('entry "=1" is not of the form key=value');
  });
});
