import { describeSignal, exitFromStatus, signalName, terminationOf } from './termination';
import { nextPhase, PHASE_TRANSITIONS } from './lifecycle';
import { parseStat } from './proc';
import { mergeStatistics, snake } from './isolators';
import type { ContainerPhase } from './types';

describe('container termination', () => {
  it('reads shell-style statuses', () => {
    expect(exitFromStatus(0)).toEqual({ exitCode: 0 });
    expect(exitFromStatus(3)).toEqual({ exitCode: 3 });
    expect(exitFromStatus(128)).toEqual({ exitCode: 128 });
    expect(exitFromStatus(137)).toEqual({ signal: 'SIGKILL' });
    expect(exitFromStatus(143)).toEqual({ signal: 'SIGTERM' });
    expect(exitFromStatus(255)).toEqual({ exitCode: 255 });
    expect(signalName(11)).toBe('SIGSEGV');
    expect(describeSignal('SIGKILL')).toBe('Killed');
    expect(describeSignal('SIGWHAT')).toBe('SIGWHAT');
  });

  it('maps exits to Mesos states, reasons and messages', () => {
    expect(terminationOf({ exitCode: 0 }, {})).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0', exitCode: 0 });
    expect(terminationOf({ exitCode: 2 }, {})).toEqual({ state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 2', exitCode: 2 });
    expect(terminationOf({ signal: 'SIGABRT' }, {})).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command terminated with signal Aborted',
      signal: 'SIGABRT',
    });
    expect(terminationOf({ signal: 'SIGTERM' }, { killed: true })).toEqual({ state: 'TASK_KILLED', message: 'Command terminated with signal Terminated', signal: 'SIGTERM' });
    expect(terminationOf({ exitCode: 0 }, { killed: true, killReason: 'REASON_AGENT_RESTARTED' })).toMatchObject({ state: 'TASK_KILLED', reason: 'REASON_AGENT_RESTARTED' });
    expect(terminationOf({ noStatus: true }, {})).toMatchObject({ state: 'TASK_FAILED', message: 'Command exited without a status (killed by a signal?)' });
    expect(terminationOf({ noStatus: true, signal: 'SIGKILL' }, {})).toMatchObject({ state: 'TASK_FAILED', message: expect.stringContaining('signal Killed') });
    expect(terminationOf({ noStatus: true, signal: 'SIGKILL' }, { killed: true })).toMatchObject({ state: 'TASK_KILLED', message: 'Command terminated with signal Killed' });
    const limitation = { reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message: 'Memory limit exceeded' };
    expect(terminationOf({ signal: 'SIGKILL' }, { killed: true, limitation })).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: 'Memory limit exceeded',
      limitation,
      signal: 'SIGKILL',
    });
  });
});

describe('container lifecycle', () => {
  const phases = Object.keys(PHASE_TRANSITIONS) as ContainerPhase[];
  it.each(phases.flatMap((from) => phases.map((to) => [from, to] as const)))('%s -> %s is legal only when listed', (from, to) => {
    if (PHASE_TRANSITIONS[from].includes(to)) expect(nextPhase(from, to)).toBe(to);
    else expect(() => nextPhase(from, to)).toThrow(`illegal transition ${from} -> ${to}`);
  });
});

describe('/proc and statistics', () => {
  it('parses a stat line whose command has spaces and parentheses', () => {
    const line = '4242 (my (weird) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 987654 10000000 321 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
    expect(parseStat(line)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgrp: 4242, session: 4242, utime: 250, stime: 50, numThreads: 3, startTime: 987654, rssPages: 321 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('merges isolator statistics in order into Mesos field names', () => {
    expect(snake('cpusUserTimeSecs')).toBe('cpus_user_time_secs');
    const s = mergeStatistics([{ memRssBytes: 10, processes: 2 }, { memRssBytes: 20, cpusLimit: 4 }, {}], { cpusLimit: 1, memLimitBytes: 64 });
    expect(s).toEqual({ timestamp: expect.any(Number), mem_rss_bytes: 20, processes: 2, cpus_limit: 4, mem_limit_bytes: 64 });
  });

  it('keeps keyed figures (the GPU module\'s gpus_utilization), combining those of several isolators', () => {
    const s = mergeStatistics([{ processes: 1, gpusUtilization: { 'GPU-a': 40 } }, { gpusUtilization: { 'GPU-b': 7, 'GPU-b/memory_used_bytes': 1024 } }], {});
    expect(s).toEqual({ timestamp: expect.any(Number), processes: 1, gpus_utilization: { 'GPU-a': 40, 'GPU-b': 7, 'GPU-b/memory_used_bytes': 1024 } });
  });
});
