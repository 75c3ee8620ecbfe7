/**
 * `POST /api/v1` (also `/slave(1)/api/v1`): the Mesos v1 operator API of the agent. A body is a
 * `mesos.v1.agent.Call` in JSON or protobuf (by Content-Type: 400 without one, 415 for another); the
 * answer is a `mesos.v1.agent.Response` in the format the Accept header allows (JSON by default, 406 when
 * neither), e.g. `{"type":"GET_HEALTH","get_health":{"healthy":true}}`.
 *
 * Refusals are plain text, as the master's: 405 for a method other than POST, 400 for a body that does
 * not decode (the message names the field), 413 for a body over the limit, 501 for a Mesos call Tessera
 * does not serve (naming the ones it does).
 *
 * ```sh
 * curl -s -X POST localhost:5051/api/v1 -H 'Content-Type: application/json' -d '{"type":"GET_CONTAINERS"}'
 * ```
 */
import type http from 'node:http';
import { CORE_VERSION } from '../../version';
import { readBody, reply } from '../../master/http/body';
import { decodeJson, decodeProto, encodeJson, encodeProto, requestFormat, responseFormat, WireError, type PlainMessage } from '../../master/wire';
import type { AgentView } from '../agent-view';
import { gatherContainers, getContainers } from './containers';
import * as views from './state';

const CALL = 'mesos.v1.agent.Call';
const RESPONSE = 'mesos.v1.agent.Response';

// The calls answered with a Response: its type is the call's name, its field the name in lower case.
const QUERIES: Record<string, (view: AgentView) => PlainMessage | Promise<PlainMessage>> = {
  GET_HEALTH: () => ({ healthy: true }),
  GET_FLAGS: (v) => ({ flags: Object.entries(v.flags()).map(([name, value]) => ({ name, value: String(value) })) }),
  GET_VERSION: () => ({ version_info: { version: CORE_VERSION } }),
  GET_METRICS: (v) => views.getMetrics(v), // get_metrics.timeout is moot: every figure is at hand
  GET_STATE: (v) => views.getState(v),
  GET_CONTAINERS: async (v) => getContainers(await gatherContainers(v)),
  GET_FRAMEWORKS: (v) => views.getFrameworks(v),
  GET_EXECUTORS: (v) => views.getExecutors(v),
  GET_TASKS: (v) => views.getTasks(v),
  GET_AGENT: (v) => views.getAgent(v),
};

/** AGENT_SERVED_CALLS are the operator call types this agent answers. */
export const AGENT_SERVED_CALLS: readonly string[] = Object.keys(QUERIES);

/** agentOperatorEndpoint handles one request to the agent's /api/v1. */
export async function agentOperatorEndpoint(view: AgentView, req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return reply(res, 405, `Expecting a 'POST' request, received '${req.method}'`);
  }
  const format = requestFormat(header(req, 'content-type'));
  if (!format.ok) return reply(res, format.status, format.message);
  const body = await readBody(req, res, maxBodyBytes);
  if (body === undefined) return; // readBody answered (413 or a broken request)
  let call: { type?: string };
  try {
    call = (format.format === 'json' ? decodeJson(CALL, body) : decodeProto(CALL, body)) as { type?: string };
  } catch (err) {
    const e = err instanceof WireError ? err : new WireError(`Failed to parse body into Call: ${(err as Error).message}`);
    return reply(res, e.status, `Failed to validate agent::Call: ${e.message}`);
  }
  const out = responseFormat({ accept: header(req, 'accept'), messageAccept: header(req, 'message-accept') }, { stream: false });
  if (!out.ok) return reply(res, out.status, out.message);
  const type = call.type ?? 'UNKNOWN';
  if (type === 'UNKNOWN') {
    return reply(res, 400, `Failed to validate agent::Call: the call has no type, or one this agent does not know: set "type" to one of ${AGENT_SERVED_CALLS.join(', ')}`);
  }
  const query = QUERIES[type];
  if (!query) {
    return reply(res, 501, `${type} is not implemented by this Tessera agent; the operator calls it serves are ${AGENT_SERVED_CALLS.join(', ')} (files: GET /files/browse, /files/read)`);
  }
  const response = { type, [type.toLowerCase()]: await query(view) };
  const bytes = out.format === 'json' ? Buffer.from(encodeJson(RESPONSE, response)) : encodeProto(RESPONSE, response);
  res.writeHead(200, { 'Content-Type': out.contentType, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
