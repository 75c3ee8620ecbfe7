// Validation of TaskInfo.health_check and TaskInfo.check, as Mesos's validateHealthCheck and
// validateCheckInfo, each problem naming the field.
import type { TaskInfo } from '../../master/model/mesos';
import { taskProblem } from '../task-info';
import { checkProblem, healthCheckProblem } from './validate';

const task = (extra: Partial<TaskInfo>): TaskInfo => ({ name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'sleep 10' }, ...extra });
const hc = (health_check: Record<string, unknown>) => healthCheckProblem(task({ health_check }));
const ck = (check: Record<string, unknown>) => checkProblem(task({ check }));

describe('healthCheckProblem', () => {
  it('accepts valid checks of each type, and a task without one', () => {
    expect(healthCheckProblem(task({}))).toBeUndefined();
    expect(hc({ type: 'COMMAND', command: { value: 'true' } })).toBeUndefined();
    expect(hc({ type: 'COMMAND', command: { value: '/bin/check', shell: false, arguments: ['check', '-q'] } })).toBeUndefined();
    expect(hc({ type: 'HTTP', http: { port: 8080, path: '/health', scheme: 'https' }, delay_seconds: 0, grace_period_seconds: 0, consecutive_failures: 1 })).toBeUndefined();
    expect(hc({ type: 'TCP', tcp: { port: 65535 }, timeout_seconds: 0 })).toBeUndefined();
  });

  it('names the field of each problem', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'Task t1: health_check.type is not set'],
      [{ type: 'UNKNOWN' }, 'Task t1: health_check.type "UNKNOWN" is not a valid health check type'],
      [{ type: 'COMMAND' }, 'Task t1: health_check.command must be set for a COMMAND health check'],
      [{ type: 'COMMAND', command: { shell: true } }, 'Task t1: health_check.command.value is empty: a COMMAND health check needs the shell command'],
      [{ type: 'COMMAND', command: { shell: false, arguments: ['x'] } }, 'Task t1: health_check.command.value is empty: a COMMAND health check needs the executable path (shell is false)'],
      [{ type: 'COMMAND', command: { value: 'true', environment: { variables: [{ name: 'A=B', value: '1' }] } } }, 'Task t1: health_check.command.environment: environment variable name "A=B" cannot be in an environment'],
      [{ type: 'COMMAND', command: { value: 'true', environment: { variables: [{ name: 'A' }] } } }, "Task t1: health_check.command.environment: variable 'A' of type VALUE has no value"],
      [{ type: 'HTTP' }, 'Task t1: health_check.http must be set for an HTTP health check'],
      [{ type: 'HTTP', http: { port: 80, scheme: 'ftp' } }, "Task t1: health_check.http.scheme 'ftp' is not supported: use http or https"],
      [{ type: 'HTTP', http: { port: 80, path: 'health' } }, "Task t1: health_check.http.path 'health' must start with '/'"],
      [{ type: 'HTTP', http: {} }, 'Task t1: health_check.http.port is not set'],
      [{ type: 'HTTP', http: { port: 70000 } }, 'Task t1: health_check.http.port must be a port number from 1 to 65535 (it is 70000)'],
      [{ type: 'TCP' }, 'Task t1: health_check.tcp must be set for a TCP health check'],
      [{ type: 'TCP', tcp: { port: 0 } }, 'Task t1: health_check.tcp.port must be a port number from 1 to 65535 (it is 0)'],
      [{ type: 'TCP', tcp: { port: 80 }, delay_seconds: -1 }, 'Task t1: health_check.delay_seconds must be non-negative (it is -1)'],
      [{ type: 'TCP', tcp: { port: 80 }, interval_seconds: -0.5 }, 'Task t1: health_check.interval_seconds must be non-negative'],
      [{ type: 'TCP', tcp: { port: 80 }, timeout_seconds: -2 }, 'Task t1: health_check.timeout_seconds must be non-negative'],
      [{ type: 'TCP', tcp: { port: 80 }, grace_period_seconds: -3 }, 'Task t1: health_check.grace_period_seconds must be non-negative'],
      [{ type: 'TCP', tcp: { port: 80 }, consecutive_failures: -1 }, 'Task t1: health_check.consecutive_failures must be a non-negative integer'],
    ];
    for (const [check, message] of cases) expect([check, hc(check)]).toEqual([check, expect.stringContaining(message)]);
  });

  it('makes the task invalid through taskProblem (TASK_ERROR before TASK_STARTING)', () => {
    expect(taskProblem(task({ health_check: { type: 'TCP' } }))).toMatch(/^Task t1: health_check\.tcp must be set/);
    expect(taskProblem(task({ check: { type: 'HTTP', http: { port: 80, path: 'x' } } }))).toMatch(/^Task t1: check\.http\.path 'x' must start with '\/'/);
  });
});

describe('checkProblem', () => {
  it('accepts valid checks and names the field of each problem', () => {
    expect(ck({ type: 'COMMAND', command: { command: { value: 'true' } } })).toBeUndefined();
    expect(ck({ type: 'TCP', tcp: { port: 1 } })).toBeUndefined();
    expect(ck({})).toMatch(/^Task t1: check\.type is not set/);
    expect(ck({ type: 'COMMAND' })).toBe('Task t1: check.command must be set for a COMMAND check');
    expect(ck({ type: 'COMMAND', command: {} })).toBe('Task t1: check.command.command must be set for a COMMAND check');
    expect(ck({ type: 'COMMAND', command: { command: { shell: true } } })).toMatch(/^Task t1: check\.command\.command\.value is empty/);
    expect(ck({ type: 'HTTP', http: { port: 0 } })).toMatch(/^Task t1: check\.http\.port must be a port number/);
    expect(ck({ type: 'TCP', tcp: { port: 1 }, timeout_seconds: -1 })).toBe('Task t1: check.timeout_seconds must be non-negative (it is -1)');
  });
});
