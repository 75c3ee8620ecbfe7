/**
 * The isolator pipeline's parts: one {@link Isolator} interface for built-ins and modules, the
 * adapter that calls an isolator module through the ModuleHost (fail closed: its errors name the
 * module), the resolution of --isolation names, and the merge of every isolator's statistics into one
 * Mesos ResourceStatistics in wire shape.
 *
 * ```ts
 * const isolators = resolveIsolators(['posix/cpu', 'posix/mem', 'echo'], host);
 * for (const i of isolators) await i.prepare(containerId, config);
 * ```
 */
import { IsolatorClient, TesseraError, type Caller } from '@tessera/modules-api';
import type * as Abi from '@tessera/modules-api';
import type { ModuleHost } from '../../modules/module-host';
import { builtinIsolator, BUILTIN_ISOLATORS, isBuiltinIsolator } from './builtin-isolators';
import type { MesosStatistics } from './types';

/** Isolator is one stage of the pipeline; every call has Mesos's default when the isolator has nothing to do. */
export interface Isolator {
  /** name as --isolation spells it. */
  readonly name: string;
  /** module is set for module isolators (the modules.json name). */
  readonly module?: string;
  recover(states: Abi.ContainerState[], orphans: string[]): Promise<void>;
  prepare(containerId: string, config: Abi.ContainerConfig): Promise<Abi.ContainerLaunchInfo | undefined>;
  isolate(containerId: string, pid: number): Promise<void>;
  /** watch resolves with the first limitation, or undefined once `signal` aborts (or the module ends the stream). */
  watch(containerId: string, signal: AbortSignal): Promise<Abi.ContainerLimitation | undefined>;
  usage(containerId: string, pid: number | undefined): Promise<Abi.ResourceStatistics>;
  cleanup(containerId: string): Promise<void>;
}

/**
 * MODULE_CALLS_IN_FLIGHT bounds the lifecycle calls (Prepare, Isolate, Cleanup) the containerizer has in
 * flight to one isolator module; the rest wait their turn in the agent. A call's deadline then measures
 * the module's work on it, not its place in a queue: 1,000 launches at once would otherwise send 1,000
 * Prepares together, and the last ones would miss their deadline while the module (one event loop) works
 * through the first. 64 keeps a module busy without a queue of its own.
 */
export const MODULE_CALLS_IN_FLIGHT = 64;

/** Slots is a counting semaphore: run() waits for a free slot (first come, first served). */
export class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

/** ModuleIsolator calls an isolator module through the host's supervised process. */
export class ModuleIsolator implements Isolator {
  readonly module: string;
  private readonly slots = new Slots(MODULE_CALLS_IN_FLIGHT);

  constructor(
    readonly name: string,
    private readonly host: ModuleHost,
  ) {
    this.module = name;
  }

  private get client(): IsolatorClient {
    return this.host.isolator(this.name);
  }

  /**
   * explain wraps a module's error so the task's message names the module and carries the module's
   * own error code, which its author documents: "isolator module gpu: isolator.Prepare: GPU_UNAVAILABLE:
   * no GPUs left". A module that threw without a code (TSR_HANDLER_FAILED) shows none.
   */
  explain(err: unknown): TesseraError {
    const e = TesseraError.wrap(err);
    // The module client's messages start "module <name>: <service>.<Rpc>: ", which the prefix repeats.
    const own = `module ${this.name}: `;
    const text = e.message.startsWith(own) ? e.message.slice(own.length) : e.message;
    const call = /^(isolator\.[A-Za-z]+): /.exec(text);
    const code = e.code === 'TSR_HANDLER_FAILED' ? '' : `${e.code}: `;
    const message = call ? `${call[1]}: ${code}${text.slice(call[0].length)}` : `${code}${text}`;
    return new TesseraError(e.code, `isolator module ${this.name}: ${message}`, { cause: e });
  }

  private async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.explain(err);
    }
  }

  recover(states: Abi.ContainerState[], orphans: string[]): Promise<void> {
    return this.run(() => this.client.recover({ states, orphans: orphans.map((value) => ({ value })) }));
  }

  prepare(containerId: string, config: Abi.ContainerConfig): Promise<Abi.ContainerLaunchInfo | undefined> {
    return this.slots.run(() => this.run(() => this.client.prepare({ value: containerId }, config)));
  }

  isolate(containerId: string, pid: number): Promise<void> {
    return this.slots.run(() => this.run(() => this.client.isolate({ value: containerId }, pid)));
  }

  watch(containerId: string, signal: AbortSignal): Promise<Abi.ContainerLimitation | undefined> {
    return this.run(() => this.client.watch({ value: containerId }, signal));
  }

  usage(containerId: string): Promise<Abi.ResourceStatistics> {
    return this.run(() => this.client.usage({ value: containerId }));
  }

  cleanup(containerId: string): Promise<void> {
    return this.slots.run(() => this.run(() => this.client.cleanup({ value: containerId })));
  }

  /** ready tells whether the module process is up (not restarting). */
  ready(): boolean {
    try {
      return this.host.get(this.name).status === 'ready';
    } catch {
      return false;
    }
  }

  /** onRestart registers a callback run after the module restarted, before other calls flow again. */
  onRestart(cb: (client: IsolatorClient) => Promise<void>): () => void {
    return this.host.get(this.name).onRecover((caller: Caller) => cb(new IsolatorClient(caller)));
  }
}

/**
 * resolveIsolators turns --isolation names into isolators, in order. A name that is neither built in
 * nor a module in modules.json, or a repeated name, is the operator's to fix.
 */
export function resolveIsolators(names: readonly string[], host: ModuleHost | undefined): Isolator[] {
  const seen = new Set<string>();
  return names.map((name) => {
    if (seen.has(name)) throw new TesseraError('TSR_AGENT_ISOLATION_UNKNOWN', `--isolation names "${name}" twice: list each isolator once`);
    seen.add(name);
    if (isBuiltinIsolator(name)) return builtinIsolator(name);
    if (host?.names.includes(name)) return new ModuleIsolator(name, host);
    const modules = host?.names ?? [];
    throw new TesseraError(
      'TSR_AGENT_ISOLATION_UNKNOWN',
      `--isolation names "${name}", which is neither built in (${BUILTIN_ISOLATORS.join(', ')}) nor a module in --modules (${modules.length ? modules.join(', ') : 'none given'}): fix --isolation or add the module to modules.json${mesosIsolatorHint(name)}`,
    );
  });
}

/** The isolator modules that stand for Mesos's built-in isolators, by the prefix of Mesos's names. */
const MESOS_ISOLATORS: [RegExp, string, string][] = [
  [/^cgroups\//, 'cgroups', '@tessera/isolator-cgroups'],
  [/^gpu\//, 'gpu', '@tessera/isolator-gpu'],
  [/^docker\/volume$/, 'dvdi', '@tessera/isolator-dvdi'],
];

/**
 * mesosIsolatorHint points a Mesos isolator name (`cgroups/mem`, `gpu/nvidia`, `docker/volume`) to the
 * module that does its work here, or says nothing for other names.
 */
export function mesosIsolatorHint(name: string): string {
  const found = MESOS_ISOLATORS.find(([re]) => re.test(name));
  if (!found) return '';
  const [, module, pkg] = found;
  return `. Mesos's "${name}" is the ${module} module here: add {"name": "${module}", "package": "${pkg}"} to --modules and name "${module}" once in --isolation (it covers every ${name.split('/')[0]}/* isolator)`;
}

/** snake turns an ABI field name into Mesos's (cpusUserTimeSecs -> cpus_user_time_secs). */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * mergeStatistics merges the isolators' statistics in --isolation order (a later isolator's figure
 * replaces an earlier one's, as Mesos's MergeFrom) into Mesos's wire shape. Keyed figures (the GPU
 * module's gpus_utilization) are kept as a JSON object: Mesos's ResourceStatistics has no GPU field,
 * so JSON readers see it as one more field and the protobuf encoding leaves it out.
 */
export function mergeStatistics(parts: Abi.ResourceStatistics[], extra: { cpusLimit?: number; memLimitBytes?: number }): MesosStatistics {
  const merged: Record<string, number | Record<string, number>> = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (typeof v === 'number' && k !== 'timestamp') merged[k] = v;
      // Keyed figures (gpus_utilization: one entry per GPU) from several isolators are combined.
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        const figures = Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number');
        if (figures.length) merged[k] = { ...(merged[k] as Record<string, number> | undefined), ...Object.fromEntries(figures) };
      }
    }
  }
  if (merged.cpusLimit === undefined && extra.cpusLimit !== undefined) merged.cpusLimit = extra.cpusLimit;
  if (merged.memLimitBytes === undefined && extra.memLimitBytes !== undefined) merged.memLimitBytes = extra.memLimitBytes;
  const out: MesosStatistics = { timestamp: Date.now() / 1000 };
  for (const [k, v] of Object.entries(merged)) out[snake(k)] = v;
  return out;
}
