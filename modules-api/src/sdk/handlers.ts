/**
 * Handler interfaces module authors implement, one per kind. Required handlers are plain methods;
 * optional ones are marked `?` and, when present, are advertised as capabilities (see kinds.ts).
 * A server-streaming handler may return a Promise (one message, then the stream ends; `undefined`
 * sends nothing and ends) or an AsyncIterable (each item is sent).
 */
import type * as T from '../generated/types';

/** Logger writes to the core's log under the module's name. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** CallContext is passed to every handler. */
export interface CallContext {
  /** signal aborts when the core cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  /** log writes to the core's log. */
  readonly log: Logger;
  /** negotiated is the ABI version negotiated for this kind, e.g. "1.0.0". */
  readonly negotiated: string;
}

/** Streamed is what a server-streaming handler returns. */
export type Streamed<R> = Promise<R | undefined | void> | AsyncIterable<R>;

/** IsolatorHandlers is an isolator's implementation (Mesos's Isolator interface). */
export interface IsolatorHandlers {
  /** prepare readies a container before its process starts; may change the launch. */
  prepare(req: T.PrepareRequest, ctx: CallContext): Promise<T.ContainerLaunchInfo | undefined | void>;
  /** cleanup releases a container; must succeed for unknown containers. */
  cleanup(req: T.CleanupRequest, ctx: CallContext): Promise<void>;
  /** recover rebuilds state after a restart (capability "recover"). */
  recover?(req: T.RecoverRequest, ctx: CallContext): Promise<void>;
  /** isolate places the held process (capability "isolate"). */
  isolate?(req: T.IsolateRequest, ctx: CallContext): Promise<void>;
  /** watch resolves with a limitation when one is hit (capability "watch"). */
  watch?(req: T.WatchRequest, ctx: CallContext): Streamed<T.WatchEvent>;
  /** update applies new resources (capability "update"). */
  update?(req: T.UpdateRequest, ctx: CallContext): Promise<void>;
  /** usage reports statistics (capability "usage"). */
  usage?(req: T.UsageRequest, ctx: CallContext): Promise<T.ResourceStatistics>;
  /** status reports status (capability "status"). */
  status?(req: T.StatusRequest, ctx: CallContext): Promise<T.ContainerStatus>;
  /** watchResources streams what the isolator adds to the agent (capability "provides_resources"). */
  watchResources?(req: T.WatchResourcesRequest, ctx: CallContext): AsyncIterable<T.ResourceList>;
  /** supportsNesting: the isolator handles nested containers (capability "supports_nesting"). */
  supportsNesting?: boolean;
  /** supportsStandalone: the isolator handles standalone containers (capability "supports_standalone"). */
  supportsStandalone?: boolean;
}

/** ContainerizerHandlers is a containerizer's implementation. */
export interface ContainerizerHandlers {
  launch(req: T.LaunchRequest, ctx: CallContext): Promise<T.LaunchResponse>;
  wait(req: T.ContainerRef, ctx: CallContext): Streamed<T.ContainerTermination>;
  destroy(req: T.ContainerRef, ctx: CallContext): Promise<T.ContainerTermination>;
  containers(req: T.ContainersRequest, ctx: CallContext): Promise<T.ContainerList>;
  recover?(req: T.ContainerizerRecoverRequest, ctx: CallContext): Promise<T.ContainerList>;
  update?(req: T.UpdateContainerRequest, ctx: CallContext): Promise<void>;
  usage?(req: T.ContainerRef, ctx: CallContext): Promise<T.ResourceStatistics>;
  status?(req: T.ContainerRef, ctx: CallContext): Promise<T.ContainerStatus>;
  kill?(req: T.KillRequest, ctx: CallContext): Promise<void>;
  supportsNesting?: boolean;
}

/** AllocatorHandlers is an allocator's implementation: one stream of inputs in, decisions out. */
export interface AllocatorHandlers {
  /** allocate consumes the master's inputs (a Snapshot first) and yields decisions. */
  allocate(inputs: AsyncIterable<T.AllocatorInput>, ctx: CallContext): AsyncIterable<T.AllocatorOutput>;
}

/** HookHandlers are master and agent decorators; implement any, at least one. */
export interface HookHandlers {
  masterLaunchTaskLabelDecorator?(req: T.LaunchTaskHookRequest, ctx: CallContext): Promise<T.LabelsResult>;
  masterLaunchTaskResourceDecorator?(req: T.LaunchTaskHookRequest, ctx: CallContext): Promise<T.ResourcesResult>;
  masterAgentLostHook?(req: T.AgentHookRequest, ctx: CallContext): Promise<void>;
  agentRunTaskLabelDecorator?(req: T.LaunchTaskHookRequest, ctx: CallContext): Promise<T.LabelsResult>;
  agentExecutorEnvironmentDecorator?(req: T.ExecutorHookRequest, ctx: CallContext): Promise<T.EnvironmentResult>;
  agentPostFetchHook?(req: T.PostFetchHookRequest, ctx: CallContext): Promise<void>;
  agentRemoveExecutorHook?(req: T.ExecutorHookRequest, ctx: CallContext): Promise<void>;
  agentTaskStatusDecorator?(req: T.TaskStatusHookRequest, ctx: CallContext): Promise<T.TaskStatusResult>;
  agentResourcesDecorator?(req: T.AgentHookRequest, ctx: CallContext): Promise<T.ResourcesResult>;
  agentAttributesDecorator?(req: T.AgentHookRequest, ctx: CallContext): Promise<T.AttributesResult>;
}

/** ContenderHandlers enter a master into leader election. */
export interface ContenderHandlers {
  contend(req: T.ContendRequest, ctx: CallContext): AsyncIterable<T.ContendEvent>;
  withdraw?(req: T.WithdrawRequest, ctx: CallContext): Promise<void>;
}

/** DetectorHandlers find the leading master. */
export interface DetectorHandlers {
  detect(req: T.DetectRequest, ctx: CallContext): AsyncIterable<T.LeaderEvent>;
}

/** ConfigureContext is what a module learns at Configure. */
export interface ConfigureContext<P> {
  /** parameters are the operator's, already validated against the module's schema. */
  readonly parameters: P;
  /** negotiated maps each kind the core uses to its ABI version. */
  readonly negotiated: Readonly<Record<string, string>>;
  /** instanceName is the module's name in modules.json. */
  readonly instanceName: string;
  /** coreVersion is the version of the core that started the module. */
  readonly coreVersion: string;
  /** stateDir is a directory kept across module restarts. */
  readonly stateDir: string;
  /** log writes to the core's log. */
  readonly log: Logger;
}

/** ModuleDefinition is what `serve()` takes. */
export interface ModuleDefinition<P = Record<string, unknown>> {
  /** name is the module's own name, e.g. "isolator-cgroups". */
  name: string;
  /** version is the module's own semver. */
  version: string;
  /** description is one line saying what the module does. */
  description?: string;
  /** parameters is the JSON Schema of the module's parameters; the core validates the operator's against it. */
  parameters?: Record<string, unknown>;
  /**
   * abi narrows the ABI range accepted per kind (default `^<major>.0.0` of the SDK): a module that needs
   * what ABI 1.1 added (allocator input batches) says `{ allocator: '^1.1.0' }`. The range must accept a
   * version at or below the SDK's own `ABI_VERSION`, since negotiation never goes above it:
   * `serve()` refuses one that does not (a module needing ABI 1.3 is built with modules-api 1.3 or later).
   */
  abi?: Partial<Record<string, string>>;
  /** configure is called once with the operator's parameters before any kind call. */
  configure?(ctx: ConfigureContext<P>): Promise<string[] | void> | string[] | void;
  /** shutdown is called when the core stops the module. */
  shutdown?(): Promise<void> | void;
  isolator?: IsolatorHandlers;
  containerizer?: ContainerizerHandlers;
  allocator?: AllocatorHandlers;
  hook?: HookHandlers;
  contender?: ContenderHandlers;
  detector?: DetectorHandlers;
}
