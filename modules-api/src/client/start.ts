// Starting a module end to end: launch + handshake, GetInfo, negotiation per kind, parameter validation,
// Configure. The core's module host adds supervision on top; the conformance kit and the in-process
// harness use this as it is.
import { TesseraError } from '../errors';
import { KINDS, type Kind } from '../kinds';
import { ABI_VERSION } from '../version';
import type * as T from '../generated/types';
import { ModuleConnection, type BidiStream, type CallObserver, type CallOptions, type ServerStream, type Service } from './connection';
import { launchModule, type Launched, type LaunchSpec } from './launch';
import { checkModuleInfo, negotiate, type Negotiated } from './negotiate';
import type { Caller } from './kind-clients';

/** CoreAbi is what a core supports: its version and, per kind, the ABI versions it implements. */
export interface CoreAbi {
  version: string;
  abi: Readonly<Record<Kind, readonly string[]>>;
}

/**
 * ABI versions this copy of modules-api implements, for every kind: every minor of its major up to its
 * own (minors are additive, so a core at 1.3 still speaks 1.0, 1.1 and 1.2 to modules built for them).
 */
export const SUPPORTED_ABI: Readonly<Record<Kind, readonly string[]>> = supportedUpTo(ABI_VERSION);

/** supportedUpTo lists X.0.0 .. X.Y.0 for an ABI version X.Y.Z, for every kind. */
export function supportedUpTo(version: string): Record<Kind, readonly string[]> {
  const [major, minor] = version.split('.').map(Number);
  const versions = Array.from({ length: minor + 1 }, (_, i) => `${major}.${i}.0`);
  return Object.fromEntries(KINDS.map((k) => [k, versions])) as unknown as Record<Kind, readonly string[]>;
}

/** ConfigureOptions are what Configure sends, and how parameters are checked before. */
export interface ConfigureOptions {
  /** kinds to negotiate; default every kind the module implements. */
  kinds?: Kind[];
  core: CoreAbi;
  parameters?: unknown;
  /** validateParameters throws TSR_PARAMETERS_INVALID when parameters fail the module's schema. */
  validateParameters?: (schema: object, parameters: unknown, info: T.ModuleInfo) => void;
  callTimeoutMs?: number;
  stateDir?: string;
  logLevel?: string;
}

/** ConfiguredModule is a module the core can call: negotiated and configured. */
export class ConfiguredModule implements Caller {
  constructor(
    readonly name: string,
    readonly connection: ModuleConnection,
    readonly info: T.ModuleInfo,
    readonly negotiated: ReadonlyMap<Kind, Negotiated>,
    readonly warnings: readonly string[],
  ) {}

  capabilities(kind: Kind): readonly string[] {
    return this.negotiated.get(kind)?.capabilities ?? [];
  }

  unary<Res>(service: Service, rpc: string, req: object, opts?: CallOptions): Promise<Res> {
    return this.connection.unary<Res>(service, rpc, req, opts);
  }

  serverStream<Res>(service: Service, rpc: string, req: object, opts?: CallOptions): ServerStream<Res> {
    return this.connection.serverStream<Res>(service, rpc, req, opts);
  }

  bidi<Req extends object, Res>(service: Service, rpc: string, opts?: CallOptions): BidiStream<Req, Res> {
    return this.connection.bidi<Req, Res>(service, rpc, opts);
  }
}

/**
 * configureModule runs GetInfo, negotiation and Configure over an open connection. `failed` rejects
 * when the module dies meanwhile, so a crash reads as a crash rather than as a transport error.
 */
export async function configureModule(name: string, connection: ModuleConnection, opts: ConfigureOptions, failed?: Promise<never>): Promise<ConfiguredModule> {
  failed?.catch(() => undefined); // it rejects whenever the module ends, also long after configuration
  // A crash shows first as a transport error; prefer the exit (code, stderr) when it follows at once.
  const race = <X>(p: Promise<X>): Promise<X> =>
    !failed
      ? p
      : Promise.race([p, failed]).catch(async (err: unknown) => {
          const exit = await Promise.race([failed.then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(r, 500))]);
          throw exit ?? err;
        });
  const info = await race(connection.unary<T.ModuleInfo>('module', 'GetInfo', { coreVersion: opts.core.version }));
  checkModuleInfo(name, info);
  const kinds = opts.kinds ?? (info.kinds ?? []).map((k) => k.kind as Kind);
  const negotiated = new Map<Kind, Negotiated>();
  for (const kind of kinds) {
    const n = negotiate(name, info, kind, { version: opts.core.version, abi: opts.core.abi[kind] });
    negotiated.set(kind, n);
    connection.setNegotiated(kind, n.version);
  }
  const parameters = opts.parameters ?? {};
  if (info.parametersSchema) {
    opts.validateParameters?.(JSON.parse(info.parametersSchema) as object, parameters, info);
  } else if (parameters && typeof parameters === 'object' && Object.keys(parameters).length > 0) {
    throw new TesseraError(
      'TSR_PARAMETERS_INVALID',
      `module ${name} (${info.name} ${info.version}) takes no parameters, but modules.json gives ${Object.keys(parameters).join(', ')}`,
    );
  }
  const res = await race(
    connection.unary<T.ConfigureResponse>('module', 'Configure', {
      instanceName: name,
      coreVersion: opts.core.version,
      negotiated: [...negotiated.values()].map((n) => ({ kind: n.kind, abiVersion: n.version })),
      parametersJson: JSON.stringify(parameters),
      callTimeoutMs: opts.callTimeoutMs ?? 5000,
      logLevel: opts.logLevel ?? 'info',
      stateDir: opts.stateDir ?? '',
    }),
  );
  return new ConfiguredModule(name, connection, info, negotiated, res.warnings ?? []);
}

/** StartedModule is a module process the caller owns: configured, and stoppable. */
export class StartedModule extends ConfiguredModule {
  constructor(
    configured: ConfiguredModule,
    readonly process: Launched,
  ) {
    super(configured.name, configured.connection, configured.info, configured.negotiated, configured.warnings);
  }

  /** pid is the module process's pid. */
  get pid(): number {
    return this.process.pid;
  }

  /** stop asks the module to shut down, then SIGTERM, then SIGKILL; resolves when it has exited. */
  async stop(graceMs = 2000): Promise<void> {
    await stopProcess(this.connection, this.process, graceMs);
  }
}

/**
 * stopProcess is the graceful stop: Shutdown RPC, SIGTERM after the grace, SIGKILL after 2 s more. The
 * signals go to the module's process group, and whatever of the group outlives the module is SIGKILLed
 * (launchModule does that on exit), so a wrapper's children cannot keep the module's pipes open.
 */
export async function stopProcess(connection: ModuleConnection, launched: Launched, graceMs: number): Promise<void> {
  const gone = (ms: number): Promise<boolean> =>
    Promise.race([launched.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (launched.child.exitCode === null && launched.child.signalCode === null) {
    await connection.unary('module', 'Shutdown', { graceMs }, { deadlineMs: graceMs }).catch(() => undefined);
    if (!(await gone(graceMs))) {
      launched.kill('SIGTERM');
      if (!(await gone(2000))) {
        launched.kill('SIGKILL');
        await launched.exited;
      }
    }
  }
  connection.close();
}

/** StartOptions start a module process and configure it. */
export interface StartOptions extends Omit<LaunchSpec, 'coreVersion'>, ConfigureOptions {
  observer?: CallObserver;
}

/** exitedError turns a process exit into the error a call in progress reports. */
export function exitedError(name: string, launched: Launched, during: string): Promise<never> {
  return launched.exited.then(
    ({ code, signal }) =>
      new Promise<never>((_, reject) =>
        // let the last stderr lines arrive before quoting them
        setTimeout(
          () =>
            reject(
              new TesseraError(
                'TSR_MODULE_EXITED',
                `module ${name} exited (${signal ? `signal ${signal}` : `code ${code}`}) during ${during}; stderr: ${launched.stderrTail()}`,
              ),
            ),
          50,
        ),
      ),
  );
}

/** startModule launches a module and configures it; on any failure the process is killed. */
export async function startModule(opts: StartOptions): Promise<StartedModule> {
  const launched = await launchModule({ ...opts, coreVersion: opts.core.version });
  const connection = new ModuleConnection(opts.name, launched.socketPath, launched.token, opts.callTimeoutMs ?? 5000, opts.observer);
  try {
    const configured = await configureModule(opts.name, connection, opts, exitedError(opts.name, launched, 'GetInfo/Configure'));
    return new StartedModule(configured, launched);
  } catch (err) {
    connection.close();
    launched.kill('SIGKILL');
    throw err;
  }
}
