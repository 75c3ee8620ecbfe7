/**
 * Quota and weights over HTTP, as Mesos's master serves them:
 *
 * - operator API calls (POST /api/v1): UPDATE_QUOTA, SET_QUOTA, REMOVE_QUOTA and UPDATE_WEIGHTS answer
 *   200 with an empty body once the change is in the registry; GET_QUOTA and GET_WEIGHTS are queries
 *   (quota-views.ts);
 * - Mesos's legacy endpoints (also under `/master/`): `/quota` (GET: the QuotaStatus JSON; POST: a
 *   QuotaRequest, as SET_QUOTA; DELETE `/quota/<role>`: as REMOVE_QUOTA), `/weights` (GET: a JSON array
 *   of WeightInfo; PUT: such an array, as UPDATE_WEIGHTS) and `/roles` (GET: Mesos's roles JSON).
 *
 * Refusals are plain text with Mesos's status (quota-changes.ts, weights.ts): 400 for an invalid call,
 * 409 for SET_QUOTA beyond the cluster's capacity, 405 for a method an endpoint does not take, 503 when
 * the registry cannot be written.
 *
 * ```sh
 * curl -s -X POST localhost:5050/api/v1 -H 'Content-Type: application/json' -d '{"type": "UPDATE_QUOTA",
 *   "update_quota": {"quota_configs": [{"role": "db", "guarantees": {"cpus": {"value": 2}}, "limits": {"cpus": {"value": 4}}}]}}'
 * curl -s localhost:5050/quota
 * ```
 */
import type http from 'node:http';
import type { Master } from '../master';
import { MasterError } from '../master-error';
import type { WireQuotaConfig, WireQuotaRequest } from '../quota';
import { removeQuota, setQuota, updateQuota } from '../quota-changes';
import { decodeJson, WireError } from '../wire';
import { updateWeights, type WireWeightInfo } from '../weights';
import { readBody, reply } from './body';
import { legacyQuota, legacyRoles, legacyWeights } from './quota-views';

/** The quota and weights fields of a decoded operator Call. */
export interface QuotaCallFields {
  update_quota?: { force?: boolean; quota_configs?: WireQuotaConfig[] };
  set_quota?: { quota_request: WireQuotaRequest };
  remove_quota?: { role: string };
  update_weights?: { weight_infos?: WireWeightInfo[] };
}

/** QUOTA_CALLS are the operator calls {@link quotaCall} answers. */
export const QUOTA_CALLS: readonly string[] = ['UPDATE_QUOTA', 'SET_QUOTA', 'REMOVE_QUOTA', 'UPDATE_WEIGHTS'];

/** quotaCall applies one of {@link QUOTA_CALLS} and answers 200 with an empty body; throws MasterError. */
export function quotaCall(master: Master, call: QuotaCallFields, type: string, res: http.ServerResponse): void {
  const missing = (field: string, what: string) => new MasterError(400, `Expecting '${field}' to be present: a ${type} call carries ${what} in "${field}"`);
  switch (type) {
    case 'UPDATE_QUOTA':
      if (!call.update_quota) throw missing('update_quota', 'the roles\' quota configs');
      updateQuota(master, call.update_quota.quota_configs ?? [], call.update_quota.force === true);
      break;
    case 'SET_QUOTA':
      if (!call.set_quota) throw missing('set_quota', 'a quota_request');
      setQuota(master, call.set_quota.quota_request);
      break;
    case 'REMOVE_QUOTA':
      if (!call.remove_quota) throw missing('remove_quota', 'the role');
      removeQuota(master, call.remove_quota.role);
      break;
    case 'UPDATE_WEIGHTS':
      if (!call.update_weights) throw missing('update_weights', 'the weight_infos');
      updateWeights(master, call.update_weights.weight_infos ?? []);
      break;
    default:
      throw new Error(`quotaCall: ${type} is not a quota call`);
  }
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
}

/** quotaEndpoint serves `/quota` and `/quota/<role>` (`rolePath` is what follows `/quota/`, when given). */
export async function quotaEndpoint(master: Master, req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number, rolePath?: string): Promise<void> {
  if (req.method === 'DELETE') {
    if (!rolePath) return reply(res, 400, `Failed to parse remove quota request for path '${req.url}': name the role, as in DELETE /quota/<role>`);
    let role: string;
    try {
      role = decodeURIComponent(rolePath);
    } catch {
      return reply(res, 400, `Failed to parse remove quota request for path '${req.url}': the role is not valid percent-encoding`);
    }
    return answer(res, () => removeQuota(master, role));
  }
  if (rolePath) return reply(res, 404, `no endpoint ${req.url} on this master: GET and POST go to /quota, DELETE to /quota/<role>`);
  if (req.method === 'GET') return sendJson(res, legacyQuota(master));
  if (req.method !== 'POST') return notAllowed(res, req.method, ['GET', 'POST', 'DELETE']);
  const body = await readBody(req, res, maxBodyBytes);
  if (body === undefined) return;
  let request: WireQuotaRequest;
  try {
    request = decodeJson<WireQuotaRequest>('mesos.v1.quota.QuotaRequest', body);
  } catch (err) {
    return reply(res, 400, `Failed to validate set quota request JSON '${body.toString('utf8')}': ${(err as Error).message}`);
  }
  return answer(res, () => setQuota(master, request));
}

/** weightsEndpoint serves `/weights`: GET lists the weights, PUT sets them (a JSON array of WeightInfo). */
export async function weightsEndpoint(master: Master, req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): Promise<void> {
  if (req.method === 'GET') return sendJson(res, JSON.stringify(legacyWeights(master)));
  if (req.method !== 'PUT') return notAllowed(res, req.method, ['GET', 'PUT']);
  const body = await readBody(req, res, maxBodyBytes);
  if (body === undefined) return;
  let infos: WireWeightInfo[];
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!Array.isArray(parsed)) throw new WireError('expected a JSON array of WeightInfo, e.g. [{"role": "prod", "weight": 2}]');
    infos = parsed.map((x, i) => {
      try {
        return decodeJson<WireWeightInfo>('mesos.v1.WeightInfo', x as object);
      } catch (err) {
        throw new WireError(`element ${i}: ${(err as Error).message}`);
      }
    });
  } catch (err) {
    return reply(res, 400, `Failed to parse update weights request JSON ('${body.toString('utf8')}'): ${(err as Error).message}`);
  }
  return answer(res, () => updateWeights(master, infos));
}

/** rolesEndpoint serves `/roles` (and `/roles.json`): Mesos's roles JSON. */
export function rolesEndpoint(master: Master, res: http.ServerResponse): void {
  sendJson(res, JSON.stringify(legacyRoles(master)));
}

function answer(res: http.ServerResponse, change: () => void): void {
  try {
    change();
  } catch (err) {
    if (err instanceof MasterError) return reply(res, err.status, err.message);
    throw err;
  }
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
}

function notAllowed(res: http.ServerResponse, method: string | undefined, allowed: string[]): void {
  res.setHeader('Allow', allowed.join(', '));
  reply(res, 405, `Expecting one of { ${allowed.map((m) => `'${m}'`).join(', ')} }, but received '${method}'`);
}

function sendJson(res: http.ServerResponse, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  res.end(bytes);
}
