// The status update manager with a real checkpoint on disk: checkpointed before sent, per task in
// order with one in flight, retried until acknowledged, streams independent, resent after a restart,
// forgotten once the terminal update is acknowledged.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StatusUpdate } from '../../core/src/agent-protocol/messages';
import { Checkpoint } from '../../core/src/agent/checkpoint';
import { taskKey, type CheckpointedTask } from '../../core/src/agent/checkpoint-state';
import { StatusUpdateManager } from '../../core/src/agent/status-update-manager';
import type { TaskState, TaskStatus } from '../../core/src/master/model/mesos';
import { quietLog, waitFor } from '../support/test-master';
import { tempDir } from '../modules/helpers';

const status = (task: string, state: TaskState): TaskStatus => ({ task_id: { value: task }, state, uuid: randomBytes(16), source: 'SOURCE_EXECUTOR' });

describe('agent status update manager', () => {
  let root: string;
  let cp: Checkpoint;
  let sent: StatusUpdate[];
  let connected: boolean;
  let forgotten: CheckpointedTask[];
  let sum: StatusUpdateManager;

  const open = (retryInitialMs = 50) => {
    cp = Checkpoint.open({ dir: path.join(root, 'meta'), log: quietLog });
    sum = new StatusUpdateManager({
      checkpoint: cp,
      send: (u) => (connected ? (sent.push(u), true) : false),
      log: quietLog,
      retryInitialMs,
      retryMaxMs: 200,
      onTerminalAcknowledged: (t) => forgotten.push(t),
    });
  };
  const addTask = (task: string) => cp.lazy({ op: 'task', frameworkId: 'F', taskId: task, containerId: `c-${task}`, sandbox: '', info: { name: task, task_id: { value: task }, agent_id: { value: 'A' } } });
  const states = (task: string) => sent.filter((u) => u.status.task_id.value === task).map((u) => u.status.state);

  beforeEach(() => {
    root = tempDir();
    sent = [];
    connected = true;
    forgotten = [];
    open();
  });
  afterEach(() => {
    sum.close();
    cp.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('sends each update only after it is on disk, one in flight per task, the next after the ack', async () => {
    addTask('t1');
    const starting = status('t1', 'TASK_STARTING');
    const running = status('t1', 'TASK_RUNNING');
    const durable = sum.update('F', 't1', starting);
    void sum.update('F', 't1', running);
    expect(sent).toHaveLength(0); // not before the journal line is fsync'd
    await durable;
    await waitFor(() => sent.length >= 1, 'the first update');
    expect(fs.readFileSync(path.join(root, 'meta', 'journal.jsonl'), 'utf8')).toContain('TASK_STARTING');
    await new Promise((r) => setTimeout(r, 120)); // retries of the head only
    expect(new Set(states('t1'))).toEqual(new Set(['TASK_STARTING']));
    expect(sum.acknowledge('F', 't1', randomBytes(16))).toBe(false); // a stale ack changes nothing
    expect(sum.acknowledge('F', 't1', starting.uuid!)).toBe(true);
    await waitFor(() => states('t1').includes('TASK_RUNNING'), 'the second update');
    expect(sum.pending()).toBe(1);
  });

  it('says the task\'s latest state with each send of an older update (latest_state), as Mesos\'s agent does', async () => {
    addTask('t1');
    await sum.update('F', 't1', status('t1', 'TASK_STARTING'));
    await waitFor(() => sent.length >= 1, 'the first update');
    expect(sent[0].latest_state).toBe('TASK_STARTING');
    await sum.update('F', 't1', status('t1', 'TASK_RUNNING'));
    await sum.update('F', 't1', status('t1', 'TASK_FINISHED'));
    const before = sent.length;
    await waitFor(() => sent.length > before, 'a retry of the head');
    expect(sent.at(-1)).toMatchObject({ status: { state: 'TASK_STARTING' }, latest_state: 'TASK_FINISHED' });
  });

  it('retries with backoff while unacknowledged and never holds back another task', async () => {
    addTask('slow');
    addTask('fast');
    await sum.update('F', 'slow', status('slow', 'TASK_RUNNING'));
    const fast = status('fast', 'TASK_RUNNING');
    await sum.update('F', 'fast', fast);
    sum.acknowledge('F', 'fast', fast.uuid!);
    const fin = status('fast', 'TASK_FINISHED');
    await sum.update('F', 'fast', fin);
    await waitFor(() => states('fast').includes('TASK_FINISHED'), "the fast task's terminal update");
    await waitFor(() => states('slow').length >= 4, 'retries of the unacknowledged update', 3000);
    // Each retry is the same update (same uuid) until it is acknowledged.
    const uuids = new Set(sent.filter((u) => u.status.task_id.value === 'slow').map((u) => u.status.uuid!.toString('hex')));
    expect(uuids.size).toBe(1);
  });

  it('forgets a task once its terminal update is acknowledged, also in the checkpoint', async () => {
    addTask('t1');
    const running = status('t1', 'TASK_RUNNING');
    const finished = status('t1', 'TASK_FINISHED');
    await sum.update('F', 't1', running);
    await sum.update('F', 't1', finished);
    sum.acknowledge('F', 't1', running.uuid!);
    expect(forgotten).toHaveLength(0);
    sum.acknowledge('F', 't1', finished.uuid!);
    expect(forgotten.map((t) => t.taskId)).toEqual(['t1']);
    expect(cp.state.tasks.has(taskKey('F', 't1'))).toBe(false);
    sum.close();
    cp.close();
    open();
    expect(cp.state.tasks.size).toBe(0);
  });

  it('still sends updates, in order, after the checkpoint failed to write (disk full): no terminal update is lost', async () => {
    addTask('t1');
    const running = status('t1', 'TASK_RUNNING');
    const write = jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw new Error('ENOSPC: no space left on device');
    });
    try {
      await sum.update('F', 't1', running); // this write fails and latches
      const finished = status('t1', 'TASK_FINISHED');
      await sum.update('F', 't1', finished); // refused by the latched journal at once
      expect(states('t1')).toEqual(['TASK_RUNNING']);
      sum.acknowledge('F', 't1', running.uuid!);
      expect(states('t1')).toEqual(['TASK_RUNNING', 'TASK_FINISHED']);
      sum.acknowledge('F', 't1', finished.uuid!);
      expect(forgotten.map((t) => t.taskId)).toEqual(['t1']);
    } finally {
      write.mockRestore();
    }
  });

  it('keeps unacknowledged updates across a restart and sends them again, in order, after registration', async () => {
    addTask('t1');
    connected = false;
    const running = status('t1', 'TASK_RUNNING');
    await sum.update('F', 't1', running);
    await sum.update('F', 't1', status('t1', 'TASK_FINISHED'));
    sum.close();
    cp.close(); // the agent died before the master heard anything
    open(10_000); // long retries: only resendAll sends now
    connected = true;
    expect(sum.pending()).toBe(2);
    sum.resendAll();
    expect(states('t1')).toEqual(['TASK_RUNNING']);
    expect(sent[0].status.uuid!.equals(running.uuid!)).toBe(true);
    sum.acknowledge('F', 't1', running.uuid!);
    expect(states('t1')).toEqual(['TASK_RUNNING', 'TASK_FINISHED']);
  });
});
