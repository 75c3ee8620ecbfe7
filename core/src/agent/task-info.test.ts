import type { TaskInfo } from '../master/model/mesos';
import { taskProblem } from './task-info';

const task = (id: string): TaskInfo => ({ name: 't', task_id: { value: id }, agent_id: { value: 'A' }, command: { value: 'true' } });

describe('taskProblem', () => {
  it('refuses task ids that would name a directory outside the sandbox tree', () => {
    for (const id of ['', '.', '..', '../../etc', 'a/b', 'a b', 'a\nb', 'a\0b']) expect(taskProblem(task(id))).toMatch(/^Task id /);
  });

  it('accepts ordinary ids', () => {
    for (const id of ['t1', 'my-task.v2_3', 'x..y', 'ünïcode', 'a\\b']) expect(taskProblem(task(id))).toBeUndefined();
  });
});
