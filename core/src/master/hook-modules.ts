/**
 * Starting the master's modules: the allocator and the hook modules named by `--hooks`, in parallel.
 * `--hooks` is checked first against modules.json, and a named module that turns out not to be a hook
 * stops the master with an error that names the flag and the modules file.
 */
import type { Log } from '../log';
import { checkHooksFlag, hooksFlagError, startedHooks } from '../modules/hooks-common';
import type { ModuleHost } from '../modules/module-host';
import type { ModulesConfig } from '../modules/modules-json';
import { AGENT_LOST, LABEL_DECORATOR, MasterHooks } from './hooks';

/**
 * startMasterHooks starts the allocator module and the hook modules, and returns the master's hooks
 * (undefined without `--hooks`). Throws TSR_FLAG_INVALID for a `--hooks` name modules.json does not
 * define, a name given twice, or a module that is not a hook; other start failures as ModuleHost.start.
 */
export async function startMasterHooks(modules: ModuleHost, config: ModulesConfig, allocator: string, names: readonly string[], log: Log): Promise<MasterHooks | undefined> {
  checkHooksFlag(names, config);
  try {
    await modules.start([{ name: allocator, kinds: ['allocator'] }, ...names.map((name) => ({ name, kinds: ['hook' as const] }))]);
  } catch (err) {
    throw hooksFlagError(err, names, config);
  }
  if (names.length === 0) return undefined;
  const hooks = startedHooks(modules, names);
  for (const h of hooks) {
    const does = [
      ...(h.capabilities.includes(LABEL_DECORATOR) ? [`decorates the labels of launched tasks (onError: ${h.onError})`] : []),
      ...(h.capabilities.includes(AGENT_LOST) ? ['is told of removed agents'] : []),
    ];
    if (does.length) log.info(`master hook ${h.name}: ${does.join('; ')}`);
    else log.warn(`master hook ${h.name} implements no master hook this master calls (${h.capabilities.join(', ') || 'none'}); it is started but not called`);
  }
  return new MasterHooks(hooks, log);
}
