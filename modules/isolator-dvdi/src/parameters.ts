/**
 * The module's parameters: their JSON Schema (the core validates an operator's modules.json entry
 * against it before Configure) and their resolution into settings with defaults.
 */
import path from 'node:path';
import { DEFAULT_SOCKET_DIRS, DEFAULT_SPEC_DIRS } from './docker/discovery';
import { DRIVER_NAME } from './volumes/names';

/** DvdiParameters are the parameters as an operator writes them in modules.json. */
export interface DvdiParameters {
  /** Directories searched for `<driver>.sock` (default ["/run/docker/plugins"]). */
  plugin_socket_dirs?: string[];
  /** Directories searched for `<driver>.spec` and `<driver>.json` (default Docker's). */
  plugin_spec_dirs?: string[];
  /** Driver name -> address (unix:///path.sock, tcp://host:port), consulted before discovery. */
  drivers?: Record<string, string>;
  /** Time one plugin call may take: "4s", "500ms", or milliseconds (default "4s"). */
  plugin_timeout?: string | number;
  /** Driver of legacy DVDI_VOLUME_NAME volumes without DVDI_VOLUME_DRIVER (default "rexray", as mesos-module-dvdi). */
  default_driver?: string;
  /** Read mesos-module-dvdi's DVDI_VOLUME_* task variables (default true). */
  legacy_env?: boolean;
  /** Where checkpoints live; default the state directory the core gives at Configure. */
  state_dir?: string;
}

/** DvdiSettings are the parameters resolved, with defaults. */
export interface DvdiSettings {
  socketDirs: string[];
  specDirs: string[];
  drivers: Record<string, string>;
  pluginTimeoutMs: number;
  defaultDriver: string;
  legacyEnv: boolean;
  stateDir?: string;
}

const DURATION = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|secs?|m|mins?)\\s*$';
const ABSOLUTE_PATH = { type: 'string', pattern: '^/' };

/** PARAMETERS_SCHEMA is the JSON Schema (draft-07) of {@link DvdiParameters}. */
export const PARAMETERS_SCHEMA: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    plugin_socket_dirs: {
      description: 'Directories searched for a driver\'s unix socket <driver>.sock or <driver>/<driver>.sock, in order.',
      type: 'array',
      items: ABSOLUTE_PATH,
      default: [...DEFAULT_SOCKET_DIRS],
    },
    plugin_spec_dirs: {
      description: 'Directories searched for <driver>.spec (a URL: unix:///path or tcp://host:port) and <driver>.json ({"Addr", "TLSConfig"}), in order.',
      type: 'array',
      items: ABSOLUTE_PATH,
      default: [...DEFAULT_SPEC_DIRS],
    },
    drivers: {
      description: 'Addresses of drivers by name, consulted before discovery, e.g. {"local": "unix:///run/docker/plugins/tessera-local.sock"}.',
      type: 'object',
      propertyNames: { pattern: DRIVER_NAME.source },
      additionalProperties: { type: 'string', pattern: '^(unix|tcp|http|https)://' },
    },
    plugin_timeout: {
      description: 'Time one plugin call may take ("4s", "500ms"; a number means milliseconds). Keep it below the module\'s timeouts.call.',
      oneOf: [{ type: 'string', pattern: DURATION }, { type: 'number', exclusiveMinimum: 0 }],
      default: '4s',
    },
    default_driver: {
      description: 'Driver of legacy DVDI_VOLUME_NAME<n> volumes without DVDI_VOLUME_DRIVER<n> ("rexray", as mesos-module-dvdi).',
      type: 'string',
      pattern: DRIVER_NAME.source,
      default: 'rexray',
    },
    legacy_env: {
      description: 'Read the DVDI_VOLUME_* task environment variables of mesos-module-dvdi.',
      type: 'boolean',
      default: true,
    },
    state_dir: {
      description: 'Directory of the checkpoints; default the state directory the core gives the module (under the agent\'s --work_dir).',
      ...ABSOLUTE_PATH,
    },
  },
};

/** parseDurationMs reads "4s", "500ms", "1min" or a number of milliseconds. */
export function parseDurationMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|secs?|m|mins?)\s*$/.exec(value);
  if (!m) throw new Error(`"${value}" is not a duration such as "4s" or "500ms"`);
  const unit = m[2] === 'ms' ? 1 : m[2].startsWith('m') ? 60_000 : 1000;
  return Number(m[1]) * unit;
}

/** resolveParameters applies the defaults; `stateDir` is the core's, used unless state_dir is given. */
export function resolveParameters(p: DvdiParameters, stateDir?: string): DvdiSettings {
  return {
    socketDirs: p.plugin_socket_dirs ?? [...DEFAULT_SOCKET_DIRS],
    specDirs: p.plugin_spec_dirs ?? [...DEFAULT_SPEC_DIRS],
    drivers: p.drivers ?? {},
    pluginTimeoutMs: parseDurationMs(p.plugin_timeout ?? '4s'),
    defaultDriver: p.default_driver ?? 'rexray',
    legacyEnv: p.legacy_env ?? true,
    stateDir: p.state_dir ? path.resolve(p.state_dir) : stateDir || undefined,
  };
}
