// What every kind's suite shares: the GetInfo and wrong-token checks, and how a module's error is
// described to its author (code, message, and what to do about it).
import { randomBytes } from 'node:crypto';
import { satisfies, valid, validRange } from 'semver';
import { TesseraError } from '../errors';
import { KIND_SPECS, type Kind } from '../kinds';
import { ABI_VERSION } from '../version';
import { compareAbi } from '../internal/codec';
import { ModuleConnection } from '../client/connection';
import type { StartedModule } from '../client/start';
import type * as T from '../generated/types';
import { fail, type Check } from './runner';
import { CORE_VERSION, type ModuleSession } from './session';

/** Outcome is a call's result or the coded error it failed with. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: TesseraError };

/** ProbeBase is what the shared checks need of a suite's context. */
export interface ProbeBase {
  readonly session: ModuleSession;
  /** module is the started module; checks run only once it started. */
  readonly module: StartedModule;
  readonly timeoutMs: number;
}

/** UNDECIDED are the codes that say the module did not decide anything: an uncoded throw, or no answer. */
export const UNDECIDED: readonly string[] = ['TSR_HANDLER_FAILED', 'TSR_CALL_TIMEOUT', 'TSR_MODULE_UNAVAILABLE', 'TSR_MODULE_EXITED'];

// The name rule of the SDK (validateDefinition), so modules written without it are held to the same.
const PLAIN_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** knownCapabilities are the capabilities of `kind` in the ABI this kit was built with. */
export function knownCapabilities(kind: Kind): readonly string[] {
  const spec = KIND_SPECS[kind];
  return [...spec.methods.flatMap((m) => (m.capability ? [m.capability] : [])), ...Object.values(spec.flags)];
}

/** getInfoCheck checks GetInfo: plain name, semver version, an entry for `kind`, known capabilities, a stable answer. */
export function getInfoCheck<C extends ProbeBase>(kind: Kind): Check<C> {
  const known = knownCapabilities(kind);
  return {
    id: 'get-info',
    title: `GetInfo is sane: plain name, semver version, ${kind} kind, known capabilities, stable answer`,
    async run(p) {
      const info = p.module.info;
      const problems: string[] = [];
      if (!info.name || !PLAIN_NAME.test(info.name)) problems.push(`name "${info.name ?? ''}" must be a plain name such as "${kind}-foo"`);
      if (!info.version || !valid(info.version)) problems.push(`version "${info.version ?? ''}" must be a semver version such as 1.0.0`);
      if (info.parametersSchema) {
        const schema: unknown = JSON.parse(info.parametersSchema); // checkModuleInfo already made sure it parses
        if (!schema || typeof schema !== 'object' || Array.isArray(schema)) problems.push('parameters_schema must be a JSON Schema object');
      }
      const entry = info.kinds?.find((k) => k.kind === kind);
      let note = '';
      if (!entry) problems.push(`kinds has no "${kind}" entry`);
      else {
        const built = entry.builtAgainst ?? '';
        if (valid(built) && validRange(entry.accepts ?? '') && !satisfies(built, entry.accepts!, { includePrerelease: true })) {
          problems.push(`${kind} accepts "${entry.accepts}", which excludes the ABI ${built} it was built against: widen the range (abi.${kind} in the module definition)`);
        }
        const caps = entry.capabilities ?? [];
        const dupes = caps.filter((c, i) => caps.indexOf(c) !== i);
        if (dupes.length) problems.push(`capabilities list ${dupes.join(', ')} more than once`);
        const unknown = caps.filter((c) => !known.includes(c));
        if (unknown.length && valid(built) && compareAbi(built, ABI_VERSION) > 0) {
          note = `capabilities ${unknown.join(', ')} are newer than this kit (ABI ${ABI_VERSION}): upgrade @tessera/modules-api to check them`;
        } else if (unknown.length) {
          problems.push(
            `unknown ${kind} capabilities ${unknown.join(', ')}: ABI ${ABI_VERSION} knows ${known.join(', ') || 'none'}; ` +
              'capabilities are advertised by implementing the optional handlers (the SDK derives them), not by hand',
          );
        }
      }
      const again = await p.module
        .unary<T.ModuleInfo>('module', 'GetInfo', { coreVersion: CORE_VERSION }, { deadlineMs: p.timeoutMs })
        .catch((err: unknown) => fail(`GetInfo after Configure failed with ${describeError(TesseraError.wrap(err), p.timeoutMs)}`));
      if (JSON.stringify(essentials(again, kind)) !== JSON.stringify(essentials(info, kind))) {
        problems.push(
          `GetInfo answered differently after Configure (${JSON.stringify(essentials(again, kind))} instead of ${JSON.stringify(essentials(info, kind))}): ` +
            'name, version and capabilities must stay the same for the life of the process',
        );
      }
      if (problems.length) fail(`GetInfo: ${problems.join('; ')}`);
      return [`${info.name} ${info.version}`, note].filter(Boolean).join('; ');
    },
  };
}

function essentials(info: T.ModuleInfo, kind: Kind): unknown {
  const k = info.kinds?.find((x) => x.kind === kind);
  return [info.name, info.version, k?.builtAgainst, k?.accepts, [...(k?.capabilities ?? [])].sort()];
}

/**
 * tokenCheck checks that calls with a wrong token are refused with TSR_UNAUTHENTICATED: Module.GetInfo,
 * plus the calls of the kind that `kindCalls` makes on the wrongly authenticated connection.
 */
export function tokenCheck<C extends ProbeBase>(kindCalls: (wrong: ModuleConnection, p: C) => [string, Promise<unknown>][]): Check<C> {
  return {
    id: 'token',
    title: 'calls with a wrong token are refused with TSR_UNAUTHENTICATED',
    async run(p) {
      const wrong = new ModuleConnection(`${p.session.name} (wrong token)`, p.module.process.socketPath, `wrong-${randomBytes(8).toString('hex')}`, p.timeoutMs);
      try {
        const calls: [string, Promise<unknown>][] = [
          ['Module.GetInfo', wrong.unary('module', 'GetInfo', { coreVersion: CORE_VERSION })],
          ...kindCalls(wrong, p),
        ];
        // Awaited one by one below; marked handled now, so a failure of an early one leaves no unhandled rejection.
        for (const [, call] of calls) call.catch(() => undefined);
        for (const [what, call] of calls) {
          const out = await settle(call);
          if (out.ok) {
            fail(
              `${what} with a wrong token succeeded: a module must refuse every call whose "tessera-token" metadata is not ` +
                'the token in TESSERA_MODULE_TOKEN, with gRPC status UNAUTHENTICATED (serve() of the SDK does this)',
            );
          }
          if (out.error.code !== 'TSR_UNAUTHENTICATED') {
            fail(`${what} with a wrong token was refused with ${out.error.code} (${out.error.message}): check the token first and answer gRPC status UNAUTHENTICATED`);
          }
        }
      } finally {
        wrong.close();
      }
    },
  };
}

/** settle turns a promise into an Outcome, so a race can tell an error from a timeout. */
export function settle<R>(p: Promise<R>): Promise<Outcome<R>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, error: TesseraError.wrap(err) }),
  );
}

/** sleep resolves with 'timeout'; unref'd, so a race's losing timer keeps no test process alive. */
export const sleep = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());

/** describeError renders a module's error as "CODE: message" plus what the module author should do. */
export function describeError(error: TesseraError, timeoutMs: number): string {
  return `${error.code}: ${error.message}${hintFor(error.code, timeoutMs)}`;
}

function hintFor(code: string, timeoutMs: number): string {
  switch (code) {
    case 'TSR_HANDLER_FAILED':
      return (
        ' (the handler threw an error without a code: throw a TesseraError with a code, e.g. ' +
        "new TesseraError('MYMODULE_NOT_READY', '...'), so the core can say who must act)"
      );
    case 'TSR_CALL_TIMEOUT':
      return ` (no answer within ${timeoutMs} ms: a handler must answer within the call deadline; raise --timeout if the work is truly slow)`;
    case 'TSR_UNIMPLEMENTED':
      return ' (the module advertises the capability but does not serve the call)';
    case 'TSR_MODULE_UNAVAILABLE':
    case 'TSR_MODULE_EXITED':
      return ' (the module stopped answering: did it crash?)';
    default:
      return '';
  }
}
