/**
 * The operator API's SUBSCRIBE stream: a never-ending 200 response of RecordIO records (one per HTTP
 * chunk; JSON ASCII-only, or protobuf), starting with SUBSCRIBED (the whole state and the heartbeat
 * interval), then the master's changes as TASK_ADDED, TASK_UPDATED, AGENT_ADDED, AGENT_REMOVED,
 * FRAMEWORK_ADDED, FRAMEWORK_UPDATED and FRAMEWORK_REMOVED, and HEARTBEAT every interval. The stream
 * follows the master's typed events and lets go of them when the client goes away.
 */
import type http from 'node:http';
import type { Log } from '../../log';
import type { Master, MasterEvents } from '../master';
import { encodeJson, encodeProto, encodeRecord, type PlainMessage, type ResponseFormat } from '../wire';
import { agentView, frameworkView, getState } from './operator-views';

const EVENT = 'mesos.v1.master.Event';

/**
 * MAX_BUFFERED_BYTES bounds what a stream may hold for a client that does not read: beyond it the
 * stream is ended (the client re-subscribes and gets the state afresh) rather than the master's memory
 * growing without end.
 */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

type Handlers = { [K in keyof MasterEvents]: (...args: MasterEvents[K]) => void };

/** operatorSubscribe answers an operator SUBSCRIBE call with the event stream. */
export function operatorSubscribe(master: Master, req: http.IncomingMessage, res: http.ServerResponse, out: Extract<ResponseFormat, { ok: true }>, log: Log): void {
  let open = true;
  const write = (event: PlainMessage) => {
    if (!open) return;
    const payload = out.format === 'json' ? encodeJson(EVENT, event) : encodeProto(EVENT, event);
    res.write(encodeRecord(payload));
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      log.warn(`operator stream of ${req.socket.remoteAddress ?? 'a client'} holds over ${MAX_BUFFERED_BYTES} unread bytes; ending it`);
      stop();
      res.end();
    }
  };
  // A listener runs inside the master's state change: whatever goes wrong here must not reach it.
  const guarded =
    <A extends unknown[]>(what: string, build: (...args: A) => PlainMessage) =>
    (...args: A) => {
      try {
        write(build(...args));
      } catch (err) {
        log.error(`operator stream: could not send ${what}: ${(err as Error).stack ?? String(err)}`);
      }
    };
  const handlers: Handlers = {
    taskAdded: guarded('TASK_ADDED', (task) => ({ type: 'TASK_ADDED', task_added: { task } })),
    taskUpdated: guarded('TASK_UPDATED', (task, status) => ({ type: 'TASK_UPDATED', task_updated: { framework_id: task.framework_id, status, state: task.state } })),
    frameworkAdded: guarded('FRAMEWORK_ADDED', (f) => ({ type: 'FRAMEWORK_ADDED', framework_added: { framework: frameworkView(master, f) } })),
    frameworkUpdated: guarded('FRAMEWORK_UPDATED', (f) => ({ type: 'FRAMEWORK_UPDATED', framework_updated: { framework: frameworkView(master, f) } })),
    frameworkRemoved: guarded('FRAMEWORK_REMOVED', (f) => ({ type: 'FRAMEWORK_REMOVED', framework_removed: { framework_info: f.info } })),
    agentAdded: guarded('AGENT_ADDED', (a) => ({ type: 'AGENT_ADDED', agent_added: { agent: agentView(master, a) } })),
    agentRemoved: guarded('AGENT_REMOVED', (a) => ({ type: 'AGENT_REMOVED', agent_removed: { agent_id: { value: a.id } } })),
  };
  const names = Object.keys(handlers) as (keyof MasterEvents)[];
  const on = (name: keyof MasterEvents) => master.on(name, handlers[name] as (...args: unknown[]) => void);
  const off = (name: keyof MasterEvents) => master.off(name, handlers[name] as (...args: unknown[]) => void);

  const interval = master.opts.heartbeatIntervalSeconds ?? 5;
  // Encoded before the headers go out: a state that cannot be encoded is a 500, not a broken stream.
  const subscribed = { type: 'SUBSCRIBED', subscribed: { get_state: getState(master), heartbeat_interval_seconds: interval } };
  const first = encodeRecord(out.format === 'json' ? encodeJson(EVENT, subscribed) : encodeProto(EVENT, subscribed));
  res.writeHead(200, {
    'Content-Type': out.streamContentType,
    ...(out.streamContentType !== out.contentType ? { 'Message-Content-Type': out.contentType } : {}),
    'Cache-Control': 'no-cache',
  });
  res.write(first);
  for (const name of names) on(name);
  const heartbeat = setInterval(guarded('HEARTBEAT', () => ({ type: 'HEARTBEAT' })), interval * 1000);
  function stop(): void {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    for (const name of names) off(name);
  }
  res.once('close', stop);
  req.socket.setKeepAlive(true, 10_000);
}
