/**
 * The agent's composition root: checkpoint, isolator and hook modules, the universal containerizer,
 * the Agent with its hooks, its HTTP endpoints, and the watch on resources modules provide. Used by `tessera agent`,
 * by `tessera local` and by tests (port 0 picks a free port).
 *
 * ```ts
 * const running = await runAgent({ master: '127.0.0.1:5050', ip: '127.0.0.1', port: 0, workDir, log,
 *                                  isolation: ['posix/cpu', 'posix/mem'], resources: 'cpus:2;mem:1024' });
 * const agentId = await running.registered();
 * console.log(`agent ${agentId}: http://${running.address}/state`);
 * await running.stop();    // the agent and its modules stop; containers keep running
 * ```
 *
 * Order matters: the checkpoint is read first (a corrupt one stops the agent before anything started);
 * modules start before the containerizer recovers (isolators get Recover); checkpointed tasks are
 * recovered before the HTTP endpoints open and before the agent registers, so the master never hears
 * of a task the agent has not looked at; the agent hooks decorate the agent's resources and attributes
 * right before it registers. `--hooks` is checked as the master checks it (a name modules.json does not
 * define, a name given twice or a module that is not a hook: TSR_FLAG_INVALID naming the flag).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kind } from '@tessera/modules-api';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { ModuleHost, type Selection } from '../modules/module-host';
import type { ModulesConfig } from '../modules/modules-json';
import { checkHooksFlag, hooksFlagError, startedHooks } from '../modules/hooks-common';
import { Agent } from './agent';
import { Checkpoint } from './checkpoint';
import { UniversalContainerizer } from './containerizer';
import { AgentHooks } from './hooks';
import { BUILTIN_ISOLATORS, isBuiltinIsolator } from './containerizer/builtin-isolators';
import { mesosIsolatorHint } from './containerizer/isolators';
import { startAgentHttp } from './http/server';
import { watchProvidedResources, type ProvidedResourcesWatch } from './provided-resources';
import { detectResources, parseAttributes, parseResources } from './resources';

/** DEFAULT_ISOLATION is --isolation's default: Mesos's POSIX isolators plus the sandbox. */
export const DEFAULT_ISOLATION = ['posix/cpu', 'posix/mem', 'filesystem/posix'];

/** RunAgentOptions are the agent's settings, already parsed from flags. */
export interface RunAgentOptions {
  /** master is `host:port` of the master. */
  master: string;
  /** ip: where the agent's HTTP endpoints listen (default 0.0.0.0; 127.0.0.1 in tests). */
  ip: string;
  /** port: 5051 by default; 0 picks a free port. */
  port: number;
  hostname?: string;
  /** workDir is --work_dir: sandboxes (slaves/...), checkpoints (meta/), module state (modules/). */
  workDir: string;
  /** runtimeDir is --runtime_dir: container runtime state (pids, status files); default <work_dir>/run. */
  runtimeDir?: string;
  /** resources: --resources text (Mesos format) or JSON; absent: detected. */
  resources?: string;
  /** attributes: --attributes "rack:r1;zone:z2". */
  attributes?: string;
  /** isolation: --isolation, ordered (built-ins posix/cpu, posix/mem, filesystem/posix + module names). */
  isolation?: string[];
  /** modules: parsed --modules (core/src/modules/modules-json.ts). */
  modules?: ModulesConfig;
  /** hooks: --hooks, agent hook modules in --modules, called in this order (core/src/agent/hooks.ts). */
  hooks?: string[];
  /** executorShutdownGracePeriodMs: kill grace period when no kill policy says one (default 5 s). */
  executorShutdownGracePeriodMs?: number;
  /** switchUser (Mesos --switch_user, default true): tasks run as CommandInfo.user, else FrameworkInfo.user; false: as the agent's user. */
  switchUser?: boolean;
  /** Sandbox gc: --gc_delay (1 week), --gc_disk_headroom (0.1), --disk_watch_interval (1 min). */
  gc?: { delayMs?: number; diskHeadroom?: number; intervalMs?: number };
  /** recover: reconnect (default) resumes running tasks after a restart; cleanup kills them. */
  recover?: 'reconnect' | 'cleanup';
  /** flags as given, for /flags and /state. */
  flags?: Record<string, string>;
  log: Log;
  /** statusRetry tunes status update retries (tests). */
  statusRetry?: { initialMs?: number; maxMs?: number };
}

/** RunningAgent is a started agent. */
export interface RunningAgent {
  /** agent implements AgentView (core/src/agent/agent-view.ts). */
  agent: Agent;
  /** port is the HTTP port actually bound. */
  port: number;
  /** address is `ip:port` of the agent's endpoints. */
  address: string;
  modules: ModuleHost;
  /** registered resolves with the agent id once registered with the master. */
  registered(): Promise<string>;
  /** stop stops the agent and its modules; containers keep running (they outlive the agent). */
  stop(): Promise<void>;
}

const NO_MODULES = (): ModulesConfig => ({ source: '(no --modules)', dir: process.cwd(), modules: [], notes: [], mesosFormat: false, locate: () => '' });

/** checkIsolation validates --isolation against the built-ins and --modules; throws TSR_AGENT_ISOLATION_UNKNOWN. */
export function checkIsolation(isolation: readonly string[], modules: ModulesConfig | undefined): string[] {
  const names = modules?.modules.map((m) => m.name) ?? [];
  const seen = new Set<string>();
  const moduleNames: string[] = [];
  for (const name of isolation) {
    if (seen.has(name)) throw new TesseraError('TSR_AGENT_ISOLATION_UNKNOWN', `--isolation names "${name}" twice: list each isolator once`);
    seen.add(name);
    if (isBuiltinIsolator(name)) continue;
    if (!names.includes(name)) {
      throw new TesseraError(
        'TSR_AGENT_ISOLATION_UNKNOWN',
        `--isolation names "${name}", which is neither built in (${BUILTIN_ISOLATORS.join(', ')}) nor a module in --modules (${modules ? `${modules.source} defines: ${names.join(', ') || 'none'}` : 'no --modules given'}): fix --isolation or add the module to modules.json${mesosIsolatorHint(name)}`,
      );
    }
    moduleNames.push(name);
  }
  return moduleNames;
}

function makeDir(dir: string, flag: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new TesseraError('TSR_AGENT_WORK_DIR', `the agent cannot create or write ${flag} ${dir}: ${(err as Error).message}; fix its permissions or pass another ${flag}`, { cause: err });
  }
}

/** advertisedIp is the address the agent tells about itself (a real one when it listens on every interface). */
function advertisedIp(bindIp: string): string {
  if (bindIp !== '0.0.0.0') return bindIp;
  for (const addrs of Object.values(os.networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/** runAgent starts everything; on failure, what was started is stopped again. */
export async function runAgent(opts: RunAgentOptions): Promise<RunningAgent> {
  const log = opts.log;
  const workDir = path.resolve(opts.workDir);
  const runtimeDir = path.resolve(opts.runtimeDir ?? path.join(workDir, 'run'));
  const isolation = opts.isolation ?? DEFAULT_ISOLATION;
  const isolatorModules = checkIsolation(isolation, opts.modules);
  const config = opts.modules ?? NO_MODULES();
  const hookNames = opts.hooks ?? [];
  checkHooksFlag(hookNames, config);
  const given = opts.resources ? parseResources(opts.resources) : [];
  const attributes = opts.attributes ? parseAttributes(opts.attributes) : [];
  makeDir(workDir, '--work_dir');
  makeDir(runtimeDir, '--runtime_dir');
  const checkpoint = Checkpoint.open({ dir: path.join(workDir, 'meta'), log: log.child('checkpoint') });
  const modules = new ModuleHost({ config, log, stateDir: path.join(workDir, 'modules'), logLevel: log.level });
  // A module may be both an isolator and a hook: one process, used as both kinds.
  const kinds = new Map<string, Kind[]>(isolatorModules.map((name) => [name, ['isolator']]));
  for (const name of hookNames) kinds.set(name, [...(kinds.get(name) ?? []), 'hook']);
  const selections: Selection[] = [...kinds].map(([name, k]) => ({ name, kinds: k }));
  try {
    if (selections.length) await modules.start(selections);
  } catch (err) {
    checkpoint.close();
    const e = hooksFlagError(err, hookNames, config);
    if (e.code === 'TSR_ABI_KIND_MISSING') throw new TesseraError(e.code, `${e.message} (selected by --isolation)`, { cause: err });
    throw e;
  }
  let hooks: AgentHooks | undefined;
  if (hookNames.length) {
    const started = startedHooks(modules, hookNames);
    for (const d of AgentHooks.describe(started)) {
      if (d.called) log.info(d.line);
      else log.warn(d.line);
    }
    hooks = new AgentHooks(started, log.child('hooks'));
  }
  let agent: Agent | undefined;
  let http: { port: number; close(): Promise<void> } | undefined;
  let watch: ProvidedResourcesWatch | undefined;
  try {
    const postFetch = hooks?.hooksFetches ? hooks : undefined;
    const containerizer = new UniversalContainerizer({
      workDir,
      runtimeDir,
      isolators: isolation,
      modules,
      log: log.child('containerizer'),
      ...(postFetch && { afterFetch: (containerId: string, sandbox: string) => postFetch.postFetch(containerId, sandbox) }),
    });
    agent = new Agent({
      master: opts.master,
      hostname: opts.hostname,
      workDir,
      runtimeDir,
      given,
      detected: detectResources({ workDir }),
      attributes,
      containerizer,
      checkpoint,
      flags: opts.flags,
      executorShutdownGracePeriodMs: opts.executorShutdownGracePeriodMs,
      switchUser: opts.switchUser,
      gc: opts.gc,
      recover: opts.recover,
      log: log.child('agent'),
      moduleMetrics: modules.metrics,
      statusRetry: opts.statusRetry,
      hooks,
    });
    await agent.recover();
    http = await startAgentHttp({ ip: opts.ip, port: opts.port, view: agent, log: log.child('http') });
    const a = agent;
    watch = watchProvidedResources({
      isolators: isolatorModules.map((name) => ({ name, client: modules.isolator(name) })),
      agentId: () => a.identity().id,
      onList: (name, rs) => a.setProvided(name, rs),
      log: log.child('resources'),
    });
    await watch.firstLists(2000);
    const ip = advertisedIp(opts.ip);
    await agent.decorate({ ip, port: http.port });
    agent.start({ ip, port: http.port });
    const h = http;
    const w = watch;
    let stopping: Promise<void> | undefined;
    return {
      agent: a,
      port: h.port,
      address: ip.includes(':') ? `[${ip}]:${h.port}` : `${ip}:${h.port}`,
      modules,
      registered: () => a.registered(),
      stop() {
        stopping ??= (async () => {
          w.stop();
          await a.stop();
          await h.close();
          await modules.stop();
        })();
        return stopping;
      },
    };
  } catch (err) {
    watch?.stop();
    if (agent) await agent.stop().catch(() => undefined);
    else checkpoint.close();
    await http?.close().catch(() => undefined);
    await modules.stop();
    throw err;
  }
}
