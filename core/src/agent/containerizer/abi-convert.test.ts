import { toAbiTaskInfo, toContainerConfig, scalarOf } from './abi-convert';
import type { TaskInfo } from '../../master/model/mesos';

const wireTask: TaskInfo = {
  name: 'web',
  task_id: { value: 't1' },
  agent_id: { value: 'a1' },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, role: 'web' },
    { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31001 }] } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
  ],
  command: {
    value: 'serve',
    shell: false,
    arguments: ['serve', '--port', '31000'],
    user: 'www',
    uris: [{ value: 'http://x/app.tgz', extract: true, executable: false, cache: true, output_file: 'app.tgz' }],
    environment: { variables: [{ name: 'A', value: '1' }, { name: 'B' }] },
  },
  container: {
    type: 'MESOS',
    hostname: 'web-1',
    mesos: { image: { type: 'DOCKER', docker: { name: 'nginx' } } },
    volumes: [
      {
        container_path: '/data',
        mode: 'RW',
        source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'rexray', name: 'vol1', driver_options: { parameter: [{ key: 'size', value: '5' }] } } },
      },
      { container_path: 'cache', host_path: '/var/cache/web', mode: 'RO' },
      { container_path: 'logs', mode: 'RW', source: { type: 'HOST_PATH', host_path: { path: '/var/log/web' } } },
    ],
  },
  labels: { labels: [{ key: 'team', value: 'infra' }, { key: 'flag' }] },
  kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } },
  limits: { cpus: { value: 2 } },
  data: Buffer.from('xyz'),
};

describe('Mesos wire -> module ABI conversion', () => {
  it('converts a task with command, container volumes, labels, kill policy and limits', () => {
    const abi = toAbiTaskInfo(wireTask, 'fw1');
    expect(abi).toEqual({
      name: 'web',
      taskId: 't1',
      agentId: 'a1',
      frameworkId: 'fw1',
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 }, reservations: [{ type: 'STATIC', role: 'web' }] },
        { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31001 }] } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
      ],
      command: {
        value: 'serve',
        shell: false,
        arguments: ['serve', '--port', '31000'],
        user: 'www',
        uris: [{ value: 'http://x/app.tgz', extract: true, executable: false, cache: true, outputFile: 'app.tgz' }],
        environment: { variables: [{ name: 'A', value: '1' }, { name: 'B', value: '' }] },
      },
      container: {
        type: 'MESOS',
        hostname: 'web-1',
        volumes: [
          {
            containerPath: '/data',
            mode: 'RW',
            source: { type: 'DOCKER_VOLUME', dockerVolume: { driver: 'rexray', name: 'vol1', driverOptions: { size: '5' } } },
          },
          { containerPath: 'cache', hostPath: '/var/cache/web', mode: 'RO' },
          { containerPath: 'logs', hostPath: '/var/log/web', mode: 'RW', source: { type: 'HOST_PATH' } },
        ],
      },
      labels: { labels: [{ key: 'team', value: 'infra' }, { key: 'flag' }] },
      killPolicy: { gracePeriod: { nanoseconds: 5_000_000_000 } },
      limits: { cpus: { value: 2 } },
      data: new Uint8Array(Buffer.from('xyz')),
    });
  });

  it('builds the ContainerConfig isolators get', () => {
    const config = toContainerConfig({ task: wireTask, frameworkId: 'fw1', sandbox: '/work/sandbox', user: 'www' });
    expect(config).toMatchObject({
      directory: '/work/sandbox',
      user: 'www',
      containerClass: 'DEFAULT',
      commandInfo: { value: 'serve' },
      containerInfo: { type: 'MESOS' },
      limits: { cpus: { value: 2 } },
      taskInfo: { taskId: 't1' },
    });
    expect(config.resources).toHaveLength(4);
  });

  it('keeps a minimal task minimal and reads plain driver_options maps', () => {
    const abi = toAbiTaskInfo({
      name: 'min',
      task_id: { value: 't' },
      agent_id: { value: 'a' },
      container: { type: 'DOCKER', volumes: [{ container_path: 'v', source: { type: 'DOCKER_VOLUME', docker_volume: { name: 'n', driver_options: { k: 'v' } } } }] },
    });
    expect(abi).toEqual({
      name: 'min',
      taskId: 't',
      agentId: 'a',
      container: { type: 'DOCKER', volumes: [{ containerPath: 'v', source: { type: 'DOCKER_VOLUME', dockerVolume: { name: 'n', driverOptions: { k: 'v' } } } }] },
    });
  });

  it('sums scalar resources by name', () => {
    expect(scalarOf(wireTask.resources, 'mem')).toBe(192);
    expect(scalarOf(wireTask.resources, 'gpus')).toBeUndefined();
  });
});
