/**
 * Typed clients per kind, used by the core. Each checks the module's capabilities and falls back to
 * Mesos's default for a call the module did not implement (isolate: nothing to do; usage: no figures;
 * watch: never fires), so the core never calls an RPC the module does not advertise.
 */
import type * as T from '../generated/types';
import type { Kind } from '../kinds';
import type { BidiStream, CallOptions, ServerStream, Service } from './connection';

/** Caller is what a typed client calls through: one module connection, or the core's supervised module. */
export interface Caller {
  /** name is the module's name in modules.json. */
  readonly name: string;
  unary<Res>(service: Service, rpc: string, req: object, opts?: CallOptions): Promise<Res>;
  serverStream<Res>(service: Service, rpc: string, req: object, opts?: CallOptions): ServerStream<Res>;
  bidi<Req extends object, Res>(service: Service, rpc: string, opts?: CallOptions): BidiStream<Req, Res>;
  /** capabilities are those the module advertised for a kind. */
  capabilities(kind: Kind): readonly string[];
  /** negotiated holds the ABI version agreed per kind, where the caller knows it. */
  readonly negotiated?: ReadonlyMap<Kind, { readonly version: string }>;
}

abstract class KindClient {
  constructor(
    protected readonly caller: Caller,
    protected readonly kind: Kind,
  ) {}

  /** has tells whether the module advertised a capability. */
  has(capability: string): boolean {
    return this.caller.capabilities(this.kind).includes(capability);
  }

  protected call<Res>(rpc: string, req: object, opts?: CallOptions): Promise<Res> {
    return this.caller.unary<Res>(this.kind, rpc, req, opts);
  }
}

/** IsolatorClient calls an isolator module. */
export class IsolatorClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'isolator');
  }

  async recover(req: T.RecoverRequest, opts?: CallOptions): Promise<void> {
    if (this.has('recover')) await this.call('Recover', req, opts);
  }

  async prepare(containerId: T.ContainerID, config: T.ContainerConfig, opts?: CallOptions): Promise<T.ContainerLaunchInfo | undefined> {
    const res = await this.call<T.PrepareResponse>('Prepare', { containerId, containerConfig: config }, opts);
    return res.launchInfo;
  }

  async isolate(containerId: T.ContainerID, pid: number, opts?: CallOptions): Promise<void> {
    if (this.has('isolate')) await this.call('Isolate', { containerId, pid }, opts);
  }

  /** watch resolves with the first limitation, or undefined when `signal` aborts or the stream ends. */
  async watch(containerId: T.ContainerID, signal: AbortSignal): Promise<T.ContainerLimitation | undefined> {
    if (!this.has('watch')) {
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    }
    const stream = this.caller.serverStream<T.WatchEvent>(this.kind, 'Watch', { containerId }, { signal });
    for await (const event of stream) {
      if (event.limitation) {
        stream.cancel();
        return event.limitation;
      }
    }
    return undefined;
  }

  async update(containerId: T.ContainerID, resources: T.Resource[], limits?: Record<string, T.ValueScalar>, opts?: CallOptions): Promise<void> {
    if (this.has('update')) await this.call('Update', { containerId, resources, limits }, opts);
  }

  async usage(containerId: T.ContainerID, opts?: CallOptions): Promise<T.ResourceStatistics> {
    if (!this.has('usage')) return {};
    return (await this.call<T.UsageResponse>('Usage', { containerId }, opts)).statistics ?? {};
  }

  async status(containerId: T.ContainerID, opts?: CallOptions): Promise<T.ContainerStatus> {
    if (!this.has('status')) return {};
    return (await this.call<T.StatusResponse>('Status', { containerId }, opts)).status ?? {};
  }

  async cleanup(containerId: T.ContainerID, opts?: CallOptions): Promise<void> {
    await this.call('Cleanup', { containerId }, opts);
  }

  /** watchResources streams the resources the isolator provides; empty when it provides none. */
  watchResources(req: T.WatchResourcesRequest, signal: AbortSignal): AsyncIterable<T.ResourceList> {
    if (!this.has('provides_resources')) return (async function* () {})();
    return this.caller.serverStream<T.ResourceList>(this.kind, 'WatchResources', req, { signal });
  }
}

/** ContainerizerClient calls a containerizer module. */
export class ContainerizerClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'containerizer');
  }

  async recover(req: T.ContainerizerRecoverRequest): Promise<T.ContainerID[]> {
    if (!this.has('recover')) return [];
    return (await this.call<T.ContainerList>('Recover', req)).containerIds ?? [];
  }

  launch(req: T.LaunchRequest, opts?: CallOptions): Promise<T.LaunchResponse> {
    return this.call('Launch', req, opts);
  }

  async wait(containerId: T.ContainerID, signal: AbortSignal): Promise<T.ContainerTermination | undefined> {
    for await (const t of this.caller.serverStream<T.ContainerTermination>(this.kind, 'Wait', { containerId }, { signal })) return t;
    return undefined;
  }

  destroy(containerId: T.ContainerID, opts?: CallOptions): Promise<T.ContainerTermination> {
    return this.call('Destroy', { containerId }, opts);
  }

  async containers(): Promise<T.ContainerID[]> {
    return (await this.call<T.ContainerList>('Containers', {})).containerIds ?? [];
  }

  async kill(containerId: T.ContainerID, signal: number): Promise<void> {
    if (this.has('kill')) await this.call('Kill', { containerId, signal });
  }

  async usage(containerId: T.ContainerID): Promise<T.ResourceStatistics> {
    return this.has('usage') ? this.call('Usage', { containerId }) : {};
  }

  async status(containerId: T.ContainerID): Promise<T.ContainerStatus> {
    return this.has('status') ? this.call('Status', { containerId }) : {};
  }

  async update(req: T.UpdateContainerRequest): Promise<void> {
    if (this.has('update')) await this.call('Update', req);
  }
}

/** AllocatorClient opens an allocator's stream. */
export class AllocatorClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'allocator');
  }

  /** open starts the stream; the caller sends a Snapshot first. */
  open(signal?: AbortSignal): BidiStream<T.AllocatorInput, T.AllocatorOutput> {
    return this.caller.bidi<T.AllocatorInput, T.AllocatorOutput>(this.kind, 'Allocate', { signal });
  }
}

/** HookName is the name of a hook call, e.g. masterLaunchTaskLabelDecorator. */
export type HookName = keyof import('../sdk/handlers').HookHandlers;

/** HookClient calls a hook module; hooks the module does not implement answer undefined ("no change"). */
export class HookClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'hook');
  }

  /** implements tells whether the module implements a hook. */
  implements(hook: HookName): boolean {
    return this.has(hook.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  }

  async invoke<Res>(hook: HookName, req: object, opts?: CallOptions): Promise<Res | undefined> {
    if (!this.implements(hook)) return undefined;
    return this.call<Res>(hook[0].toUpperCase() + hook.slice(1), req, opts);
  }
}

/** ContenderClient enters leader election through a contender module. */
export class ContenderClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'contender');
  }

  contend(master: T.MasterInfo, signal?: AbortSignal): AsyncIterable<T.ContendEvent> {
    return this.caller.serverStream<T.ContendEvent>(this.kind, 'Contend', { master }, { signal });
  }

  async withdraw(): Promise<void> {
    if (this.has('withdraw')) await this.call('Withdraw', {});
  }
}

/** DetectorClient follows the leading master through a detector module. */
export class DetectorClient extends KindClient {
  constructor(caller: Caller) {
    super(caller, 'detector');
  }

  detect(signal?: AbortSignal): AsyncIterable<T.LeaderEvent> {
    return this.caller.serverStream<T.LeaderEvent>(this.kind, 'Detect', {}, { signal });
  }
}
