/**
 * `@tessera/isolator-dvdi`: persistent external volumes for Tessera tasks through Docker volume plugins,
 * as Mesos's `docker/volume` isolator and mesos-module-dvdi gave them, without `dvdcli` and without a
 * rebuild per release. The package holds the isolator module (`dist/module.js`, run by the agent from
 * modules.json), the Docker volume plugin client it uses, and `tessera-volume-local`, a real local
 * volume plugin (`bin/tessera-volume-local.js`).
 *
 * ```ts
 * import { discover, VolumePluginClient } from '@tessera/isolator-dvdi';
 *
 * const endpoint = discover('tessera-local', { socketDirs: ['/run/docker/plugins'], specDirs: ['/etc/docker/plugins'] });
 * const client = new VolumePluginClient(endpoint, { timeoutMs: 5000 });
 * await client.activate();
 * await client.create('data', { size: '64M' });
 * const mountpoint = await client.mount('data', 'my-id');   // "/var/lib/tessera-volumes/volumes/data/_data"
 * await client.unmount('data', 'my-id');
 * ```
 *
 * @packageDocumentation
 */
export { dvdiModule } from './module';
export { PARAMETERS_SCHEMA, resolveParameters, parseDurationMs, type DvdiParameters, type DvdiSettings } from './parameters';
export { DvdiErrorCodes, VolumeLocalErrorCodes, dvdiError, type DvdiErrorCode, type VolumeLocalErrorCode } from './errors';
export { VolumePluginClient, type PluginClientOptions, type Scope } from './docker/plugin-client';
export {
  discover,
  parseUrl,
  DEFAULT_SOCKET_DIRS,
  DEFAULT_SPEC_DIRS,
  type DiscoveryOptions,
  type PluginAddress,
  type PluginEndpoint,
  type TlsFiles,
} from './docker/discovery';
export { DriverRegistry, type RegistryOptions } from './docker/registry';
export * from './docker/protocol';
export { VolumeIsolator, type VolumeIsolatorOptions } from './isolator/volume-isolator';
export { CheckpointStore, type CheckpointedVolume, type ContainerCheckpoint } from './isolator/checkpoints';
export { MountTable, type VolumeUse } from './isolator/mount-table';
export { volumeRequests, volumeKey, MAX_VOLUMES, type VolumeRequest } from './volumes/request';
export { legacyRequests, parseLegacyOptions, taskEnvironment, LEGACY_SUFFIXES, type LegacyOptions } from './volumes/legacy-env';
export { problemWithName, problemWithOption, problemWithOptions, problemWithContainerPath } from './volumes/names';
export { targetOf, ensureTarget, type TargetContext } from './volumes/targets';
export { VolumeStore, type VolumeRecord, type StoreLog } from './plugin/store';
export { listenPlugin, type PluginServer } from './plugin/server';
export { parseFlags, runCli, DEFAULT_ROOT, DEFAULT_SOCKET, type PluginFlags } from './plugin/main';
export { parseOptions, parseSize, KNOWN_OPTIONS, MIN_SIZE_BYTES, type VolumeOptions } from './plugin/options';
export { PluginError } from './plugin/plugin-errors';
export { readMountinfo, mountsAt, mountsUnder, type MountEntry } from './plugin/mountinfo';
