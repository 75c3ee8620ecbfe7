/**
 * `tessera agent`: runs an agent in the foreground until SIGTERM/SIGINT. Flags follow Mesos's agent
 * names; each is also settable as `TESSERA_<FLAG>`. Stopping the agent leaves its containers running:
 * started again on the same --work_dir, it recovers them.
 *
 * ```sh
 * tessera agent --master=127.0.0.1:5050 --work_dir=/var/lib/tessera/agent --resources='cpus:4;mem:8192'
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import path from 'node:path';
import { DEFAULT_ISOLATION, runAgent } from '../agent/run-agent';
import { parseAttributes, parseResources } from '../agent/resources';
import type { Log } from '../log';
import { loadModulesJson } from '../modules/modules-json';
import { flagsHelp, parseFlags, type FlagSpec } from './flags';

/** AGENT_FLAGS are the flags of `tessera agent`. */
export const AGENT_FLAGS: Record<string, FlagSpec> = {
  master: { type: 'string', help: 'the master, HOST:PORT (required)' },
  work_dir: { type: 'string', help: 'directory for sandboxes, checkpoints (meta/) and module state (required)' },
  ip: { type: 'string', default: '0.0.0.0', help: 'address the agent\'s HTTP endpoints listen on' },
  port: { type: 'int', default: '5051', min: 0, max: 65535, help: 'port of the agent\'s HTTP endpoints (0: any free port)' },
  hostname: { type: 'string', help: 'hostname to advertise (default: this machine\'s)' },
  runtime_dir: { type: 'string', help: 'directory for container runtime state (default: <work_dir>/run)' },
  resources: { type: 'string', help: 'resources to offer, e.g. "cpus:4;mem:8192;disk:10000;ports:[31000-32000]", roles as cpus(role):2, or a JSON array (default: detected)' },
  attributes: { type: 'string', help: 'attributes, e.g. "rack:r1;zone:z2"' },
  isolation: { type: 'string', default: DEFAULT_ISOLATION.join(','), help: 'ordered isolators: posix/cpu, posix/mem, filesystem/posix and isolator modules of --modules' },
  modules: { type: 'string', help: 'modules.json with the isolator (and hook) modules' },
  hooks: { type: 'string', help: 'comma-separated hook modules of --modules, called in this order (agent hooks)' },
  executor_shutdown_grace_period: { type: 'duration', default: '5secs', min: 0, help: 'kill grace period (SIGTERM to SIGKILL) when the kill policy gives none' },
  gc_delay: { type: 'duration', default: '1weeks', min: 0, help: 'longest time a completed task\'s sandbox is kept; less as the disk fills (see --gc_disk_headroom)' },
  gc_disk_headroom: { type: 'number', default: '0.1', min: 0, max: 1, help: 'free disk fraction to keep: sandboxes go after gc_delay × max(0, 1 − headroom − disk usage)' },
  disk_watch_interval: { type: 'duration', default: '1mins', positive: true, help: 'time between sandbox gc sweeps (disk usage checks)' },
  switch_user: { type: 'bool', default: 'true', help: "run each task as its CommandInfo.user, else its framework's user (FrameworkInfo.user), as Mesos; false: as the agent's user" },
  recover: { type: 'string', default: 'reconnect', help: 'after a restart: reconnect (resume running tasks) or cleanup (kill them)' },
  quiet: { type: 'bool', default: 'false', help: 'log warnings and errors only' },
};

const list = (v: unknown): string[] =>
  String(v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** agentCommand runs `tessera agent [flags]`; resolves with the exit status when the agent stops. */
export async function agentCommand(argv: string[], out: (s: string) => void, log: Log): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(`usage: tessera agent --master=HOST:PORT --work_dir=DIR [flags]\n\nflags (also TESSERA_<FLAG> environment variables):\n${flagsHelp(AGENT_FLAGS)}\n  --log_level=<level>                   debug, info, warn or error\n`);
    return 0;
  }
  const { values: v, positional, effective, sources } = parseFlags(argv, AGENT_FLAGS);
  if (positional.length) throw new TesseraError('TSR_FLAG_INVALID', `tessera agent takes no arguments, got '${positional.join(' ')}': flags are --name=value`);
  // `http://host:5050/` is taken as host:5050, as `tessera run` takes it (the master's URL is what operators copy).
  const master = (v.master as string | undefined)?.replace(/^http:\/\//, '').replace(/\/+$/, '');
  if (!master) throw new TesseraError('TSR_FLAG_INVALID', 'flag --master is required: the master\'s HOST:PORT, e.g. --master=127.0.0.1:5050');
  if (!/^[^\s:]+:\d{1,5}$/.test(master) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(master)) {
    throw new TesseraError('TSR_FLAG_INVALID', `${sources.master} '${master}': must be HOST:PORT, e.g. 127.0.0.1:5050 (ZooKeeper and etcd URLs need a detector module, which this agent does not take yet)`);
  }
  const workDir = v.work_dir as string | undefined;
  if (!workDir) throw new TesseraError('TSR_FLAG_INVALID', 'flag --work_dir is required: the directory for sandboxes and checkpoints, e.g. --work_dir=/var/lib/tessera/agent');
  const port = v.port as number;
  const recover = v.recover as string;
  if (recover !== 'reconnect' && recover !== 'cleanup') throw new TesseraError('TSR_FLAG_INVALID', `${sources.recover} '${recover}': must be reconnect or cleanup`);
  const isolation = list(v.isolation);
  if (isolation.length === 0) throw new TesseraError('TSR_FLAG_INVALID', `flag --isolation is empty: give at least one isolator, e.g. --isolation=${DEFAULT_ISOLATION.join(',')}`);
  // Parsed here too so that a typo is a usage error (exit 2) before anything starts.
  if (v.resources) parseResources(v.resources as string, sources.resources);
  if (v.attributes) parseAttributes(v.attributes as string, sources.attributes);
  const running = await runAgent({
    master,
    ip: v.ip as string,
    port,
    hostname: v.hostname as string | undefined,
    workDir: path.resolve(workDir),
    runtimeDir: v.runtime_dir ? path.resolve(v.runtime_dir as string) : undefined,
    resources: v.resources as string | undefined,
    attributes: v.attributes as string | undefined,
    isolation,
    modules: v.modules ? loadModulesJson(v.modules as string) : undefined,
    hooks: list(v.hooks),
    executorShutdownGracePeriodMs: v.executor_shutdown_grace_period as number,
    switchUser: v.switch_user as boolean,
    gc: { delayMs: v.gc_delay as number, diskHeadroom: v.gc_disk_headroom as number, intervalMs: v.disk_watch_interval as number },
    recover,
    flags: effective,
    log,
  });
  out(
    `tessera agent listening on ${running.address} (work_dir ${path.resolve(workDir)}), master ${master}\n` +
      `  state: http://${running.address}/state   sandboxes: http://${running.address}/files/browse?path=${running.agent.sandboxRoot()}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`received ${signal}; stopping (containers keep running; restart on the same --work_dir to recover them)`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running.stop();
  return 0;
}
