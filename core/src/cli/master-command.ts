/**
 * `tessera master`: runs a master in the foreground until SIGTERM/SIGINT. Flags follow Mesos's names;
 * each is also settable as `TESSERA_<FLAG>`.
 */
import { TesseraError } from '@tessera/modules-api';
import path from 'node:path';
import type { Log } from '../log';
import { runMaster } from '../master/run-master';
import { loadModulesJson } from '../modules/modules-json';
import { flagsHelp, parseFlags, type FlagSpec } from './flags';

/** MASTER_FLAGS are the flags of `tessera master`. */
export const MASTER_FLAGS: Record<string, FlagSpec> = {
  ip: { type: 'string', default: '0.0.0.0', help: 'address to listen on' },
  port: { type: 'int', default: '5050', min: 0, max: 65535, help: 'port for frameworks, operators and agents' },
  hostname: { type: 'string', help: 'hostname to advertise (default: this machine\'s)' },
  work_dir: { type: 'string', help: 'directory for the registry (agents, frameworks: survives restarts) and module state' },
  modules: { type: 'string', help: 'modules.json with the allocator and the hook modules (later also contender, detector)' },
  allocator: { type: 'string', default: 'allocator-drf', help: 'name of the allocator module in --modules' },
  hooks: {
    type: 'string',
    help: 'hook modules of --modules (comma-separated) that decorate task labels at every launch, in this order; a failing hook fails the launch (TASK_ERROR) unless its entry has "onError": "ignore"',
  },
  allocation_interval: { type: 'duration', default: '1secs', positive: true, help: 'time between allocation ticks' },
  heartbeat_interval: { type: 'duration', default: '5secs', min: 1000, help: 'time between HEARTBEAT events to frameworks (heartbeat_interval_seconds is whole seconds)' },
  agent_ping_timeout: { type: 'duration', default: '15secs', positive: true, help: 'time between pings to each agent' },
  max_agent_ping_timeouts: { type: 'int', default: '5', min: 1, help: 'unanswered pings before an agent is removed' },
  agent_reregister_timeout: { type: 'duration', default: '10mins', positive: true, help: 'after a restart on --work_dir, time agents have to re-register before they are removed' },
  offer_timeout: { type: 'duration', positive: true, help: 'rescind offers not answered within this time (default: never)' },
  framework_failover_timeout: { type: 'duration', min: 0, help: 'upper bound on the failover_timeout frameworks ask for (default: none, as Mesos)' },
  max_request_body: { type: 'int', default: String(16 * 1024 * 1024), min: 1024, help: 'largest request body accepted, bytes (413 beyond)' },
  quiet: { type: 'bool', default: 'false', help: 'log warnings and errors only' },
};

/** masterCommand runs `tessera master [flags]`; resolves with the exit status when the master stops. */
export async function masterCommand(argv: string[], out: (s: string) => void, log: Log): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(`usage: tessera master [flags]\n\nflags (also TESSERA_<FLAG> environment variables):\n${flagsHelp(MASTER_FLAGS)}\n  --log_level=<level>                   debug, info, warn or error\n`);
    return 0;
  }
  const { values: v, positional, effective, sources } = parseFlags(argv, MASTER_FLAGS);
  if (positional.length) throw new TesseraError('TSR_FLAG_INVALID', `tessera master takes no arguments, got '${positional.join(' ')}': flags are --name=value`);
  const port = v.port as number;
  const modules = v.modules ? loadModulesJson(v.modules as string) : undefined;
  const allocator = v.allocator as string;
  if (modules && !modules.modules.some((m) => m.name === allocator)) {
    throw new TesseraError(
      'TSR_FLAG_INVALID',
      `${sources.allocator === 'default of --allocator' ? 'the allocator' : sources.allocator} "${allocator}" is not a module of ${modules.source} (it defines: ${modules.modules.map((m) => m.name).join(', ') || 'none'}): ` +
        `add an allocator entry named "${allocator}" to it (the bundled one is {"name": "allocator-drf", "package": "@tessera/allocator-drf"}), or name its allocator with --allocator`,
    );
  }
  if (!modules && allocator !== 'allocator-drf') {
    throw new TesseraError('TSR_FLAG_INVALID', `${sources.allocator} "${allocator}" needs --modules: without it the master runs the bundled allocator-drf; give a modules.json that defines "${allocator}"`);
  }
  const running = await runMaster({
    ip: v.ip as string,
    port,
    hostname: v.hostname as string | undefined,
    workDir: v.work_dir ? path.resolve(v.work_dir as string) : undefined,
    modules,
    allocator,
    hooks: v.hooks ? (v.hooks as string).split(',').map((h) => h.trim()).filter((h) => h !== '') : undefined,
    allocationIntervalMs: v.allocation_interval as number,
    heartbeatIntervalSeconds: (v.heartbeat_interval as number) / 1000,
    agentPingTimeoutMs: v.agent_ping_timeout as number,
    maxAgentPingTimeouts: v.max_agent_ping_timeouts as number,
    agentReregisterTimeoutMs: v.agent_reregister_timeout as number,
    offerTimeoutMs: v.offer_timeout as number | undefined,
    maxFailoverTimeoutSeconds: v.framework_failover_timeout === undefined ? undefined : (v.framework_failover_timeout as number) / 1000,
    maxBodyBytes: v.max_request_body as number,
    flags: effective,
    log,
  });
  out(
    `tessera master ${running.master.opts.info.id} listening on ${running.address}\n` +
      `  schedulers: http://${running.address}/api/v1/scheduler   state: http://${running.address}/state\n` +
      `  agents:     tessera agent --master=${running.address}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`received ${signal}; stopping`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running.stop();
  return 0;
}
