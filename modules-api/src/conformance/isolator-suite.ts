// The isolator conformance checks: Mesos's Isolator semantics (docs/abi.md, "Isolator") as the core
// relies on them, each check using containers of its own. Checks of optional calls run only when the
// module advertises the capability, as csi-sanity skips what a driver does not advertise.
import type * as T from '../generated/types';
import { UNDECIDED, describeError, getInfoCheck, knownCapabilities, settle, sleep, tokenCheck } from './common-checks';
import { IsolatorProbe, RESOURCES } from './isolator-probe';
import { fail, runChecks, type Check, type CheckResult } from './runner';
import { START_CHECK_ID, startCheck, type ModuleSession } from './session';

type IsolatorCheck = Check<IsolatorProbe>;

/** KNOWN_CAPABILITIES are the isolator capabilities of the ABI this kit was built with. */
export const KNOWN_CAPABILITIES: readonly string[] = knownCapabilities('isolator');

/** WATCH_QUIET_MS is how long an idle container's watch must stay silent. */
export const WATCH_QUIET_MS = 500;

const getInfo = getInfoCheck<IsolatorProbe>('isolator');

const cleanupUnknown: IsolatorCheck = {
  id: 'cleanup-unknown',
  title: 'cleanup of an unknown container succeeds',
  async run(p) {
    const id = p.containerId('never-prepared');
    const out = await p.attempt('Cleanup', { containerId: id });
    if (!out.ok) {
      fail(
        `cleanup of container ${id.value}, which was never prepared, failed with ${describeError(out.error, p.timeoutMs)}. ` +
          'Cleanup must succeed for a container the isolator does not know: the agent calls it after a prepare that failed ' +
          'in another isolator, and for orphans after a restart. Return without error when the container is unknown.',
      );
    }
  },
};

const lifecycle: IsolatorCheck = {
  id: 'lifecycle',
  title: 'prepare → isolate → cleanup of a container with a realistic ContainerConfig',
  async run(p) {
    const id = p.containerId('lifecycle');
    const prepared = await p.prepare(id);
    let steps = 'prepare → cleanup (isolate not called: capability "isolate" not advertised)';
    if (p.has('isolate')) {
      const pid = await p.session.spawnHelper();
      await p.call('Isolate', { containerId: id, pid }, `isolate of container ${id.value} with pid ${pid}`);
      if (await p.session.helperEnds(pid, 200)) fail(`after isolate of container ${id.value}, its process ${pid} is gone: isolate must place the process, not end it`);
      steps = `prepare → isolate (pid ${pid}) → cleanup`;
    }
    await p.cleanup(id);
    const changes = presentFields(prepared.launchInfo);
    return `${steps}; prepare returned ${changes.length ? `launch changes: ${changes.join(', ')}` : 'no launch changes'}`;
  },
};

const cleanupIdempotent: IsolatorCheck = {
  id: 'cleanup-idempotent',
  title: 'a second cleanup succeeds, and the container can be prepared again after cleanup',
  async run(p) {
    const id = p.containerId('cleanup-twice');
    await p.prepare(id);
    await p.cleanup(id);
    const second = await p.attempt('Cleanup', { containerId: id });
    if (!second.ok) {
      fail(
        `a second cleanup of container ${id.value}, after one that succeeded, failed with ${describeError(second.error, p.timeoutMs)}. ` +
          'The core cleans up once, but retries a cleanup whose answer was lost (timeout, module restart): ' +
          'cleanup must succeed when the container is already gone.',
      );
    }
    const again = await p.attempt('Prepare', { containerId: id, containerConfig: p.config(id) });
    if (!again.ok) {
      fail(
        `preparing container ${id.value} again after its cleanup failed with ${describeError(again.error, p.timeoutMs)}: ` +
          'cleanup must release everything held for the container (state, cgroups, mounts), so that nothing of it remains',
      );
    }
    await p.cleanup(id, `cleanup of container ${id.value} after preparing it again`);
  },
};

const prepareTwice: IsolatorCheck = {
  id: 'prepare-twice',
  title: 'prepare of an already prepared container is refused with a coded error, or is idempotent',
  async run(p) {
    const id = p.containerId('prepare-twice');
    await p.prepare(id);
    const again = await p.attempt('Prepare', { containerId: id, containerConfig: p.config(id) });
    if (again.ok) return 'the second prepare succeeded (idempotent)';
    if (UNDECIDED.includes(again.error.code)) {
      fail(
        `a second prepare of container ${id.value}, already prepared, failed with ${describeError(again.error, p.timeoutMs)}. ` +
          "Refuse it with a coded TesseraError (e.g. 'MYISOLATOR_ALREADY_PREPARED') or treat it as idempotent.",
      );
    }
    return `the second prepare was refused with ${again.error.code}: ${again.error.message}`;
  },
};

const errorsCoded: IsolatorCheck = {
  id: 'errors-coded',
  title: 'prepare without container_id is refused with a coded error',
  async run(p) {
    const out = await p.attempt('Prepare', {});
    const fix = "validate the request and throw new TesseraError('TSR_INVALID_ARGUMENT', 'prepare: container_id is required')";
    if (out.ok) {
      await p.attempt('Cleanup', {}); // whatever it stored under "no id"
      fail(`prepare without container_id must be refused with a coded error, but it succeeded: ${fix}`);
    }
    if (UNDECIDED.includes(out.error.code)) {
      fail(`prepare without container_id must be refused with a coded error, but it failed with ${describeError(out.error, p.timeoutMs)}: ${fix}`);
    }
    const usual = out.error.code === 'TSR_INVALID_ARGUMENT' ? '' : ' (TSR_INVALID_ARGUMENT is the usual code for a missing field)';
    return `refused with ${out.error.code}${usual}: ${out.error.message}`;
  },
};

const usage: IsolatorCheck = {
  id: 'usage',
  title: 'usage of a prepared container answers a ResourceStatistics',
  capability: 'usage',
  async run(p) {
    const id = p.containerId('usage');
    await p.launch(id);
    const res = await p.call<T.UsageResponse>('Usage', { containerId: id }, `usage of container ${id.value}`);
    const stats = res.statistics;
    if (!stats) fail(`usage of container ${id.value} answered no statistics: return a ResourceStatistics with at least its timestamp`);
    const bad = Object.entries(stats).filter(([, v]) => typeof v === 'number' && (!Number.isFinite(v) || v < 0));
    if (bad.length) fail(`usage of container ${id.value} answered impossible figures: ${bad.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    const fields = presentFields(stats).filter((k) => k !== 'timestamp');
    const note = stats.timestamp ? '' : '; no timestamp: set it (seconds since the epoch), /monitor/statistics shows it';
    return `${fields.length ? `figures: ${fields.join(', ')}` : 'no figures'}${note}`;
  },
};

const status: IsolatorCheck = {
  id: 'status',
  title: 'status of a prepared container answers',
  capability: 'status',
  async run(p) {
    const id = p.containerId('status');
    await p.launch(id);
    const res = await p.call<T.StatusResponse>('Status', { containerId: id }, `status of container ${id.value}`);
    const given = res.status?.containerId?.value;
    if (given && given !== id.value) fail(`status of container ${id.value} answered the status of container ${given}`);
    const fields = presentFields(res.status);
    return fields.length ? `fields: ${fields.join(', ')}` : 'an empty ContainerStatus';
  },
};

const update: IsolatorCheck = {
  id: 'update',
  title: 'update of a prepared container with the same resources succeeds',
  capability: 'update',
  async run(p) {
    const id = p.containerId('update');
    await p.launch(id);
    await p.call('Update', { containerId: id, resources: RESOURCES }, `update of container ${id.value} with the resources it was prepared with`);
  },
};

const watch: IsolatorCheck = {
  id: 'watch',
  title: `watch of an idle container sends nothing within ${WATCH_QUIET_MS} ms and can be cancelled`,
  capability: 'watch',
  async run(p) {
    const id = p.containerId('watch');
    await p.launch(id);
    const stream = p.module.serverStream<T.WatchEvent>('isolator', 'Watch', { containerId: id });
    const first = settle(stream[Symbol.asyncIterator]().next());
    const seen = await Promise.race([first, sleep(WATCH_QUIET_MS)]);
    stream.cancel();
    if (seen === 'timeout') {
      if ((await Promise.race([first, sleep(p.timeoutMs)])) === 'timeout') {
        fail(`the watch stream of container ${id.value} did not end within ${p.timeoutMs} ms after the core cancelled it`);
      }
      return `no limitation within ${WATCH_QUIET_MS} ms; the stream ended when cancelled`;
    }
    if (!seen.ok) fail(`watch of container ${id.value} failed with ${describeError(seen.error, p.timeoutMs)}`);
    if (seen.value.done) {
      return (
        'the stream ended at once without a limitation, so the core stops watching this container; ' +
        'keep it open until a limit is hit (or leave watch out if the isolator enforces no limit)'
      );
    }
    const event = seen.value.value;
    if (event.limitation) {
      fail(
        `watch fired within ${WATCH_QUIET_MS} ms for an idle container (${id.value}): ${JSON.stringify(event.limitation)}. ` +
          'Send a limitation only when a limit is hit: the core destroys the container with TASK_FAILED when one arrives.',
      );
    }
    fail(`watch sent an event without a limitation for container ${id.value}: send one event only, carrying the limitation, when a limit is hit`);
  },
};

const recover: IsolatorCheck = {
  id: 'recover',
  title: 'recover with no states and no orphans succeeds',
  capability: 'recover',
  async run(p) {
    await p.call('Recover', { states: [], orphans: [] }, 'recover with no states and no orphans');
  },
};

const watchResources: IsolatorCheck = {
  id: 'watch-resources',
  title: 'watchResources sends a first ResourceList at once',
  capability: 'provides_resources',
  async run(p) {
    const stream = p.module.serverStream<T.ResourceList>('isolator', 'WatchResources', { agentId: '' });
    try {
      const first = await Promise.race([settle(stream[Symbol.asyncIterator]().next()), sleep(p.timeoutMs)]);
      if (first === 'timeout') {
        fail(
          `watchResources sent no ResourceList within ${p.timeoutMs} ms: send the full list as soon as the stream opens, ` +
            "then again on every change (as a Kubernetes device plugin's ListAndWatch does)",
        );
      }
      if (!first.ok) fail(`watchResources failed with ${describeError(first.error, p.timeoutMs)}`);
      if (first.value.done) fail('the watchResources stream ended without a ResourceList: keep it open and send the full list, then again on every change');
      const list = first.value.value;
      const unnamed = (list.resources ?? []).filter((r) => !r.name || !r.type);
      if (unnamed.length) fail(`watchResources sent resources without a name or type: ${JSON.stringify(unnamed)}`);
      const described = (list.resources ?? []).map((r) => `${r.name}:${r.scalar?.value ?? r.type}`).join(', ');
      return `first list: ${described || 'no resources'}; ${(list.devices ?? []).length} device(s)`;
    } finally {
      stream.cancel();
    }
  },
};

const wrongToken = tokenCheck<IsolatorProbe>((wrong, p) => [
  ['Isolator.Cleanup', wrong.unary('isolator', 'Cleanup', { containerId: p.containerId('token') })],
]);

/** ISOLATOR_CHECKS are the checks run after the start check, in order. */
export const ISOLATOR_CHECKS: readonly IsolatorCheck[] = [
  getInfo,
  cleanupUnknown,
  lifecycle,
  cleanupIdempotent,
  prepareTwice,
  errorsCoded,
  usage,
  status,
  update,
  watch,
  recover,
  watchResources,
  wrongToken,
];

/** runIsolatorSuite starts the module in `session`, runs every isolator check and returns the results. */
export async function runIsolatorSuite(session: ModuleSession, parameters: unknown, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const probe = new IsolatorProbe(session);
  try {
    return await runChecks([startCheck<IsolatorProbe>('isolator', parameters), ...ISOLATOR_CHECKS], probe, {
      capabilities: () => session.module?.capabilities('isolator') ?? [],
      notRunnable: (check) => {
        if (check.id === START_CHECK_ID) return undefined;
        if (!session.module) return 'not run: the module did not start';
        const during = session.exitedDuring();
        return during === undefined ? undefined : `not run: the module exited during check "${during}"`;
      },
      beforeEach: (check) => void (session.current = check.id),
      checkTimeoutMs: 4 * session.timeoutMs + WATCH_QUIET_MS,
      logMark: () => session.logMark(),
      logSince: (mark) => session.logSince(mark),
      onResult,
      afterEach: async (result) => {
        if (result.status === 'fail') await session.waitForExit(200);
        await probe.releaseLeftovers();
        if (session.exitedDuring() !== result.id) return result;
        // Any exit during the suite is a failure of the check it happened in, even if its calls had answered.
        const message = result.status === 'fail' ? `${result.message}. Then ${session.describeExit()}` : session.describeExit();
        return { ...result, status: 'fail', message };
      },
    });
  } finally {
    probe.close();
  }
}

// presentFields lists the fields a decoded message really carries: decoding yields empty arrays for
// repeated fields and "_field" markers for proto3 optionals, which say nothing about the answer.
function presentFields(message: object | undefined): string[] {
  return Object.entries(message ?? {})
    .filter(([k, v]) => !k.startsWith('_') && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k);
}
