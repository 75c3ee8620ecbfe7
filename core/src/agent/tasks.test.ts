// TaskManager against a real checkpoint and a containerizer that never runs anything: malformed
// master messages must not leave the checkpoint unreadable at the next start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Log } from '../log';
import { Checkpoint } from './checkpoint';
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
