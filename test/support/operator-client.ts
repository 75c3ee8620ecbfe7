/**
 * A Mesos v1 operator API client for tests, written from the wire reference only (its own RecordIO
 * reader, plain node:http, JSON by hand or protobuf through protobufjs loaded straight from core/proto),
 * so that a test passing with it says an independent client works.
 *
 * ```ts
 * const state = await operatorCall(master.address, { type: 'GET_STATE' });
 * const stream = await OperatorStream.open(master.address);
 * await stream.next((e) => e.type === 'TASK_ADDED');
 * stream.close();
 * ```
 */
import http from 'node:http';
import path from 'node:path';
import protobuf from 'protobufjs';

/** A response or event as parsed JSON. */
export type Json = { type?: string; [k: string]: any };

/** A reply: status, headers, and the body as text and bytes. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  bytes: Buffer;
}

/** post sends a body to a path of the master and resolves with the whole reply. */
export function post(address: string, urlPath: string, body: string | Buffer, headers: Record<string, string>, method = 'POST', agent?: http.Agent): Promise<Reply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path: urlPath, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** operatorCall POSTs a JSON call to /api/v1 and resolves with the parsed JSON answer (throws on non-200). */
export async function operatorCall(address: string, call: Json, headers: Record<string, string> = {}): Promise<Json> {
  const r = await post(address, '/api/v1', JSON.stringify(call), { 'Content-Type': 'application/json', Accept: 'application/json', ...headers });
  if (r.status !== 200) throw new Error(`${call.type} answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as Json;
}

let root: protobuf.Root | undefined;

/** masterProto is mesos.v1.master (and the types it uses) loaded from core/proto with protobufjs alone. */
export function masterProto(): { Call: protobuf.Type; Response: protobuf.Type; Event: protobuf.Type; root: protobuf.Root } {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_o: string, target: string) => path.join(__dirname, '../../core/proto', target);
    root.loadSync(['mesos/v1/master.proto', 'mesos/v1/scheduler.proto'], { keepCase: true });
    root.resolveAll();
  }
  return { root, Call: root.lookupType('mesos.v1.master.Call'), Response: root.lookupType('mesos.v1.master.Response'), Event: root.lookupType('mesos.v1.master.Event') };
}

/** fromProto decodes protobuf bytes of a type to a plain object (enums as names, 64-bit as numbers). */
export function fromProto(type: protobuf.Type, bytes: Uint8Array): Json {
  return type.toObject(type.decode(bytes), { enums: String, longs: Number, arrays: false, defaults: false }) as Json;
}

/** splitRecords reads RecordIO records from a buffer; returns the records and what is left over. */
export function splitRecords(buf: Buffer): { records: Buffer[]; rest: Buffer } {
  const records: Buffer[] = [];
  for (;;) {
    const nl = buf.indexOf(10);
    if (nl < 0) break;
    const len = Number(buf.subarray(0, nl).toString('ascii'));
    if (buf.length < nl + 1 + len) break;
    records.push(buf.subarray(nl + 1, nl + 1 + len));
    buf = buf.subarray(nl + 1 + len);
  }
  return { records, rest: buf };
}

/** OperatorStream is an open operator SUBSCRIBE stream, collecting its events. */
export class OperatorStream {
  readonly events: Json[] = [];
  /** chunks are the HTTP chunks as they arrived (each should hold exactly one record). */
  readonly chunks: Buffer[] = [];
  headers: http.IncomingHttpHeaders = {};
  closed = false;
  private waiters: { pred: (e: Json) => boolean; resolve: (e: Json) => void }[] = [];
  private req: http.ClientRequest | undefined;

  private constructor() {}

  /** open subscribes and resolves once the SUBSCRIBED event arrived. */
  static open(address: string, format: 'json' | 'protobuf' = 'json'): Promise<OperatorStream> {
    const s = new OperatorStream();
    const [host, port] = address.split(':');
    const body = format === 'json' ? JSON.stringify({ type: 'SUBSCRIBE' }) : Buffer.from(masterProto().Call.encode({ type: 18 }).finish());
    const type = format === 'json' ? 'application/json' : 'application/x-protobuf';
    return new Promise((resolve, reject) => {
      s.req = http.request({ host, port: Number(port), method: 'POST', path: '/api/v1', headers: { 'Content-Type': type, Accept: type } }, (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => reject(new Error(`SUBSCRIBE answered ${res.statusCode}: ${text}`)));
          return;
        }
        s.headers = res.headers;
        let buf: Buffer = Buffer.alloc(0);
        res.on('data', (chunk: Buffer) => {
          s.chunks.push(chunk);
          const split = splitRecords(Buffer.concat([buf, chunk]));
          buf = split.rest;
          for (const r of split.records) s.push(format === 'json' ? (JSON.parse(r.toString('utf8')) as Json) : fromProto(masterProto().Event, r));
        });
        res.on('close', () => (s.closed = true));
        s.next((e) => e.type === 'SUBSCRIBED').then(() => resolve(s), reject);
      });
      s.req.on('error', reject);
      s.req.end(body);
    });
  }

  private push(e: Json): void {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.pred(e)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }

  /** next resolves with the first event, received or coming, that matches. */
  next(pred: (e: Json) => boolean, timeoutMs = 10_000): Promise<Json> {
    const have = this.events.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: Json) => (clearTimeout(t), resolve(e)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching operator event within ${timeoutMs} ms; got: ${this.events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** close drops the stream. */
  close(): void {
    this.req?.destroy();
  }
}
