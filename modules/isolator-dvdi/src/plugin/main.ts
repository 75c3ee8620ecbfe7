/**
 * `tessera-volume-local`: the command line of the local Docker volume plugin.
 *
 * ```
 * tessera-volume-local [--socket=/run/docker/plugins/tessera-local.sock] [--root=/var/lib/tessera-volumes] [--log_level=info]
 * ```
 * The driver's name is the socket's file name without `.sock` (Docker's discovery): by default
 * "tessera-local". Logs are JSON lines on stderr. SIGTERM or SIGINT stops it; volumes and mounts stay.
 */
import path from 'node:path';
import { PluginError } from './plugin-errors';
import { listenPlugin } from './server';
import { VolumeStore, type StoreLog } from './store';

/** DEFAULT_SOCKET and DEFAULT_ROOT are where the plugin listens and keeps volumes by default. */
export const DEFAULT_SOCKET = '/run/docker/plugins/tessera-local.sock';
export const DEFAULT_ROOT = '/var/lib/tessera-volumes';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** PluginFlags are the parsed command line. */
export interface PluginFlags {
  socket: string;
  root: string;
  logLevel: (typeof LEVELS)[number];
}

const USAGE = `Usage: tessera-volume-local [--socket=PATH] [--root=DIR] [--log_level=debug|info|warn|error]

A Docker volume plugin: volumes are directories under --root (default ${DEFAULT_ROOT}),
or ext4 images of a fixed size (-o size=64M), served on --socket (default ${DEFAULT_SOCKET}).
The driver's name is the socket's file name without .sock.
`;

/** parseFlags reads the command line; it throws DVDI_LOCAL_FLAG_INVALID for an unknown flag or bad value. */
export function parseFlags(argv: readonly string[]): PluginFlags | 'help' {
  const flags: PluginFlags = { socket: DEFAULT_SOCKET, root: DEFAULT_ROOT, logLevel: 'info' };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return 'help';
    const m = /^--([a-z_]+)=(.*)$/.exec(arg);
    if (!m) throw new PluginError('DVDI_LOCAL_FLAG_INVALID', `"${arg}" is not a flag of the form --name=value\n${USAGE}`);
    const [, name, value] = m;
    if (name === 'socket' || name === 'root') {
      if (!path.isAbsolute(value)) throw new PluginError('DVDI_LOCAL_FLAG_INVALID', `--${name}=${value}: must be an absolute path`);
      flags[name] = path.normalize(value);
    } else if (name === 'log_level') {
      if (!(LEVELS as readonly string[]).includes(value)) throw new PluginError('DVDI_LOCAL_FLAG_INVALID', `--log_level=${value}: must be one of ${LEVELS.join(', ')}`);
      flags.logLevel = value as PluginFlags['logLevel'];
    } else {
      throw new PluginError('DVDI_LOCAL_FLAG_INVALID', `unknown flag --${name}; the flags are --socket, --root and --log_level\n${USAGE}`);
    }
  }
  if (!flags.socket.endsWith('.sock')) throw new PluginError('DVDI_LOCAL_FLAG_INVALID', `--socket=${flags.socket}: must end in .sock (Docker finds plugins by <name>.sock)`);
  return flags;
}

/** jsonLog writes JSON lines on stderr at or above a level. */
export function jsonLog(min: PluginFlags['logLevel']): StoreLog {
  return (level, msg, fields) => {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(min)) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

/** runCli runs the plugin until SIGTERM or SIGINT; exit 2 for bad flags, 1 when it cannot start. */
export function runCli(argv: readonly string[]): void {
  let flags: PluginFlags | 'help';
  try {
    flags = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`error ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (flags === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const f = flags;
  const log = jsonLog(f.logLevel);
  void (async () => {
    const store = await VolumeStore.open(f.root, log);
    const server = await listenPlugin(store, f.socket, log);
    const driver = path.basename(f.socket, '.sock');
    log('info', 'tessera-volume-local listening', { socket: f.socket, root: store.root, driver, volumes: store.records().length, pid: process.pid });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log('info', 'stopping', { signal });
      void server.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  })().catch((err: unknown) => {
    process.stderr.write(`error ${err instanceof PluginError ? err.message : String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
