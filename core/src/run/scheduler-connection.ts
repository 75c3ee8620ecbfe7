/**
 * A small Mesos v1 scheduler HTTP client (JSON over node:http) for `tessera run`: one SUBSCRIBE stream
 * read as RecordIO, and calls POSTed on other connections with the stream's `Mesos-Stream-Id`. It
 * speaks the wire API only, so it works against a Mesos master as well as a Tessera one.
 *
 * ```ts
 * const conn = await SchedulerConnection.subscribe({
 *   master: '127.0.0.1:5050',
 *   frameworkInfo: { user: 'me', name: 'fw', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }] },
 *   onEvent: (e) => console.log(e.type),
 *   onClose: (err) => console.log('stream ended', err?.message),
 * });
 * await conn.call({ type: 'REVIVE' });
 * conn.close();
 * ```
 * Errors are TesseraErrors: TSR_RUN_MASTER_UNREACHABLE (no connection, or no answer in time) and
 * TSR_RUN_FAILED (the master refused SUBSCRIBE or a call, or the stream broke or went silent).
 */
import { TesseraError } from '@tessera/modules-api';
import http from 'node:http';
import { RecordIODecoder } from '../master/wire';

/** A scheduler event as the master sent it (parsed Mesos JSON). */
export interface WireEvent {
  type: string;
  [field: string]: unknown;
}

/** SchedulerConnectionOptions configure {@link SchedulerConnection.subscribe}. */
export interface SchedulerConnectionOptions {
  /** `host:port` of the master. */
  master: string;
  /** mesos.v1.FrameworkInfo in Mesos JSON. */
  frameworkInfo: Record<string, unknown>;
  /** Each event after SUBSCRIBED, in order (SUBSCRIBED itself is what subscribe() resolves with). */
  onEvent: (event: WireEvent) => void;
  /** The stream ended: `err` is set unless close() ended it. Called at most once. */
  onClose: (err?: TesseraError) => void;
  /** Milliseconds to wait for the master to answer SUBSCRIBE (default 10 s). */
  connectTimeoutMs?: number;
  /** Milliseconds a call may take (default 10 s). */
  callTimeoutMs?: number;
}

/** Heartbeats the stream may miss before the master counts as gone. */
const MISSED_HEARTBEATS = 3;

/** unreachable is the error for a master that cannot be reached; it says who must act and how. */
export function unreachable(master: string, why: string): TesseraError {
  return new TesseraError('TSR_RUN_MASTER_UNREACHABLE', `cannot reach the master at ${master}: ${why} — is \`tessera master\` running? pass --master=HOST:PORT`);
}

/** SchedulerConnection is one subscribed framework; see the module comment. */
export class SchedulerConnection {
  private closed = false;
  /** Events held until the caller of subscribe() has the connection; undefined once flushed. */
  private held: WireEvent[] | undefined = [];
  private watchdog: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  private constructor(
    private readonly opts: SchedulerConnectionOptions,
    private readonly req: http.ClientRequest,
    private readonly res: http.IncomingMessage,
    /** The stream's id, sent with every call. */
    readonly streamId: string,
    /** The id the master gave the framework. */
    readonly frameworkId: string,
    /** The SUBSCRIBED event's body (`framework_id`, `heartbeat_interval_seconds`, `master_info`). */
    readonly subscribed: Record<string, any>,
  ) {}

  /** subscribe opens the stream and resolves once SUBSCRIBED arrived. */
  static subscribe(opts: SchedulerConnectionOptions): Promise<SchedulerConnection> {
    const { host, port } = splitHostPort(opts.master);
    const body = JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: opts.frameworkInfo } });
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      let conn: SchedulerConnection | undefined;
      const fail = (err: TesseraError) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          req.destroy();
          reject(err);
        } else conn?.lost(err);
      };
      const timer = setTimeout(() => fail(unreachable(opts.master, `no answer to SUBSCRIBE within ${timeoutMs / 1000} s`)), timeoutMs);
      const req = http.request(
        { host, port, method: 'POST', path: '/api/v1/scheduler', agent: false, headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          if (res.statusCode !== 200) {
            readAll(res).then((text) => fail(refused(opts.master, res, text)), (err: Error) => fail(unreachable(opts.master, err.message)));
            return;
          }
          const type = String(res.headers['content-type'] ?? '');
          if (!type.startsWith('application/json')) {
            res.destroy();
            fail(new TesseraError('TSR_RUN_FAILED', `${opts.master} answered SUBSCRIBE with Content-Type '${type}', not a Mesos event stream: is it a Tessera (or Mesos) master? pass --master=HOST:PORT of one`));
            return;
          }
          const streamId = String(res.headers['mesos-stream-id'] ?? '');
          const decoder = new RecordIODecoder();
          res.on('data', (chunk: Buffer) => {
            conn?.alive();
            let records: Buffer[];
            try {
              records = decoder.push(chunk);
            } catch (err) {
              fail(new TesseraError('TSR_RUN_FAILED', `the event stream of ${opts.master} is broken: ${(err as Error).message}`));
              return;
            }
            for (const record of records) {
              let event: WireEvent;
              try {
                event = JSON.parse(record.toString('utf8')) as WireEvent;
              } catch (err) {
                fail(new TesseraError('TSR_RUN_FAILED', `the master at ${opts.master} sent an event that is not JSON: ${(err as Error).message}`));
                return;
              }
              if (conn) {
                conn.deliver(event);
              } else if (event.type === 'SUBSCRIBED') {
                clearTimeout(timer);
                const subscribed = (event.subscribed ?? {}) as Record<string, any>;
                const c = new SchedulerConnection(opts, req, res, streamId, String(subscribed.framework_id?.value ?? ''), subscribed);
                conn = c;
                settled = true;
                c.alive();
                resolve(c);
                // Events in the same chunk as SUBSCRIBED wait until the caller has the connection.
                setImmediate(() => c.flush());
              } else if (event.type === 'ERROR') {
                fail(new TesseraError('TSR_RUN_FAILED', `the master at ${opts.master} refused the subscription: ${String((event.error as { message?: string } | undefined)?.message ?? '(no message)')}`));
                return;
              }
            }
          });
          res.on('error', () => undefined); // 'close' reports it
          res.on('close', () => {
            if (conn && !conn.closed) fail(new TesseraError('TSR_RUN_FAILED', `the master at ${opts.master} ended the event stream (the master stopped, or the framework was torn down)`));
            else if (!conn) fail(unreachable(opts.master, 'the connection closed before SUBSCRIBED arrived'));
          });
        },
      );
      req.on('error', (err) => fail(unreachable(opts.master, err.message)));
      req.end(body);
    });
  }

  /**
   * call POSTs a call for this framework (framework_id is added) and resolves when the master answered
   * 2xx; otherwise it rejects with TSR_RUN_FAILED naming the call, the status and the master's reason.
   */
  call(call: { type: string; [field: string]: unknown }): Promise<void> {
    const { host, port } = splitHostPort(this.opts.master);
    const body = JSON.stringify({ framework_id: { value: this.frameworkId }, ...call });
    const timeoutMs = this.opts.callTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host,
          port,
          method: 'POST',
          path: '/api/v1/scheduler',
          agent: this.agent,
          timeout: timeoutMs,
          headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': this.streamId, 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          readAll(res).then((text) => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new TesseraError('TSR_RUN_FAILED', `the master at ${this.opts.master} answered ${call.type} with HTTP ${status}: ${text.trim() || '(no reason given)'}`));
          }, reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', (err) => reject(unreachable(this.opts.master, `${call.type} failed: ${err.message}`)));
      req.end(body);
    });
  }

  /** close ends the stream and the call connections; onClose is called without an error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.watchdog);
    this.req.destroy();
    this.res.destroy();
    this.agent.destroy();
    this.opts.onClose();
  }

  private deliver(event: WireEvent): void {
    if (this.closed) return;
    if (this.held) this.held.push(event);
    else this.opts.onEvent(event);
  }

  private flush(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const e of held) this.deliver(e);
  }

  // Data arrived: the master is there. Without data for a few heartbeat intervals, it is not.
  private alive(): void {
    const interval = Number(this.subscribed.heartbeat_interval_seconds ?? 15);
    if (!(interval > 0)) return;
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.lost(new TesseraError('TSR_RUN_FAILED', `no event (not even a heartbeat) from the master at ${this.opts.master} for ${MISSED_HEARTBEATS * interval} s: the master or the network is down`)),
      MISSED_HEARTBEATS * interval * 1000,
    );
    this.watchdog.unref();
  }

  private lost(err: TesseraError): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.watchdog);
    this.req.destroy();
    this.res.destroy();
    this.agent.destroy();
    this.opts.onClose(err);
  }
}

/** splitHostPort reads `host:port` (or `[v6]:port`). */
function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  return { host: m?.[1] ?? address, port: Number(m?.[2] ?? 5050) };
}

function refused(master: string, res: http.IncomingMessage, text: string): TesseraError {
  const status = res.statusCode ?? 0;
  if (status === 307) {
    return new TesseraError('TSR_RUN_FAILED', `the master at ${master} is not the leading master; it points at ${String(res.headers.location ?? '(no Location)')}: pass --master=HOST:PORT of the leader`);
  }
  const why = text.trim() || '(no reason given)';
  // 404 and the like: something answers HTTP there, but it has no scheduler API.
  const hint = status === 404 || status === 405 ? ' — is it a Tessera (or Mesos) master? pass --master=HOST:PORT of one' : '';
  return new TesseraError('TSR_RUN_FAILED', `the master at ${master} refused SUBSCRIBE with HTTP ${status}: ${why}${hint}`);
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (text.length < 4096) text += c.slice(0, 4096 - text.length); // a reason, not a page
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}
