/**
 * `@tessera/core`: the Tessera core — module host, and (in later releases) master and agent.
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
export { main } from './cli';
