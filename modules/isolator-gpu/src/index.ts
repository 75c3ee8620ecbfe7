/**
 * `@tessera/isolator-gpu`: NVIDIA GPUs for Tessera tasks, with the semantics of Mesos's `gpu/nvidia`
 * isolator, as a module process (`dist/module.js`, run by the agent from modules.json with
 * `--isolation=...,gpu`) and as a library for tests and tools. It discovers the GPUs through nvidia-smi
 * (their minor numbers from the driver's /proc/driver/nvidia or `nvidia-smi -q`), or takes the
 * operator's list, advertises them as `gpus` through WatchResources (updated when their health
 * changes), gives each container whole GPUs (checkpointed, kept across restarts), lets the container's
 * devices cgroup open only those, and names them in NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES.
 *
 * ```ts
 * import { serveInProcess, IsolatorClient } from '@tessera/modules-api';
 * import { gpuModule } from '@tessera/isolator-gpu';
 *
 * const mod = await serveInProcess(gpuModule(), { parameters: { root: 'tessera-try' }, stateDir: '/var/lib/try' });
 * const gpu = new IsolatorClient(mod);
 * const info = await gpu.prepare({ value: 'c1' }, { resources: [{ name: 'gpus', type: 'SCALAR', scalar: { value: 1 } }] });
 * await gpu.isolate({ value: 'c1' }, pid);   // the held process: it may open only its GPU
 * await gpu.cleanup({ value: 'c1' });        // the GPU is free again
 * ```
 *
 * @packageDocumentation
 */
export { gpuModule, type GpuModuleOptions } from './module';
export { GpuIsolator, gpusRequested, type GpuIsolatorParts, type IsolatorLog } from './isolator';
export { PARAMETERS_SCHEMA, DEFAULT_ROOT, DEFAULT_HEALTH_POLL_INTERVAL_MS, resolveParameters, ParameterError, type GpuParameters, type GpuSettings, type VolumeMode } from './parameters';
export { GpuErrorCodes, gpuError, taskInvalid, TASK_INVALID, type GpuErrorCode } from './errors';
export { NVIDIA_MAJOR, NVIDIACTL_MINOR, HIGHEST_GPU_MINOR, gpuLabel, gpuId, type Gpu, type Health } from './discovery/gpu';
export {
  readRun,
  parseQueryOutput,
  gpuOfRow,
  busIdOf,
  queryUsage,
  runNvidiaSmi,
  sameBus,
  DISCOVERY_FIELDS,
  BASIC_FIELDS,
  USAGE_FIELDS,
  type Row,
  type LostGpu,
  type SmiAnswer,
  type SmiOptions,
  type SmiRun,
  type GpuUsage,
} from './discovery/nvidia-smi';
export { discover, findMinors, gpusOfAnswer, type Discovery, type DiscoverOptions, type MinorNumbers } from './discovery/discover';
export { parseDriverInformation, readDriverMinors, parseSmiQuery, minorOf, isBusId, type MinorEntry, type DriverMinors } from './discovery/minor-numbers';
export { selectGpus, refreshHealth, type Inventory, type DeviceRef } from './discovery/inventory';
export { nodeNumbers, parseProcDevices, controlDevices, gpuNode, type ControlDevice, type DeviceNumbers } from './discovery/device-nodes';
export { Assignments, type Assignment } from './allocation/assignments';
export { CheckpointStore, CHECKPOINT_FILE } from './allocation/checkpoint';
export { DevicesCgroup, type DevicesMode } from './isolation/devices-cgroup';
export { buildDriverVolume, parseLdconfig, findLibraries, VOLUME_BINARIES, VOLUME_LIBRARIES, type DriverVolume } from './isolation/driver-volume';
export { launchInfoFor, type LaunchInput } from './isolation/launch-info';
export { ResourceFeed, resourceList, deviceOf } from './resource-feed';
