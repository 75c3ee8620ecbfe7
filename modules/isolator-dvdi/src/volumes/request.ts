/**
 * VolumeRequest is one Docker volume a container asks for, whichever way it was asked: the Mesos way
 * (`ContainerInfo.volumes[]` with `source.type = DOCKER_VOLUME`) or mesos-module-dvdi's task
 * environment (`DVDI_VOLUME_NAME` ...). {@link volumeRequests} reads both and checks them.
 */
import type { ContainerConfig, Volume } from '@tessera/modules-api';
import { dvdiError } from '../errors';
import { legacyRequests, type LegacyOptions } from './legacy-env';
import { problemWithContainerPath, problemWithName, problemWithOptions } from './names';

/** VolumeRequest is one volume to mount for a container. */
export interface VolumeRequest {
  /** driver is the Docker volume driver's name, e.g. "tessera-local" or "rexray". */
  driver: string;
  /** name is the volume's name at the driver. */
  name: string;
  /** options are passed to the driver's Create when the volume does not exist yet. */
  options: Record<string, string>;
  /** readOnly is true for mode RO: the bind mount into the container is read-only. */
  readOnly: boolean;
  /**
   * containerPath is where the container sees the volume: relative (inside the sandbox) or absolute.
   * Absent only for a legacy request without DVDI_VOLUME_CONTAINERPATH: the volume then stays at the
   * driver's mountpoint, as mesos-module-dvdi left it.
   */
  containerPath?: string;
  /** origin names the request in messages: "container_info.volumes[1]" or "DVDI_VOLUME_NAME2". */
  origin: string;
  /** legacy is true for a request from DVDI_VOLUME_* variables (container paths: see targets.ts). */
  legacy: boolean;
  /** legacySuffix is "" or "1".."9" for legacy requests: it names the DVDI_VOLUME_MOUNTPOINT variable. */
  legacySuffix?: string;
}

/** MAX_VOLUMES is the most volumes one container may ask for. */
export const MAX_VOLUMES = 32;

/** volumeKey identifies a volume across containers: driver and name. */
export const volumeKey = (driver: string, name: string): string => `${driver}/${name}`;

/**
 * volumeRequests reads every Docker volume a container asks for and validates them: names, options,
 * modes and paths, no driver/name or container path twice. It throws DVDI_VOLUME_INVALID or
 * DVDI_VOLUME_DUPLICATE naming the container and the offending request; [] when none is asked for.
 */
export function volumeRequests(containerId: string, config: ContainerConfig, legacy: LegacyOptions): VolumeRequest[] {
  const info = config.containerInfo ?? config.taskInfo?.container ?? config.executorInfo?.container;
  const requests: VolumeRequest[] = [];
  (info?.volumes ?? []).forEach((v, i) => {
    if (v.source?.type !== 'DOCKER_VOLUME') return;
    requests.push(fromVolume(containerId, v, `container_info.volumes[${i}]`));
  });
  requests.push(...legacyRequests(containerId, config, legacy));
  if (requests.length > MAX_VOLUMES) {
    throw dvdiError('DVDI_VOLUME_INVALID', `container ${containerId} asks for ${requests.length} Docker volumes; at most ${MAX_VOLUMES} are accepted per container`);
  }
  const byKey = new Map<string, VolumeRequest>();
  const byPath = new Map<string, VolumeRequest>();
  for (const r of requests) {
    const key = volumeKey(r.driver, r.name);
    const earlier = byKey.get(key);
    if (earlier) {
      throw dvdiError(
        'DVDI_VOLUME_DUPLICATE',
        `container ${containerId}: ${r.origin} asks for volume "${r.name}" of driver "${r.driver}" again (already asked for by ${earlier.origin}); ` +
          'a volume can be mounted once per container: the framework must remove the duplicate',
      );
    }
    byKey.set(key, r);
    if (r.containerPath === undefined) continue;
    const pathKey = r.containerPath.replace(/\/+$/, '');
    const samePath = byPath.get(pathKey);
    if (samePath) {
      throw dvdiError(
        'DVDI_VOLUME_DUPLICATE',
        `container ${containerId}: ${r.origin} and ${samePath.origin} both mount at container path "${r.containerPath}": the framework must give each volume its own path`,
      );
    }
    byPath.set(pathKey, r);
  }
  return requests;
}

function fromVolume(containerId: string, v: Volume, origin: string): VolumeRequest {
  const invalid = (what: string) =>
    dvdiError('DVDI_VOLUME_INVALID', `container ${containerId}: ${origin}: ${what}; the framework must fix the task's ContainerInfo`);
  const dv = v.source?.dockerVolume;
  if (!dv) throw invalid('source.type is DOCKER_VOLUME but source.docker_volume is missing');
  const driverProblem = problemWithName('driver', dv.driver);
  if (driverProblem) throw invalid(`docker_volume.driver: ${driverProblem}`);
  const nameProblem = problemWithName('volume', dv.name);
  if (nameProblem) throw invalid(`docker_volume.name: ${nameProblem}`);
  const options = { ...(dv.driverOptions ?? {}) };
  const optionProblem = problemWithOptions(options);
  if (optionProblem) throw invalid(`docker_volume.driver_options: ${optionProblem}`);
  const mode = v.mode ?? 'RW';
  if (mode !== 'RW' && mode !== 'RO') throw invalid(`mode "${String(mode)}" is neither RW nor RO`);
  const pathProblem = problemWithContainerPath(v.containerPath);
  if (pathProblem) throw invalid(`container_path: ${pathProblem}`);
  return { driver: dv.driver!, name: dv.name!, options, readOnly: mode === 'RO', containerPath: v.containerPath!, origin, legacy: false };
}
