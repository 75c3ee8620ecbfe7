/**
 * `@tessera/isolator-cgroups`: resource isolation and accounting through Linux control groups (v1 and
 * v2), with the semantics of Mesos's `cgroups/*` isolators, as a module process (`dist/module.js`, run
 * by the agent from modules.json with `--isolation=cgroups`) and as a library for tests and tools.
 *
 * ```ts
 * import { serveInProcess, IsolatorClient } from '@tessera/modules-api';
 * import { cgroupsModule } from '@tessera/isolator-cgroups';
 *
 * const mod = await serveInProcess(cgroupsModule(), { parameters: { subsystems: ['cpu', 'memory'], root: 'tessera-try' } });
 * const cgroups = new IsolatorClient(mod);
 * await cgroups.prepare({ value: 'c1' }, { resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }] });
 * await cgroups.isolate({ value: 'c1' }, pid);       // the held process of the container
 * const stats = await cgroups.usage({ value: 'c1' }); // { memLimitBytes: 67108864, ... }
 * await cgroups.cleanup({ value: 'c1' });            // kills what is left, removes the cgroups
 * ```
 *
 * @packageDocumentation
 */
export { cgroupsModule, type CgroupsModuleOptions } from './module';
export {
  PARAMETERS_SCHEMA,
  SUBSYSTEMS,
  DEFAULT_SUBSYSTEMS,
  DEFAULT_PIDS_MAX,
  resolveParameters,
  ParameterError,
  type CgroupsParameters,
  type CgroupsSettings,
  type Subsystem,
  type HierarchyChoice,
} from './parameters';
export { CgroupsErrorCodes, cgroupsError, errnoText, type CgroupsErrorCode } from './errors';
export { CgroupsIsolator, containerIdOf, KILL_TIMEOUT_MS } from './internal/isolator';
export { cpuShares, cfsQuotaUs, cpuWeight, cpuMax, limitsOf, formatBytes, MIN_MEMORY_BYTES, type Limits } from './internal/limits';
export { DEFAULT_ALLOWED_DEVICES, parseDeviceRule, formatDeviceRule, type DeviceRule } from './internal/devices';
export { parseMountinfo, type CgroupMount } from './internal/mountinfo';
export { findLayout, chooseDriver, type Layout } from './internal/layout';
export { LEAF } from './internal/v2';
