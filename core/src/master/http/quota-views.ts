/**
 * Quotas, weights and roles as the operator API and Mesos's legacy endpoints show them:
 * `Response.GetQuota` (a QuotaStatus: every quota as a QuotaConfig, and again as the QuotaInfo of
 * Mesos < 1.9 for older clients), `Response.GetWeights`, and the bodies of `GET /quota` (the QuotaStatus
 * as JSON), `GET /weights` (a JSON array of WeightInfo) and `GET /roles` (Mesos's roles JSON:
 * flattened resources, plain-string framework ids, the quota as `{role, guarantee, limit}`).
 *
 * ```ts
 * encodeJson('mesos.v1.master.Response', { type: 'GET_QUOTA', get_quota: getQuota(master) });
 * ```
 */
import type { Master } from '../master';
import { flattenResources } from '../model/resources';
import { quotaInfoOf, toWireConfig } from '../quota';
import { encodeJson, type PlainMessage } from '../wire';
import { roleViews } from './operator-views';

function byRole<T extends { role: string }>(list: T[]): T[] {
  return list.sort((a, b) => a.role.localeCompare(b.role));
}

/** quotaStatus is a `mesos.v1.quota.QuotaStatus`: every non-default quota, by role. */
export function quotaStatus(master: Master): PlainMessage {
  const quotas = byRole([...master.quotas.values()]);
  return { infos: quotas.map(quotaInfoOf), configs: quotas.map(toWireConfig) };
}

/** getQuota is a `Response.GetQuota`. */
export function getQuota(master: Master): PlainMessage {
  return { status: quotaStatus(master) };
}

/** weightInfos are the weights operators set, as `mesos.v1.WeightInfo`s by role. */
function weightInfos(master: Master): Array<{ weight: number; role: string }> {
  return byRole([...master.weights].map(([role, weight]) => ({ weight, role })));
}

/** getWeights is a `Response.GetWeights`. */
export function getWeights(master: Master): PlainMessage {
  return { weight_infos: weightInfos(master) };
}

/** legacyQuota is the body of `GET /quota`: the QuotaStatus in Mesos's JSON. */
export function legacyQuota(master: Master): string {
  return encodeJson('mesos.v1.quota.QuotaStatus', quotaStatus(master));
}

/** legacyWeights is the body of `GET /weights`: a JSON array of WeightInfo. */
export function legacyWeights(master: Master): Array<{ weight: number; role: string }> {
  return weightInfos(master);
}

/**
 * legacyRoles is the body of `GET /roles`, as Mesos writes it: per role its name, weight, quota (when
 * it has one: `role`, and `guarantee` and `limit` as amounts by name, singular as before Mesos 1.9),
 * flattened resources and framework ids.
 */
export function legacyRoles(master: Master): { roles: Record<string, unknown>[] } {
  return {
    roles: roleViews(master).map((r) => {
      const q = master.quotas.get(r.name);
      return {
        name: r.name,
        weight: r.weight,
        ...(q ? { quota: { role: r.name, guarantee: q.guarantees, limit: q.limits } } : {}),
        resources: flattenResources(r.resources),
        frameworks: r.frameworks.map((f) => f.value),
      };
    }),
  };
}
