/**
 * ManagedModule supervises one module process: start, health checks, restart with exponential backoff
 * followed by the recover callbacks, per-call deadlines, graceful stop. It is a {@link Caller}, so the
 * typed clients (IsolatorClient, ...) call through it and never see a restart except as a clear error.
 */
import {
  TesseraError,
  startModule,
  stopProcess,
  type BidiStream,
  type Caller,
  type CallOptions,
  type ConfigureOptions,
  type Kind,
  type LaunchSpec,
  type ModuleInfo,
  type Negotiated,
  type ServerStream,
  type Service,
  type StartedModule,
} from '@tessera/modules-api';
import type { Log } from '../log';
import type { ModuleMetrics } from './metrics';

/** ModuleState is where a supervised module is in its lifecycle. */
export type ModuleState = 'stopped' | 'starting' | 'ready' | 'restarting' | 'stopping';

/** MODULE_TRANSITIONS lists the legal moves of the module lifecycle. */
export const MODULE_TRANSITIONS: Readonly<Record<ModuleState, readonly ModuleState[]>> = {
  stopped: ['starting'],
  starting: ['ready', 'stopped', 'stopping'],
  ready: ['restarting', 'stopping'],
  restarting: ['ready', 'stopping'],
  stopping: ['stopped'],
};

/** nextState returns `to` when the move is legal and throws otherwise. */
export function nextState(from: ModuleState, to: ModuleState): ModuleState {
  if (!MODULE_TRANSITIONS[from].includes(to)) throw new Error(`module lifecycle: illegal transition ${from} -> ${to}`);
  return to;
}

/** SupervisionOptions tune a ManagedModule. */
export interface SupervisionOptions {
  launch: Omit<LaunchSpec, 'coreVersion' | 'name'>;
  configure: ConfigureOptions;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** a process that ran this long resets the backoff. */
  stableAfterMs: number;
  healthIntervalMs: number;
  /** health checks failing this many times in a row get the process killed and restarted. */
  healthFailures: number;
  shutdownGraceMs: number;
  callTimeoutMs: number;
}

/**
 * RecoverCallback runs after every restart, before other calls flow again: it gets the new process as a
 * Caller (e.g. `new IsolatorClient(caller).recover(...)`) to replay what the module must know.
 */
export type RecoverCallback = (caller: Caller) => Promise<void>;

/** ManagedModule is a supervised module process. */
export class ManagedModule implements Caller {
  private state: ModuleState = 'stopped';
  private current: StartedModule | undefined;
  private backoffMs: number;
  private startedAt = 0;
  private lastError: TesseraError | undefined;
  private waiters: { resolve: (m: StartedModule) => void; reject: (e: Error) => void }[] = [];
  private readonly recoverCallbacks = new Set<RecoverCallback>();
  private healthTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;

  constructor(
    readonly name: string,
    private readonly opts: SupervisionOptions,
    private readonly log: Log,
    private readonly metrics?: ModuleMetrics,
  ) {
    this.backoffMs = opts.initialBackoffMs;
  }

  /** status is the lifecycle state. */
  get status(): ModuleState {
    return this.state;
  }

  /** pid is the current process's pid, if any. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** info is the module's GetInfo answer from its latest start. */
  get info(): ModuleInfo | undefined {
    return this.current?.info;
  }

  /** negotiated is the outcome of negotiation per kind, from the latest start. */
  get negotiated(): ReadonlyMap<Kind, Negotiated> {
    return this.current?.negotiated ?? new Map();
  }

  /** warnings are what Configure answered. */
  get warnings(): readonly string[] {
    return this.current?.warnings ?? [];
  }

  /** restartCount is how many times the process was restarted. */
  get restartCount(): number {
    return this.restarts;
  }

  /** onRecover registers a callback run after each restart (e.g. the agent replays Recover to isolators). */
  onRecover(cb: RecoverCallback): () => void {
    this.recoverCallbacks.add(cb);
    return () => this.recoverCallbacks.delete(cb);
  }

  private move(to: ModuleState): void {
    this.state = nextState(this.state, to);
    this.metrics?.state(this.name, to);
  }

  /** start starts the module for the first time; errors here are the operator's to fix, so they propagate. */
  async start(): Promise<void> {
    this.move('starting');
    try {
      this.adopt(await this.spawn());
    } catch (err) {
      this.move('stopped');
      throw err;
    }
    this.move('ready');
    this.healthTimer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    this.healthTimer.unref();
  }

  private spawn(): Promise<StartedModule> {
    return startModule({
      ...this.opts.launch,
      ...this.opts.configure,
      name: this.name,
      callTimeoutMs: this.opts.callTimeoutMs,
      observer: (service, rpc, micros, error) => this.metrics?.observe(this.name, `${service}.${rpc}`, micros, error),
    });
  }

  private adopt(m: StartedModule): void {
    this.current = m;
    this.startedAt = Date.now();
    for (const w of m.warnings) this.log.warn(`Configure warning: ${w}`);
    void m.process.exited.then((exit) => {
      if (this.current === m) this.onExit(exit);
    });
  }

  private onExit({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (Date.now() - this.startedAt >= this.opts.stableAfterMs) this.backoffMs = this.opts.initialBackoffMs;
    this.lastError = new TesseraError(
      'TSR_MODULE_EXITED',
      `module ${this.name} exited (${signal ? `signal ${signal}` : `code ${code}`}); stderr: ${this.current?.process.stderrTail() ?? ''}`,
    );
    this.log.error(`module ${this.name} exited (${signal ? `signal ${signal}` : `code ${code}`}); restarting in ${this.backoffMs} ms`);
    this.current?.connection.close();
    if (this.state === 'ready') this.move('restarting');
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.state !== 'restarting') return;
    let m: StartedModule;
    try {
      m = await this.spawn();
    } catch (err) {
      this.lastError = TesseraError.wrap(err);
      this.log.error(`module ${this.name}: restart failed: ${this.lastError.message}; next attempt in ${this.backoffMs} ms`);
      if (this.state === 'restarting') this.scheduleRestart();
      return;
    }
    if (this.state !== 'restarting') {
      await stopProcess(m.connection, m.process, this.opts.shutdownGraceMs);
      return;
    }
    this.adopt(m);
    this.restarts++;
    this.metrics?.restarted(this.name);
    for (const cb of this.recoverCallbacks) {
      try {
        await cb(m);
      } catch (err) {
        this.log.error(`module ${this.name}: recover after restart failed: ${TesseraError.wrap(err).message}`);
      }
    }
    if (this.current !== m) return; // it died again during recovery; onExit took over
    this.move('ready');
    this.log.info(`module ${this.name} restarted (pid ${m.pid}, restart ${this.restarts})`);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(m);
  }

  private async checkHealth(): Promise<void> {
    const m = this.current;
    if (this.state !== 'ready' || !m) return;
    let failures = 0;
    for (let i = 0; i < this.opts.healthFailures; i++) {
      try {
        const res = await m.unary<{ status?: string }>('health', 'Check', {}, { deadlineMs: 2000 });
        if (res.status === 'SERVING') return;
      } catch {
        // counted below
      }
      failures++;
      if (this.current !== m || this.state !== 'ready') return;
    }
    this.log.error(`module ${this.name} failed ${failures} health checks in a row; killing it (pid ${m.pid}) to restart it`);
    m.process.kill('SIGKILL');
  }

  private whenReady(service: Service, rpc: string, deadlineMs: number): Promise<StartedModule> {
    if (this.state === 'ready' && this.current) return Promise.resolve(this.current);
    if (this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(new TesseraError('TSR_MODULE_STOPPED', `module ${this.name}: ${service}.${rpc} called but the module is ${this.state}`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: StartedModule) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject,
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new TesseraError(
            'TSR_MODULE_UNAVAILABLE',
            `module ${this.name} is ${this.state} (last error: ${this.lastError?.message ?? 'none'}); ${service}.${rpc} gave up after ${deadlineMs} ms`,
          ),
        );
      }, deadlineMs);
      this.waiters.push(waiter);
    });
  }

  private async explain(m: StartedModule, service: Service, rpc: string, err: unknown): Promise<never> {
    const e = TesseraError.wrap(err);
    if (e.code === 'TSR_MODULE_UNAVAILABLE' || e.code === 'TSR_HANDLER_FAILED') {
      // The transport error usually arrives just before the exit event: wait briefly for it.
      const exit = await Promise.race([m.process.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200).unref())]);
      if (exit) {
        throw new TesseraError(
          'TSR_MODULE_EXITED',
          `module ${this.name} exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) during ${service}.${rpc}; the core is restarting it`,
          { cause: e },
        );
      }
    }
    throw e;
  }

  /** unary calls the module, waiting (within the deadline) for a restart in progress. */
  async unary<Res>(service: Service, rpc: string, req: object, opts: CallOptions = {}): Promise<Res> {
    const deadlineMs = opts.deadlineMs ?? this.opts.callTimeoutMs;
    const started = Date.now();
    const m = await this.whenReady(service, rpc, deadlineMs);
    try {
      return await m.unary<Res>(service, rpc, req, { ...opts, deadlineMs: Math.max(1, deadlineMs - (Date.now() - started)) });
    } catch (err) {
      return this.explain(m, service, rpc, err);
    }
  }

  /** serverStream opens a stream on the current process; it fails when the process dies. */
  serverStream<Res>(service: Service, rpc: string, req: object, opts: CallOptions = {}): ServerStream<Res> {
    const self = this;
    let inner: ServerStream<Res> | undefined;
    let cancelled = false;
    return {
      cancel() {
        cancelled = true;
        inner?.cancel();
      },
      async *[Symbol.asyncIterator]() {
        const m = await self.whenReady(service, rpc, opts.deadlineMs ?? self.opts.callTimeoutMs);
        if (cancelled) return;
        inner = m.serverStream<Res>(service, rpc, req, opts);
        try {
          yield* inner;
        } catch (err) {
          await self.explain(m, service, rpc, err);
        }
      },
    };
  }

  /** bidi opens a bidirectional stream on the current process; callers reopen it from onRecover. */
  bidi<Req extends object, Res>(service: Service, rpc: string, opts: CallOptions = {}): BidiStream<Req, Res> {
    const m = this.state === 'ready' ? this.current : undefined;
    if (!m) throw new TesseraError('TSR_MODULE_UNAVAILABLE', `module ${this.name} is ${this.state}; cannot open ${service}.${rpc}`);
    return m.bidi<Req, Res>(service, rpc, opts);
  }

  capabilities(kind: Kind): readonly string[] {
    return this.current?.capabilities(kind) ?? [];
  }

  /** stop shuts the module down gracefully (Shutdown, SIGTERM, SIGKILL). */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.move('stopping');
    clearInterval(this.healthTimer);
    clearTimeout(this.restartTimer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new TesseraError('TSR_MODULE_STOPPED', `module ${this.name} was stopped`));
    const m = this.current;
    if (m) await stopProcess(m.connection, m.process, this.opts.shutdownGraceMs);
    this.move('stopped');
  }

  /** killNow SIGKILLs the process at once (the core is exiting). */
  killNow(): void {
    clearInterval(this.healthTimer);
    clearTimeout(this.restartTimer);
    this.current?.process.kill('SIGKILL');
  }
}
