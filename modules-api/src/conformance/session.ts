// One module under test: started exactly as the core starts it (startModule), with its log lines kept
// for failure reports, its exit noticed, helper processes tracked, and everything torn down at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { TesseraError } from '../errors';
import type { Kind } from '../kinds';
import { makeRuntimeDir } from '../client/launch';
import { SUPPORTED_ABI, startModule, type StartedModule } from '../client/start';
import { validateParameters } from '../client/parameters';
import { CheckFailed, type Check } from './runner';

/** ModuleCommand says how to start the module under test. */
export interface ModuleCommand {
  /** command is the program (process.execPath for a built module.js); args its arguments. */
  command: string;
  args: string[];
  /** env is added to the environment the module starts with. */
  env?: Record<string, string>;
  cwd?: string;
}

/** CORE_VERSION is what the kit tells modules as the core's version (TESSERA_CORE_VERSION, Configure). */
export const CORE_VERSION = 'conformance';

const MAX_LINES = 500;
const LINES_PER_FAILURE = 10;

/** ModuleSession owns the module process and the helper processes of one conformance run. */
export class ModuleSession {
  module: StartedModule | undefined;
  /** current is the id of the running check, so an exit can be attributed to it. */
  current = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null; during: string } | undefined;
  private stopping = false;
  private readonly lines: string[] = [];
  private lineCount = 0;
  private readonly helpers = new Set<ChildProcess>();
  private readonly runtimeDir = makeRuntimeDir('tessera-conformance-');

  constructor(
    readonly name: string,
    private readonly command: ModuleCommand,
    readonly timeoutMs: number,
  ) {}

  /** start launches the module and negotiates `kind` only; a failure is a CheckFailed saying what to do. */
  async start(kind: Kind, parameters: unknown): Promise<StartedModule> {
    try {
      this.module = await startModule({
        name: this.name,
        command: this.command.command,
        args: this.command.args,
        env: this.command.env,
        cwd: this.command.cwd,
        runtimeDir: this.runtimeDir,
        startTimeoutMs: this.timeoutMs,
        callTimeoutMs: this.timeoutMs,
        core: { version: CORE_VERSION, abi: SUPPORTED_ABI },
        kinds: [kind],
        parameters,
        // The core's rules exactly (schema drafts, defaults filled in, a schema that must compile), so
        // parameters the kit accepts are parameters the core accepts.
        validateParameters: (schema, params, info) => validateParameters(schema, params, info, '--parameters'),
        onLine: (stream, line) => this.keep(stream, line),
      });
    } catch (err) {
      const e = TesseraError.wrap(err);
      throw new CheckFailed(`${e.code}: ${e.message}${startHint(e.code, kind)}`);
    }
    void this.module.process.exited.then(({ code, signal }) => {
      if (!this.stopping) this.exit = { code, signal, during: this.current };
    });
    return this.module;
  }

  private keep(stream: 'stdout' | 'stderr', line: string): void {
    this.lines.push(`${stream}: ${line}`);
    this.lineCount++;
    if (this.lines.length > MAX_LINES) this.lines.shift();
  }

  /** logMark is a position in the module's log; see {@link ModuleSession.logSince}. */
  logMark(): number {
    return this.lineCount;
  }

  /** logSince returns the module's log lines printed after `mark` (the last few, shortened). */
  logSince(mark: number): string[] {
    const fresh = Math.min(this.lineCount - mark, this.lines.length);
    return this.lines
      .slice(this.lines.length - fresh)
      .slice(-LINES_PER_FAILURE)
      .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
  }

  /** exitedDuring names the check during which the module exited unexpectedly; undefined while it runs. */
  exitedDuring(): string | undefined {
    return this.exit?.during;
  }

  /** describeExit says how the module exited, with its last stderr lines, for the check it exited in. */
  describeExit(): string {
    if (!this.exit || !this.module) return '';
    const how = this.exit.signal ? `signal ${this.exit.signal}` : `code ${this.exit.code}`;
    return (
      `the module exited (${how}) during this check; a module must keep running until the core stops it. ` +
      `Its last stderr lines: ${this.module.process.stderrTail()}`
    );
  }

  /** waitForExit gives a crash a moment to show as an exit rather than as a transport error. */
  async waitForExit(ms: number): Promise<void> {
    if (!this.module || this.exit) return;
    await Promise.race([this.module.process.exited, new Promise((r) => setTimeout(r, ms).unref())]);
    await new Promise((r) => setImmediate(r)); // let the exit handler above record it
  }

  /** spawnHelper starts a real, idle process (the "container" handed to isolate) and returns its pid. */
  async spawnHelper(): Promise<number> {
    // node itself rather than `sleep`: it is the one program certain to exist wherever the kit runs.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    this.helpers.add(child);
    child.once('exit', () => this.helpers.delete(child));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start a helper process (${process.execPath}): ${err.message}`)));
    });
    return child.pid!;
  }

  /**
   * helperEnds tells whether a helper process ends within `ms`. It watches the child's exit rather than
   * probing the pid, because a killed child stays a zombie (still signalable) until node reaps it.
   */
  async helperEnds(pid: number, ms: number): Promise<boolean> {
    const child = [...this.helpers].find((c) => c.pid === pid);
    if (!child) return true; // already exited and forgotten
    return Promise.race([
      new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
    ]);
  }

  /** killHelpers kills every helper process still running and waits until they are gone (reaped). */
  async killHelpers(): Promise<void> {
    const gone = [...this.helpers].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    );
    this.helpers.clear();
    await Promise.all(gone);
  }

  /** close stops the module (Shutdown, SIGTERM, SIGKILL), kills helpers and removes the runtime dir. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.killHelpers();
    try {
      await this.module?.stop(2000);
    } finally {
      fs.rmSync(this.runtimeDir, { recursive: true, force: true });
    }
  }
}

function startHint(code: string, kind: Kind): string {
  switch (code) {
    case 'TSR_ABI_KIND_MISSING':
      return `. The conformance kit was asked to check kind ${kind}: pass the --kind the module implements.`;
    case 'TSR_PARAMETERS_INVALID':
      return '. The kit checks what --parameters or --parameters-file give (no option: {}) against the module\'s parameters schema, as the core checks "parameters" of a modules.json entry: make them fit the schema, or fix the schema if they should.';
    case 'TSR_BAD_MODULE_INFO':
      return '. The core refuses a module whose GetInfo answer is unusable, so no operator could load it: fix what the message names.';
    case 'TSR_MODULE_SPAWN_FAILED':
      return '. Check the path to the module (a built .js file, or an executable).';
    default:
      return '';
  }
}

/** START_CHECK_ID is the id of the check every suite begins with; no other check runs when it fails. */
export const START_CHECK_ID = 'start';

/** startCheck is the first check of every suite: the module starts, handshakes and negotiates `kind`. */
export function startCheck<C extends { session: ModuleSession }>(kind: Kind, parameters: unknown): Check<C> {
  return {
    id: START_CHECK_ID,
    title: `starts, completes the handshake and negotiates kind ${kind}`,
    async run({ session }) {
      const started = await session.start(kind, parameters);
      const n = started.negotiated.get(kind)!;
      const warnings = started.warnings.length ? `; Configure warned: ${started.warnings.join('; ')}` : '';
      return (
        `pid ${started.pid}; ${kind} ABI ${n.version} negotiated (built against ${n.builtAgainst}, accepts ${n.accepts}); ` +
        `capabilities: ${n.capabilities.join(', ') || 'none'}${warnings}`
      );
    },
  };
}
