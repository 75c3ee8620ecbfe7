/**
 * The task environment form of mesos-module-dvdi, so its users migrate without changing frameworks:
 * `DVDI_VOLUME_NAME`, `DVDI_VOLUME_DRIVER`, `DVDI_VOLUME_OPTS` ("k=v,k2=v2") and
 * `DVDI_VOLUME_CONTAINERPATH`, and the same with the suffixes 1 to 9 for more volumes (Marathon's
 * external volumes write them this way). Legacy volumes are always read-write.
 */
import type { ContainerConfig, Environment } from '@tessera/modules-api';
import { dvdiError } from '../errors';
import { problemWithContainerPath, problemWithName, problemWithOptions } from './names';
import type { VolumeRequest } from './request';

/** LegacyOptions say whether and how the DVDI_VOLUME_* variables are read. */
export interface LegacyOptions {
  /** enabled: read DVDI_VOLUME_* variables at all (parameter legacy_env, default true). */
  enabled: boolean;
  /** defaultDriver is used when DVDI_VOLUME_DRIVER<n> is absent (parameter default_driver, "rexray" as mesos-module-dvdi). */
  defaultDriver: string;
}

/** LEGACY_SUFFIXES are the suffixes mesos-module-dvdi reads: none, then 1 to 9. */
export const LEGACY_SUFFIXES = ['', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

const VARS = ['DVDI_VOLUME_NAME', 'DVDI_VOLUME_DRIVER', 'DVDI_VOLUME_OPTS', 'DVDI_VOLUME_CONTAINERPATH'] as const;

/**
 * taskEnvironment merges the environments a container's command may carry, the most specific first:
 * the container's command, the task's command, the executor's command.
 */
export function taskEnvironment(config: ContainerConfig): Map<string, string> {
  const env = new Map<string, string>();
  const sources: (Environment | undefined)[] = [config.commandInfo?.environment, config.taskInfo?.command?.environment, config.executorInfo?.command?.environment];
  for (const source of sources) {
    for (const v of source?.variables ?? []) {
      if (v.name && !env.has(v.name)) env.set(v.name, v.value ?? '');
    }
  }
  return env;
}

/** parseLegacyOptions reads "k=v,k2=v2" (spaces around entries ignored, empty entries skipped). */
export function parseLegacyOptions(text: string): Record<string, string> | string {
  const options: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return `entry "${entry}" is not of the form key=value`;
    const key = entry.slice(0, eq).trim();
    if (key in options) return `key "${key}" is given twice`;
    options[key] = entry.slice(eq + 1).trim();
  }
  return options;
}

/** legacyRequests reads the DVDI_VOLUME_* variables of a container into validated requests. */
export function legacyRequests(containerId: string, config: ContainerConfig, opts: LegacyOptions): VolumeRequest[] {
  if (!opts.enabled) return [];
  const env = taskEnvironment(config);
  const requests: VolumeRequest[] = [];
  for (const suffix of LEGACY_SUFFIXES) {
    const invalid = (variable: string, what: string) =>
      dvdiError('DVDI_VOLUME_INVALID', `container ${containerId}: ${variable}${suffix}: ${what}; the framework must fix the task's environment`);
    const name = env.get(`DVDI_VOLUME_NAME${suffix}`);
    if (name === undefined) {
      const stray = VARS.slice(1).find((v) => env.has(`${v}${suffix}`));
      if (stray) throw invalid(stray, `is set but DVDI_VOLUME_NAME${suffix} is not`);
      continue;
    }
    const nameProblem = problemWithName('volume', name);
    if (nameProblem) throw invalid('DVDI_VOLUME_NAME', nameProblem);
    const driver = env.get(`DVDI_VOLUME_DRIVER${suffix}`) || opts.defaultDriver;
    const driverProblem = problemWithName('driver', driver);
    if (driverProblem) throw invalid('DVDI_VOLUME_DRIVER', driverProblem);
    const parsed = parseLegacyOptions(env.get(`DVDI_VOLUME_OPTS${suffix}`) ?? '');
    if (typeof parsed === 'string') throw invalid('DVDI_VOLUME_OPTS', parsed);
    const optionProblem = problemWithOptions(parsed);
    if (optionProblem) throw invalid('DVDI_VOLUME_OPTS', optionProblem);
    const containerPath = env.get(`DVDI_VOLUME_CONTAINERPATH${suffix}`) || undefined;
    if (containerPath !== undefined) {
      const pathProblem = problemWithContainerPath(containerPath);
      if (pathProblem) throw invalid('DVDI_VOLUME_CONTAINERPATH', pathProblem);
      if (!containerPath.startsWith('/')) throw invalid('DVDI_VOLUME_CONTAINERPATH', `"${containerPath}" must be an absolute path`);
    }
    requests.push({ driver, name, options: parsed, readOnly: false, containerPath, origin: `DVDI_VOLUME_NAME${suffix}`, legacy: true, legacySuffix: suffix });
  }
  return requests;
}
