/**
 * `tessera local`: a master, an agent and their default modules on this machine, in one foreground
 * command — the quickest way to a working cluster. It prints where everything is and how to run a task;
 * Ctrl-C (or SIGTERM) kills the containers and stops both. It is a development cluster: it listens on
 * 127.0.0.1 by default and does not leave containers running when it stops.
 *
 * ```sh
 * tessera local                       # master on 127.0.0.1:5050, agent on 127.0.0.1:5051
 * tessera run --master=127.0.0.1:5050 -- echo hello
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import os from 'node:os';
import path from 'node:path';
import { parseAttributes, parseResources } from '../agent/resources';
import { runLocalCluster } from '../local/local-cluster';
import type { Log } from '../log';
import { loadModulesJson } from '../modules/modules-json';
import { flagsHelp, parseFlags, type FlagSpec } from './flags';

/** DEFAULT_LOCAL_WORK_DIR is where a local cluster keeps its state unless --work_dir says otherwise. */
export const DEFAULT_LOCAL_WORK_DIR = path.join(os.tmpdir(), 'tessera-local');

/** LOCAL_FLAGS are the flags of `tessera local`. */
export const LOCAL_FLAGS: Record<string, FlagSpec> = {
  ip: { type: 'string', default: '127.0.0.1', help: 'address master and agent listen on (0.0.0.0 to reach them from other hosts)' },
  port: { type: 'int', default: '5050', min: 0, max: 65535, help: 'port of the master (0: any free port)' },
  agent_port: { type: 'int', default: '5051', min: 0, max: 65535, help: 'port of the agent\'s endpoints (0: any free port)' },
  work_dir: { type: 'string', default: DEFAULT_LOCAL_WORK_DIR, help: 'directory for the master\'s registry (master/) and the agent\'s sandboxes and checkpoints (agent/)' },
  hostname: { type: 'string', help: 'hostname to advertise (default: this machine\'s)' },
  modules: { type: 'string', help: 'modules.json with isolator modules (and an allocator, else the bundled allocator-drf runs)' },
  allocator: { type: 'string', default: 'allocator-drf', help: 'name of the allocator module' },
  isolation: { type: 'string', help: 'ordered isolators (default: cgroups where the host allows it, else posix/cpu,posix/mem; see docs/agent.md)' },
  resources: { type: 'string', help: 'the agent\'s resources, e.g. "cpus:4;mem:8192" (default: detected)' },
  attributes: { type: 'string', help: 'the agent\'s attributes, e.g. "rack:r1"' },
  allocation_interval: { type: 'duration', default: '1secs', positive: true, help: 'time between the master\'s allocation ticks' },
  kill_grace_period: { type: 'duration', default: '3secs', min: 0, help: 'on stop, time between SIGTERM and SIGKILL for the containers' },
  quiet: { type: 'bool', default: 'false', help: 'log warnings and errors only' },
};

/** localCommand runs `tessera local [flags]`; resolves with the exit status once the cluster stopped. */
export async function localCommand(argv: string[], out: (s: string) => void, log: Log): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(
      `usage: tessera local [flags]\n\nRuns a master, an agent and their default modules on this machine until Ctrl-C. A development\n` +
        `cluster: it listens on 127.0.0.1 and kills its containers when it stops.\n\nflags (also TESSERA_<FLAG> environment variables):\n${flagsHelp(LOCAL_FLAGS)}\n  --log_level=<level>                   debug, info, warn or error\n`,
    );
    return 0;
  }
  const { values: v, positional, effective, sources } = parseFlags(argv, LOCAL_FLAGS);
  if (positional.length) throw new TesseraError('TSR_FLAG_INVALID', `tessera local takes no arguments, got '${positional.join(' ')}': flags are --name=value`);
  if (v.port !== 0 && v.port === v.agent_port) throw new TesseraError('TSR_FLAG_INVALID', `flags --port and --agent_port are both ${v.port}: master and agent need a port each`);
  // Parsed here so that a typo is a usage error (exit 2) before anything starts.
  if (v.resources) parseResources(v.resources as string, sources.resources);
  if (v.attributes) parseAttributes(v.attributes as string, sources.attributes);
  const isolation = v.isolation
    ? String(v.isolation)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  const workDir = path.resolve(v.work_dir as string);
  const cluster = await runLocalCluster({
    ip: v.ip as string,
    port: v.port as number,
    agentPort: v.agent_port as number,
    workDir,
    hostname: v.hostname as string | undefined,
    modules: v.modules ? loadModulesJson(v.modules as string) : undefined,
    allocator: v.allocator as string,
    isolation,
    resources: v.resources as string | undefined,
    attributes: v.attributes as string | undefined,
    allocationIntervalMs: v.allocation_interval as number,
    flags: effective,
    log,
  });
  const master = cluster.master.address;
  const agent = cluster.agent.address;
  out(
    `tessera local: a development cluster on this machine (it kills its containers when it stops)\n` +
      `  master:    http://${master}   (schedulers: /api/v1/scheduler, operators: /api/v1, /state, /metrics)\n` +
      `  web UI:    http://${master}/\n` +
      `  agent:     http://${agent}   (agent ${cluster.agentId}: /state, /files/browse, /monitor/statistics)\n` +
      `  work dir:  ${workDir}   (sandboxes under ${cluster.agent.agent.sandboxRoot()})\n` +
      `  isolation: ${cluster.isolation.join(',')}${cluster.isolationNote ? `   (${cluster.isolationNote})` : ''}\n` +
      `run a task:  tessera run --master=${master} -- echo hello\n` +
      `Ctrl-C stops the cluster.\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`received ${signal}; stopping the local cluster (killing its containers)`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await cluster.stop({ gracePeriodMs: v.kill_grace_period as number });
  out('tessera local: stopped\n');
  return 0;
}
