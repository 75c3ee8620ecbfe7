/**
 * What master and agent hooks share: checking `--hooks` against modules.json, turning "this module is
 * not a hook" into an error that names the flag, the list of started hook modules with their `onError`
 * and capabilities, and one hook call whose failure (an error, a missed deadline, a module that is down)
 * comes back as a value for the caller to apply `onError` to.
 *
 * ```ts
 * checkHooksFlag(names, config);                         // before anything starts
 * await modules.start(names.map((name) => ({ name, kinds: ['hook'] }))).catch((e) => { throw hooksFlagError(e, names, config); });
 * const hooks = startedHooks(modules, names);                     // in --hooks order
 * const r = await callHook<LabelsResult>(hooks[0], 'AgentRunTaskLabelDecorator', req);
 * if ('error' in r && hooks[0].onError === 'fail') ...;
 * ```
 */
import { TesseraError, type Caller } from '@tessera/modules-api';
import type { ModuleHost } from './module-host';
import type { ModulesConfig } from './modules-json';

/** HookOnError is what a failure or a timeout of a hook does (modules.json `onError`, default "fail"). */
export type HookOnError = 'ignore' | 'fail';

/** HookModule is one hook module of `--hooks`. */
export interface HookModule {
  /** The module's name in modules.json. */
  name: string;
  /** The supervised module (a ManagedModule): calls wait for a restart within their deadline. */
  caller: Caller;
  /** What a failure or a timeout of this hook does (modules.json `onError`). */
  onError: HookOnError;
}

/** StartedHook is a hook module with the hook capabilities it advertised (snake_case RPC names). */
export interface StartedHook extends HookModule {
  capabilities: readonly string[];
}

/**
 * checkHooksFlag checks `--hooks` before any module starts: every name once, every name defined by
 * modules.json. Throws TSR_FLAG_INVALID naming the flag and the modules file.
 */
export function checkHooksFlag(names: readonly string[], config: ModulesConfig): void {
  const defined = config.modules.map((m) => m.name);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new TesseraError('TSR_FLAG_INVALID', `flag --hooks names module "${name}" twice: name each hook module once, in the order they should run`);
    seen.add(name);
    if (!defined.includes(name)) {
      throw new TesseraError(
        'TSR_FLAG_INVALID',
        `flag --hooks names module "${name}", but ${config.source} defines no module of that name (it defines: ${defined.join(', ') || 'none'}): add an entry named "${name}" to the modules file given by --modules, or fix --hooks`,
      );
    }
  }
}

/**
 * hooksFlagError turns the start failure of a `--hooks` module that is not a hook (TSR_ABI_KIND_MISSING
 * "module x (...) is used as hook but implements ...") into TSR_FLAG_INVALID naming the flag; any other
 * error comes back as it was.
 */
export function hooksFlagError(err: unknown, names: readonly string[], config: ModulesConfig): TesseraError {
  const e = TesseraError.wrap(err);
  if (e.code === 'TSR_ABI_KIND_MISSING' && names.some((n) => e.message.includes(`module ${n} (`)) && e.message.includes('is used as hook')) {
    return new TesseraError('TSR_FLAG_INVALID', `flag --hooks names a module of ${config.source} that is not a hook module: ${e.message}`, { cause: err });
  }
  return e;
}

/** startedHooks lists the started hook modules of `--hooks`, in that order, with their onError and capabilities. */
export function startedHooks(modules: ModuleHost, names: readonly string[]): StartedHook[] {
  return names.map((name) => {
    const module = modules.get(name);
    return { name, caller: module, onError: modules.entry(name).onError ?? 'fail', capabilities: module.capabilities('hook') };
  });
}

/** HookOutcome is a hook's answer, or why there is none. */
export type HookOutcome<Res> = { value: Res } | { error: TesseraError };

/**
 * callHook calls one RPC of the Hook service (e.g. "AgentRunTaskLabelDecorator") within the module's
 * call deadline. It never throws: a failed, late or unreachable hook is an `error` for the caller to
 * apply the module's `onError` to.
 */
export async function callHook<Res>(hook: HookModule, rpc: string, req: object): Promise<HookOutcome<Res>> {
  try {
    return { value: await hook.caller.unary<Res>('hook', rpc, req) };
  } catch (err) {
    return { error: TesseraError.wrap(err) };
  }
}
