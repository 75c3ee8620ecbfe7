// The core's side of one module connection: a gRPC channel over the module's unix socket, the token on
// every call, per-call deadlines, the version gate, and errors turned back into TesseraErrors.
import * as grpc from '@grpc/grpc-js';
import { TOKEN_METADATA } from '../version';
import { TesseraError } from '../errors';
import { KIND_SPECS, type Kind } from '../kinds';
import { compareAbi, decode, encode, gate, lookupService, sinceOf } from '../internal/codec';
import type protobuf from 'protobufjs';

/** Service is a kind, or one of the services every module serves. */
export type Service = Kind | 'module' | 'health';

const SERVICE_NAMES: Record<Service, string> = {
  module: 'tessera.modules.v1.Module',
  health: 'grpc.health.v1.Health',
  ...(Object.fromEntries(Object.entries(KIND_SPECS).map(([k, s]) => [k, s.service])) as Record<Kind, string>),
};

/** CallOptions tune one call. */
export interface CallOptions {
  /** deadlineMs bounds the call; default the connection's. Streams have none unless given. */
  deadlineMs?: number;
  /** signal cancels the call. */
  signal?: AbortSignal;
}

/** CallObserver is told about every finished call, for metrics. */
export type CallObserver = (service: Service, rpc: string, micros: number, error: TesseraError | undefined) => void;

/** ServerStream is a running server-streaming call. */
export interface ServerStream<R> extends AsyncIterable<R> {
  cancel(): void;
}

/** BidiStream is a running bidirectional call. */
export interface BidiStream<I, O> extends AsyncIterable<O> {
  /** write sends one message; resolves when the transport accepted it (backpressure). */
  write(msg: I): Promise<void>;
  end(): void;
  cancel(): void;
}

interface Method {
  path: string;
  req: protobuf.Type;
  res: protobuf.Type;
  since: string;
}

/**
 * ModuleConnection calls one running module. It never sends a call or a field newer than the version
 * negotiated for the kind (set with {@link ModuleConnection.setNegotiated}).
 */
export class ModuleConnection {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();
  private readonly negotiated = new Map<Service, string>();
  private readonly methods = new Map<string, Method>();

  constructor(
    readonly moduleName: string,
    socketPath: string,
    token: string,
    private readonly defaultDeadlineMs = 5000,
    private readonly observer?: CallObserver,
  ) {
    this.client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.enable_retries': 0,
      // A 1 MiB window instead of HTTP/2's 64 KiB: a large allocator cycle arrives without a round trip per 64 KiB.
      'grpc-node.flow_control_window': 1024 * 1024,
    });
    this.metadata.set(TOKEN_METADATA, token);
  }

  /** setNegotiated records the ABI version negotiated for a kind. */
  setNegotiated(service: Service, version: string): void {
    this.negotiated.set(service, version);
  }

  /** close closes the channel; running calls fail with CANCELLED. */
  close(): void {
    this.client.close();
  }

  private method(service: Service, rpc: string): Method {
    const key = `${service}/${rpc}`;
    let m = this.methods.get(key);
    if (!m) {
      const serviceName = SERVICE_NAMES[service];
      const def = lookupService(serviceName).methods[rpc];
      if (!def) throw new TesseraError('TSR_INVALID_ARGUMENT', `${serviceName} has no method ${rpc}`);
      def.resolve();
      m = { path: `/${serviceName}/${rpc}`, req: def.resolvedRequestType!, res: def.resolvedResponseType!, since: sinceOf(`${serviceName}.${rpc}`) };
      this.methods.set(key, m);
    }
    const version = this.negotiated.get(service);
    if (version && compareAbi(m.since, version) > 0) {
      throw new TesseraError(
        'TSR_ABI_NEWER_THAN_NEGOTIATED',
        `module ${this.moduleName}: ${service}.${rpc} exists since ABI ${m.since} but ABI ${version} was negotiated; check the module's capabilities before calling`,
      );
    }
    return m;
  }

  private prepare(service: Service, m: Method, req: object): Buffer {
    const version = this.negotiated.get(service);
    return encode(m.req, version ? gate(m.req, req, version) : req);
  }

  private context(service: Service, rpc: string): string {
    return `module ${this.moduleName}: ${service}.${rpc}`;
  }

  /** unary makes a unary call. */
  unary<Res = Record<string, unknown>>(service: Service, rpc: string, req: object, opts: CallOptions = {}): Promise<Res> {
    const started = process.hrtime.bigint();
    return new Promise<Res>((resolve, reject) => {
      let m: Method;
      let bytes: Buffer;
      try {
        m = this.method(service, rpc);
        bytes = this.prepare(service, m, req);
      } catch (err) {
        reject(err);
        return;
      }
      const deadlineMs = opts.deadlineMs ?? this.defaultDeadlineMs;
      const call = this.client.makeUnaryRequest<Buffer, Res>(
        m.path,
        (b) => b,
        (b) => decode<Res>(m.res, b),
        bytes,
        this.metadata,
        { deadline: Date.now() + deadlineMs },
        (err, res) => {
          opts.signal?.removeEventListener('abort', onAbort);
          const micros = Number(process.hrtime.bigint() - started) / 1000;
          if (err) {
            // DEADLINE_EXCEEDED is the call's own deadline only when the module sent no code of its own:
            // a module may answer with that status itself (a volume driver that timed out), naming what.
            const own = err.metadata?.get('tessera-error-code').length > 0;
            const e =
              err.code === grpc.status.DEADLINE_EXCEEDED && !own
                ? new TesseraError('TSR_CALL_TIMEOUT', `${this.context(service, rpc)} did not answer within its ${deadlineMs} ms deadline`, { cause: err })
                : TesseraError.fromGrpc(err, this.context(service, rpc));
            this.observer?.(service, rpc, micros, e);
            reject(e);
          } else {
            this.observer?.(service, rpc, micros, undefined);
            resolve(res!);
          }
        },
      );
      const onAbort = (): void => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** serverStream opens a server-streaming call. */
  serverStream<Res>(service: Service, rpc: string, req: object, opts: CallOptions = {}): ServerStream<Res> {
    const m = this.method(service, rpc);
    const call = this.client.makeServerStreamRequest<Buffer, Res>(
      m.path,
      (b) => b,
      (b) => decode<Res>(m.res, b),
      this.prepare(service, m, req),
      this.metadata,
      opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {},
    );
    opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    return this.iterate<Res>(service, rpc, call, () => call.cancel());
  }

  /** bidi opens a bidirectional call. */
  bidi<Req extends object, Res>(service: Service, rpc: string, opts: CallOptions = {}): BidiStream<Req, Res> {
    const m = this.method(service, rpc);
    const version = () => this.negotiated.get(service);
    const call = this.client.makeBidiStreamRequest<Req, Res>(
      m.path,
      (v) => {
        const ver = version();
        return encode(m.req, ver ? gate(m.req, v, ver) : v);
      },
      (b) => decode<Res>(m.res, b),
      this.metadata,
      opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {},
    );
    opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    const iter = this.iterate<Res>(service, rpc, call, () => call.cancel());
    // One 'drain' wait shared by every write made while the transport is full (not one listener each).
    let drained: Promise<void> | undefined;
    return {
      [Symbol.asyncIterator]: () => iter[Symbol.asyncIterator](),
      cancel: () => call.cancel(),
      end: () => call.end(),
      write: (msg: Req) => {
        let failed: Error | undefined;
        const ok = call.write(msg, (err?: Error | null) => void (failed = err ?? undefined));
        if (failed) return Promise.reject(failed);
        if (ok) return Promise.resolve();
        drained ??= new Promise<void>((resolve) =>
          call.once('drain', () => {
            drained = undefined;
            resolve();
          }),
        );
        return drained;
      },
    };
  }

  private iterate<Res>(service: Service, rpc: string, call: grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<unknown, Res>, cancel: () => void): ServerStream<Res> {
    const context = this.context(service, rpc);
    const source = call as AsyncIterable<Res>;
    return {
      cancel,
      async *[Symbol.asyncIterator]() {
        try {
          for await (const item of source) yield item;
        } catch (err) {
          const e = err as grpc.ServiceError;
          if (e.code === grpc.status.CANCELLED) return;
          throw TesseraError.fromGrpc(e, context);
        }
      },
    };
  }
}
