/**
 * ModuleHost runs the modules of one master or agent: it resolves modules.json entries, starts the
 * selected modules in parallel (negotiating the kinds each is used as), hands out typed clients, and
 * stops them all. No module process outlives the host: on exit they are killed, and the SDK makes a
 * module exit by itself when its host dies.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  AllocatorClient,
  ContainerizerClient,
  ContenderClient,
  DetectorClient,
  HookClient,
  IsolatorClient,
  TesseraError,
  makeRuntimeDir,
  type CoreAbi,
  type Kind,
} from '@tessera/modules-api';
import { CORE_ABI } from '../version';
import { forwardModuleLine, type Log } from '../log';
import { ManagedModule } from './managed-module';
import { ModuleMetrics } from './metrics';
import type { ModuleEntry, ModulesConfig } from './modules-json';
import { parameterValidator } from './parameters';
import { parseDuration, resolveEntry } from './resolve';

/** ModuleHostOptions configure a ModuleHost. */
export interface ModuleHostOptions {
  config: ModulesConfig;
  log: Log;
  core?: CoreAbi;
  metrics?: ModuleMetrics;
  /** stateDir holds a directory per module kept across restarts (default: none). */
  stateDir?: string;
  logLevel?: string;
  healthIntervalMs?: number;
}

/** Selection names a module and the kinds it is used as; no kinds means every kind it implements. */
export interface Selection {
  name: string;
  kinds?: Kind[];
}

/** ModuleHost owns the module processes of one core process. */
export class ModuleHost {
  readonly metrics: ModuleMetrics;
  private readonly modules = new Map<string, ManagedModule>();
  private readonly runtimeDir = makeRuntimeDir();

  constructor(private readonly opts: ModuleHostOptions) {
    this.metrics = opts.metrics ?? new ModuleMetrics();
  }

  /** names lists the modules modules.json defines. */
  get names(): string[] {
    return this.opts.config.modules.map((m) => m.name);
  }

  /** entry finds a module entry by name, or explains which names exist. */
  entry(name: string): ModuleEntry {
    const found = this.opts.config.modules.find((m) => m.name === name);
    if (!found) {
      throw new TesseraError(
        'TSR_MODULE_UNKNOWN',
        `no module named "${name}" in ${this.opts.config.source} (it defines: ${this.names.join(', ') || 'none'})`,
      );
    }
    return found;
  }

  /** create builds the supervisor of one module without starting it. */
  create(selection: Selection): ManagedModule {
    const entry = this.entry(selection.name);
    const config = this.opts.config;
    const resolved = resolveEntry(entry, config);
    const index = config.modules.indexOf(entry);
    const log = this.opts.log.child(`module ${entry.name}`);
    let stateDir = '';
    if (this.opts.stateDir) {
      stateDir = path.join(this.opts.stateDir, entry.name);
      fs.mkdirSync(stateDir, { recursive: true });
    }
    const callTimeoutMs = parseDuration(entry.timeouts?.call, 5000);
    return new ManagedModule(
      entry.name,
      {
        launch: {
          command: resolved.command,
          args: resolved.args,
          cwd: config.dir,
          env: entry.env,
          startTimeoutMs: parseDuration(entry.timeouts?.start, 10_000),
          runtimeDir: this.runtimeDir,
          onLine: (stream, line) => forwardModuleLine(log, stream, line),
        },
        configure: {
          core: this.opts.core ?? CORE_ABI,
          kinds: selection.kinds,
          parameters: entry.parameters ?? {},
          validateParameters: parameterValidator(config, index, entry.name),
          stateDir,
          logLevel: this.opts.logLevel,
        },
        initialBackoffMs: parseDuration(entry.restart?.initialBackoff, 100),
        maxBackoffMs: parseDuration(entry.restart?.maxBackoff, 30_000),
        stableAfterMs: 60_000,
        healthIntervalMs: this.opts.healthIntervalMs ?? 5000,
        healthFailures: 3,
        shutdownGraceMs: parseDuration(entry.timeouts?.shutdown, 2000),
        callTimeoutMs,
      },
      log,
      this.metrics,
    );
  }

  /**
   * start starts the selected modules (all when none given) in parallel. If any fails, the others are
   * stopped and one error lists every failure.
   */
  async start(selections?: Selection[]): Promise<void> {
    const wanted = selections ?? this.names.map((name) => ({ name }));
    const created: ManagedModule[] = [];
    const failures: TesseraError[] = [];
    for (const s of wanted) {
      if (this.modules.has(s.name)) continue;
      try {
        created.push(this.create(s));
      } catch (err) {
        failures.push(TesseraError.wrap(err));
      }
    }
    const results = await Promise.allSettled(created.map((m) => m.start()));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') this.modules.set(created[i].name, created[i]);
      else failures.push(TesseraError.wrap(r.reason));
    });
    if (failures.length === 1) {
      await this.stop();
      throw failures[0];
    }
    if (failures.length) {
      await this.stop();
      throw new TesseraError('TSR_MODULES_FAILED', `Error loading modules:\n  ${failures.map((f) => `${f.code}: ${f.message}`).join('\n  ')}`);
    }
  }

  /** get returns a started module. */
  get(name: string): ManagedModule {
    const m = this.modules.get(name);
    if (!m) throw new TesseraError('TSR_MODULE_UNKNOWN', `module "${name}" is not started (started: ${[...this.modules.keys()].join(', ') || 'none'})`);
    return m;
  }

  /** all lists the started modules. */
  all(): ManagedModule[] {
    return [...this.modules.values()];
  }

  isolator(name: string): IsolatorClient {
    return new IsolatorClient(this.get(name));
  }
  containerizer(name: string): ContainerizerClient {
    return new ContainerizerClient(this.get(name));
  }
  allocator(name: string): AllocatorClient {
    return new AllocatorClient(this.get(name));
  }
  hook(name: string): HookClient {
    return new HookClient(this.get(name));
  }
  contender(name: string): ContenderClient {
    return new ContenderClient(this.get(name));
  }
  detector(name: string): DetectorClient {
    return new DetectorClient(this.get(name));
  }

  /** stop stops every module gracefully. */
  async stop(): Promise<void> {
    await Promise.all(this.all().map((m) => m.stop()));
    this.modules.clear();
    fs.rmSync(this.runtimeDir, { recursive: true, force: true });
  }

  /** killAll SIGKILLs every module at once; for the core's exit path, where nothing async runs. */
  killAll(): void {
    for (const m of this.modules.values()) m.killNow();
    fs.rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
