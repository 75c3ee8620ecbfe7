// The agent's checkpoint (<work_dir>/meta): what is recorded survives a reopen, a torn last line is
// dropped, a corrupt line is refused with its file and line, compaction keeps the state, bytes round-trip.
import fs from 'node:fs';
import path from 'node:path';
import { Checkpoint } from '../../core/src/agent/checkpoint';
import { taskKey } from '../../core/src/agent/checkpoint-state';
import { TesseraError } from '../../core/src/errors';
import type { TaskInfo, TaskStatus } from '../../core/src/master/model/mesos';
import { quietLog } from '../support/test-master';
import { tempDir } from '../modules/helpers';

const info = (id: string): TaskInfo => ({ name: id, task_id: { value: id }, agent_id: { value: 'A1' }, command: { value: 'sleep 1' }, data: Buffer.from([1, 2, 3]) });
const status = (id: string, state: TaskStatus['state']): TaskStatus => ({ task_id: { value: id }, state, uuid: Buffer.from(`${id}-${state}`.padEnd(16, '.').slice(0, 16)) });

describe('agent checkpoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(tempDir(), 'meta');
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('keeps agent, frameworks, tasks and unacknowledged updates across a reopen', async () => {
    const cp = Checkpoint.open({ dir, log: quietLog });
    expect(cp.state.agentId).toBeUndefined();
    await cp.durable({ op: 'agent', id: 'A1', info: { hostname: 'h', id: { value: 'A1' } } });
    cp.lazy({ op: 'framework', info: { user: 'u', name: 'fw', id: { value: 'F1' } } });
    await cp.durable({ op: 'task', frameworkId: 'F1', taskId: 't1', containerId: 'c1', sandbox: '/s/1', info: info('t1') });
    await cp.durable({ op: 'update', frameworkId: 'F1', taskId: 't1', status: status('t1', 'TASK_STARTING') });
    await cp.durable({ op: 'update', frameworkId: 'F1', taskId: 't1', status: status('t1', 'TASK_RUNNING') });
    cp.lazy({ op: 'ack', frameworkId: 'F1', taskId: 't1', uuid: status('t1', 'TASK_STARTING').uuid! });
    cp.close();

    const again = Checkpoint.open({ dir, log: quietLog });
    expect(again.state.agentId).toBe('A1');
    expect(again.state.frameworks.get('F1')?.name).toBe('fw');
    const t = again.state.tasks.get(taskKey('F1', 't1'))!;
    expect(t).toMatchObject({ containerId: 'c1', sandbox: '/s/1', state: 'TASK_RUNNING' });
    expect(Buffer.isBuffer(t.info.data)).toBe(true);
    expect([...(t.info.data as Buffer)]).toEqual([1, 2, 3]);
    expect(t.pending.map((s) => s.state)).toEqual(['TASK_RUNNING']);
    expect(Buffer.isBuffer(t.pending[0].uuid)).toBe(true);
    again.close();
  });

  it('drops a torn last line with a warning and refuses a corrupt one naming file and line', async () => {
    const cp = Checkpoint.open({ dir, log: quietLog });
    await cp.durable({ op: 'agent', id: 'A1', info: { hostname: 'h' } });
    cp.close();
    const journal = path.join(dir, 'journal.jsonl');
    fs.appendFileSync(journal, '{"seq":2,"op":"removeTa');
    const warnings: string[] = [];
    const reopened = Checkpoint.open({ dir, log: { ...quietLog, warn: (m: string) => void warnings.push(m) } });
    expect(reopened.state.agentId).toBe('A1');
    expect(warnings.join('\n')).toMatch(/torn last line/);
    reopened.close();
    expect(fs.readFileSync(journal, 'utf8').endsWith('\n')).toBe(true);

    fs.appendFileSync(journal, 'not json\n');
    let error: unknown;
    try {
      Checkpoint.open({ dir, log: quietLog });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('TSR_AGENT_CHECKPOINT_CORRUPT');
    expect((error as TesseraError).message).toContain(`${journal}:2`);
  });

  it('compacts into a snapshot and reads the same state back', async () => {
    const cp = Checkpoint.open({ dir, log: quietLog, compactEvery: 20 });
    await cp.durable({ op: 'agent', id: 'A1', info: { hostname: 'h' } });
    for (let i = 0; i < 30; i++) {
      await cp.durable({ op: 'task', frameworkId: 'F1', taskId: `t${i}`, containerId: `c${i}`, sandbox: `/s/${i}`, info: info(`t${i}`) });
      if (i % 2 === 0) cp.lazy({ op: 'removeTask', frameworkId: 'F1', taskId: `t${i}` });
    }
    cp.flush();
    expect(fs.existsSync(path.join(dir, 'snapshot.json'))).toBe(true);
    expect(cp.journalLines).toBeLessThan(61);
    cp.close();
    const again = Checkpoint.open({ dir, log: quietLog });
    expect(again.state.agentId).toBe('A1');
    expect([...again.state.tasks.values()].map((t) => t.taskId).sort()).toEqual(Array.from({ length: 15 }, (_, i) => `t${2 * i + 1}`).sort());
    again.close();
  });

  it('makes every durable op of one busy turn durable (they share one write and fsync)', async () => {
    const cp = Checkpoint.open({ dir, log: quietLog });
    const writes = Array.from({ length: 500 }, (_, i) => cp.durable({ op: 'task', frameworkId: 'F', taskId: `t${i}`, containerId: `c${i}`, sandbox: '', info: info(`t${i}`) }));
    await Promise.all(writes);
    cp.close();
    expect(Checkpoint.open({ dir, log: quietLog }).state.tasks.size).toBe(500);
  });
});
