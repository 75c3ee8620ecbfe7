/**
 * `POST /api/v1` (also `/slave(1)/api/v1`): the Mesos v1 operator API of the agent. A body is a
 * `mesos.v1.agent.Call` in JSON or protobuf (by Content-Type: 400 without one, 415 for another); the
 * answer is a `mesos.v1.agent.Response` in the format the Accept header allows (JSON by default, 406 when
 * neither), e.g. `{"type":"GET_HEALTH","get_health":{"healthy":true}}`.
 *
 * Refusals are plain text, as the master's: 405 for a method other than POST, 400 for a body that does
 * not decode (the message names the field), 413 for a body over the limit, 501 for a Mesos call Tessera
 * does not serve (naming the ones it does). LIST_FILES and READ_FILE reach the sandboxes as /files/*
 * does: 403 for a path outside them, 404 for one that does not exist, 400 for reading a directory.
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
import { groupName, listEntries, readRange, userName } from './files';
import { resolveSandboxPath } from './sandbox-path';
import * as views from './state';

const CALL = 'mesos.v1.agent.Call';
const RESPONSE = 'mesos.v1.agent.Response';

/** A decoded agent Call (wire plain shape): the fields the served calls read. */
interface AgentCall {
  type?: string;
  list_files?: { path: string };
  read_file?: { path: string; offset: number; length?: number };
}

/** CallRefusal ends a call with an HTTP status and a plain-text message. */
class CallRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// The calls answered with a Response: its type is the call's name, its field the name in lower case.
const QUERIES: Record<string, (view: AgentView, call: AgentCall) => PlainMessage | Promise<PlainMessage>> = {
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
  LIST_FILES: (v, call) => listFiles(v, call.list_files?.path),
  READ_FILE: (v, call) => readFile(v, call.read_file),
};

// LIST_FILES: the directory's entries (or the one file) as mesos.v1.FileInfo, within the sandboxes as /files/browse.
async function listFiles(view: AgentView, requested: string | undefined): Promise<PlainMessage> {
  const target = await resolveSandboxPath(requested, view);
  if (!target.ok) throw new CallRefusal(target.status, target.message);
  const entries = await listEntries(target).finally(() => target.close());
  return {
    file_infos: entries.map(({ path, stat }) => ({
      path,
      nlink: stat.nlink,
      size: stat.size,
      mtime: { nanoseconds: Math.floor(stat.mtimeMs) * 1_000_000 },
      mode: stat.mode,
      uid: userName(stat.uid),
      gid: groupName(stat.gid),
    })),
  };
}

// READ_FILE: at most 16 pages of a sandbox file from `offset`, with the file's size (Mesos's semantics).
async function readFile(view: AgentView, call: AgentCall['read_file']): Promise<PlainMessage> {
  const target = await resolveSandboxPath(call?.path, view);
  if (!target.ok) throw new CallRefusal(target.status, target.message);
  const r = await readRange(target, Number(call!.offset), call!.length === undefined ? undefined : Number(call!.length)).finally(() => target.close());
  if ('status' in r) throw new CallRefusal(r.status, r.message);
  return { size: r.size, data: r.data };
}

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
  let call: AgentCall;
  try {
    call = (format.format === 'json' ? decodeJson(CALL, body) : decodeProto(CALL, body)) as AgentCall;
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
    return reply(res, 501, `${type} is not implemented by this Tessera agent; the operator calls it serves are ${AGENT_SERVED_CALLS.join(', ')}`);
  }
  let answer: PlainMessage;
  try {
    answer = await query(view, call);
  } catch (err) {
    if (err instanceof CallRefusal) return reply(res, err.status, err.message);
    throw err;
  }
  const response = { type, [type.toLowerCase()]: answer };
  const bytes = out.format === 'json' ? Buffer.from(encodeJson(RESPONSE, response)) : encodeProto(RESPONSE, response);
  res.writeHead(200, { 'Content-Type': out.contentType, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
