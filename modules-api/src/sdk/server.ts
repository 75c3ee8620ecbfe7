// The gRPC server inside a module process: Module, Health and the kind services, with the token check,
// the "configure first" rule, deadlines turned into AbortSignals, and errors turned into coded statuses.
import * as grpc from '@grpc/grpc-js';
import { minVersion, satisfies, valid, validRange } from 'semver';
import { ABI_VERSION, SDK_NAME, TOKEN_METADATA } from '../version';
import { TesseraError } from '../errors';
import { KIND_SPECS, KINDS, capabilitiesOf, missingHandlers, type Kind, type MethodSpec } from '../kinds';
import { compareAbi, serviceDefinition } from '../internal/codec';
import { describeVersions, negotiableVersions } from '../client/negotiate';
import type * as T from '../generated/types';
import { inputsOf } from './inputs';
import type { CallContext, Logger, ModuleDefinition } from './handlers';
import type { LevelledLogger } from './logger';

/** ModuleServerOptions configure a ModuleServer. */
export interface ModuleServerOptions {
  /** token every call must carry in the `tessera-token` metadata. */
  token: string;
  /** log receives the module's log lines. */
  log: Logger;
  /** onShutdown runs after a Shutdown RPC was answered. */
  onShutdown?: () => void;
}

type Status = 'NOT_SERVING' | 'SERVING';

/** definedKinds lists the kinds a definition implements. */
export function definedKinds(def: ModuleDefinition<never>): Kind[] {
  return KINDS.filter((k) => (def as unknown as Record<string, unknown>)[k] !== undefined);
}

/** validateDefinition throws a TesseraError naming every problem of a module definition. */
export function validateDefinition(def: ModuleDefinition<never>): void {
  const problems: string[] = [];
  if (!def.name || !/^[a-z0-9][a-z0-9._-]*$/i.test(def.name)) problems.push(`name "${def.name}" must be a plain name such as "isolator-foo"`);
  if (!valid(def.version)) problems.push(`version "${def.version}" is not a semver version such as 1.0.0`);
  const kinds = definedKinds(def);
  if (kinds.length === 0) problems.push(`no kind implemented: give one of ${KINDS.join(', ')}`);
  for (const kind of kinds) {
    const missing = missingHandlers(kind, (def as unknown as Record<Kind, object>)[kind]);
    if (missing.length) problems.push(`${kind}: missing handler(s) ${missing.join(', ')}`);
    const range = def.abi?.[kind];
    if (range !== undefined && !validRange(range)) problems.push(`abi.${kind}: "${range}" is not a semver range`);
    else if (range !== undefined && !negotiableVersions(range, ABI_VERSION).length) problems.push(unloadableRange(kind, range));
  }
  for (const kind of Object.keys(def.abi ?? {})) {
    if (!kinds.includes(kind as Kind)) problems.push(`abi.${kind}: the module does not implement kind "${kind}"`);
  }
  if (problems.length) {
    throw new TesseraError('TSR_BAD_MODULE_INFO', `module definition ${def.name ?? '?'}: ${problems.join('; ')}`);
  }
}

// unloadableRange explains an `abi` range that no core could ever negotiate: negotiation picks a version
// inside the range and at or below the ABI this SDK was built against, and the range allows none.
function unloadableRange(kind: Kind, range: string): string {
  const ok = negotiableVersions(`^${ABI_VERSION.split('.')[0]}.0.0`, ABI_VERSION);
  const needs = minVersion(range);
  const sdk = needs && compareAbi(needs.version, ABI_VERSION) > 0 ? `, or build with @tessera/modules-api ${needs.major}.${needs.minor}.0 or later, whose ABI the range asks for` : '';
  return (
    `abi.${kind}: "${range}" accepts no ABI version this build can speak, so no core would load it: negotiation never goes above ` +
    `the ABI the SDK was built against (${ABI_VERSION}). Give a range that includes ${ABI_VERSION} or lies below it ` +
    `(it must accept one of ${describeVersions(ok)}, e.g. "^${ABI_VERSION}")${sdk}`
  );
}

/**
 * ModuleServer serves one module definition over gRPC. `serve()` uses it in a module process; the
 * in-process harness uses it in tests.
 */
export class ModuleServer {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  private status: Status = 'NOT_SERVING';
  private readonly statusWatchers = new Set<(s: Status) => void>();
  private negotiated: Record<string, string> = {};
  private configured = false;

  constructor(
    private readonly def: ModuleDefinition<never>,
    private readonly opts: ModuleServerOptions,
  ) {
    validateDefinition(def);
    this.server.addService(serviceDefinition('tessera.modules.v1.Module'), this.moduleService());
    this.server.addService(serviceDefinition('grpc.health.v1.Health'), this.healthService());
    for (const kind of definedKinds(def)) {
      const handlers = (def as unknown as Record<Kind, Record<string, unknown>>)[kind];
      const impl: grpc.UntypedServiceImplementation = {};
      for (const method of KIND_SPECS[kind].methods) impl[method.rpc] = this.kindMethod(kind, method, handlers);
      this.server.addService(serviceDefinition(KIND_SPECS[kind].service), impl);
    }
  }

  /** info is the module's answer to GetInfo. */
  info(): T.ModuleInfo {
    const major = ABI_VERSION.split('.')[0];
    return {
      name: this.def.name,
      version: this.def.version,
      description: this.def.description ?? '',
      sdk: SDK_NAME,
      parametersSchema: this.def.parameters ? JSON.stringify(this.def.parameters) : '',
      kinds: definedKinds(this.def).map((kind) => ({
        kind,
        builtAgainst: ABI_VERSION,
        accepts: this.def.abi?.[kind] ?? `^${major}.0.0`,
        capabilities: capabilitiesOf(kind, (this.def as unknown as Record<Kind, object>)[kind]),
      })),
    };
  }

  /** listen binds the unix socket. */
  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(new TesseraError('TSR_MODULE_SPAWN_FAILED', `cannot listen on ${socketPath}: ${err.message}`)) : resolve(),
      );
    });
  }

  /** close stops serving; in-flight calls get `graceMs` to finish. */
  close(graceMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private shutdownRun: Promise<void> | undefined;

  /** runShutdown runs the author's shutdown once, whether the Shutdown RPC, a signal or the parent's death comes first. */
  runShutdown(): Promise<void> {
    this.shutdownRun ??= Promise.resolve().then(() => this.def.shutdown?.());
    return this.shutdownRun;
  }

  private setStatus(s: Status): void {
    this.status = s;
    for (const w of this.statusWatchers) w(s);
  }

  private authorize(metadata: grpc.Metadata): TesseraError | undefined {
    const sent = metadata.get(TOKEN_METADATA)[0];
    if (sent === this.opts.token) return undefined;
    return new TesseraError(
      'TSR_UNAUTHENTICATED',
      `module ${this.def.name}: ${sent === undefined ? 'missing' : 'wrong'} ${TOKEN_METADATA} metadata: ` +
        'this module answers only the core that started it (the token is in TESSERA_MODULE_TOKEN)',
    );
  }

  private unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const denied = this.authorize(call.metadata);
      if (denied) return callback(denied.toGrpc() as grpc.ServiceError);
      fn(call.request, call).then(
        (res) => callback(null, res),
        (err) => callback(TesseraError.wrap(err).toGrpc() as grpc.ServiceError),
      );
    };
  }

  private moduleService(): grpc.UntypedServiceImplementation {
    return {
      GetInfo: this.unary(async () => this.info()),
      Configure: this.unary(async (req: T.ConfigureRequest) => {
        const negotiated: Record<string, string> = {};
        for (const n of req.negotiated ?? []) negotiated[n.kind ?? ''] = n.abiVersion ?? '';
        for (const [kind, version] of Object.entries(negotiated)) {
          const info = this.info().kinds!.find((k) => k.kind === kind);
          if (!info) throw new TesseraError('TSR_ABI_KIND_MISSING', `module ${this.def.name} does not implement kind "${kind}"`);
          if (!satisfies(version, info.accepts!)) {
            throw new TesseraError(
              'TSR_ABI_NO_OVERLAP',
              `module ${this.def.name}: ${kind} ABI ${version} is outside the accepted range ${info.accepts}`,
            );
          }
        }
        (this.opts.log as Partial<LevelledLogger>).setLevel?.(req.logLevel ?? '');
        let parameters: unknown = {};
        try {
          parameters = req.parametersJson ? JSON.parse(req.parametersJson) : {};
        } catch (err) {
          throw new TesseraError('TSR_PARAMETERS_INVALID', `module ${this.def.name}: parameters are not JSON: ${(err as Error).message}`);
        }
        const warnings = await this.def.configure?.({
          parameters: parameters as never,
          negotiated,
          instanceName: req.instanceName ?? this.def.name,
          coreVersion: req.coreVersion ?? '',
          stateDir: req.stateDir ?? '',
          log: this.opts.log,
        });
        this.negotiated = negotiated;
        this.configured = true;
        this.setStatus('SERVING');
        return { warnings: warnings ?? [] };
      }),
      Shutdown: this.unary(async () => {
        this.setStatus('NOT_SERVING');
        await this.runShutdown();
        setImmediate(() => this.opts.onShutdown?.());
        return {};
      }),
    };
  }

  private healthService(): grpc.UntypedServiceImplementation {
    const answer = (s: Status): T.HealthCheckResponse => ({ status: s });
    return {
      Check: this.unary(async () => answer(this.status)),
      Watch: (call: grpc.ServerWritableStream<T.HealthCheckRequest, T.HealthCheckResponse>) => {
        const denied = this.authorize(call.metadata);
        if (denied) return call.emit('error', denied.toGrpc());
        const watcher = (s: Status): void => void call.write(answer(s));
        this.statusWatchers.add(watcher);
        call.write(answer(this.status));
        call.on('cancelled', () => this.statusWatchers.delete(watcher));
      },
    };
  }

  private context(kind: Kind, call: { readonly cancelled: boolean; on(event: 'cancelled', listener: () => void): unknown }): CallContext {
    // The AbortController is made only when a handler looks at the signal: most calls never do.
    let controller: AbortController | undefined;
    return {
      get signal(): AbortSignal {
        if (!controller) {
          const c = (controller = new AbortController());
          if (call.cancelled) c.abort();
          else call.on('cancelled', () => c.abort());
        }
        return controller.signal;
      },
      log: this.opts.log,
      negotiated: this.negotiated[kind] ?? ABI_VERSION,
    };
  }

  private precondition(kind: Kind, method: MethodSpec, handlers: Record<string, unknown>, metadata: grpc.Metadata): TesseraError | undefined {
    const denied = this.authorize(metadata);
    if (denied) return denied;
    if (!this.configured) {
      return new TesseraError('TSR_NOT_CONFIGURED', `module ${this.def.name}: ${kind}.${method.rpc} called before Configure`);
    }
    if (typeof handlers[method.handler] !== 'function') {
      return new TesseraError(
        'TSR_UNIMPLEMENTED',
        `module ${this.def.name} does not implement ${kind}.${method.rpc} (capability "${method.capability}" not advertised)`,
      );
    }
    return undefined;
  }

  private kindMethod(kind: Kind, method: MethodSpec, handlers: Record<string, unknown>): grpc.UntypedHandleCall {
    type Fn = (req: unknown, ctx: CallContext) => unknown;
    const invoke = (req: unknown, ctx: CallContext): unknown => (handlers[method.handler] as Fn).call(handlers, req, ctx);
    if (method.style === 'unary') {
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const refused = this.precondition(kind, method, handlers, call.metadata);
        if (refused) return callback(refused.toGrpc() as grpc.ServiceError);
        Promise.resolve()
          .then(() => invoke(call.request, this.context(kind, call)))
          .then(
            (res) => callback(null, method.wrap ? (res == null ? {} : { [method.wrap]: res }) : (res ?? {})),
            (err) => callback(TesseraError.wrap(err).toGrpc() as grpc.ServiceError),
          );
      };
    }
    if (method.style === 'server') {
      return (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const refused = this.precondition(kind, method, handlers, call.metadata);
        if (refused) return call.emit('error', refused.toGrpc());
        const ctx = this.context(kind, call);
        Promise.resolve()
          .then(() => invoke(call.request, ctx))
          .then((result) => pump(call, result, ctx.signal))
          .then(
            () => call.end(),
            (err) => call.emit('error', TesseraError.wrap(err).toGrpc()),
          );
      };
    }
    return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const refused = this.precondition(kind, method, handlers, call.metadata);
      if (refused) return call.emit('error', refused.toGrpc());
      const ctx = this.context(kind, call);
      Promise.resolve()
        .then(() => invoke(inputsOf(call), ctx))
        .then((result) => pump(call, result, ctx.signal))
        .then(
          () => call.end(),
          (err) => call.emit('error', TesseraError.wrap(err).toGrpc()),
        );
    };
  }
}

// pump writes what a streaming handler produced, honouring backpressure and cancellation.
async function pump(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, result: unknown, signal: AbortSignal): Promise<void> {
  if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    for await (const item of result as AsyncIterable<unknown>) {
      if (signal.aborted) return;
      if (!call.write(item)) await new Promise<void>((resolve) => call.once('drain', resolve));
    }
    return;
  }
  if (result !== undefined && result !== null && !signal.aborted) call.write(result);
}
