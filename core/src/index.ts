/**
 * `@tessera/core`: the Tessera core — master, agent, a one-process local cluster, and the module host.
 *
 * ```ts
 * import { runLocalCluster, createLog } from '@tessera/core';
 * const cluster = await runLocalCluster({ ip: '127.0.0.1', port: 5050, agentPort: 5051, workDir: '/tmp/tessera-local', log: createLog() });
 * // schedulers use the master's /api/v1/scheduler; `tessera run --master=...` runs one command
 * await cluster.stop();
 * ```
 *
 * The module host alone:
 *
 * ```ts
 * import { loadModulesJson, ModuleHost, createLog } from '@tessera/core';
 * const host = new ModuleHost({ config: loadModulesJson('modules.json'), log: createLog() });
 * await host.start([{ name: 'cgroups', kinds: ['isolator'] }]);
 * const isolator = host.isolator('cgroups');
 * await isolator.prepare({ value: 'c1' }, { resources: [] });
 * await host.stop();
 * ```
 * @packageDocumentation
 */
export { CORE_VERSION, CORE_ABI } from './version';
export { CoreErrorCodes, type CoreErrorCode } from './errors';
export { createLog, forwardModuleLine, type Log, type LogLevel } from './log';
export { loadModulesJson, parseModulesJson, type ModuleEntry, type ModulesConfig } from './modules/modules-json';
export { translateMesosLibraries, MESOS_REPLACEMENTS } from './modules/mesos-libraries';
export { resolveEntry, parseDuration, type ResolvedCommand } from './modules/resolve';
export { ModuleHost, type ModuleHostOptions, type Selection } from './modules/module-host';
export { ManagedModule, MODULE_TRANSITIONS, nextState, type ModuleState, type RecoverCallback, type SupervisionOptions } from './modules/managed-module';
export { ModuleMetrics } from './modules/metrics';
export { runMaster, type RunMasterOptions, type RunningMaster } from './master/run-master';
export { runAgent, type RunAgentOptions, type RunningAgent } from './agent/run-agent';
export { runLocalCluster, type LocalClusterOptions, type LocalCluster } from './local/local-cluster';
export { main } from './cli';
