/**
 * The module kinds of ABI v1 and, per kind, its gRPC service and calls. Both the SDK (which derives a
 * module's capabilities from the handlers its author wrote) and the core's clients read this table.
 */

/** Kind is a module kind; each is one gRPC service. */
export type Kind = 'isolator' | 'containerizer' | 'allocator' | 'hook' | 'contender' | 'detector';

/** KINDS lists every kind of ABI v1. */
export const KINDS: readonly Kind[] = ['isolator', 'containerizer', 'allocator', 'hook', 'contender', 'detector'];

/** CallStyle is how a call streams: unary, server stream, or bidirectional stream. */
export type CallStyle = 'unary' | 'server' | 'bidi';

/** MethodSpec describes one RPC of a kind. */
export interface MethodSpec {
  /** rpc is the method's name in the proto service, e.g. Prepare. */
  readonly rpc: string;
  /** handler is the property of the author's handler object, e.g. prepare. */
  readonly handler: string;
  /** style is how the call streams. */
  readonly style: CallStyle;
  /** capability is advertised when an optional handler is present; absent for required handlers. */
  readonly capability?: string;
  /** wrap names the response field the handler's result goes in, when the response wraps it. */
  readonly wrap?: string;
}

/** KindSpec describes one kind. */
export interface KindSpec {
  /** service is the fully-qualified gRPC service name. */
  readonly service: string;
  /** methods are the kind's RPCs. */
  readonly methods: readonly MethodSpec[];
  /** flags are boolean properties of the handler object advertised as capabilities when true. */
  readonly flags: Readonly<Record<string, string>>;
  /** atLeastOne: the author must implement at least one optional handler (hooks). */
  readonly atLeastOne?: boolean;
}

const m = (rpc: string, style: CallStyle, capability?: string, wrap?: string): MethodSpec => ({
  rpc,
  handler: rpc[0].toLowerCase() + rpc.slice(1),
  style,
  capability,
  wrap,
});

const snake = (s: string): string => s.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());
const hook = (rpc: string): MethodSpec => m(rpc, 'unary', snake(rpc));

/** KIND_SPECS is the table of kinds, services and calls of ABI v1. */
export const KIND_SPECS: Readonly<Record<Kind, KindSpec>> = {
  isolator: {
    service: 'tessera.modules.v1.Isolator',
    methods: [
      m('Recover', 'unary', 'recover'),
      m('Prepare', 'unary', undefined, 'launchInfo'),
      m('Isolate', 'unary', 'isolate'),
      m('Watch', 'server', 'watch'),
      m('Update', 'unary', 'update'),
      m('Usage', 'unary', 'usage', 'statistics'),
      m('Status', 'unary', 'status', 'status'),
      m('Cleanup', 'unary'),
      m('WatchResources', 'server', 'provides_resources'),
    ],
    flags: { supportsNesting: 'supports_nesting', supportsStandalone: 'supports_standalone' },
  },
  containerizer: {
    service: 'tessera.modules.v1.Containerizer',
    methods: [
      m('Recover', 'unary', 'recover'),
      m('Launch', 'unary'),
      m('Update', 'unary', 'update'),
      m('Usage', 'unary', 'usage'),
      m('Status', 'unary', 'status'),
      m('Wait', 'server'),
      m('Kill', 'unary', 'kill'),
      m('Destroy', 'unary'),
      m('Containers', 'unary'),
    ],
    flags: { supportsNesting: 'supports_nesting' },
  },
  allocator: {
    service: 'tessera.modules.v1.Allocator',
    methods: [m('Allocate', 'bidi')],
    flags: {},
  },
  hook: {
    service: 'tessera.modules.v1.Hook',
    methods: [
      hook('MasterLaunchTaskLabelDecorator'),
      hook('MasterLaunchTaskResourceDecorator'),
      hook('MasterAgentLostHook'),
      hook('AgentRunTaskLabelDecorator'),
      hook('AgentExecutorEnvironmentDecorator'),
      hook('AgentPostFetchHook'),
      hook('AgentRemoveExecutorHook'),
      hook('AgentTaskStatusDecorator'),
      hook('AgentResourcesDecorator'),
      hook('AgentAttributesDecorator'),
    ],
    flags: {},
    atLeastOne: true,
  },
  contender: {
    service: 'tessera.modules.v1.Contender',
    methods: [m('Contend', 'server'), m('Withdraw', 'unary', 'withdraw')],
    flags: {},
  },
  detector: {
    service: 'tessera.modules.v1.Detector',
    methods: [m('Detect', 'server')],
    flags: {},
  },
};

/** isKind tells whether a string names a kind of ABI v1. */
export function isKind(s: string): s is Kind {
  return (KINDS as readonly string[]).includes(s);
}

/** capabilitiesOf derives the capabilities a handler object advertises for a kind. */
export function capabilitiesOf(kind: Kind, handlers: object): string[] {
  const spec = KIND_SPECS[kind];
  const h = handlers as Record<string, unknown>;
  const caps: string[] = [];
  for (const method of spec.methods) {
    if (method.capability && typeof h[method.handler] === 'function') caps.push(method.capability);
  }
  for (const [prop, cap] of Object.entries(spec.flags)) if (h[prop] === true) caps.push(cap);
  return caps;
}

/** missingHandlers lists the required handlers a handler object lacks for a kind. */
export function missingHandlers(kind: Kind, handlers: object): string[] {
  const spec = KIND_SPECS[kind];
  const h = handlers as Record<string, unknown>;
  const missing = spec.methods.filter((x) => !x.capability && typeof h[x.handler] !== 'function').map((x) => x.handler);
  if (spec.atLeastOne && !spec.methods.some((x) => typeof h[x.handler] === 'function')) {
    missing.push(`one of ${spec.methods.map((x) => x.handler).join(', ')}`);
  }
  return missing;
}
