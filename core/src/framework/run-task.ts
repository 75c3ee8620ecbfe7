/**
 * A one-task framework, like Mesos's `mesos-execute`: subscribes to a master's scheduler API, waits
 * for an offer that fits, launches one command task, reports every state change, acknowledges every
 * update, and tears down when the task ends. Speaks JSON over plain HTTP, as any Mesos client does.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { TesseraError } from '@tessera/modules-api';
import { RecordIODecoder } from '../master/wire';

/** RunTaskOptions describe the task and where to run it. */
export interface RunTaskOptions {
  /** The master, `host:port`. */
  master: string;
  /** The command: one element runs through the shell, several run as argv. */
  command: string[];
  cpus: number;
  mem: number;
  gpus: number;
  disk?: number;
  name: string;
  role: string;
  frameworkName: string;
  /** Give up when no offer fits within this many milliseconds. */
  timeoutMs: number;
  /** Told each state change as a line. */
  out(line: string): void;
}

/** RunTaskResult is the task's last state. */
export interface RunTaskResult {
  state: string;
  reason?: string;
  message?: string;
}

type Json = Record<string, any>;

const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value } });
const have = (offer: Json, name: string) => (offer.resources ?? []).filter((r: Json) => r.name === name && r.type === 'SCALAR').reduce((n: number, r: Json) => n + (r.scalar?.value ?? 0), 0);

/** runTask runs the task to its end; rejects with a TesseraError when it cannot start. */
export function runTask(o: RunTaskOptions): Promise<RunTaskResult> {
  const [host, portText] = o.master.split(':');
  const port = Number(portText);
  const agent = new http.Agent({ keepAlive: true });
  let frameworkId = '';
  let streamId = '';
  const taskId = `${o.name}-${randomUUID().slice(0, 8)}`;
  let launched = false;
  let lastOffers = '';

  const call = (body: Json): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host, port, agent, method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ framework_id: { value: frameworkId }, ...body }));
    });

  return new Promise<RunTaskResult>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, result?: RunTaskResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const end = () => {
        sub.destroy();
        agent.destroy();
        if (err) reject(err);
        else resolve(result!);
      };
      if (frameworkId) void call({ type: 'TEARDOWN' }).then(end, end);
      else end();
    };
    const timer = setTimeout(() => {
      if (!launched) finish(new TesseraError('TSR_RUN_NO_OFFER', `no offer fits cpus:${o.cpus};mem:${o.mem}${o.gpus ? `;gpus:${o.gpus}` : ''} in role ${o.role} within ${o.timeoutMs} ms${lastOffers ? `; offers had ${lastOffers}` : '; no offer arrived'}`));
    }, o.timeoutMs);

    const onEvent = (e: Json) => {
      if (e.type === 'SUBSCRIBED') {
        frameworkId = e.subscribed.framework_id.value;
        o.out(`subscribed as framework ${frameworkId}`);
      } else if (e.type === 'OFFERS') {
        for (const offer of e.offers.offers as Json[]) {
          const fits = !launched && have(offer, 'cpus') >= o.cpus && have(offer, 'mem') >= o.mem && have(offer, 'gpus') >= o.gpus && (o.disk === undefined || have(offer, 'disk') >= o.disk);
          if (!fits) {
            lastOffers = `cpus:${have(offer, 'cpus')};mem:${have(offer, 'mem')};gpus:${have(offer, 'gpus')} on ${offer.hostname}`;
            void call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 1 } } });
            continue;
          }
          launched = true;
          const role = offer.allocation_info?.role ?? o.role;
          const resources = [scalar('cpus', o.cpus), scalar('mem', o.mem), ...(o.gpus ? [scalar('gpus', o.gpus)] : []), ...(o.disk ? [scalar('disk', o.disk)] : [])].map((r) => ({ ...r, allocation_info: { role } }));
          const command = o.command.length === 1 ? { value: o.command[0], shell: true } : { value: o.command[0], arguments: o.command, shell: false };
          o.out(`launching task ${taskId} on ${offer.hostname}`);
          void call({
            type: 'ACCEPT',
            accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: o.name, task_id: { value: taskId }, agent_id: offer.agent_id, resources, command }] } }], filters: { refuse_seconds: 3600 } },
          });
        }
      } else if (e.type === 'UPDATE') {
        const s = e.update.status;
        if (s.task_id.value !== taskId) return;
        o.out(`${s.state}${s.reason ? ` (${s.reason})` : ''}${s.message ? `: ${s.message}` : ''}`);
        if (s.uuid) void call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid } });
        if (['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR'].includes(s.state)) {
          finish(undefined, { state: s.state, reason: s.reason, message: s.message });
        }
      } else if (e.type === 'ERROR') {
        finish(new TesseraError('TSR_RUN_FAILED', `the master refused the framework: ${e.error?.message ?? ''}`));
      }
    };

    const frameworkInfo = { user: process.env.USER || 'root', name: o.frameworkName, roles: [o.role], capabilities: [{ type: 'MULTI_ROLE' }, ...(o.gpus ? [{ type: 'GPU_RESOURCES' }] : [])] };
    const sub = http.request({ host, port, method: 'POST', path: '/api/v1/scheduler', headers: { 'Content-Type': 'application/json', Accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => finish(new TesseraError('TSR_RUN_FAILED', `the master at ${o.master} refused SUBSCRIBE with ${res.statusCode}: ${text}`)));
        return;
      }
      streamId = String(res.headers['mesos-stream-id'] ?? '');
      const decoder = new RecordIODecoder();
      res.on('data', (chunk: Buffer) => {
        for (const record of decoder.push(chunk)) onEvent(JSON.parse(record.toString('utf8')) as Json);
      });
      res.on('close', () => finish(new TesseraError('TSR_RUN_FAILED', `the master at ${o.master} closed the subscription before the task ended`)));
    });
    sub.on('error', (err) => finish(new TesseraError('TSR_RUN_FAILED', `cannot reach the master at ${o.master}: ${err.message} — is \`tessera master\` running there? pass --master=HOST:PORT`)));
    sub.end(JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo } }));
  });
}
