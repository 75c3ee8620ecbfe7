// The health checker's state machine and schedule, with injected time and probe results: grace
// period, consecutive failures, the first success, and Mesos's delay/interval timing.
import type { Log } from '../../log';
import { HealthChecker, healthOutcome, healthStep, type HealthState, type HealthUpdate } from './checker';
import { healthConfigOf } from './config';
import { FakeTimers } from './fake-timers.test-util';
import type { ProbeResult } from './probes';

const log: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log, level: 'error' };
const fresh: HealthState = { initializing: true, consecutiveFailures: 0 };
const ok = { ok: true } as const;
const bad = { ok: false, why: 'Command exited with status 1' } as const;
const ctx = { elapsedMs: 60_000, gracePeriodMs: 10_000, consecutiveFailures: 3 };

describe('healthStep (Mesos HealthChecker::failure/success)', () => {
  it('ignores a failure before the first success while the grace period lasts (its end included)', () => {
    expect(healthStep(fresh, bad, { ...ctx, elapsedMs: 5_000 })).toEqual({ state: fresh, ignored: true });
    expect(healthStep(fresh, bad, { ...ctx, elapsedMs: 10_000 })).toEqual({ state: fresh, ignored: true });
  });

  it('counts a failure after the grace period, or with no grace period at all', () => {
    expect(healthStep(fresh, bad, { ...ctx, elapsedMs: 10_001 }).update).toEqual({ healthy: false, consecutiveFailures: 1, killTask: false });
    expect(healthStep(fresh, bad, { ...ctx, elapsedMs: 0, gracePeriodMs: 0 }).update).toEqual({ healthy: false, consecutiveFailures: 1, killTask: false });
  });

  it('counts a failure inside the grace period once the task was healthy', () => {
    const healthy = healthStep(fresh, ok, { ...ctx, elapsedMs: 1_000 }).state;
    expect(healthStep(healthy, bad, { ...ctx, elapsedMs: 2_000 }).update).toEqual({ healthy: false, consecutiveFailures: 1, killTask: false });
  });

  it('asks for the kill when the failures reach consecutive_failures, and on every failure after', () => {
    let s: HealthState = { initializing: false, consecutiveFailures: 0 };
    const updates: (HealthUpdate | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const step = healthStep(s, bad, ctx);
      s = step.state;
      updates.push(step.update);
    }
    expect(updates.map((u) => u?.killTask)).toEqual([false, false, true, true]);
    expect(updates.map((u) => u?.consecutiveFailures)).toEqual([1, 2, 3, 4]);
    expect(healthStep({ initializing: false, consecutiveFailures: 0 }, bad, { ...ctx, consecutiveFailures: 0 }).update?.killTask).toBe(true);
  });

  it('reports healthy on the first success and on the first success after failures, never in between', () => {
    const first = healthStep(fresh, ok, ctx);
    expect(first.update).toEqual({ healthy: true, consecutiveFailures: 0, killTask: false });
    expect(healthStep(first.state, ok, ctx).update).toBeUndefined();
    const failing = healthStep(first.state, bad, ctx).state;
    const recovered = healthStep(failing, ok, ctx);
    expect(recovered.update).toEqual({ healthy: true, consecutiveFailures: 0, killTask: false });
    expect(recovered.state).toEqual({ initializing: false, consecutiveFailures: 0 });
  });
});

describe('healthOutcome (Mesos interpretCheckStatusInfo)', () => {
  it('is a success for exit 0, HTTP 200-399 and an accepted connection; a failure otherwise', () => {
    const cases: [ProbeResult, boolean][] = [
      [{ type: 'COMMAND', exitCode: 0 }, true],
      [{ type: 'COMMAND', exitCode: 1 }, false],
      [{ type: 'HTTP', statusCode: 200 }, true],
      [{ type: 'HTTP', statusCode: 399 }, true],
      [{ type: 'HTTP', statusCode: 199 }, false],
      [{ type: 'HTTP', statusCode: 400 }, false],
      [{ type: 'HTTP', statusCode: 503 }, false],
      [{ type: 'TCP', succeeded: true }, true],
      [{ type: 'TCP', succeeded: false }, false],
      [{ error: 'timed out after 20 s' }, false],
    ];
    for (const [r, expected] of cases) expect([r, healthOutcome(r).ok]).toEqual([r, expected]);
    expect(healthOutcome({ type: 'HTTP', statusCode: 503 })).toEqual({ ok: false, why: 'Unexpected HTTP response code: 503' });
  });
});

describe('HealthChecker schedule', () => {
  // A checker whose probe answers from a script of results, recording when each probe ran.
  function scripted(results: ProbeResult[], hc: Record<string, unknown>, extra: { startedAt?: number; resume?: HealthState; firstInMs?: number } = {}) {
    const timers = new FakeTimers();
    const probedAt: number[] = [];
    const updates: HealthUpdate[] = [];
    const config = healthConfigOf({ type: 'COMMAND', command: { value: 'true' }, ...hc });
    const checker = new HealthChecker({
      config,
      probe: async () => {
        probedAt.push(timers.now());
        return results.shift() ?? { type: 'COMMAND', exitCode: 0 };
      },
      onUpdate: (u) => updates.push(u),
      startedAt: extra.startedAt ?? 0,
      resume: extra.resume,
      firstInMs: extra.firstInMs,
      taskId: 't1',
      log,
      timers,
    });
    return { timers, probedAt, updates, checker };
  }
  const fail: ProbeResult = { type: 'COMMAND', exitCode: 1 };
  const pass: ProbeResult = { type: 'COMMAND', exitCode: 0 };

  it('uses Mesos defaults: first check 15 s after the start, then every 10 s', async () => {
    const { timers, probedAt, checker } = scripted([], {});
    checker.start();
    await timers.advance(14_999);
    expect(probedAt).toEqual([]);
    await timers.advance(30_001);
    expect(probedAt).toEqual([15_000, 25_000, 35_000, 45_000]);
    checker.stop();
  });

  it('ignores failures in the grace period, reports each counted failure, and asks for the kill at consecutive_failures', async () => {
    const { timers, updates, checker } = scripted([fail, fail, fail, fail, fail], { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 1.5, consecutive_failures: 2 });
    checker.start();
    await timers.advance(4_000); // probes at 0, 1, 2, 3, 4 s: the first two in the grace period
    expect(updates).toEqual([
      { healthy: false, consecutiveFailures: 1, killTask: false },
      { healthy: false, consecutiveFailures: 2, killTask: true },
      { healthy: false, consecutiveFailures: 3, killTask: true },
    ]);
    checker.stop();
  });

  it('reports healthy once while the task stays healthy, and again after it recovers from failures', async () => {
    const { timers, updates, checker } = scripted([pass, pass, pass, fail, pass, pass], { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 0 });
    checker.start();
    await timers.advance(5_000);
    expect(updates.map((u) => u.healthy)).toEqual([true, false, true]);
    checker.stop();
  });

  it('waits an interval after each result, so a slow check pushes the next one back', async () => {
    const timers = new FakeTimers();
    const probedAt: number[] = [];
    const config = healthConfigOf({ type: 'TCP', tcp: { port: 1 }, delay_seconds: 0, interval_seconds: 1 });
    const checker = new HealthChecker({
      config,
      probe: () => {
        probedAt.push(timers.now());
        return new Promise((resolve) => timers.setTimeout(() => resolve({ type: 'TCP', succeeded: true }), 500));
      },
      onUpdate: () => undefined,
      startedAt: 0,
      taskId: 't1',
      log,
      timers,
    });
    checker.start();
    await timers.advance(3_100);
    expect(probedAt).toEqual([0, 1_500, 3_000]);
    checker.stop();
  });

  it('stops: no more probes, and a result that arrives after stop() is dropped', async () => {
    const timers = new FakeTimers();
    const updates: HealthUpdate[] = [];
    let probes = 0;
    let aborted = false;
    const config = healthConfigOf({ type: 'TCP', tcp: { port: 1 }, delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 0 });
    const checker = new HealthChecker({
      config,
      probe: (signal) => {
        probes++;
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise((resolve) => timers.setTimeout(() => resolve({ type: 'TCP', succeeded: false }), 500));
      },
      onUpdate: (u) => updates.push(u),
      startedAt: 0,
      taskId: 't1',
      log,
      timers,
    });
    checker.start();
    await timers.advance(100);
    checker.stop();
    await timers.advance(10_000);
    expect({ probes, aborted, updates }).toEqual({ probes: 1, aborted: true, updates: [] });
  });

  it('resumes after an agent restart with the failure count it had, and runs the first check when told', async () => {
    const { timers, probedAt, updates, checker } = scripted([fail, pass], { interval_seconds: 10, consecutive_failures: 3 }, { startedAt: 0, resume: { initializing: false, consecutiveFailures: 2 }, firstInMs: 10_000 });
    checker.start();
    await timers.advance(20_000);
    expect(probedAt).toEqual([10_000, 20_000]);
    expect(updates).toEqual([
      { healthy: false, consecutiveFailures: 3, killTask: true },
      { healthy: true, consecutiveFailures: 0, killTask: false },
    ]);
    checker.stop();
  });
});
