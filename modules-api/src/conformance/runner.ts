// The check runner shared by the conformance suites: runs named checks one after another, each bounded
// by a time limit, skipping those whose capability the module does not advertise (as csi-sanity does)
// and those that cannot run any more (the module never started or has exited).

/** CheckStatus is the outcome of one check. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** CheckResult is one check's outcome, with a message that says what was seen and, on failure, what to fix. */
export interface CheckResult {
  /** id is stable across releases, e.g. "cleanup-unknown"; use it to select results in tests. */
  id: string;
  /** title says what the check expects of the module. */
  title: string;
  status: CheckStatus;
  /** message: on pass a note (may be empty), on fail what is wrong and what to do, on skip why. */
  message: string;
  durationMs: number;
  /** log holds the module's own log lines printed while a failed check ran. */
  log?: string[];
}

/** Check is one named test of a suite. `run` resolves with a note, or throws to fail or skip. */
export interface Check<C> {
  id: string;
  title: string;
  /** capability the check needs; the check is skipped when the module does not advertise it. */
  capability?: string;
  run(ctx: C): Promise<string | void>;
}

/** CheckFailed fails a check; its message must say what the module did wrong and how to fix it. */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** CheckSkipped skips a check from inside it, for a facility that is truly absent. */
export class CheckSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckSkipped';
  }
}

/** fail throws a {@link CheckFailed}. */
export function fail(message: string): never {
  throw new CheckFailed(message);
}

/** RunHooks connect the runner to a suite's module session. */
export interface RunHooks<C> {
  /** capabilities the module advertised; read before each check, as the first check may start the module. */
  capabilities(): readonly string[];
  /** notRunnable gives the reason a check cannot run (e.g. the module exited), or undefined. */
  notRunnable(check: Check<C>): string | undefined;
  /** beforeEach is told which check is about to run. */
  beforeEach?(check: Check<C>): void;
  /** checkTimeoutMs bounds each check, so a module that hangs cannot hang the suite. */
  checkTimeoutMs: number;
  /** afterEach releases what the check left behind and may amend its result (e.g. with the module's exit). */
  afterEach?(result: CheckResult, ctx: C): Promise<CheckResult>;
  /** logMark and logSince let the runner attach the module's log lines to a failed check. */
  logMark?(): number;
  logSince?(mark: number): string[];
  /** onResult is told about each result as soon as it is known (the CLI prints progress with it). */
  onResult?(result: CheckResult): void;
}

/** runChecks runs the checks in order and returns one result per check. */
export async function runChecks<C>(checks: readonly Check<C>[], ctx: C, hooks: RunHooks<C>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let result = await runOne(check, ctx, hooks);
    if (hooks.afterEach && result.status !== 'skip') result = await hooks.afterEach(result, ctx);
    results.push(result);
    hooks.onResult?.(result);
  }
  return results;
}

async function runOne<C>(check: Check<C>, ctx: C, hooks: RunHooks<C>): Promise<CheckResult> {
  const base = { id: check.id, title: check.title };
  const blocked = hooks.notRunnable(check);
  if (blocked) return { ...base, status: 'skip', message: blocked, durationMs: 0 };
  if (check.capability && !hooks.capabilities().includes(check.capability)) {
    return { ...base, status: 'skip', message: `capability "${check.capability}" not advertised`, durationMs: 0 };
  }
  hooks.beforeEach?.(check);
  const mark = hooks.logMark?.() ?? 0;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CheckFailed(
            `the check did not finish within ${hooks.checkTimeoutMs} ms: a call to the module hangs; ` +
              'every handler must answer (or honour its deadline signal) well within the call timeout',
          ),
        ),
      hooks.checkTimeoutMs,
    );
  });
  try {
    const note = await Promise.race([check.run(ctx), timeout]);
    return { ...base, status: 'pass', message: note ?? '', durationMs: Date.now() - started };
  } catch (err) {
    const durationMs = Date.now() - started;
    if (err instanceof CheckSkipped) return { ...base, status: 'skip', message: err.message, durationMs };
    // Anything but CheckFailed is a bug in the check or an unexpected error: report it as a failure all the same.
    const message = err instanceof CheckFailed ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`;
    const log = hooks.logSince?.(mark) ?? [];
    return { ...base, status: 'fail', message, durationMs, ...(log.length ? { log } : {}) };
  } finally {
    clearTimeout(timer);
  }
}
