// The descriptor is in sync with the protos, and the field numbers clients depend on are Mesos's.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { lookupType, messagePlan } from './mesos-types';

const ROOT = path.resolve(__dirname, '../../../..');

const numbers = (typeName: string) => Object.fromEntries(lookupType(typeName).fieldsArray.map((f) => [f.name, f.id]));
const values = (typeName: string, enumName: string) => lookupType(typeName).lookupEnum(enumName).values;

describe('Mesos v1 types', () => {
  it('the committed descriptor is what core/scripts/gen-mesos.mjs makes of the protos', () => {
    expect(() => execFileSync(process.execPath, [path.join(ROOT, 'core/scripts/gen-mesos.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('has the Mesos field numbers of scheduler.Call and scheduler.Event', () => {
    expect(numbers('mesos.v1.scheduler.Call')).toEqual({
      framework_id: 1, type: 2, subscribe: 3, accept: 4, decline: 5, accept_inverse_offers: 13, decline_inverse_offers: 14, revive: 15,
      kill: 6, shutdown: 7, acknowledge: 8, acknowledge_operation_status: 17, reconcile: 9, reconcile_operations: 18, message: 10,
      request: 11, suppress: 16, update_framework: 19,
    });
    expect(numbers('mesos.v1.scheduler.Event')).toEqual({
      type: 1, subscribed: 2, offers: 3, inverse_offers: 9, rescind: 4, rescind_inverse_offer: 10, update: 5, update_operation_status: 11,
      message: 6, failure: 7, error: 8,
    });
    expect(values('mesos.v1.scheduler.Call', 'Type')).toMatchObject({ UPDATE_FRAMEWORK: 17, ACKNOWLEDGE_OPERATION_STATUS: 15, SUPPRESS: 12 });
  });

  it('has the Mesos numbers of Task, TaskStatus and its reasons', () => {
    expect(numbers('mesos.v1.Task')).toMatchObject({
      name: 1, task_id: 2, framework_id: 3, executor_id: 4, agent_id: 5, state: 6, resources: 7, statuses: 8,
      status_update_state: 9, status_update_uuid: 10, labels: 11, discovery: 12, container: 13, user: 14, health_check: 15,
    });
    expect(numbers('mesos.v1.TaskStatus')).toMatchObject({ task_id: 1, state: 2, data: 3, message: 4, agent_id: 5, timestamp: 6, uuid: 11, limitation: 16 });
    expect(values('mesos.v1.TaskStatus', 'Reason')).toMatchObject({
      REASON_COMMAND_EXECUTOR_FAILED: 0, REASON_EXECUTOR_TERMINATED: 1, REASON_INVALID_OFFERS: 6, REASON_CONTAINER_LIMITATION_MEMORY: 8,
      REASON_RECONCILIATION: 9, REASON_AGENT_REMOVED: 11, REASON_TASK_INVALID: 14, REASON_TASK_UNKNOWN: 16,
      REASON_CONTAINER_LIMITATION: 19, REASON_CONTAINER_LIMITATION_DISK: 20, REASON_AGENT_DRAINING: 34,
    });
  });

  it('has the Mesos numbers of the operator API', () => {
    expect(values('mesos.v1.master.Call', 'Type')).toMatchObject({ GET_STATE: 9, GET_MASTER: 17, SUBSCRIBE: 18, TEARDOWN: 31, MARK_AGENT_GONE: 32 });
    expect(values('mesos.v1.master.Response', 'Type')).toMatchObject({ GET_STATE: 8, GET_AGENTS: 9, GET_TASKS: 12, GET_MASTER: 15 });
    expect(numbers('mesos.v1.master.Response')).toMatchObject({ get_state: 9, get_agents: 10, get_frameworks: 11, get_tasks: 13, get_master: 16 });
    expect(numbers('mesos.v1.master.Call')).toEqual({
      type: 1,
      get_metrics: 2,
      update_weights: 6,
      reserve_resources: 7,
      unreserve_resources: 8,
      set_quota: 14,
      remove_quota: 15,
      teardown: 16,
      update_quota: 20,
    });
    expect(numbers('mesos.v1.master.Call.ReserveResources')).toEqual({ agent_id: 1, resources: 2 });
    expect(numbers('mesos.v1.master.Call.UnreserveResources')).toEqual({ agent_id: 1, resources: 2 });
    // Quota and weights (Mesos 1.9+: include/mesos/v1/master/master.proto, quota/quota.proto).
    expect(values('mesos.v1.master.Call', 'Type')).toMatchObject({ GET_WEIGHTS: 15, UPDATE_WEIGHTS: 16, GET_QUOTA: 28, SET_QUOTA: 29, REMOVE_QUOTA: 30, UPDATE_QUOTA: 36 });
    expect(values('mesos.v1.master.Response', 'Type')).toMatchObject({ GET_WEIGHTS: 14, GET_QUOTA: 18 });
    expect(numbers('mesos.v1.master.Response')).toMatchObject({ get_weights: 15, get_quota: 19 });
    expect(numbers('mesos.v1.master.Call.UpdateQuota')).toEqual({ force: 1, quota_configs: 2 });
    expect(numbers('mesos.v1.master.Call.UpdateWeights')).toEqual({ weight_infos: 1 });
    expect(numbers('mesos.v1.quota.QuotaConfig')).toEqual({ role: 1, guarantees: 2, limits: 3 });
    expect(numbers('mesos.v1.quota.QuotaRequest')).toEqual({ force: 1, role: 2, guarantee: 3 });
    expect(numbers('mesos.v1.quota.QuotaInfo')).toEqual({ role: 1, principal: 2, guarantee: 3 });
    expect(numbers('mesos.v1.quota.QuotaStatus')).toEqual({ infos: 1, configs: 2 });
  });

  it('plans carry required-ness and the explicit defaults Mesos writes', () => {
    const command = messagePlan('mesos.v1.CommandInfo').byName.get('shell')!;
    expect(command.outputDefault).toBe(true);
    expect(messagePlan('mesos.v1.Resource').byName.get('role')!.outputDefault).toBeUndefined(); // deprecated
    expect(messagePlan('mesos.v1.FrameworkInfo').required.map((f) => f.name)).toEqual(['user', 'name']);
    // A recursive type's plan refers to itself.
    const container = messagePlan('mesos.v1.ContainerID');
    expect(container.byName.get('parent')!.messagePlan).toBe(container);
  });
});
