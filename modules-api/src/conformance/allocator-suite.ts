// The allocator conformance checks: Mesos's hierarchical allocator semantics (docs/abi.md, "Allocator")
// on the one Allocate stream, as the master relies on them. Every check opens streams of its own, each
// starting with a snapshot of its own agents and frameworks, so the checks do not depend on each other.
//
// The stream contract the checks enforce:
// - Inputs carry `seq`, increasing by one from 1 on each stream. The first input of every stream is a
//   `snapshot`; a module given anything else first fails that stream with a coded error (gRPC status
//   INVALID_ARGUMENT or FAILED_PRECONDITION, e.g. TSR_INVALID_ARGUMENT) and stays up: a new stream works.
// - After a `tick` (no agent_ids: all agents) the module sends zero or more `offers` and then a
//   `cycle_done` whose seq is the tick's or later. Every output's seq is the last input the module had
//   applied when producing it: outputs' seqs never decrease and never exceed the last input sent. A
//   module may run cycles of its own (on events, on its own timer) at any time, so the checks reason
//   about everything offered up to the cycle_done answering their tick, and by seq ("offers made once
//   the module had applied the suppress"), and tolerate extra cycles.
// - Offered resources stay allocated to the framework until recover_resources (declined or unused) or
//   update_allocation (now used by a task): never offered twice. An agent is never offered more than
//   total − used − outstanding.
// - recover_resources with refuse_seconds 0 or no filters: offerable again at the next cycle; with
//   refuse_seconds 3600: not offered to that framework on that agent until revive_offers (which clears
//   the framework's filters in the roles named, all when none).
// - suppress_offers {framework, roles (none = all)}: no offers to the framework in those roles until
//   revive_offers.
// - Inactive frameworks and agents (`active` false or unset: proto3 reads unset as false) get no offers;
//   activate_/deactivate_framework and activate_/deactivate_agent toggle.
// - Reserved resources (innermost reservation's role R) go only to frameworks in R or R's descendants.
// - With default parameters, an agent with gpus is offered only to GPU_RESOURCES frameworks (Mesos
//   --filter_gpu_resources=true); a framework without the capability gets no offer of that agent at all.
// - A role's quota limit is never exceeded by what is offered and allocated to it.
// - After remove_framework / remove_agent, no offer names them.
// - A new stream's snapshot lists outstanding_offers and agents' used: the module offers neither again,
//   and offers everything else that is available.
// - update_allocation turns offered resources into used ones (not offered again); recovering used
//   resources (a finished task) makes them offerable.
// - Input contradicting the state (weights ≤ 0, update_allocation of resources an agent does not have
//   or of an agent never added) fails the stream with a coded error naming the problem, without ending
//   the process; the module then accepts a new stream.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { OFFER_CHECKS, AGENT, expectOffered, to } from './allocator-offer-checks';
import { AllocatorProbe, type Input, type StreamOutcome } from './allocator-probe';
import { agent, allocated, amount, describeOffers, framework, offered, quantities, round, without } from './allocator-resources';
import { UNDECIDED, describeError, getInfoCheck, settle, sleep, tokenCheck } from './common-checks';
import { TesseraError } from '../errors';
import type * as T from '../generated/types';
import { fail, runChecks, type Check, type CheckResult } from './runner';
import { START_CHECK_ID, startCheck, type ModuleSession } from './session';

type AllocatorCheck = Check<AllocatorProbe>;

const CODED = [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.FAILED_PRECONDITION];
const fixCoded = (example: string): string =>
  `fail the stream with a coded error naming the input, e.g. throw new TesseraError('TSR_INVALID_ARGUMENT', '${example}') ` +
  'from the allocate handler, and keep the process running: the master then opens a new stream with a fresh snapshot';
// What an SDK module looks like when its allocate generator throws inside `for await (const input of inputs)`.
const HINT_SILENT =
  ' (with the SDK, leaving `for await (const input of inputs)` by a throw destroys the call before the error can be sent: ' +
  'read inputs with inputs[Symbol.asyncIterator]().next(), or consume them in a task of their own and throw from the outputs)';

// judge says what is wrong with how the module took an input it must refuse, or how it refused it.
function judge(what: string, out: StreamOutcome, names: RegExp, timeoutMs: number): { problem?: string; note?: string } {
  if (out.answered) return { problem: `${what} was accepted: the stream answered the tick sent after it` };
  if (out.timedOut) return { problem: `${what}: the stream neither failed nor answered the tick sent after it within ${timeoutMs} ms${HINT_SILENT}` };
  const e = out.error;
  if (!e) return { problem: `${what}: the module ended the stream without an error` };
  if (UNDECIDED.includes(e.code)) return { problem: `${what}: the stream failed with ${describeError(e, timeoutMs)}` };
  if (!CODED.includes(e.grpcStatus)) {
    return {
      problem:
        `${what}: the stream failed with ${e.code} but gRPC status ${GrpcStatus[e.grpcStatus]} (${e.message}); an input the module refuses travels as ` +
        'INVALID_ARGUMENT or FAILED_PRECONDITION: use TSR_INVALID_ARGUMENT, or give your code { grpcStatus: status.INVALID_ARGUMENT }',
    };
  }
  if (!names.test(e.message)) return { problem: `${what}: the stream failed with ${e.code}, but its message does not name the problem (${e.message}): say which input and what is wrong with it` };
  return { note: `${e.code}: ${e.message}` };
}

const snapshotFirst: AllocatorCheck = {
  id: 'snapshot-first',
  title: 'a stream whose first input is not a snapshot fails with a coded error, and a new stream works',
  async run(p) {
    const s = await p.stream('snapshot-first');
    await s.send({ addFramework: { framework: framework('fw-1', ['analytics']) } });
    const verdict = judge('add_framework as the first input of a stream (seq 1)', await s.outcome(), /snapshot/i, p.timeoutMs);
    if (verdict.problem) fail(`${verdict.problem}. The first input of every stream must be a snapshot: ${fixCoded('the first input of a stream must be a snapshot, got add_framework')}`);
    const next = await p.stream('after-snapshot-first', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    await next.tick();
    return `refused with ${verdict.note}`;
  },
};

const seqRules: AllocatorCheck = {
  id: 'seq-rules',
  title: 'outputs name the last input applied, never going back, and cycle_done counts its cycle',
  async run(p) {
    const s = await p.stream('seq-rules', { agents: [agent('a1', AGENT), agent('a2', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    await s.send({ addAgent: agent('a3', AGENT) });
    await s.send({ addFramework: { framework: framework('fw-2', ['web']) } });
    // Back-to-back ticks, some for one agent only: a module may merge them, but must answer the last.
    await s.send({ tick: { agentIds: [] } });
    await s.send({ tick: { agentIds: ['a3'] } });
    const offers = [...(await s.tick()), ...(await s.tick(['a1']))];
    if (s.cycleCounts.length) fail(`${s.cycleCounts.slice(0, 2).join('; ')}: set cycle_done.allocations to the number of allocations the cycle offered, sent before its cycle_done`);
    return `${offers.length} allocation(s) over ${s.lastSent} inputs; every output's seq within bounds and non-decreasing`;
  },
};

const restartSnapshot: AllocatorCheck = {
  id: 'restart-snapshot-outstanding',
  title: "after a restart, the new stream's outstanding offers and used resources are not offered again; the rest is",
  async run(p) {
    const frameworks = [framework('fw-1', ['analytics']), framework('fw-2', ['web'])];
    const before = await p.stream('before-restart', { agents: [agent('a1', AGENT), agent('a2', AGENT)], frameworks });
    const earlier = await before.tick();
    p.end(before);
    // The master restarts the allocator: a1's offers are still outstanding, a2's were given back and fw-2 now runs a task there.
    const outstandingOffers: T.Allocation[] = earlier
      .filter((o) => o.agentId === 'a1')
      .map(({ frameworkId, agentId, role, resources: r }) => ({ frameworkId, agentId, role, resources: r }));
    const used = { framework: 'fw-2', role: 'web', resources: 'cpus:1;mem:512' };
    const s = await p.stream('restarted', { agents: [agent('a1', AGENT), agent('a2', AGENT, { used: [used] })], frameworks, outstandingOffers });
    const offers = await s.tick();
    const held = offered(earlier, (o) => o.agentId === 'a1');
    const expected = { a1: { cpus: round(4 - amount(held, 'cpus')), mem: round(4096 - amount(held, 'mem')) }, a2: { cpus: 3, mem: 3584 } };
    for (const [id, min] of Object.entries(expected)) {
      expectOffered(
        offers,
        (o) => o.agentId === id,
        min,
        `after the restart, ${id} has ${min.cpus} cpus and ${min.mem} mem neither used nor in the snapshot's outstanding_offers, and they must be offered`,
      );
    }
    return `outstanding before the restart: ${describeOffers(earlier.filter((o) => o.agentId === 'a1'))}; offered after it: ${describeOffers(offers)}`;
  },
};

const updateAllocationUsed: AllocatorCheck = {
  id: 'update-allocation-used',
  title: 'update_allocation turns offered resources into used ones, offered again only once recovered',
  async run(p) {
    const s = await p.stream('update-allocation-used', { agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const first = await s.tick();
    expectOffered(first, to('fw-1', 'a1'), { cpus: 4, mem: 4096 }, 'the first tick must offer all of a1 to fw-1, its only framework');
    const offer = first.filter(to('fw-1', 'a1'))[0];
    // fw-1 accepts its offer for a task of cpus:1;mem:512 and gives the rest back, as the master reports an ACCEPT.
    const task = allocated('cpus:1;mem:512', offer.role);
    const accepted = await s.send({ updateAllocation: { frameworkId: 'fw-1', agentId: 'a1', role: offer.role, resources: task } });
    for (const o of first.filter(to('fw-1', 'a1'))) {
      const rest = o === offer ? without(o.resources, quantities(task)) : o.resources;
      if (rest.length) await s.send({ recoverResources: { frameworkId: 'fw-1', agentId: 'a1', resources: rest, filters: { refuseSeconds: 0 } } });
    }
    const rest = await s.tick();
    const again = amount(offered(rest, to('fw-1', 'a1', accepted)), 'cpus');
    if (again > 3) fail(`after update_allocation (seq ${accepted}) made cpus:1 of a1 used by fw-1, a1 was offered cpus:${again}: used resources are not available until recovered`);
    expectOffered(rest, to('fw-1', 'a1', accepted), { cpus: 3, mem: 3584 }, 'the unused rest of the accepted offer, given back with refuse_seconds 0, must be offered again');
    const finished = await s.send({ recoverResources: { frameworkId: 'fw-1', agentId: 'a1', resources: task, filters: { refuseSeconds: 0 } } });
    expectOffered(await s.tick(), to('fw-1', 'a1', finished), { cpus: 1, mem: 512 }, `the task's cpus:1;mem:512, recovered when it finished (seq ${finished}), must be offered again`);
  },
};

const INVALID: { what: string; input: Input; names: RegExp }[] = [
  { what: 'update_weights with weight -1 for role analytics', input: { updateWeights: { weights: [{ role: 'analytics', weight: -1 }] } }, names: /weight/i },
  {
    what: 'update_allocation of cpus:1000 on agent a1, which has cpus:4',
    input: { updateAllocation: { frameworkId: 'fw-1', agentId: 'a1', role: 'analytics', resources: allocated('cpus:1000;mem:64', 'analytics') } },
    names: /update_?allocation|a1|cpus/i,
  },
  {
    what: 'update_allocation on agent no-such-agent, which the stream never added',
    input: { updateAllocation: { frameworkId: 'fw-1', agentId: 'no-such-agent', role: 'analytics', resources: allocated('cpus:1;mem:64', 'analytics') } },
    names: /no-such-agent|update_?allocation/i,
  },
];

const invalidInput: AllocatorCheck = {
  id: 'invalid-input-coded-error',
  title: 'input contradicting the state fails the stream with a coded error naming it, and a new stream works',
  async run(p) {
    const snapshot = (): T.Snapshot => ({ agents: [agent('a1', AGENT)], frameworks: [framework('fw-1', ['analytics'])] });
    const problems: string[] = [];
    const notes: string[] = [];
    for (const c of INVALID) {
      const s = await p.stream(`invalid-input`, snapshot());
      const seq = await s.send(c.input);
      const verdict = judge(`${c.what} (seq ${seq})`, await s.outcome(), c.names, p.timeoutMs);
      if (verdict.problem) problems.push(verdict.problem);
      else notes.push(verdict.note!);
      p.end(s);
    }
    const after = await p.stream('after-invalid-input', snapshot());
    await after.tick();
    const fix = fixCoded('update_weights: role analytics needs a weight > 0, got -1');
    if (problems.length) fail(`${problems.join('; ')}. ${problems.length > 1 ? 'For each, ' : 'Instead, '}${fix}`);
    return `refused: ${notes.join('; ')}`;
  },
};

const getInfo = getInfoCheck<AllocatorProbe>('allocator');

const wrongToken = tokenCheck<AllocatorProbe>((wrong, p) => {
  const stream = wrong.bidi<T.AllocatorInput, T.AllocatorOutput>('allocator', 'Allocate');
  const first = (async () => {
    await stream.write({ seq: 1, snapshot: { agents: [agent('a1', AGENT)] } }).catch(() => undefined);
    await stream.write({ seq: 2, tick: { agentIds: [] } }).catch(() => undefined);
    const next = await Promise.race([settle(stream[Symbol.asyncIterator]().next()), sleep(p.timeoutMs)]);
    stream.cancel();
    if (next === 'timeout') throw new TesseraError('TSR_CALL_TIMEOUT', `no answer within ${p.timeoutMs} ms`);
    if (!next.ok) throw next.error;
    return next.value;
  })();
  return [['Allocator.Allocate', first]];
});

/** ALLOCATOR_CHECKS are the checks run after the start check, in order. */
export const ALLOCATOR_CHECKS: readonly AllocatorCheck[] = [
  getInfo,
  snapshotFirst,
  seqRules,
  ...OFFER_CHECKS,
  restartSnapshot,
  updateAllocationUsed,
  invalidInput,
  wrongToken,
];

/** runAllocatorSuite starts the module in `session`, runs every allocator check and returns the results. */
export async function runAllocatorSuite(session: ModuleSession, parameters: unknown, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const probe = new AllocatorProbe(session, parameters);
  return runChecks([startCheck<AllocatorProbe>('allocator', parameters), ...ALLOCATOR_CHECKS], probe, {
    capabilities: () => session.module?.capabilities('allocator') ?? [],
    notRunnable: (check) => {
      if (check.id === START_CHECK_ID) return undefined;
      if (!session.module) return 'not run: the module did not start';
      const during = session.exitedDuring();
      return during === undefined ? undefined : `not run: the module exited during check "${during}"`;
    },
    beforeEach: (check) => void (session.current = check.id),
    checkTimeoutMs: 6 * session.timeoutMs, // invalid-input-coded-error may wait out the timeout once per input
    logMark: () => session.logMark(),
    logSince: (mark) => session.logSince(mark),
    onResult,
    afterEach: async (result) => {
      if (result.status === 'fail') await session.waitForExit(200);
      // Rules every offer must keep are checked on all outputs, also those that came after the check's last wait.
      const broken = probe.closeStreams();
      let amended = result;
      if (broken.length && result.status === 'pass') amended = { ...result, status: 'fail', message: broken.join('; ') };
      if (session.exitedDuring() !== result.id) return amended;
      const message = amended.status === 'fail' ? `${amended.message}. Then ${session.describeExit()}` : session.describeExit();
      return { ...amended, status: 'fail', message };
    },
  });
}
