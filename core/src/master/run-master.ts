/**
 * The master's composition root: starts the allocator module, the master, and one listener that
 * serves both the HTTP APIs and the agent protocol (gRPC) on `--port`. Used by `tessera master`, by
 * `tessera local` and by tests (port 0 picks a free port).
 */
import os from 'node:os';
import path from 'node:path';
import { AgentLinkServer } from '../agent-protocol/server';
import { listenShared, type SharedListener } from '../agent-protocol/port-mux';
import type { Log } from '../log';
import { ModuleHost } from '../modules/module-host';
import { parseModulesJson, type ModulesConfig } from '../modules/modules-json';
import { CORE_VERSION } from '../version';
import { createMasterHttpServer } from './http/router';
import { startMasterHooks } from './hook-modules';
import { Master } from './master';
import { IdGenerator } from './model/ids';
import { Registry } from './registry';

/** RunMasterOptions are the master's settings, already parsed from flags. */
export interface RunMasterOptions {
  ip: string;
  port: number;
  hostname?: string;
  /** modules.json to take modules from; default: the bundled default modules (allocator-drf). */
  modules?: ModulesConfig;
  /** Name of the allocator module in modules.json (default "allocator-drf"). */
  allocator?: string;
  /** Names of hook modules in modules.json (`--hooks`), in the order they run. */
  hooks?: string[];
  /** Where the registry (`master/registry`) and module state live; without it nothing survives a restart. */
  workDir?: string;
  /** Milliseconds recovered agents have to re-register after a restart (--agent_reregister_timeout, 10 min). */
  agentReregisterTimeoutMs?: number;
  /** Registry log lines before compaction into its snapshot (default 10,000). */
  registryCompactEvery?: number;
  heartbeatIntervalSeconds?: number;
  allocationIntervalMs?: number;
  agentPingTimeoutMs?: number;
  maxAgentPingTimeouts?: number;
  offerTimeoutMs?: number;
  maxFailoverTimeoutSeconds?: number;
  maxBodyBytes?: number;
  /** Flags as given, for /state. */
  flags?: Record<string, string>;
  log: Log;
}

/** RunningMaster is a started master. */
export interface RunningMaster {
  master: Master;
  listener: SharedListener;
  modules: ModuleHost;
  /** The durable registry, when the master has a work_dir. */
  registry?: Registry;
  /** `host:port` where agents and frameworks reach the master. */
  address: string;
  stop(): Promise<void>;
}

/** DEFAULT_MODULES_JSON is what a master runs without --modules: the DRF allocator package. */
export function defaultModules(): ModulesConfig {
  const text = JSON.stringify({ modules: [{ name: 'allocator-drf', package: '@tessera/allocator-drf' }] });
  return parseModulesJson(text, '(default modules)', path.resolve(__dirname, '..'));
}

// ipToUint32 writes MasterInfo.ip as Mesos does: the IPv4 address in network byte order, read as a
// little-endian uint32 (what a C++ master on x86 puts there).
function ipToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return 0;
  return ((parts[3] << 24) >>> 0) + (parts[2] << 16) + (parts[1] << 8) + parts[0];
}

function advertisedIp(bindIp: string): string {
  if (bindIp !== '0.0.0.0') return bindIp;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** runMaster starts everything; on failure, what was started is stopped again. */
export async function runMaster(opts: RunMasterOptions): Promise<RunningMaster> {
  const log = opts.log;
  // First, so that a corrupt registry stops the master before anything started.
  const registry = opts.workDir ? Registry.open({ dir: path.join(opts.workDir, 'master', 'registry'), log: log.child('registry'), compactEvery: opts.registryCompactEvery }) : undefined;
  if (!registry) log.warn('no --work_dir: agents and frameworks are kept in memory only and will not survive a master restart');
  const config = opts.modules ?? defaultModules();
  const allocatorName = opts.allocator ?? 'allocator-drf';
  const modules = new ModuleHost({ config, log, stateDir: opts.workDir ? path.join(opts.workDir, 'modules') : undefined });
  let hooks;
  try {
    hooks = await startMasterHooks(modules, config, allocatorName, opts.hooks ?? [], log);
  } catch (err) {
    registry?.close();
    throw err;
  }
  const ids = new IdGenerator();
  const ip = advertisedIp(opts.ip);
  const hostname = opts.hostname ?? os.hostname();
  let master: Master | undefined;
  let listener: SharedListener | undefined;
  try {
    // QUOTA_V2: quota has guarantees and limits (UPDATE_QUOTA), as Mesos >= 1.9 masters advertise.
    const info = { id: ids.masterId, ip: ipToUint32(ip), port: opts.port, pid: `master@${ip}:${opts.port}`, hostname, version: CORE_VERSION, address: { hostname, ip, port: opts.port }, capabilities: [{ type: 'QUOTA_V2' }] };
    master = new Master({
      info,
      allocator: modules.get(allocatorName),
      log: log.child('master'),
      ids,
      heartbeatIntervalSeconds: opts.heartbeatIntervalSeconds,
      allocationIntervalMs: opts.allocationIntervalMs,
      agentPingTimeoutMs: opts.agentPingTimeoutMs,
      maxAgentPingTimeouts: opts.maxAgentPingTimeouts,
      offerTimeoutMs: opts.offerTimeoutMs,
      maxFailoverTimeoutSeconds: opts.maxFailoverTimeoutSeconds,
      registry,
      agentReregisterTimeoutMs: opts.agentReregisterTimeoutMs,
      hooks,
    });
    const agentLink = new AgentLinkServer(master, { log: log.child('agent-link') });
    const http = createMasterHttpServer(master, { log: log.child('http'), flags: opts.flags, maxBodyBytes: opts.maxBodyBytes, moduleMetrics: modules.metrics });
    listener = await listenShared({ host: opts.ip, port: opts.port, http, agents: agentLink, log: log.child('listener') });
    if (opts.port === 0) {
      // An ephemeral port: tell frameworks the real one.
      Object.assign(info, { port: listener.port, pid: `master@${ip}:${listener.port}`, address: { hostname, ip, port: listener.port } });
    }
    master.start();
    const m = master;
    const l = listener;
    return {
      master: m,
      listener: l,
      modules,
      registry,
      address: ip.includes(':') ? `[${ip}]:${l.port}` : `${ip}:${l.port}`, // HOST:PORT as --master takes it
      async stop() {
        m.stop();
        await agentLink.close(); // the agents learn why before the port closes
        await l.close();
        await modules.stop();
        registry?.close();
      },
    };
  } catch (err) {
    master?.stop();
    await listener?.close();
    await modules.stop();
    registry?.close();
    throw err;
  }
}
