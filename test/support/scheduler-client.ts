/**
 * A Mesos v1 scheduler HTTP client for tests, written from the wire reference only: it shares no code
 * with the master (its own RecordIO reader, hand-written JSON bodies, plain node:http), so a test that
 * passes with it says an independent client works.
 */
import http from 'node:http';

/** An event as the master sent it (parsed JSON). */
export type Event = { type: string; [k: string]: any };

/** SchedulerClient holds one subscription and sends calls on other connections. */
export class SchedulerClient {
  streamId = '';
  frameworkId = '';
  readonly events: Event[] = [];
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void; from: number }[] = [];
  private req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;
  closed = false;

  /** `autoAck` acknowledges every update that carries a uuid, as most client libraries do. */
  constructor(
    readonly master: string,
    readonly autoAck = false,
  ) {}

  /** Subscribes (or re-subscribes with `frameworkId`); resolves with the SUBSCRIBED event. */
  subscribe(frameworkInfo: Record<string, unknown>, frameworkId?: string): Promise<Event> {
    const [host, port] = this.master.split(':');
    const body: Record<string, unknown> = { type: 'SUBSCRIBE', subscribe: { framework_info: frameworkId ? { ...frameworkInfo, id: { value: frameworkId } } : frameworkInfo } };
    if (frameworkId) body.framework_id = { value: frameworkId };
    return new Promise((resolve, reject) => {
      this.req = http.request({ host, port: Number(port), method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/json', Accept: 'application/json' } }, (res) => {
        this.res = res;
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => reject(new Error(`SUBSCRIBE answered ${res.statusCode}: ${text}`)));
          return;
        }
        this.streamId = String(res.headers['mesos-stream-id'] ?? '');
        let buf = Buffer.alloc(0);
        res.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          for (;;) {
            const nl = buf.indexOf(10);
            if (nl < 0) break;
            const len = Number(buf.subarray(0, nl).toString('ascii'));
            if (buf.length < nl + 1 + len) break;
            const event = JSON.parse(buf.subarray(nl + 1, nl + 1 + len).toString('utf8')) as Event;
            buf = buf.subarray(nl + 1 + len);
            this.push(event);
          }
        });
        res.on('close', () => (this.closed = true));
        this.next((e) => e.type === 'SUBSCRIBED').then((e) => {
          this.frameworkId = e.subscribed.framework_id.value;
          resolve(e);
        }, reject);
      });
      this.req.on('error', reject);
      this.req.end(JSON.stringify(body));
    });
  }

  private push(e: Event): void {
    this.events.push(e);
    if (this.autoAck && e.type === 'UPDATE' && e.update.status.uuid) {
      const s = e.update.status;
      void this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid } }).catch(() => undefined);
    }
    const i = this.events.length - 1;
    for (const w of [...this.waiters]) {
      if (i >= w.from && w.pred(e)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }

  /** Resolves with the first event (already received or coming) matching `pred`, from index `from`. */
  next(pred: (e: Event) => boolean, timeoutMs = 10_000, from = 0): Promise<Event> {
    const have = this.events.slice(from).find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: Event) => (clearTimeout(t), resolve(e)), from };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching event within ${timeoutMs} ms; got: ${this.events.map(describe).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** An UPDATE for a task in a state, from index `from`. */
  update(taskId: string, state: string, from = 0): Promise<Event> {
    return this.next((e) => e.type === 'UPDATE' && e.update.status.task_id.value === taskId && e.update.status.state === state, 10_000, from);
  }

  /** Sends a call; resolves with status and body. */
  call(body: Record<string, unknown>, opts: { streamId?: string | null; contentType?: string } = {}): Promise<{ status: number; body: string }> {
    return raw(this.master, JSON.stringify({ framework_id: { value: this.frameworkId }, ...body }), {
      'Content-Type': opts.contentType ?? 'application/json',
      ...(opts.streamId === null ? {} : { 'Mesos-Stream-Id': opts.streamId ?? this.streamId }),
    });
  }

  /** Drops the subscription stream. */
  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }
}

function describe(e: Event): string {
  if (e.type !== 'UPDATE') return e.type;
  const s = e.update.status;
  return `UPDATE(${s.task_id.value} ${s.state}${s.reason ? ` ${s.reason}` : ''}${s.message ? `: ${s.message}` : ''})`;
}

/** raw POSTs a body to /api/v1/scheduler (or another path) and resolves with status and body. */
export function raw(master: string, body: string | Buffer, headers: Record<string, string>, path = '/api/v1/scheduler', method = 'POST'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const [host, port] = master.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
