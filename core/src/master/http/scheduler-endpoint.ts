/**
 * `POST /api/v1/scheduler`: the Mesos v1 scheduler HTTP API on the wire. Bodies are JSON or protobuf
 * (by Content-Type); SUBSCRIBE answers 200 with a never-ending RecordIO stream (one record per chunk,
 * ASCII-only JSON) and the Mesos-Stream-Id header (a subscription Mesos would refuse gets the same
 * stream with one ERROR event, then its end); other calls answer 202 (UPDATE_FRAMEWORK 200) with
 * an empty body, or the Mesos status and a plain-text message naming what is wrong.
 */
import type http from 'node:http';
import type { Log } from '../../log';
import { Master } from '../master';
import { MasterError, SubscriptionRefused } from '../master-error';
import { handleCall, type SchedulerCall } from '../scheduler-calls';
import type { SchedulerEvent, Subscriber } from '../state';
import { decodeJson, decodeProto, encodeJson, encodeProto, encodeRecord, requestFormat, responseFormat, WireError, type WireFormat } from '../wire';
import { readBody, reply } from './body';

const CALL = 'mesos.v1.scheduler.Call';
const EVENT = 'mesos.v1.scheduler.Event';
const RESPONSE = 'mesos.v1.scheduler.Response';

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
    const answer = handleCall(master, call, streamId);
    if (answer.response) return respond(req, res, answer.status, answer.response);
    res.writeHead(answer.status, { 'Content-Length': '0' });
    res.end();
  } catch (err) {
    if (err instanceof MasterError) {
      master.counters.invalidCalls++;
      return reply(res, err.status, err.message);
    }
    throw err;
  }
}

/** respond writes a call's `mesos.v1.scheduler.Response` in the format the request accepts. */
function respond(req: http.IncomingMessage, res: http.ServerResponse, status: number, response: Record<string, unknown>): void {
  const out = responseFormat({ accept: header(req, 'accept') }, { stream: false });
  if (!out.ok) return reply(res, out.status, out.message);
  const body = out.format === 'json' ? Buffer.from(encodeJson(RESPONSE, response)) : encodeProto(RESPONSE, response);
  res.writeHead(status, { 'Content-Type': out.contentType, 'Content-Length': String(body.length) });
  res.end(body);
}

function subscribe(master: Master, call: SchedulerCall, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = responseFormat({ accept: header(req, 'accept'), messageAccept: header(req, 'message-accept') }, { stream: true });
  if (!out.ok) return reply(res, out.status, out.message);
  const subscriber = new HttpSubscriber(res, out.format, Master.streamId(), master.opts.log);
  const open = () =>
    res.writeHead(200, {
      'Content-Type': out.streamContentType,
      ...(out.streamContentType !== out.contentType ? { 'Message-Content-Type': out.contentType } : {}),
      'Mesos-Stream-Id': subscriber.streamId,
      'Cache-Control': 'no-cache',
    });
  let framework;
  try {
    framework = master.subscribe(call as Parameters<Master['subscribe']>[0], subscriber); // throws before any byte is written
  } catch (err) {
    if (!(err instanceof SubscriptionRefused)) throw err;
    // As Mesos refuses a subscription: the stream opens, says why in one ERROR event, and ends.
    master.counters.invalidCalls++;
    master.opts.log.info(`refused a subscription: ${err.message}`);
    open();
    subscriber.send({ type: 'ERROR', error: { message: err.message } });
    subscriber.flushPending();
    subscriber.close();
    return;
  }
  open();
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
