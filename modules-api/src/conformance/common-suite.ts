// The checks every module gets whatever its kind: it starts as the core starts it (handshake, GetInfo,
// negotiation, parameters, Configure), its GetInfo is sane, and it refuses calls with a wrong token.
// A kind without kind-specific checks yet (hook, containerizer, contender, detector) gets these alone,
// plus one skipped entry that says its kind-specific checks are not covered.
import { KIND_SPECS, type Kind } from '../kinds';
import type { StartedModule } from '../client/start';
import { getInfoCheck, tokenCheck } from './common-checks';
import { runChecks, type Check, type CheckResult } from './runner';
import { START_CHECK_ID, startCheck, type ModuleSession } from './session';

/** KIND_CHECKS_ID is the id of the skipped entry that stands for a kind's checks the kit does not have yet. */
export const KIND_CHECKS_ID = 'kind-checks';

/**
 * CommonProbe is the context of the common checks: the session and its started module. The kinds'
 * probes (IsolatorProbe, AllocatorProbe) extend it.
 */
export class CommonProbe {
  constructor(readonly session: ModuleSession) {}

  /** module is the started module; checks run only once it started. */
  get module(): StartedModule {
    if (!this.session.module) throw new Error('the module is not started');
    return this.session.module;
  }

  /** timeoutMs bounds each wait for the module (a call, a tick's cycle_done, a stream's failure). */
  get timeoutMs(): number {
    return this.session.timeoutMs;
  }
}

/**
 * tokenProbeRpc picks the kind call the wrong-token check makes besides Module.GetInfo: a unary call the
 * module serves (required, or advertised) that changes nothing should it wrongly be served. None for a
 * kind without such a call (detector: its one call is a stream).
 */
export function tokenProbeRpc(kind: Kind, capabilities: readonly string[]): string | undefined {
  if (kind === 'containerizer') return 'Containers'; // a listing: Launch and Destroy would act
  return KIND_SPECS[kind].methods.find((m) => m.style === 'unary' && (!m.capability || capabilities.includes(m.capability)))?.rpc;
}

/** commonChecks are the checks after the start check that hold for every kind. */
export function commonChecks(kind: Kind): Check<CommonProbe>[] {
  return [
    getInfoCheck<CommonProbe>(kind),
    tokenCheck<CommonProbe>((wrong, p) => {
      const rpc = tokenProbeRpc(kind, p.module.capabilities(kind));
      if (!rpc) return [];
      const service = KIND_SPECS[kind].service.split('.').pop();
      return [[`${service}.${rpc}`, wrong.unary(kind, rpc, {})]];
    }),
  ];
}

/**
 * notCoveredCheck stands for the kind-specific checks the kit does not have. It never runs (notRunnable
 * skips it with the reason); it is a result rather than a silence so that a report, and a JUnit file in
 * CI, says plainly what was not checked.
 */
function notCoveredCheck(kind: Kind): Check<CommonProbe> {
  return { id: KIND_CHECKS_ID, title: `the ${kind}-specific checks (semantics of the ${kind} calls)`, run: async () => undefined };
}

/**
 * runCommonSuite starts the module in `session` as `kind` and runs the common checks, then reports the
 * kind-specific checks as not covered (`covered` names the kinds that have them).
 */
export async function runCommonSuite(session: ModuleSession, kind: Kind, covered: readonly string[], parameters: unknown, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const probe = new CommonProbe(session);
  const notCovered = notCoveredCheck(kind);
  const why =
    `not covered: this kit (covered: ${covered.join(', ')}) has no ${kind}-specific checks yet, so only start, get-info and token ran; ` +
    `test the ${kind} calls' semantics (docs/abi.md) in your own tests, e.g. with serveInProcess`;
  return runChecks([startCheck<CommonProbe>(kind, parameters), ...commonChecks(kind), notCovered], probe, {
    capabilities: () => session.module?.capabilities(kind) ?? [],
    notRunnable: (check) => {
      if (check === notCovered) return why;
      if (check.id === START_CHECK_ID) return undefined;
      if (!session.module) return 'not run: the module did not start';
      const during = session.exitedDuring();
      return during === undefined ? undefined : `not run: the module exited during check "${during}"`;
    },
    beforeEach: (check) => void (session.current = check.id),
    checkTimeoutMs: 4 * session.timeoutMs,
    logMark: () => session.logMark(),
    logSince: (mark) => session.logSince(mark),
    onResult,
    afterEach: async (result) => {
      if (result.status === 'fail') await session.waitForExit(200);
      if (session.exitedDuring() !== result.id) return result;
      const message = result.status === 'fail' ? `${result.message}. Then ${session.describeExit()}` : session.describeExit();
      return { ...result, status: 'fail', message };
    },
  });
}
