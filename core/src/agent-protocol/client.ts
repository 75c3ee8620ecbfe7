/**
 * The agent's side of the agent protocol: one `AgentLink.Connect` stream to the master, opened again
 * with exponential backoff (100 ms doubling to 10 s, with jitter) whenever it ends or the master cannot
 * be reached. Every new stream is a new session for the master, so the agent (re-)registers on each
 * `connected` event.
 *
 * ```ts
 * const link = new AgentLinkClient({ onMessage: (msg) => { if (msg.run_task) launch(msg.run_task); } });
 * link.on('connected', () => link.send(agentId ? { reregister: { agent_info, tasks } } : { register: { agent_info } }));
 * link.on('disconnected', ({ error, retryInMs }) => log.warn(`master link down: ${error?.message}; retry in ${retryInMs} ms`));
 * link.connect('master.example.com:5050');
 * // ...
 * await link.close();
 * ```
 *
 * Messages sent while no stream is open are dropped (`send` returns false): whatever must survive a
 * reconnection is sent again by the agent, as status updates are retried until acknowledged and the
 * re-registration carries every task.
 */
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { TesseraError } from '../errors';
import { createLog, type Log } from '../log';
import { PROTOCOL_METADATA, PROTOCOL_VERSION, masterMessageKind, type AgentMessage, type MasterMessage } from './messages';
import { CONNECT_PATH, MAX_MESSAGE_BYTES, decodeMasterMessage, encodeAgentMessage, protocolMetadata } from './protocol';

/** AgentLinkClientOptions configure an {@link AgentLinkClient}. */
export interface AgentLinkClientOptions {
  /** onMessage receives every master message, in order (as does the 'message' event). */
  onMessage?: (msg: MasterMessage) => void;
  log?: Log;
  /** initialBackoffMs is the first reconnection delay (default 100 ms); it doubles per failure. */
  initialBackoffMs?: number;
  /** maxBackoffMs caps the reconnection delay (default 10 s). */
  maxBackoffMs?: number;
  /** keepaliveMs is how often HTTP/2 pings check a quiet connection (default 30 s; 0: never), so a vanished master is noticed. */
  keepaliveMs?: number;
  /** protocolVersion to announce; default {@link PROTOCOL_VERSION} (tests pretend to be other agents). */
  protocolVersion?: string;
}

/** ConnectedEvent describes a stream the master accepted. */
export interface ConnectedEvent {
  /** masterProtocol is the protocol version the master speaks. */
  masterProtocol: string | undefined;
  /** streams counts the streams accepted so far, this one included. */
  streams: number;
}

/** DisconnectedEvent describes a stream that ended, or an attempt that failed. */
export interface DisconnectedEvent {
  /** wasConnected tells whether the master had accepted this stream (false: it could not be reached or refused it). */
  wasConnected: boolean;
  /** error says why; undefined when the master ended the stream cleanly. */
  error?: TesseraError;
  /** retryInMs is the delay before the next attempt; undefined after close(). */
  retryInMs?: number;
}

/** AgentLinkEvents are the events of an {@link AgentLinkClient}. */
export interface AgentLinkEvents {
  connected: [event: ConnectedEvent];
  disconnected: [event: DisconnectedEvent];
  message: [msg: MasterMessage];
}

/** AgentLinkClient keeps one stream to the master open; see the module comment. */
export class AgentLinkClient extends EventEmitter<AgentLinkEvents> {
  private readonly log: Log;
  private master: string | undefined;
  private client: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<AgentMessage, MasterMessage> | undefined;
  private generation = 0;
  private failures = 0;
  private streams = 0;
  private accepted = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private announced: string | undefined;

  constructor(private readonly opts: AgentLinkClientOptions = {}) {
    super();
    this.log = opts.log ?? createLog({ component: 'agent-link' });
  }

  /** connected tells whether a stream is open and accepted by the master. */
  get connected(): boolean {
    return this.accepted;
  }

  /** masterProtocol is the protocol version the master announced on the current (or last) stream. */
  get masterProtocol(): string | undefined {
    return this.announced;
  }

  /** connect starts dialing `host:port` and keeps a stream open until close(). */
  connect(master: string): void {
    if (this.master !== undefined) throw new Error(`AgentLinkClient already connects to ${this.master}; make a new one`);
    this.master = master;
    this.open();
  }

  /** send writes one message on the open stream; false (dropped) when none is open. */
  send(msg: AgentMessage): boolean {
    if (!this.accepted || this.call === undefined) return false;
    this.call.write(msg);
    return true;
  }

  /** close says goodbye (half-closes the stream), waits up to `graceMs` for the master to end it, and stops reconnecting. */
  async close(graceMs = 1000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const call = this.call;
    if (call !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        call.once('status', () => {
          clearTimeout(timer);
          resolve();
        });
        call.end();
      });
    }
    this.teardown();
  }

  /**
   * destroy cancels the stream and closes the channel without waiting, and stops reconnecting: to the
   * master the agent is gone. (grpc-js half-closes a cancelled stream before resetting it, so the master
   * may see this as a goodbye; only a dead process or network drops the connection itself.)
   */
  destroy(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.call?.cancel();
    this.teardown();
  }

  private teardown(): void {
    this.generation++;
    this.call = undefined;
    this.accepted = false;
    this.client?.close();
    this.client = undefined;
  }

  private open(): void {
    if (this.stopped) return;
    // A fresh channel per attempt: grpc-js's own reconnection backoff (up to 2 min) would otherwise
    // fail our attempts fast while it waits; a local subchannel pool gives each agent its own TCP connection.
    this.client?.close();
    const keepalive = this.opts.keepaliveMs ?? 30_000;
    this.client = new grpc.Client(this.master!, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
      ...(keepalive > 0 ? { 'grpc.keepalive_time_ms': keepalive, 'grpc.keepalive_timeout_ms': 10_000 } : {}),
    });
    const generation = ++this.generation;
    const call = this.client.makeBidiStreamRequest<AgentMessage, MasterMessage>(
      CONNECT_PATH,
      encodeAgentMessage,
      decodeMasterMessage,
      protocolMetadata(this.opts.protocolVersion ?? PROTOCOL_VERSION),
      {},
    );
    this.call = call;
    const current = () => generation === this.generation;
    call.on('metadata', (md: grpc.Metadata) => {
      if (!current()) return;
      const version = md.get(PROTOCOL_METADATA)[0];
      this.announced = version === undefined ? undefined : String(version);
      this.accepted = true;
      this.streams++;
      this.emit('connected', { masterProtocol: this.announced, streams: this.streams });
    });
    call.on('data', (msg: MasterMessage) => {
      if (!current()) return;
      if (masterMessageKind(msg) === undefined) {
        this.log.debug('the master sent a message of a kind this agent does not know (a newer protocol minor); skipped');
        return;
      }
      // Backoff restarts only once the master took us: a master that refuses every stream is retried slowly.
      if (!msg.refused) this.failures = 0;
      this.opts.onMessage?.(msg);
      this.emit('message', msg);
    });
    call.on('error', () => undefined); // the 'status' event carries the same, and is always emitted
    call.on('status', (status: grpc.StatusObject) => {
      if (current()) this.ended(status);
    });
  }

  private ended(status: grpc.StatusObject): void {
    const wasConnected = this.accepted;
    this.call = undefined;
    this.accepted = false;
    const error =
      status.code === grpc.status.OK
        ? undefined
        : TesseraError.fromGrpc({ ...status, name: 'Error', message: status.details } as grpc.ServiceError, `master ${this.master}`);
    if (this.stopped) {
      this.emit('disconnected', { wasConnected, error });
      return;
    }
    const retryInMs = this.backoff();
    this.failures++;
    this.emit('disconnected', { wasConnected, error, retryInMs });
    this.retryTimer = setTimeout(() => this.open(), retryInMs);
  }

  // Exponential backoff with equal jitter: half the delay fixed, half random, so agents that lost the
  // same master do not all come back in the same millisecond.
  private backoff(): number {
    const initial = this.opts.initialBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.failures, 30));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }
}
