// TaskManager against a real checkpoint and a containerizer that never runs anything: malformed
// master messages must not leave the checkpoint unreadable at the next start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Log } from '../log';
import { Checkpoint } from './checkpoint';
import { taskKey } from './checkpoint-state';
import { UniversalContainerizer } from './containerizer';
import type { Containerizer } from './containerizer/types';
import type { AgentHooks } from './hooks';
import type { StatusUpdate } from '../agent-protocol/messages';
import { StatusUpdateManager } from './status-update-manager';
import { TaskManager } from './tasks';

const log: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log, level: 'error' };
const containerizer = { recover: async () => [], launch: async () => ({}), wait: () => new Promise(() => undefined), kill: async () => undefined, close: async () => undefined } as unknown as Containerizer;

describe('TaskManager and malformed master messages', () => {
  it('drops a RunTask or KillTask without a task id, and the checkpoint still opens afterwards', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    try {
      const cp = Checkpoint.open({ dir, log });
      const sum = new StatusUpdateManager({ checkpoint: cp, send: () => true, log });
      const tasks = new TaskManager({ containerizer, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log });
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, { name: 't', task_id: { value: '' }, agent_id: { value: 'A' }, command: { value: 'true' } });
      tasks.kill('F', '');
      await new Promise((r) => setTimeout(r, 20));
      sum.close();
      cp.close();
      expect(() => Checkpoint.open({ dir, log }).close()).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskManager with launch hooks', () => {
  it('fails the task (TASK_FAILED, launch failed) when decorating it throws, instead of leaving it staging', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const sent: StatusUpdate[] = [];
    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: (u) => (sent.push(u), true), log });
    try {
      const hooks = { decoratesLaunches: true, decorateLaunch: () => Promise.reject(new TypeError('task.resources.map is not a function')) } as unknown as AgentHooks;
      const tasks = new TaskManager({ containerizer, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log, hooks });
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'true' } });
      for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sent.map((u) => u.status)).toEqual([
        expect.objectContaining({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringContaining('task.resources.map is not a function') }),
      ]);
    } finally {
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskManager recovery', () => {
  it('fails a task checkpointed as launching whose container has no runtime dir (agent died before starting it): launch failed, no TASK_RUNNING', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const info = { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'true' } };
    const before = Checkpoint.open({ dir, log });
    await before.durable({ op: 'task', frameworkId: 'F', taskId: 't1', containerId: 'c-t1', sandbox: path.join(dir, 'sandbox'), info });
    before.close();
    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: () => true, log });
    const real = new UniversalContainerizer({ workDir: dir, runtimeDir: path.join(dir, 'run'), isolators: ['posix/cpu', 'posix/mem'], log, launcher: 'direct' });
    try {
      const tasks = new TaskManager({ containerizer: real, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log });
      await tasks.recover({ cleanup: false });
      expect(cp.state.tasks.get(taskKey('F', 't1'))?.pending).toEqual([
        expect.objectContaining({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringContaining('agent restarted while the container was being launched') }),
      ]);
    } finally {
      await real.close();
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskManager recovery of health checks', () => {
  it('kills, after a restart, a task whose health failures had reached consecutive_failures, and its TASK_KILLED says healthy: false', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const info = { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'sleep 100' }, health_check: { type: 'TCP', tcp: { port: 1 }, consecutive_failures: 2 }, kill_policy: { grace_period: { nanoseconds: 7e9 } } };
    const before = Checkpoint.open({ dir, log });
    await before.durable({ op: 'task', frameworkId: 'F', taskId: 't1', containerId: 'c-t1', sandbox: dir, info });
    let n = 1;
    const health = (healthy: boolean) => ({ task_id: info.task_id, state: 'TASK_RUNNING' as const, healthy, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', uuid: Buffer.alloc(16, ++n) });
    for (const status of [{ task_id: info.task_id, state: 'TASK_RUNNING' as const, uuid: Buffer.alloc(16, 1) }, health(true), health(false), health(false)]) {
      await before.durable({ op: 'update', frameworkId: 'F', taskId: 't1', status });
    }
    expect(before.state.tasks.get(taskKey('F', 't1'))?.health).toEqual({ healthy: false, failures: 2 });
    before.close();

    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: () => true, log });
    const kills: number[] = [];
    let end: (t: unknown) => void = () => undefined;
    const recovering = {
      ...containerizer,
      recover: async () => [{ containerId: 'c-t1', outcome: 'running', view: { containerId: 'c-t1', pid: process.pid, startedAt: Date.now() } }],
      wait: () => new Promise((resolve) => (end = resolve)),
      kill: async (_id: string, o: { gracePeriodMs: number }) => {
        kills.push(o.gracePeriodMs);
        end({ state: 'TASK_KILLED', message: 'Command terminated with signal Terminated' });
      },
    } as unknown as Containerizer;
    try {
      const tasks = new TaskManager({ containerizer: recovering, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log });
      await tasks.recover({ cleanup: false });
      await new Promise((r) => setTimeout(r, 20));
      expect(kills).toEqual([7000]);
      const last = cp.state.tasks.get(taskKey('F', 't1'))?.pending.at(-1);
      expect(last).toMatchObject({ state: 'TASK_KILLED', healthy: false, source: 'SOURCE_EXECUTOR' });
      tasks.close();
    } finally {
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskManager and task id reuse', () => {
  it('refuses (TASK_ERROR) a RunTask whose id still has unacknowledged updates, and keeps those updates', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const sent: StatusUpdate[] = [];
    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: (u) => (sent.push(u), true), log });
    const failing = { ...containerizer, launch: () => Promise.reject(new Error('no such isolator')) } as unknown as Containerizer;
    try {
      const tasks = new TaskManager({ containerizer: failing, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log });
      const info = { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'true' } };
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, info);
      for (let i = 0; i < 100 && cp.state.tasks.get(taskKey('F', 't1'))?.state !== 'TASK_FAILED'; i++) await new Promise((r) => setTimeout(r, 10));
      const pending = () => cp.state.tasks.get(taskKey('F', 't1'))?.pending.map((s) => s.state);
      expect(pending()).toEqual(['TASK_STARTING', 'TASK_FAILED']);
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, info);
      await new Promise((r) => setTimeout(r, 20));
      expect(sent.map((u) => u.status)).toContainEqual(
        expect.objectContaining({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: expect.stringContaining('terminal update is not acknowledged') }),
      );
      expect(pending()).toEqual(['TASK_STARTING', 'TASK_FAILED']);
    } finally {
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TaskManager and what it refuses before TASK_STARTING', () => {
  async function statesOf(info: Record<string, unknown>): Promise<{ states: string[]; last: StatusUpdate['status']; launched: number }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const sent: StatusUpdate[] = [];
    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: (u) => (sent.push(u), true), log });
    let launched = 0;
    const counting = { ...containerizer, launch: async () => (launched++, {}) } as unknown as Containerizer;
    try {
      const tasks = new TaskManager({ containerizer: counting, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 1000, log });
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'true' }, ...info } as never);
      for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 30));
      return { states: sent.map((u) => u.status.state), last: sent[sent.length - 1]?.status, launched };
    } finally {
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('fails a task that asks for a container image (Docker, or a MESOS image) with TASK_FAILED, without a sandbox or container', async () => {
    const docker = await statesOf({ container: { type: 'DOCKER', docker: { image: 'busybox:1.36' } } });
    expect(docker).toMatchObject({ states: ['TASK_FAILED'], launched: 0 });
    expect(docker.last).toMatchObject({ reason: 'REASON_CONTAINER_LAUNCH_FAILED', source: 'SOURCE_AGENT', message: expect.stringMatching(/asks for a Docker container \(image "busybox:1.36"\).*this agent runs no container images/) });
    const image = await statesOf({ container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'alpine' } } } } });
    expect(image).toMatchObject({ states: ['TASK_FAILED'], launched: 0 });
    expect(image.last.message).toMatch(/asks for a container image \(container\.mesos\.image: DOCKER "alpine"\), but this agent runs no container images/);
    // MESOS without an image (volumes only) runs.
    expect((await statesOf({ container: { type: 'MESOS', volumes: [] } })).launched).toBe(1);
  });

  it('refuses (TASK_ERROR) only environment names no environment can hold, before TASK_STARTING; others launch', async () => {
    const bad = await statesOf({ command: { value: 'true', environment: { variables: [{ name: 'A=B', value: '1' }] } } });
    expect(bad).toMatchObject({ states: ['TASK_ERROR'], launched: 0 });
    expect(bad.last).toMatchObject({ reason: 'REASON_TASK_INVALID', message: expect.stringContaining(`environment variable name "A=B" cannot be in an environment: it contains '='`) });
    expect((await statesOf({ command: { value: 'true', environment: { variables: [{ name: 'spring.profiles', value: 'dev' }, { name: 'APP-VERSION', value: '1' }] } } })).launched).toBe(1);
  });
});

describe('TaskManager and repeated kills', () => {
  it('hands a repeated kill\'s own kill policy to the containerizer (which brings the SIGKILL forward when it is shorter)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-tasks-'));
    const cp = Checkpoint.open({ dir, log });
    const sum = new StatusUpdateManager({ checkpoint: cp, send: () => true, log });
    const kills: number[] = [];
    const recording = { ...containerizer, launch: async () => ({}), kill: async (_id: string, o: { gracePeriodMs: number }) => void kills.push(o.gracePeriodMs) } as unknown as Containerizer;
    try {
      const tasks = new TaskManager({ containerizer: recording, checkpoint: cp, sum, workDir: dir, agentId: () => 'A', defaultGraceMs: 5000, log });
      tasks.run({ user: 'u', name: 'f', id: { value: 'F' } }, { name: 't', task_id: { value: 't1' }, agent_id: { value: 'A' }, command: { value: 'sleep 100' }, kill_policy: { grace_period: { nanoseconds: 60e9 } } });
      for (let i = 0; i < 100 && cp.state.tasks.get(taskKey('F', 't1'))?.state !== 'TASK_RUNNING'; i++) await new Promise((r) => setTimeout(r, 10));
      tasks.kill('F', 't1');
      tasks.kill('F', 't1', { grace_period: { nanoseconds: 1e9 } });
      expect(kills).toEqual([60_000, 1000]);
    } finally {
      sum.close();
      cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
