/**
 * A single-machine development cluster: a master, one agent and their default modules in this process
 * (the modules in their own processes, as always), for `tessera local` and tests. Unlike a production
 * agent, whose containers outlive it, a local cluster kills its containers when it stops — it is a dev
 * cluster; and it starts with `--recover=cleanup`, so containers left by a crashed run are killed too.
 *
 * ```ts
 * const cluster = await runLocalCluster({ ip: '127.0.0.1', port: 5050, agentPort: 5051, workDir: '/tmp/tessera-local', log });
 * console.log(`tessera run --master=${cluster.master.address} -- echo hello`);
 * await cluster.stop();   // kills the containers (TASK_KILLED reaches their frameworks), then agent and master stop
 * ```
 *
 * Layout of the work dir: `master/` (the master's registry and module state) and `agent/` (sandboxes
 * under `agent/slaves/`, checkpoints under `agent/meta/`).
 */
import path from 'node:path';
import { runAgent, type RunningAgent } from '../agent/run-agent';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { runMaster, type RunningMaster } from '../master/run-master';
import type { ModulesConfig } from '../modules/modules-json';
import { chooseLocalIsolation, LOCAL_DEFAULT_ISOLATION, type LocalIsolation } from './local-isolation';

/** LocalClusterOptions configure {@link runLocalCluster}. */
export interface LocalClusterOptions {
  /** ip both listen on (127.0.0.1 by default: a dev cluster is not for the network). */
  ip: string;
  /** port of the master (5050); 0 picks a free one. */
  port: number;
  /** agentPort of the agent's endpoints (5051); 0 picks a free one. */
  agentPort: number;
  workDir: string;
  hostname?: string;
  /** modules: one modules.json for both (the master takes the allocator from it when it defines one). */
  modules?: ModulesConfig;
  /** allocator: name of the allocator module (default allocator-drf, the bundled one). */
  allocator?: string;
  /** isolation: --isolation; default: see local-isolation.ts. */
  isolation?: string[];
  resources?: string;
  attributes?: string;
  /** flags as given, for /flags and /state of both. */
  flags?: Record<string, string>;
  /** registerTimeoutMs: how long the agent may take to register (default 30 s). */
  registerTimeoutMs?: number;
  /** allocationIntervalMs: the master's allocation tick (default 1 s). */
  allocationIntervalMs?: number;
  log: Log;
}

/** LocalCluster is a running local cluster. */
export interface LocalCluster {
  master: RunningMaster;
  agent: RunningAgent;
  agentId: string;
  /** isolation the agent runs, and a note on what was left out and why. */
  isolation: string[];
  isolationNote?: string;
  workDir: string;
  /** stop kills every container (SIGTERM, SIGKILL after the grace period), then stops agent and master. */
  stop(opts?: { gracePeriodMs?: number }): Promise<void>;
}

function portTaken(err: unknown, what: string, where: string, flag: string): unknown {
  if (!(err instanceof TesseraError) || err.code !== 'TSR_PORT_IN_USE') return err;
  return new TesseraError(
    'TSR_PORT_IN_USE',
    `tessera local: the ${what} port ${where} is taken by another process (another tessera local, or a Mesos ${what}?): stop it, or pass ${flag}=<a free port> (${flag}=0 picks one)`,
    { cause: err },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]).finally(() => clearTimeout(timer));
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** runLocalCluster starts the master, then the agent, and resolves once the agent registered. */
export async function runLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log;
  const workDir = path.resolve(opts.workDir);
  const allocator = opts.allocator ?? 'allocator-drf';
  // The master takes the operator's modules.json only when it defines the allocator; else the bundled one.
  const masterModules = opts.modules?.modules.some((m) => m.name === allocator) ? opts.modules : undefined;
  let choice = chooseLocalIsolation({ given: opts.isolation, modules: opts.modules, workDir });
  let master: RunningMaster;
  try {
    master = await runMaster({
      ip: opts.ip,
      port: opts.port,
      hostname: opts.hostname,
      workDir: path.join(workDir, 'master'),
      modules: masterModules,
      allocator,
      allocationIntervalMs: opts.allocationIntervalMs,
      flags: opts.flags,
      log: log.child('master'),
    });
  } catch (err) {
    throw portTaken(err, 'master', `${opts.ip}:${opts.port}`, '--port');
  }
  let agent: RunningAgent | undefined;
  const startAgent = (isolation: LocalIsolation): Promise<RunningAgent> =>
    runAgent({
      master: master.address,
      ip: opts.ip,
      port: opts.agentPort,
      hostname: opts.hostname,
      workDir: path.join(workDir, 'agent'),
      resources: opts.resources,
      attributes: opts.attributes,
      isolation: isolation.isolation,
      modules: isolation.modules,
      recover: 'cleanup',
      flags: opts.flags,
      log: log.child('agent'),
    });
  try {
    try {
      agent = await startAgent(choice);
    } catch (err) {
      // An isolator module the cluster picked by itself refused this host (its Configure checks more
      // than the probe can): run without it rather than not at all, and say why.
      if (!choice.candidates?.length || (err instanceof TesseraError && err.code === 'TSR_PORT_IN_USE')) throw err;
      const why = `${choice.candidates.join(', ')} isolation is off: ${(err as Error).message}`;
      log.warn(`${why}; running with ${LOCAL_DEFAULT_ISOLATION.join(',')}`);
      choice.release?.();
      choice = { isolation: LOCAL_DEFAULT_ISOLATION, note: why };
      agent = await startAgent(choice);
    }
    const timeout = opts.registerTimeoutMs ?? 30_000;
    const agentId = await withTimeout(
      agent.registered(),
      timeout,
      () =>
        new TesseraError(
          'TSR_LOCAL_AGENT_NOT_REGISTERED',
          `tessera local: the agent did not register with the master at ${master.address} within ${timeout / 1000} s; rerun with --log_level=debug and report the log (this is a bug)`,
        ),
    );
    const a = agent;
    let stopping: Promise<void> | undefined;
    return {
      master,
      agent: a,
      agentId,
      isolation: choice.isolation,
      isolationNote: choice.note,
      workDir,
      stop(stopOpts = {}) {
        const release = choice.release;
        stopping ??= (async () => {
          await killContainers(a, stopOpts.gracePeriodMs ?? 3000, log);
          await a.stop();
          // The isolators cleaned up each container; what is left (the cgroup root) goes with the cluster.
          release?.();
          await master.stop();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await agent?.stop().catch(() => undefined);
    choice.release?.();
    await master.stop().catch(() => undefined);
    throw portTaken(err, 'agent', `${opts.ip}:${opts.agentPort}`, '--agent_port');
  }
}

// Kills every container and waits until they are gone, and until their last status updates reached the
// master (so frameworks hear TASK_KILLED) — within bounds: a dev cluster must stop even if something hangs.
async function killContainers(agent: RunningAgent, gracePeriodMs: number, log: Log): Promise<void> {
  const containerizer = agent.agent.containerizer;
  const live = containerizer.containers();
  if (live.length === 0) return;
  log.info(`stopping: killing ${live.length} container(s) (a local cluster does not leave them running)`);
  for (let round = 0; round < 3 && containerizer.containers().length > 0; round++) {
    await Promise.all(
      containerizer.containers().map((c) =>
        containerizer.kill(c.containerId, { gracePeriodMs }).catch((err: Error) => log.debug(`kill ${c.containerId}: ${err.message}`)),
      ),
    );
    await until(() => containerizer.containers().length === 0, gracePeriodMs + 5000);
  }
  const left = containerizer.containers().length;
  if (left) log.warn(`stopping: ${left} container(s) did not end; their processes may still run`);
  await until(() => (agent.agent.metrics()['slave/status_updates_pending'] ?? 0) === 0, 3000);
}
