/**
 * The master's side of the agent protocol: the `tessera.agent.v1.AgentLink/Connect` handler on a
 * grpc-js Server. Each agent keeps one bidirectional stream open; the server turns it into an
 * {@link AgentConnection} and hands every decoded message, in order, to the master's
 * {@link AgentLinkHandler}.
 *
 * ```ts
 * const link = new AgentLinkServer({
 *   onMessage(conn, msg) {
 *     if (msg.register) conn.send({ registered: { agent_id: { value: 'a1' }, master_info: info } });
 *   },
 *   onDisconnect(conn, error) { log.warn(`agent ${conn.peer} left`, { error: error?.message }); },
 * }, { log });
 * const listener = await listenShared({ host: '0.0.0.0', port: 5050, http: httpServer, grpc: link.grpcServer });
 * ```
 *
 * What the server guarantees the handler:
 * - The agent's protocol version was checked first: another major (or none) fails the stream with
 *   FAILED_PRECONDITION naming both versions and what to upgrade; any minor of the same major is taken.
 * - A malformed message ends only that connection, with INVALID_ARGUMENT naming the field; a handler
 *   that throws refuses the agent: a `refused` message with the error's message, then the stream fails.
 * - `onDisconnect` runs exactly once per connection, also after `close()` (on a later microtask, never
 *   inside `close()`), and nothing reaches `onMessage` after it.
 * - `send()` never blocks and never throws for the connection's state (a no-op once closed), but an
 *   agent that stops reading is cut off once more than `maxQueuedBytes` wait for it, with a log line.
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { TesseraError } from '../errors';
import { createLog, type Log } from '../log';
import { AGENT_MESSAGE_TYPE, PROTOCOL_METADATA, PROTOCOL_VERSION, agentMessageKind, type AgentMessage, type MasterMessage } from './messages';
import { MAX_MESSAGE_BYTES, checkAgentProtocol, decodeAgentMessage, encodeMasterMessage, protocolMetadata, serverServiceDefinition } from './protocol';

/** AgentConnection is one agent's stream, as the master sees it. */
export interface AgentConnection {
  /** id is unique per connection within the server (a reconnecting agent gets a new one). */
  readonly id: number;
  /** peer is the agent's address as grpc-js gives it, `ip:port` (an IPv6 address without brackets: use remoteAddress for the IP). */
  readonly peer: string;
  /** remoteAddress is the agent's IP address alone. */
  readonly remoteAddress: string;
  /** protocolVersion is the version the agent speaks (same major as the master, perhaps a newer minor). */
  readonly protocolVersion: string;
  /** send queues one message (fire-and-forget); a no-op after close. Throws a WireError (500) for a message built wrong. */
  send(msg: MasterMessage): void;
  /** close ends the stream after what is queued: with OK, or with UNAVAILABLE and the reason when one is given. */
  close(reason?: string): void;
}

/** AgentLinkHandler is the master's domain logic behind the transport. */
export interface AgentLinkHandler {
  /** onConnect runs when an agent of an accepted protocol version opened its stream, before any message. */
  onConnect?(conn: AgentConnection): void;
  /** onMessage runs for each message in order; throwing refuses the agent with the error's message. */
  onMessage(conn: AgentConnection, msg: AgentMessage): void;
  /**
   * onDisconnect runs once when the stream ended. `error` (TSR_AGENT_DISCONNECTED, ...) says why, unless
   * the agent half-closed first (its goodbye) or the master closed it. A grpc-js client's cancel()
   * half-closes before it resets, so it may read as a goodbye; a dead process or network never does.
   */
  onDisconnect(conn: AgentConnection, error?: Error): void;
}

/** AgentLinkServerOptions configure an {@link AgentLinkServer}. */
export interface AgentLinkServerOptions {
  /** server to register the service on; default a new one (see {@link AgentLinkServer.grpcServer}). */
  server?: grpc.Server;
  log?: Log;
  /** maxQueuedBytes is how much may wait for one agent before it is cut off (default 16 MiB). */
  maxQueuedBytes?: number;
}

/** DEFAULT_MAX_QUEUED_BYTES bounds what may wait for one agent that stopped reading. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

type Call = grpc.ServerDuplexStream<Buffer, Buffer>;

/** AgentLinkServer serves `AgentLink.Connect`; see the module comment. */
export class AgentLinkServer {
  /** grpcServer carries the service: hand it to listenShared() or bind it yourself. */
  readonly grpcServer: grpc.Server;
  private readonly open = new Set<Link>();
  private readonly log: Log;
  private nextId = 1;

  constructor(
    private readonly handler: AgentLinkHandler,
    private readonly opts: AgentLinkServerOptions = {},
  ) {
    this.log = opts.log ?? createLog({ component: 'agent-link' });
    // Without channelz: it tracks every session and timestamps every message, for a debugging service
    // the master does not serve (10,000 agents, each a session).
    this.grpcServer =
      opts.server ??
      new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES, 'grpc.enable_channelz': 0 });
    this.grpcServer.addService(serverServiceDefinition(), { Connect: (call: Call) => this.accept(call) });
  }

  /** connections are the open agent connections. */
  get connections(): AgentConnection[] {
    return [...this.open];
  }

  /** close closes every connection (UNAVAILABLE with the reason); the grpc.Server itself stays the caller's. */
  close(reason = 'the master is shutting down'): void {
    for (const link of [...this.open]) link.close(reason);
  }

  private accept(call: Call): void {
    const sent = call.metadata.get(PROTOCOL_METADATA)[0];
    const refusal = checkAgentProtocol(typeof sent === 'string' ? sent : sent?.toString());
    if (refusal) {
      this.log.warn(`refused an agent connection from ${call.getPeer()}: ${refusal.message}`);
      call.emit('error', statusOf(refusal));
      return;
    }
    const link = new Link(this.nextId++, call, sent as string, this.handler, this.log, this.opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, () =>
      this.open.delete(link),
    );
    this.open.add(link);
    link.start();
  }
}

/** statusOf turns a TesseraError into the status a stream ends with, the master's version in its trailers. */
function statusOf(err: TesseraError): Partial<grpc.StatusObject> {
  const status = err.toGrpc();
  status.metadata!.set(PROTOCOL_METADATA, PROTOCOL_VERSION);
  return status;
}

/** One agent's stream. */
class Link implements AgentConnection {
  readonly peer: string;
  readonly remoteAddress: string;
  private queuedBytes = 0;
  private closed = false;
  private finished = false;

  constructor(
    readonly id: number,
    private readonly call: Call,
    readonly protocolVersion: string,
    private readonly handler: AgentLinkHandler,
    private readonly log: Log,
    private readonly maxQueuedBytes: number,
    private readonly onFinished: () => void,
  ) {
    this.peer = call.getPeer();
    this.remoteAddress = addressOf(this.peer);
  }

  start(): void {
    const call = this.call;
    call.sendMetadata(protocolMetadata());
    // 'data'/'end', never the async iterator: it destroys the call on 'error', losing the status (see modules-api sdk/inputs.ts).
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('end', () => {
      // The input ended: the agent's goodbye (a half-close), answered with OK after what is queued; or a
      // reset stream or dropped connection, which grpc-js reports the same way and cancels right after.
      if (streamGone(call)) this.finish(this.lost());
      else {
        this.end();
        this.finish(undefined);
      }
    });
    call.on('cancelled', () => this.finish(this.lost()));
    call.on('close', () => this.finish(this.closed ? undefined : new TesseraError('TSR_AGENT_DISCONNECTED', `agent ${this.peer}: stream closed`)));
    try {
      this.handler.onConnect?.(this);
    } catch (err) {
      this.refuse(err);
    }
  }

  private lost(): TesseraError {
    return new TesseraError('TSR_AGENT_DISCONNECTED', `agent ${this.peer} went away without a goodbye (stream reset or connection lost)`);
  }

  send(msg: MasterMessage): void {
    if (this.closed) return;
    const bytes = encodeMasterMessage(msg);
    this.queuedBytes += bytes.length;
    if (this.queuedBytes > this.maxQueuedBytes) {
      this.cutOff();
      return;
    }
    this.call.write(bytes, () => {
      this.queuedBytes -= bytes.length;
    });
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason === undefined) this.end();
    else this.fail(new TesseraError('TSR_AGENT_CLOSED', reason, { grpcStatus: grpc.status.UNAVAILABLE }));
    queueMicrotask(() => this.finish(undefined));
  }

  private receive(bytes: Buffer): void {
    if (this.closed) return;
    let msg: AgentMessage;
    try {
      msg = decodeAgentMessage(bytes);
    } catch (err) {
      const problem = TesseraError.wrap(err, 'TSR_INVALID_ARGUMENT');
      const error = new TesseraError(problem.code, `malformed message from agent ${this.peer}: ${problem.message}`, {
        grpcStatus: grpc.status.INVALID_ARGUMENT,
        cause: err,
      });
      this.log.warn(`${error.message}; closing its connection`, { connection: this.id });
      this.fail(error);
      this.finish(error);
      return;
    }
    if (agentMessageKind(msg) === undefined) {
      // A kind added by a newer minor version of the protocol: skipped, as proto skips unknown fields.
      this.log.debug(`agent ${this.peer} sent an ${AGENT_MESSAGE_TYPE} of a kind this master does not know; skipped`, { connection: this.id });
      return;
    }
    try {
      this.handler.onMessage(this, msg);
    } catch (err) {
      this.refuse(err);
    }
  }

  // The handler threw: tell the agent why (a Refused message, then the status) and end the connection.
  private refuse(err: unknown): void {
    if (this.closed) return;
    const wrapped = TesseraError.wrap(err, 'TSR_AGENT_REFUSED');
    const known = wrapped.grpcStatus !== grpc.status.UNKNOWN && wrapped.grpcStatus !== grpc.status.INTERNAL;
    const error = known ? wrapped : new TesseraError(wrapped.code, wrapped.message, { grpcStatus: grpc.status.FAILED_PRECONDITION, cause: err });
    this.log.warn(`refused agent ${this.peer}: ${error.message}`, { connection: this.id, code: error.code });
    try {
      this.send({ refused: { message: error.message } });
    } catch {
      // nothing more to tell it
    }
    this.fail(error);
    this.finish(error);
  }

  // The agent stopped reading: drop what waits for it and reset its stream, so a stuck agent cannot pin memory.
  private cutOff(): void {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const error = new TesseraError(
      'TSR_AGENT_BACKLOG',
      `agent ${this.peer} stopped reading: ${mib(this.queuedBytes)} MiB of messages queued for it (limit ${mib(this.maxQueuedBytes)} MiB); ` +
        'closed its connection, it must reconnect and re-register',
      { grpcStatus: grpc.status.RESOURCE_EXHAUSTED },
    );
    this.log.error(error.message, { connection: this.id });
    this.closed = true;
    if (!resetStream(this.call)) this.call.emit('error', statusOf(error));
    this.call.destroy(); // frees the messages still buffered in the call
    this.finish(error);
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end(protocolMetadata());
  }

  private fail(error: TesseraError): void {
    if (this.closed) return;
    this.closed = true;
    this.call.emit('error', statusOf(error));
  }

  private finish(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.onFinished();
    try {
      this.handler.onDisconnect(this, error);
    } catch (err) {
      this.log.error(`onDisconnect of agent ${this.peer} threw: ${(err as Error).stack ?? err}`);
    }
  }
}

/**
 * http2StreamOf finds the HTTP/2 stream under a grpc-js server call. grpc-js has no public way to reset
 * a server stream whose peer stopped reading (a status would wait behind the queued messages), nor to
 * tell a half-close from a reset (both end the input first), so this reaches the base call under any
 * interceptors; undefined when grpc-js's internals changed, and callers then fall back to public means.
 */
function http2StreamOf(call: Call): http2.ServerHttp2Stream | undefined {
  let inner = (call as unknown as { call?: unknown }).call as { stream?: unknown; nextCall?: unknown } | undefined;
  for (let depth = 0; inner && depth < 16; depth++) {
    const stream = inner.stream as Partial<http2.ServerHttp2Stream> | undefined;
    if (typeof stream?.close === 'function' && 'rstCode' in stream) return stream as http2.ServerHttp2Stream;
    inner = inner.nextCall as typeof inner;
  }
  return undefined;
}

/** resetStream resets the call's stream with ENHANCE_YOUR_CALM (the agent sees RESOURCE_EXHAUSTED); false when it cannot. */
function resetStream(call: Call): boolean {
  const stream = http2StreamOf(call);
  stream?.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  return stream !== undefined;
}

/** streamGone tells whether the call's stream was reset or its connection lost (a half-closed stream is still open). */
function streamGone(call: Call): boolean {
  const stream = http2StreamOf(call);
  return stream !== undefined && (stream.closed || stream.destroyed);
}

/** addressOf takes the IP out of grpc-js's peer text (`1.2.3.4:5`, `::1:5` or `[::1]:5`). */
function addressOf(peer: string): string {
  const bracketed = /^\[(.*)\]:\d+$/.exec(peer);
  if (bracketed) return bracketed[1];
  const colon = peer.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer;
}
