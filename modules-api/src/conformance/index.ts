/**
 * The conformance kit: runs a module process through the checks of its kind, in the spirit of
 * csi-sanity, and reports each as pass, fail (with what to fix) or skip (capability not advertised).
 * Every kind gets the common checks (start, get-info, token); the isolator and allocator kinds also get
 * checks of their calls' semantics, and a report for another kind says those are not covered yet.
 * From the command line:
 * `tessera-conformance --kind allocator dist/module.js`; from a test:
 *
 * ```ts
 * import { runConformance, renderText } from '@tessera/modules-api';
 *
 * it('conforms to the isolator ABI', async () => {
 *   const report = await runConformance({ kind: 'isolator', module: { command: process.execPath, args: ['dist/module.js'] } });
 *   expect(report.results.filter((r) => r.status === 'fail')).toEqual([]);
 * });
 * ```
 */
import path from 'node:path';
import { TesseraError } from '../errors';
import { KINDS, isKind, type Kind } from '../kinds';
import { runAllocatorSuite } from './allocator-suite';
import { runIsolatorSuite } from './isolator-suite';
import { runCommonSuite } from './common-suite';
import { buildReport, type Report } from './report';
import type { CheckResult } from './runner';
import { ModuleSession, type ModuleCommand } from './session';

export type { Report } from './report';
export type { CheckResult, CheckStatus } from './runner';
export type { ModuleCommand } from './session';
export { renderText, renderJunit } from './report';

// SUITES are the checks of each kind the kit covers, by kind.
const SUITES: Partial<Record<Kind, typeof runIsolatorSuite>> = { isolator: runIsolatorSuite, allocator: runAllocatorSuite };

/** COVERED_KINDS are the kinds the conformance kit has kind-specific checks for; every kind gets the common checks. */
export const COVERED_KINDS: readonly Kind[] = Object.keys(SUITES) as Kind[];

/** DEFAULT_TIMEOUT_MS bounds the module's start and each call to it, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** ConformanceOptions say which module to check, as which kind, and how. */
export interface ConformanceOptions {
  /** kind to check the module as: any kind of the ABI; those of {@link COVERED_KINDS} get kind-specific checks too. */
  kind: string;
  /** module is how to start it: `{command: process.execPath, args: ['dist/module.js']}` for a built module. */
  module: ModuleCommand;
  /** name prefixes messages about the module; default the module file's name. */
  name?: string;
  /** parameters are sent at Configure, as an operator's modules.json entry would. */
  parameters?: unknown;
  /** timeoutMs bounds the module's start and each call to it (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** onResult is told about each check as soon as it finished. */
  onResult?: (result: CheckResult) => void;
}

/** unknownKind explains that a kind is not one of the ABI, and which kinds the kit covers. */
export function unknownKind(kind: string): string {
  return `unknown kind "${kind}": the kinds of ABI v1 are ${KINDS.join(', ')}; kind-specific checks exist for ${COVERED_KINDS.join(', ')}`;
}

/**
 * runConformance starts the module as the core would, runs the checks of `kind` and stops it again
 * (also on failure). A module that misbehaves yields a report with failed checks, never a rejection;
 * it rejects (TSR_INVALID_ARGUMENT) only for a kind that is not one of the ABI, or a bad timeout. For a
 * kind outside {@link COVERED_KINDS} the report holds the common checks and `kindChecks: 'not-covered'`.
 */
export async function runConformance(opts: ConformanceOptions): Promise<Report> {
  if (!isKind(opts.kind)) throw new TesseraError('TSR_INVALID_ARGUMENT', unknownKind(opts.kind));
  const kind = opts.kind;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TesseraError('TSR_INVALID_ARGUMENT', `timeoutMs must be a positive whole number of milliseconds, not ${timeoutMs}`);
  }
  const started = Date.now();
  const session = new ModuleSession(opts.name ?? nameOf(opts.module), opts.module, timeoutMs);
  const suite = SUITES[kind];
  let results: CheckResult[];
  try {
    results = suite
      ? await suite(session, opts.parameters, opts.onResult)
      : await runCommonSuite(session, kind, COVERED_KINDS, opts.parameters, opts.onResult);
  } finally {
    await session.close();
  }
  return buildReport(kind, describeModule(opts.module, session, kind), results, Date.now() - started, suite ? 'covered' : 'not-covered');
}

function describeModule(cmd: ModuleCommand, session: ModuleSession, kind: Kind): Report['module'] {
  const m = session.module;
  const n = m?.negotiated.get(kind);
  return {
    command: cmd.command,
    args: cmd.args,
    ...(m ? { name: m.info.name, version: m.info.version } : {}),
    ...(n ? { negotiatedAbi: n.version, capabilities: n.capabilities } : {}),
  };
}

// nameOf names the module after its file: the script node runs, or the executable.
function nameOf(cmd: ModuleCommand): string {
  const file = cmd.command === process.execPath && cmd.args[0] ? cmd.args[0] : cmd.command;
  return path.basename(file).replace(/\.[cm]?js$/, '') || 'module';
}
