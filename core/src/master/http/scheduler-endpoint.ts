/**
 * `POST /api/v1/scheduler`: the Mesos v1 scheduler HTTP API on the wire. Bodies are JSON or protobuf
 * (by Content-Type); SUBSCRIBE answers 200 with a never-ending RecordIO stream (one record per chunk,
 * ASCII-only JSON) and the Mesos-Stream-Id header; other calls answer 202 (UPDATE_FRAMEWORK 200) with
 * an empty body, or the Mesos status and a plain-text message naming what is wrong.
 */
import type http from 'node:http';
import type { Log } from '../../log';
import { Master } from '../master';
import { MasterError } from '../master-error';
import { handleCall, type SchedulerCall } from '../scheduler-calls';
import type { SchedulerEvent, Subscriber } from '../state';
import { decodeJson, decodeProto, encodeJson, encodeProto, encodeRecord, requestFormat, responseFormat, WireError, type WireFormat } from '../wire';
import { readBody, reply } from './body';

const CALL = 'mesos.v1.scheduler.Call';
const EVENT = 'mesos.v1.scheduler.Event';

/** schedulerEndpoint handles one request to /api/v1/scheduler. */
export async function schedulerEndpoint(master: Master, req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return reply(res, 405, `Expecting a 'POST' request, received '${req.method}'`);
  }
  const format = requestFormat(req.headers['content-type']);
  if (!format.ok) return reply(res, format.status, format.message);
  const body = await readBody(req, res, maxBodyBytes);
  if (body === undefined) return; // readBody answered (413 or a broken request)
  let call: SchedulerCall;
  try {
    call = (format.format === 'json' ? decodeJson(CALL, body) : decodeProto(CALL, body)) as SchedulerCall;
  } catch (err) {
    master.counters.invalidCalls++;
    const e = err instanceof WireError ? err : new WireError(`Failed to parse body into Call: ${(err as Error).message}`);
    return reply(res, e.status, `Failed to validate scheduler::Call: ${e.message}`);
  }
  const streamId = header(req, 'mesos-stream-id');
  try {
    if (call.type === 'SUBSCRIBE') {
      if (streamId) throw new MasterError(400, 'Subscribe calls should not include the \'Mesos-Stream-Id\' header');
      return subscribe(master, call, req, res);
    }
    const status = handleCall(master, call, streamId);
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
  } catch (err) {
    if (err instanceof MasterError) {
      master.counters.invalidCalls++;
      return reply(res, err.status, err.message);
    }
    throw err;
  }
}

function subscribe(master: Master, call: SchedulerCall, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = responseFormat({ accept: header(req, 'accept'), messageAccept: header(req, 'message-accept') }, { stream: true });
  if (!out.ok) return reply(res, out.status, out.message);
  const subscriber = new HttpSubscriber(res, out.format, Master.streamId(), master.opts.log);
  const framework = master.subscribe(call as Parameters<Master['subscribe']>[0], subscriber); // throws MasterError before any byte is written
  res.writeHead(200, {
    'Content-Type': out.streamContentType,
    ...(out.streamContentType !== out.contentType ? { 'Message-Content-Type': out.contentType } : {}),
    'Mesos-Stream-Id': subscriber.streamId,
    'Cache-Control': 'no-cache',
  });
  subscriber.flushPending();
  const gone = () => master.disconnected(framework.id, subscriber);
  res.once('close', gone);
  req.socket.setKeepAlive(true, 10_000);
}

/** HttpSubscriber writes a framework's events to its SUBSCRIBE response, one RecordIO record per chunk. */
class HttpSubscriber implements Subscriber {
  private pending: Buffer[] | undefined = [];
  private closed = false;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly format: WireFormat,
    readonly streamId: string,
    private readonly log: Log,
  ) {}

  send(event: SchedulerEvent): void {
    if (this.closed) return;
    let payload: string | Buffer;
    try {
      payload = this.format === 'json' ? encodeJson(EVENT, event) : encodeProto(EVENT, event);
    } catch (err) {
      // Sent from inside a state change of the master: a bad event must not abort that change.
      this.log.error(`cannot encode a ${event.type} event for stream ${this.streamId}: ${(err as Error).message}`);
      return;
    }
    const record = encodeRecord(payload);
    if (this.pending) this.pending.push(record);
    else this.res.write(record);
  }

  /** Writes what was sent before the headers went out (SUBSCRIBED). */
  flushPending(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const r of pending) this.res.write(r);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
