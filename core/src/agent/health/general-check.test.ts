// The general checker (TaskInfo.check) with injected time and results: it reports changes only, and a
// run that could not finish is the empty status of its type, as Mesos's Checker.
import type { CheckStatusInfo } from '../../master/model/mesos';
import type { Log } from '../../log';
import { checkConfigOf } from './config';
import { FakeTimers } from './fake-timers.test-util';
import { checkStatusOf, GeneralChecker } from './general-check';
import type { ProbeResult } from './probes';

const log: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log, level: 'error' };

function scripted(results: ProbeResult[], previous?: CheckStatusInfo) {
  const timers = new FakeTimers();
  const updates: CheckStatusInfo[] = [];
  const config = checkConfigOf({ type: 'COMMAND', command: { command: { value: 'x' } }, delay_seconds: 0, interval_seconds: 1 });
  const checker = new GeneralChecker({ config, probe: async () => results.shift() ?? { type: 'COMMAND', exitCode: 0 }, onUpdate: (s) => updates.push(s), previous, taskId: 't1', log, timers });
  return { timers, updates, checker };
}

describe('GeneralChecker', () => {
  it('reports each new result once: exit codes as they change, an error as the empty status', async () => {
    const { timers, updates, checker } = scripted([
      { type: 'COMMAND', exitCode: 0 },
      { type: 'COMMAND', exitCode: 0 },
      { type: 'COMMAND', exitCode: 3 },
      { error: 'timed out after 1 s' },
      { error: 'timed out after 1 s' },
      { type: 'COMMAND', exitCode: 3 },
    ]);
    checker.start();
    await timers.advance(5_000);
    expect(updates).toEqual([
      { type: 'COMMAND', command: { exit_code: 0 } },
      { type: 'COMMAND', command: { exit_code: 3 } },
      { type: 'COMMAND', command: {} },
      { type: 'COMMAND', command: { exit_code: 3 } },
    ]);
    checker.stop();
  });

  it('says nothing while the result stays what was reported before (the empty status at first, the checkpointed one after a restart)', async () => {
    const first = scripted([{ error: 'could not start' }]);
    first.checker.start();
    await first.timers.advance(500);
    expect(first.updates).toEqual([]);
    first.checker.stop();

    const resumed = scripted([{ type: 'COMMAND', exitCode: 2 }], { type: 'COMMAND', command: { exit_code: 2 } });
    resumed.checker.start();
    await resumed.timers.advance(500);
    expect(resumed.updates).toEqual([]);
    resumed.checker.stop();
  });

  it('maps HTTP and TCP results to their CheckStatusInfo', () => {
    expect(checkStatusOf('HTTP', { type: 'HTTP', statusCode: 503 })).toEqual({ type: 'HTTP', http: { status_code: 503 } });
    expect(checkStatusOf('HTTP', { error: 'GET http://127.0.0.1:1/: connect ECONNREFUSED' })).toEqual({ type: 'HTTP', http: {} });
    expect(checkStatusOf('TCP', { type: 'TCP', succeeded: false })).toEqual({ type: 'TCP', tcp: { succeeded: false } });
  });
});
