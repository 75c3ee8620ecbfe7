/**
 * The module definition of `@tessera/isolator-cgroups`: what `serve()` runs. Kept apart from main.ts
 * so tests can serve it in-process and the package can export it.
 */
import { TesseraError, type CallContext, type ModuleDefinition } from '@tessera/modules-api';
import pkg from '../package.json';
import { CgroupsIsolator } from './internal/isolator';
import { chooseDriver, findLayout } from './internal/layout';
import { OomWatcher } from './internal/oom-watcher';
import { resolveParameters, PARAMETERS_SCHEMA, type CgroupsParameters } from './parameters';

/** CgroupsModuleOptions are for tests and tools embedding the module. */
export interface CgroupsModuleOptions {
  /** onConfigured receives the isolator once Configure made it (tests inspect its driver). */
  onConfigured?: (isolator: CgroupsIsolator) => void;
}

/**
 * cgroupsModule builds the module definition. Configure detects the hierarchy, checks that it can be
 * written and creates the root cgroups; it refuses with a coded error naming the path otherwise.
 */
export function cgroupsModule(options: CgroupsModuleOptions = {}): ModuleDefinition<CgroupsParameters> {
  let isolator: CgroupsIsolator | undefined;
  const get = (ctx: CallContext): CgroupsIsolator => {
    // The SDK calls nothing before Configure; this is for a definition used outside serve().
    if (!isolator) throw new TesseraError('TSR_NOT_CONFIGURED', `isolator-cgroups: isolator call before Configure (ABI ${ctx.negotiated}): call Configure first`);
    return isolator;
  };
  return {
    name: 'isolator-cgroups',
    version: pkg.version,
    description: 'Linux cgroups isolation (v1 and v2): cpu shares/quota, memory limit with OOM limitation, pids, devices, statistics',
    parameters: PARAMETERS_SCHEMA,
    configure(ctx) {
      const settings = resolveParameters(ctx.parameters);
      const { driver, subsystems, warnings } = chooseDriver(settings, findLayout(settings.cgroupRoot));
      warnings.push(...driver.setup());
      isolator?.close();
      isolator = new CgroupsIsolator(driver, new OomWatcher(settings.oomPollIntervalMs), ctx.log);
      ctx.log.info(`isolating with ${driver.describe()}`, {
        subsystems,
        cpu_quota: settings.cpuQuota,
        memory_swap: settings.memorySwap,
        pids_max: settings.pidsMax ?? 'max',
      });
      for (const w of warnings) ctx.log.warn(w);
      options.onConfigured?.(isolator);
      return warnings;
    },
    shutdown() {
      isolator?.close();
    },
    isolator: {
      prepare: (req, ctx) => get(ctx).prepare(req),
      isolate: (req, ctx) => get(ctx).isolate(req),
      watch: (req, ctx) => get(ctx).watch(req, ctx.signal),
      update: (req, ctx) => get(ctx).update(req),
      usage: (req, ctx) => get(ctx).usage(req),
      status: (req, ctx) => get(ctx).status(req),
      cleanup: (req, ctx) => get(ctx).cleanup(req),
      recover: (req, ctx) => get(ctx).recover(req),
    },
  };
}
