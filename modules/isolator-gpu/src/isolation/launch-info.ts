/**
 * What Prepare answers for a container: the environment that names its GPUs, the driver volume (a
 * read-only bind mount, or PATH/LD_LIBRARY_PATH into the host directory), and the device nodes.
 *
 * NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES are the GPUs' UUIDs (indexes when no driver reported
 * UUIDs). Mesos sets neither: its containers see only their GPUs because the devices cgroup denies the
 * others, so CUDA and nvidia-smi number them 0..n-1 inside. Host indexes would therefore be wrong
 * inside a container (CUDA_VISIBLE_DEVICES=1 names a second GPU the container does not have), and 0..n-1
 * would be wrong for any tool that does not skip the GPUs it cannot open; a UUID names the same GPU
 * either way, and does not depend on CUDA's fastest-first ordering. A container without GPUs gets
 * NVIDIA_VISIBLE_DEVICES=void (nvidia-container-runtime: no GPU) and CUDA_VISIBLE_DEVICES empty (CUDA
 * sees none).
 *
 * ```ts
 * launchInfoFor({ gpus: [gpu1], devRoot: '/dev', controls, volume, volumeMode: 'mount', containerPath: '/usr/local/nvidia' });
 * // { environment: { variables: [NVIDIA_VISIBLE_DEVICES=GPU-..., CUDA_VISIBLE_DEVICES=GPU-..., PATH=..., LD_LIBRARY_PATH=...] }, mounts: [...], devices: [...] }
 * ```
 */
import type * as T from '@tessera/modules-api';
import { gpuNode, type ControlDevice } from '../discovery/device-nodes';
import { gpuId, NVIDIA_MAJOR, type Gpu } from '../discovery/gpu';
import type { DriverVolume } from './driver-volume';

/** DEFAULT_PATH is the PATH the agent gives containers when it has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** LaunchInput is what one container's launch info is made of. */
export interface LaunchInput {
  gpus: readonly Gpu[];
  devRoot: string;
  controls: readonly ControlDevice[];
  volume?: DriverVolume;
  /**
   * mount: bind the volume read-only at containerPath; env: point PATH/LD_LIBRARY_PATH at the host dir;
   * in-place: the driver's files are at containerPath already (see livesUnder): point them there, no mount.
   */
  volumeMode: VolumeUse;
  containerPath: string;
  /** The PATH to extend (the agent's, which the module inherits). */
  basePath?: string;
  baseLibraryPath?: string;
}

/** VolumeUse is how one container gets the driver volume. */
export type VolumeUse = 'mount' | 'env' | 'in-place';

const v = (name: string, value: string): T.EnvironmentVariable => ({ name, value });

/** launchInfoFor builds the ContainerLaunchInfo of a container holding `gpus`. */
export function launchInfoFor(input: LaunchInput): T.ContainerLaunchInfo {
  if (input.gpus.length === 0) {
    return { environment: { variables: [v('NVIDIA_VISIBLE_DEVICES', 'void'), v('CUDA_VISIBLE_DEVICES', '')] } };
  }
  const ids = input.gpus.map(gpuId).join(',');
  const variables = [v('NVIDIA_VISIBLE_DEVICES', ids), v('CUDA_VISIBLE_DEVICES', ids)];
  const info: T.ContainerLaunchInfo = {};
  if (input.volume) {
    const at = input.volumeMode === 'env' ? input.volume.dir : input.containerPath;
    const basePath = input.basePath || DEFAULT_PATH;
    variables.push(v('PATH', `${at}/bin:${basePath}`), v('LD_LIBRARY_PATH', [`${at}/lib64`, input.baseLibraryPath].filter(Boolean).join(':')));
    if (input.volumeMode === 'mount') info.mounts = [{ source: input.volume.dir, target: input.containerPath, flags: ['bind', 'ro'] }];
  }
  info.environment = { variables };
  info.devices = [
    ...input.gpus.map((g) => ({ id: gpuId(g), path: gpuNode(input.devRoot, g.minor), type: 'c', major: NVIDIA_MAJOR, minor: g.minor, access: 'rwm' })),
    ...input.controls.map((c) => ({ path: c.path, type: 'c', major: c.major, minor: c.minor, access: 'rwm' })),
  ];
  return info;
}
