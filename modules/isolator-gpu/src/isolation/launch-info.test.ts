import type { Gpu } from '../discovery/gpu';
import type { DriverVolume } from './driver-volume';
import { launchInfoFor } from './launch-info';

const gpus: Gpu[] = [
  { index: 1, minor: 1, uuid: 'GPU-b', health: 'HEALTHY' },
  { index: 3, minor: 3, uuid: 'GPU-d', health: 'HEALTHY' },
];
const volume: DriverVolume = { dir: '/state/nvidia-volume', bin: '/state/nvidia-volume/bin', lib64: '/state/nvidia-volume/lib64', binaries: [], libraries: [], targets: [] };
const controls = [{ path: '/dev/nvidiactl', major: 195, minor: 255 }];
const vars = (info: ReturnType<typeof launchInfoFor>) => Object.fromEntries((info.environment?.variables ?? []).map((v) => [v.name, v.value]));

describe('launchInfoFor', () => {
  it('names the GPUs by UUID in NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES, and mounts the driver volume read-only', () => {
    const info = launchInfoFor({ gpus, devRoot: '/dev', controls, volume, volumeMode: 'mount', containerPath: '/usr/local/nvidia', basePath: '/usr/bin:/bin', baseLibraryPath: '/opt/lib' });
    expect(vars(info)).toEqual({
      NVIDIA_VISIBLE_DEVICES: 'GPU-b,GPU-d',
      CUDA_VISIBLE_DEVICES: 'GPU-b,GPU-d',
      PATH: '/usr/local/nvidia/bin:/usr/bin:/bin',
      LD_LIBRARY_PATH: '/usr/local/nvidia/lib64:/opt/lib',
    });
    expect(info.mounts).toEqual([{ source: '/state/nvidia-volume', target: '/usr/local/nvidia', flags: ['bind', 'ro'] }]);
    expect(info.devices?.map((d) => `${d.path} ${d.major}:${d.minor}`)).toEqual(['/dev/nvidia1 195:1', '/dev/nvidia3 195:3', '/dev/nvidiactl 195:255']);
  });

  it('points PATH at the host directory in env mode; uses indexes without UUIDs; tells a GPU-less container it has none', () => {
    const env = launchInfoFor({ gpus: [{ index: 2, minor: 2, health: 'UNKNOWN' }], devRoot: '/dev', controls, volume, volumeMode: 'env', containerPath: '/usr/local/nvidia', basePath: '/bin' });
    expect(vars(env)).toEqual({ NVIDIA_VISIBLE_DEVICES: '2', CUDA_VISIBLE_DEVICES: '2', PATH: '/state/nvidia-volume/bin:/bin', LD_LIBRARY_PATH: '/state/nvidia-volume/lib64' });
    expect(env.mounts).toBeUndefined();
    expect(vars(launchInfoFor({ gpus: [], devRoot: '/dev', controls, volumeMode: 'env', containerPath: '/x' }))).toEqual({ NVIDIA_VISIBLE_DEVICES: 'void', CUDA_VISIBLE_DEVICES: '' });
  });

  it('points PATH at the driver where it is installed, mounting nothing, in place', () => {
    const inPlace = launchInfoFor({ gpus, devRoot: '/dev', controls, volume, volumeMode: 'in-place', containerPath: '/usr/local/nvidia', basePath: '/bin' });
    expect(vars(inPlace)).toMatchObject({ PATH: '/usr/local/nvidia/bin:/bin', LD_LIBRARY_PATH: '/usr/local/nvidia/lib64' });
    expect(inPlace.mounts).toBeUndefined();
  });
});
