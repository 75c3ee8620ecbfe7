/**
 * `POST /api/v1` (also `/master/api/v1`): the Mesos v1 operator API of the master. A body is a
 * `mesos.v1.master.Call` in JSON or protobuf (by Content-Type, as the scheduler API: 400 without one, 415
 * for another); the answer is a `mesos.v1.master.Response` in the format the Accept header allows (JSON
 * by default; 406 when neither), e.g. `{"type":"GET_STATE","get_state":{...}}`. SUBSCRIBE answers with
 * a RecordIO event stream; TEARDOWN with 200 and an empty body; RESERVE_RESOURCES and
 * UNRESERVE_RESOURCES with 202 and an empty body once applied (409 when the agent lacks the resources);
 * UPDATE_QUOTA, SET_QUOTA, REMOVE_QUOTA and UPDATE_WEIGHTS with 200 and an empty body once recorded
 * (quota-endpoints.ts).
 *
 * Refusals are plain text: 405 for a method other than POST, 400 for a body that does not decode, a
 * call without a (known) type or a call missing its field, 501 for a Mesos call Tessera does not serve.
 *
 * ```sh
 * curl -s -X POST localhost:5050/api/v1 -H 'Content-Type: application/json' -d '{"type":"GET_TASKS"}'
 * ```
 */
import type http from 'node:http';
import type { Log } from '../../log';
import type { Master } from '../master';
import { commitOperatorConversion } from '../agent-reservations';
import { MasterError } from '../master-error';
import type { Resource } from '../model/mesos';
import { operatorConversion } from '../reservations';
import { decodeJson, decodeProto, encodeJson, encodeProto, requestFormat, responseFormat, WireError, type PlainMessage } from '../wire';
import { readBody, reply } from './body';
import { operatorSubscribe } from './operator-stream';
import * as views from './operator-views';
import { QUOTA_CALLS, quotaCall, type QuotaCallFields } from './quota-endpoints';
import { getQuota, getWeights } from './quota-views';

const CALL = 'mesos.v1.master.Call';
const RESPONSE = 'mesos.v1.master.Response';

/** OperatorEndpointOptions is what the operator API needs besides the master. */
export interface OperatorEndpointOptions {
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes: number;
  /** Flags as the operator gave them (GET_FLAGS). */
  flags: Readonly<Record<string, string>>;
  log: Log;
}

/** A decoded operator Call (wire plain shape). */
interface OperatorCall extends QuotaCallFields {
  type?: string;
  get_metrics?: { timeout?: { nanoseconds: number } };
  teardown?: { framework_id: { value: string } };
  reserve_resources?: ReservationCall;
  unreserve_resources?: ReservationCall;
}

/** The body of RESERVE_RESOURCES and UNRESERVE_RESOURCES. */
interface ReservationCall {
  agent_id?: { value: string };
  resources?: Resource[];
}

// The calls answered with a Response: the Response's type is the call's name, its field the name in lower case.
const QUERIES: Record<string, (master: Master, opts: OperatorEndpointOptions) => PlainMessage> = {
  GET_HEALTH: () => views.getHealth(),
  GET_FLAGS: (_m, opts) => views.getFlags(opts.flags),
  GET_VERSION: () => views.getVersion(),
  GET_METRICS: (m) => views.getMetrics(m), // get_metrics.timeout is moot: every figure is at hand
  GET_STATE: (m) => views.getState(m),
  GET_AGENTS: (m) => views.getAgents(m),
  GET_FRAMEWORKS: (m) => views.getFrameworks(m),
  GET_EXECUTORS: () => views.getExecutors(),
  GET_TASKS: (m) => views.getTasks(m),
  GET_ROLES: (m) => views.getRoles(m),
  GET_WEIGHTS: (m) => getWeights(m),
  GET_QUOTA: (m) => getQuota(m),
  GET_MASTER: (m) => views.getMaster(m),
};

/** SERVED_CALLS are the operator call types this master answers. */
export const SERVED_CALLS: readonly string[] = [...Object.keys(QUERIES), 'SUBSCRIBE', 'TEARDOWN', 'RESERVE_RESOURCES', 'UNRESERVE_RESOURCES', ...QUOTA_CALLS];

/** operatorEndpoint handles one request to /api/v1. */
export async function operatorEndpoint(master: Master, req: http.IncomingMessage, res: http.ServerResponse, opts: OperatorEndpointOptions): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return reply(res, 405, `Expecting a 'POST' request, received '${req.method}'`);
  }
  const format = requestFormat(header(req, 'content-type'));
  if (!format.ok) return reply(res, format.status, format.message);
  const body = await readBody(req, res, opts.maxBodyBytes);
  if (body === undefined) return; // readBody answered (413 or a broken request)
  let call: OperatorCall;
  try {
    call = (format.format === 'json' ? decodeJson(CALL, body) : decodeProto(CALL, body)) as OperatorCall;
  } catch (err) {
    const e = err instanceof WireError ? err : new WireError(`Failed to parse body into Call: ${(err as Error).message}`);
    return reply(res, e.status, `Failed to validate master::Call: ${e.message}`);
  }
  const type = call.type ?? 'UNKNOWN';
  const stream = type === 'SUBSCRIBE';
  const out = responseFormat({ accept: header(req, 'accept'), messageAccept: header(req, 'message-accept') }, { stream });
  if (!out.ok) return reply(res, out.status, out.message);
  try {
    if (type === 'UNKNOWN') {
      throw new MasterError(400, `the call has no type, or one this master does not know: set "type" to one of ${SERVED_CALLS.join(', ')}`);
    }
    if (stream) return operatorSubscribe(master, req, res, out, opts.log);
    if (type === 'TEARDOWN') return teardown(master, call, res);
    if (type === 'RESERVE_RESOURCES' || type === 'UNRESERVE_RESOURCES') return reservation(master, call, type, res);
    if (QUOTA_CALLS.includes(type)) return quotaCall(master, call, type, res);
    const query = QUERIES[type];
    if (!query) {
      // A Mesos call Tessera does not serve (names Mesos does not know never get here: they decode as no type).
      throw new MasterError(501, `${type} is not implemented by this Tessera master; the operator calls it serves are ${SERVED_CALLS.join(', ')}`);
    }
    const response = { type, [type.toLowerCase()]: query(master, opts) };
    const bytes = out.format === 'json' ? Buffer.from(encodeJson(RESPONSE, response)) : encodeProto(RESPONSE, response);
    res.writeHead(200, { 'Content-Type': out.contentType, 'Content-Length': String(bytes.length) });
    res.end(bytes);
  } catch (err) {
    if (err instanceof MasterError) return reply(res, err.status, err.message);
    throw err;
  }
}

function teardown(master: Master, call: OperatorCall, res: http.ServerResponse): void {
  const id = call.teardown?.framework_id.value;
  if (id === undefined) throw new MasterError(400, "Expecting 'teardown' to be present: a TEARDOWN call names the framework in teardown.framework_id");
  if (!master.frameworks.has(id)) throw new MasterError(400, `Cannot teardown framework '${id}': no such framework on this master (GET_FRAMEWORKS lists them)`);
  master.removeFramework(id, 'an operator sent TEARDOWN', 'Framework has been removed');
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
}

// RESERVE_RESOURCES / UNRESERVE_RESOURCES: 202 once applied (Mesos answers 202 Accepted too), 400 for a
// call that names no agent, an unknown one or invalid resources, 409 when the agent lacks them free.
function reservation(master: Master, call: OperatorCall, type: 'RESERVE_RESOURCES' | 'UNRESERVE_RESOURCES', res: http.ServerResponse): void {
  const field = type === 'RESERVE_RESOURCES' ? 'reserve_resources' : 'unreserve_resources';
  const body = call[field];
  if (!body?.agent_id?.value) throw new MasterError(400, `Expecting '${field}.agent_id' to be present: a ${type} call names the agent and the resources`);
  const agent = master.agents.get(body.agent_id.value);
  if (!agent) throw new MasterError(400, `No agent found with specified ID '${body.agent_id.value}' (GET_AGENTS lists the agents)`);
  const result = operatorConversion(type === 'RESERVE_RESOURCES' ? 'RESERVE' : 'UNRESERVE', body.resources);
  if ('error' in result) throw new MasterError(400, result.error);
  commitOperatorConversion(master, agent, result.conversion);
  res.writeHead(202, { 'Content-Length': '0' });
  res.end();
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
