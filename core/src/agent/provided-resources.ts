/**
 * Resources isolator modules provide (a GPU isolator's `gpus`, a volume plugin's capacity): each
 * module that advertises `provides_resources` streams its full list through `WatchResources`; the
 * latest list of each goes into the agent's total. A stream that ends (the module restarted, or
 * failed) is opened again with backoff until the agent stops; the module's last list stays meanwhile.
 *
 * ```ts
 * const watch = watchProvidedResources({ isolators: [{ name: 'gpu', client }], agentId: () => id,
 *                                        onList: (name, rs) => agent.setProvided(name, rs), log });
 * await watch.firstLists(2000);   // before registering, so the first total has them
 * watch.stop();
 * ```
 */
import type { IsolatorClient } from '@tessera/modules-api';
import { TesseraError } from '../errors';
import type { Log } from '../log';
import { fromAbiResource } from '../master/model/abi';
import type { Resource } from '../master/model/mesos';

/** ProvidedResourcesOptions configure {@link watchProvidedResources}. */
export interface ProvidedResourcesOptions {
  /** isolators are the isolator modules to watch, by their modules.json name. */
  isolators: { name: string; client: IsolatorClient }[];
  agentId: () => string | undefined;
  /** onList gets each module's full, latest list. */
  onList: (module: string, resources: Resource[]) => void;
  log: Log;
  /** retryMs: delay before a stream that ended is opened again (default 1 s, doubling to 30 s). */
  retryMs?: number;
}

/** ProvidedResourcesWatch is a running watch. */
export interface ProvidedResourcesWatch {
  /** firstLists resolves once every watched module sent its first list, or after `timeoutMs`. */
  firstLists(timeoutMs: number): Promise<void>;
  stop(): void;
}

/** watchProvidedResources starts one WatchResources stream per module that provides resources. */
export function watchProvidedResources(opts: ProvidedResourcesOptions): ProvidedResourcesWatch {
  const abort = new AbortController();
  const providers = opts.isolators.filter((i) => i.client.has('provides_resources'));
  const firsts = providers.map((p) => watchOne(p.name, p.client, opts, abort.signal));
  return {
    async firstLists(timeoutMs) {
      if (firsts.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all(firsts), timeout]);
      clearTimeout(timer);
    },
    stop: () => abort.abort(),
  };
}

// Runs one module's stream for as long as the agent runs; resolves its promise at the first list.
function watchOne(name: string, client: IsolatorClient, opts: ProvidedResourcesOptions, signal: AbortSignal): Promise<void> {
  let first: () => void = () => undefined;
  const firstList = new Promise<void>((resolve) => (first = resolve));
  void (async () => {
    let delay = opts.retryMs ?? 1000;
    while (!signal.aborted) {
      try {
        const agentId = opts.agentId();
        for await (const list of client.watchResources(agentId ? { agentId } : {}, signal)) {
          opts.onList(name, (list.resources ?? []).map(fromAbiResource));
          delay = opts.retryMs ?? 1000;
          first();
        }
      } catch (err) {
        if (signal.aborted) break;
        opts.log.warn(`module ${name}: WatchResources ended: ${TesseraError.wrap(err).message}; opening it again in ${delay} ms`);
      }
      first(); // a module that cannot say does not hold up registration
      if (signal.aborted) break;
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 30_000);
    }
  })();
  return firstList;
}
