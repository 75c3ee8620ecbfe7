/**
 * Operators' quota changes, applied as Mesos's master applies them (src/master/quota_handler.cpp):
 * checked (quota.ts), written to the registry before the call is answered, then kept in
 * `master.quotas` and sent to the allocator module (`update_quota`, one input per role). A refused
 * change is a MasterError with Mesos's status and a message naming the role, the resource and the
 * amounts; nothing has changed then.
 *
 * - UPDATE_QUOTA (Mesos 1.9+) sets the quotas of several roles at once, all or none; a config without
 *   guarantees and limits clears a role's quota. Refusals are 400, the capacity check's too.
 * - SET_QUOTA (deprecated) sets the quota of a role that has none, its guarantee serving as its limit;
 *   the capacity check answers 409, as Mesos's does. REMOVE_QUOTA (deprecated) clears a role's quota.
 * - After a change that guarantees something, outstanding offers are rescinded, agent by agent, until
 *   at least the guarantee has come back to the allocator (and from as many agents as the role has
 *   frameworks), so a guarantee takes effect without waiting for those offers to be declined. Mesos's
 *   SET_QUOTA does this; its UPDATE_QUOTA leaves it as a TODO, which we do here too.
 *
 * ```ts
 * updateQuota(master, [{ role: 'db', guarantees: { cpus: { value: 2 } }, limits: { cpus: { value: 4 } } }], false);
 * ```
 */
import type { Master } from './master';
import { MasterError } from './master-error';
import {
  clusterCapacity,
  configProblem,
  describeQuantities,
  fromQuotaRequest,
  fromWireConfig,
  isDefaultQuota,
  overcommitted,
  toAbiQuota,
  totalGuarantees,
  treeProblem,
  type RoleQuota,
  type WireQuotaConfig,
  type WireQuotaRequest,
} from './quota';
import { rolesOf } from './model/abi';

/** updateQuota applies an UPDATE_QUOTA call's configs (all or none); `force` skips the capacity check. */
export function updateQuota(master: Master, configs: readonly WireQuotaConfig[], force: boolean): void {
  const quotas = configs.map(fromWireConfig);
  const nonScalar = nonScalarNames(master);
  const seen = new Set<string>();
  for (const q of quotas) {
    if (seen.has(q.role)) throw new MasterError(400, `Invalid QuotaConfig: role '${q.role}' appears more than once in 'quota_configs': give each role one config`);
    seen.add(q.role);
    const problem = configProblem(q, nonScalar);
    if (problem) throw new MasterError(400, `Invalid QuotaConfig: ${problem}`);
  }
  const next = withChanges(master.quotas, quotas);
  const tree = treeProblem(next);
  if (tree) throw new MasterError(400, `Invalid QuotaConfig: ${tree}`);
  const over = capacityProblem(master, next);
  if (over && !force) throw new MasterError(400, `Invalid QuotaConfig: total quota guarantees exceed the cluster's capacity (${over}); lower the guarantees, add agents, or set "force": true to bypass this check`);
  if (over) master.opts.log.info(`UPDATE_QUOTA with "force": the total quota guarantees exceed the cluster's capacity (${over})`);
  commit(master, quotas);
}

/** setQuota applies a deprecated SET_QUOTA (a QuotaRequest): a new quota whose limit is its guarantee. */
export function setQuota(master: Master, request: WireQuotaRequest | undefined): void {
  const q = fromQuotaRequest(request ?? {});
  if (typeof q === 'string') throw new MasterError(400, `Failed to validate set quota request: ${q}`);
  const problem = configProblem(q, nonScalarNames(master));
  if (problem) throw new MasterError(400, `Failed to validate set quota request: ${problem}`);
  if (master.quotas.has(q.role)) {
    throw new MasterError(400, `Failed to validate set quota request: Cannot set quota for role '${q.role}' which already has quota: change it with UPDATE_QUOTA, or REMOVE_QUOTA first`);
  }
  const next = withChanges(master.quotas, [q]);
  const tree = treeProblem(next);
  if (tree) throw new MasterError(400, `Failed to validate set quota request: ${tree}`);
  const over = capacityProblem(master, next);
  if (over && !request?.force) throw new MasterError(409, `Quota guarantees overcommit the cluster (use 'force' to bypass this check): ${over}`);
  commit(master, [q]);
}

/** removeQuota applies a deprecated REMOVE_QUOTA: the role's quota goes back to the default (none). */
export function removeQuota(master: Master, role: string): void {
  if (!master.quotas.has(role)) {
    throw new MasterError(400, `Failed to remove quota: Role '${role}' has no quota set (GET_QUOTA lists the roles that have one)`);
  }
  const cleared: RoleQuota = { role, guarantees: {}, limits: {} };
  const tree = treeProblem(withChanges(master.quotas, [cleared]));
  if (tree) throw new MasterError(400, `Failed to remove quota of role '${role}': ${tree}`);
  commit(master, [cleared]);
}

// Registry first: when its write fails nothing has changed, and the operator may retry.
function commit(master: Master, quotas: readonly RoleQuota[]): void {
  try {
    master.opts.registry?.updateQuota([...quotas]);
  } catch (err) {
    throw new MasterError(503, `the quota was not recorded (${(err as Error).message}); nothing changed: try again once the master's --work_dir is writable`);
  }
  for (const q of quotas) {
    if (isDefaultQuota(q)) master.quotas.delete(q.role);
    else master.quotas.set(q.role, q);
    // Before the rescinds below: their resources must come back to an allocator that knows the quota.
    master.link.send({ updateQuota: toAbiQuota(q) });
    master.opts.log.info(
      isDefaultQuota(q)
        ? `an operator cleared the quota of role '${q.role}'`
        : `an operator set the quota of role '${q.role}': guarantees ${describeQuantities(q.guarantees) || 'none'}, limits ${describeQuantities(q.limits) || 'none'}`,
    );
  }
  for (const q of quotas) if (Object.values(q.guarantees).some((v) => v > 0)) rescindFor(master, q);
}

function withChanges(current: ReadonlyMap<string, RoleQuota>, changes: readonly RoleQuota[]): Map<string, RoleQuota> {
  const next = new Map(current);
  for (const q of changes) {
    if (isDefaultQuota(q)) next.delete(q.role);
    else next.set(q.role, q);
  }
  return next;
}

// Mesos counts every registered agent, connected or not (a disconnection is usually brief), but not
// the agents recovered from the registry that have yet to re-register.
function capacityProblem(master: Master, quotas: ReadonlyMap<string, RoleQuota>): string | undefined {
  return overcommitted(totalGuarantees(quotas), clusterCapacity([...master.agents.values()].map((a) => a.total)));
}

// "ports" is never a scalar; other names are known as ranges or sets from the agents that declare them.
function nonScalarNames(master: Master): Set<string> {
  const names = new Set(['ports']);
  for (const a of master.agents.values()) for (const r of a.total) if (r.type !== 'SCALAR') names.add(r.name);
  return names;
}

/**
 * Mesos's rescindOffers for a new guarantee: all offers of one connected agent at a time, until the
 * unreserved scalars rescinded cover the guarantee and offers of as many agents were rescinded as the
 * role has connected frameworks (so each of them may get an offer).
 */
function rescindFor(master: Master, q: RoleQuota): void {
  const frameworks = [...master.frameworks.values()].filter((f) => f.subscriber !== undefined && rolesOf(f.info).includes(q.role)).length;
  const rescinded: Record<string, number> = {};
  const covered = () => Object.entries(q.guarantees).every(([name, v]) => (rescinded[name] ?? 0) >= v);
  let visited = 0;
  for (const agent of master.agents.values()) {
    if (covered() && visited >= frameworks) break;
    if (!agent.conn || agent.offers.size === 0) continue;
    for (const id of [...agent.offers]) {
      for (const r of master.offers.get(id)?.offer.resources ?? []) {
        if (r.type === 'SCALAR' && !r.reservations?.length && !r.revocable && r.scalar) rescinded[r.name] = (rescinded[r.name] ?? 0) + r.scalar.value;
      }
      master.rescind(id);
    }
    visited++;
  }
}
