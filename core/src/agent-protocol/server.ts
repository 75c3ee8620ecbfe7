/**
 * The master's side of the agent protocol: `tessera.agent.v1.AgentLink/Connect`, served as gRPC on
 * the master's own lean HTTP/2 server (./h2: gRPC's wire format is length-prefixed messages on one
 * HTTP/2 stream, the status in its trailers). Each agent keeps one bidirectional stream open; the
 * server turns it into an {@link AgentConnection} and hands every decoded message, in order, to the
 * master's {@link AgentLinkHandler}. Agents use grpc-js or any gRPC client. The master does without
 * grpc-js's server (its per-call machinery cost a third of each connection's CPU) and without Node's
 * HTTP/2 server (≈ 0.21 ms of CPU per connection before any request, three times a plain TCP
 * connection): when 10,000 agents reconnect to a restarted master, per-connection cost is most of
 * its work.
 *
 * ```ts
 * const link = new AgentLinkServer({
 *   onMessage(conn, msg) {
 *     if (msg.register) conn.send({ registered: { agent_id: { value: 'a1' }, master_info: info } });
 *   },
 *   onDisconnect(conn, error) { log.warn(`agent ${conn.peer} left`, { error: error?.message }); },
 * }, { log });
 * const listener = await listenShared({ host: '0.0.0.0', port: 5050, http: httpServer, agents: link });
 * ```
 *
 * What the server guarantees the handler:
 * - The agent's protocol version was checked first: another major (or none) fails the stream with
 *   FAILED_PRECONDITION naming both versions and what to upgrade; any minor of the same major is taken.
 *   Another method is UNIMPLEMENTED; a request that is not gRPC is answered 415.
 * - Unfinished messages are bounded per stream (MAX_MESSAGE_BYTES) and per connection (`maxHeldBytes`):
 *   the stream that goes over is refused with RESOURCE_EXHAUSTED, its connection's other streams stay.
 * - A malformed message ends only that connection, with INVALID_ARGUMENT naming the field; a handler
 *   that throws refuses the agent: a `refused` message with the error's message, then the stream fails.
 * - `onDisconnect` runs exactly once per connection, also after `close()` (on a later microtask, never
 *   inside `close()`), and nothing reaches `onMessage` after it.
 * - `send()` never blocks and never throws for the connection's state (a no-op once closed), but an
 *   agent that stops reading is cut off once more than `maxQueuedBytes` wait for it, with a log line.
 * - A connection without an open stream for `idleTimeoutMs` (a peer that sent the HTTP/2 preface and
 *   nothing more, or whose stream ended) is closed with GOAWAY: it would otherwise hold its socket and
 *   buffers for as long as TCP keeps it. One timer sweeps all connections.
 */
import * as grpc from '@grpc/grpc-js';
import type net from 'node:net';
import util from 'node:util';
import { TesseraError } from '../errors';
import { createLog, type Log } from '../log';
import { AGENT_MESSAGE_TYPE, PROTOCOL_METADATA, PROTOCOL_VERSION, agentMessageKind, type AgentMessage, type MasterMessage } from './messages';
import { H2Connection, type H2ConnectionOptions } from './h2/connection';
import { ErrorCode } from './h2/frames';
import type { H2Stream, HeaderList } from './h2/stream';
import { CONNECT_PATH, MAX_MESSAGE_BYTES, checkAgentProtocol, decodeAgentMessage, encodeMasterMessage } from './protocol';

/** AgentConnection is one agent's stream, as the master sees it. */
export interface AgentConnection {
  /** id is unique per connection within the server (a reconnecting agent gets a new one). */
  readonly id: number;
  /** peer is the agent's address, `ip:port` (an IPv6 address without brackets: use remoteAddress for the IP). */
  readonly peer: string;
  /** remoteAddress is the agent's IP address alone. */
  readonly remoteAddress: string;
  /** protocolVersion is the version the agent speaks (same major as the master, perhaps a newer minor). */
  readonly protocolVersion: string;
  /**
   * send queues one message, or one already encoded (see registeredEncoder), fire-and-forget; a no-op
   * after close. Throws a WireError (500) for a message built wrong.
   */
  send(msg: MasterMessage | Buffer): void;
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
  log?: Log;
  /** maxQueuedBytes is how much may wait for one agent before it is cut off (default 16 MiB). */
  maxQueuedBytes?: number;
  /** maxHeldBytes bounds the unfinished messages one connection's streams hold together (default MAX_MESSAGE_BYTES, 64 MiB). */
  maxHeldBytes?: number;
  /** idleTimeoutMs closes a connection that has had no stream for this long (default 60 s). */
  idleTimeoutMs?: number;
}

/** DEFAULT_IDLE_TIMEOUT_MS is how long a connection may stay without a stream. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** DEFAULT_MAX_QUEUED_BYTES bounds what may wait for one agent that stopped reading. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** ERROR_CODE_KEY is the trailer carrying a TesseraError's code (as TesseraError.toGrpc() sets it). */
const ERROR_CODE_KEY = 'tessera-error-code';
const GRPC_CONTENT_TYPE = 'application/grpc+proto';
/** CLOSE_GRACE_MS is how long a stream the master ended may stay open: its trailers wait behind what is queued for an agent that does not read. */
const CLOSE_GRACE_MS = 5000;
/** REFUSAL_LOG_INTERVAL_MS spaces the log lines about refused agents. */
const REFUSAL_LOG_INTERVAL_MS = 1000;
/** What of a peer's header values a refusal quotes, and how much of a message the trailers carry. */
const QUOTE_CHARS = 128;
const MESSAGE_CHARS = 4096;
/** The 5-byte prefix of each gRPC message: a compressed flag, then the length (big-endian). */
const PREFIX_BYTES = 5;

/** AgentLinkServer serves `AgentLink.Connect`; see the module comment. */
export class AgentLinkServer {
  private readonly open = new Set<Link>();
  private readonly h2Connections = new Set<H2Connection>();
  private idleSweeper: NodeJS.Timeout | undefined;
  /** One options object for all connections (their server preface is made once per options object). */
  private readonly h2Options: H2ConnectionOptions = {
    onStream: (stream, headers) => this.accept(stream, headers),
    onError: (message) => this.log.debug(`agent connection failed: ${message}`),
  };
  private readonly log: Log;
  private nextId = 1;
  /** Refusals logged: at most one line a second, so that a peer cannot flood the log with them. */
  private refusals = { loggedAt: 0, unlogged: 0 };

  constructor(
    private readonly handler: AgentLinkHandler,
    private readonly opts: AgentLinkServerOptions = {},
  ) {
    this.log = opts.log ?? createLog({ component: 'agent-link' });
  }

  /** connections are the open agent connections. */
  get connections(): AgentConnection[] {
    return [...this.open];
  }

  /**
   * acceptConnection serves one TCP connection whose first bytes (`head`, already read from it, the
   * HTTP/2 client preface among them) say it is HTTP/2: what listenShared() hands over.
   */
  acceptConnection(socket: net.Socket, head: Buffer): void {
    // What may wait for one agent is bounded by maxQueuedBytes (a clear cut-off, see Link.send). An agent
    // opens one stream, but a proxy in front of the master (Envoy, say) carries many agents' streams on
    // one connection.
    const conn = new H2Connection(socket, head, this.h2Options);
    this.h2Connections.add(conn);
    socket.once('close', () => {
      this.h2Connections.delete(conn);
      if (this.h2Connections.size === 0) {
        clearInterval(this.idleSweeper);
        this.idleSweeper = undefined;
      }
    });
    const idleMs = this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.idleSweeper ??= setInterval(() => this.sweepIdle(idleMs), Math.max(10, Math.floor(idleMs / 4))).unref();
  }

  // Closes the connections that have had no stream for idleMs.
  private sweepIdle(idleMs: number): void {
    const now = Date.now();
    for (const conn of this.h2Connections) {
      if (conn.idleSince === undefined || now - conn.idleSince < idleMs || conn.closed) continue;
      this.log.debug(`closing the HTTP/2 connection from ${conn.remoteAddress}:${conn.remotePort}: no stream for ${Math.round((now - conn.idleSince) / 1000)} s`);
      conn.goAway(ErrorCode.NO_ERROR, `no stream for ${idleMs} ms`);
    }
  }

  /**
   * close closes every connection (UNAVAILABLE with the reason); the listener itself stays the
   * caller's. It resolves once their streams closed (the agents got the reason), or after `waitMs`.
   */
  async close(reason = 'the master is shutting down', waitMs = 1000): Promise<void> {
    const links = [...this.open];
    for (const link of links) link.close(reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(links.map((l) => l.streamClosed())), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    for (const conn of this.h2Connections) conn.goAway(ErrorCode.NO_ERROR, reason);
  }

  private warnRefused(line: string): void {
    const now = Date.now();
    if (now - this.refusals.loggedAt < REFUSAL_LOG_INTERVAL_MS) {
      this.refusals.unlogged++;
      return;
    }
    const more = this.refusals.unlogged > 0 ? ` (and ${this.refusals.unlogged} more refused since the last such line)` : '';
    this.refusals = { loggedAt: now, unlogged: 0 };
    this.log.warn(`${line}${more}`);
  }

  private accept(stream: H2Stream, headers: Record<string, string>): void {
    const address = stream.remoteAddress;
    const port = stream.remotePort;
    const peer = `${address}:${port}`;
    const contentType = headers['content-type'] ?? '';
    if (!(contentType === 'application/grpc' || /^application\/grpc\+proto(;|$)/.test(contentType) || contentType.startsWith('application/grpc;'))) {
      stream.respond([[':status', '415'], ['content-type', 'text/plain']], true);
      return;
    }
    if (headers[':method'] !== 'POST') {
      stream.respond([[':status', '405'], ['allow', 'POST'], ['content-type', 'text/plain']], true);
      return;
    }
    if (headers[':path'] !== CONNECT_PATH) {
      const err = new TesseraError('TSR_AGENT_REFUSED', `this master serves ${CONNECT_PATH}, not ${quote(headers[':path'])}`, { grpcStatus: grpc.status.UNIMPLEMENTED });
      stream.respond([...GRPC_RESPONSE_START, ...statusTrailers(err)], true);
      return;
    }
    const version = headers[PROTOCOL_METADATA]?.slice(0, QUOTE_CHARS);
    const refusal = checkAgentProtocol(version);
    if (refusal) {
      this.warnRefused(`refused an agent connection from ${peer}: ${refusal.message}`);
      stream.respond([...GRPC_RESPONSE_START, ...statusTrailers(refusal)], true);
      return;
    }
    const limits = { queued: this.opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, held: this.opts.maxHeldBytes ?? MAX_MESSAGE_BYTES };
    const link = new Link(this.nextId++, stream, peer, address, version as string, this.handler, this.log, limits, () =>
      this.open.delete(link),
    );
    this.open.add(link);
    link.start();
  }
}

/** quote is a peer's header value as a refusal quotes it: a bounded excerpt. */
function quote(value: string | string[] | undefined): string {
  const text = String(value ?? '');
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}...` : text;
}

/** statusTrailers are the trailers a stream ends with for an error: status, message, error code, the master's version. */
function statusTrailers(err: TesseraError): HeaderList {
  const message = err.message.length > MESSAGE_CHARS ? `${err.message.slice(0, MESSAGE_CHARS)}...` : err.message;
  // A code is an identifier (TSR_...); anything else would not survive as a header value.
  const code: HeaderList = /^[A-Za-z0-9_.-]+$/.test(err.code) ? [[ERROR_CODE_KEY, err.code]] : [];
  return [['grpc-status', String(err.grpcStatus)], ['grpc-message', percentEncode(message)], ...code, [PROTOCOL_METADATA, PROTOCOL_VERSION]];
}

/** describeThrown is a thrown value as text, whatever was thrown. */
function describeThrown(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : util.inspect(err);
}

/** OK_TRAILERS end a stream the master or the agent closed in good order. */
const OK_TRAILERS: HeaderList = [['grpc-status', String(grpc.status.OK)], [PROTOCOL_METADATA, PROTOCOL_VERSION]];
/** GRPC_RESPONSE_START are the headers every gRPC response opens with. */
const GRPC_RESPONSE_START: HeaderList = [[':status', '200'], ['content-type', GRPC_CONTENT_TYPE]];

/** percentEncode writes grpc-message as the gRPC spec says: UTF-8, every byte outside 0x20..0x7E and '%' as %XX. */
function percentEncode(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One agent's stream. */
class Link implements AgentConnection {
  private closed = false;
  private finished = false;
  private streamGone = false;
  private readonly closeWaiters: Array<() => void> = [];
  private graceTimer: NodeJS.Timeout | undefined;
  /** Bytes of a message not yet complete (the stream delivers DATA frames, not messages). */
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(
    readonly id: number,
    private readonly stream: H2Stream,
    readonly peer: string,
    readonly remoteAddress: string,
    readonly protocolVersion: string,
    private readonly handler: AgentLinkHandler,
    private readonly log: Log,
    private readonly limits: { queued: number; held: number },
    private readonly onFinished: () => void,
  ) {}

  start(): void {
    const stream = this.stream;
    stream.onData = (chunk) => this.frames(chunk);
    stream.onEnd = () => {
      // The agent's goodbye (a half-close): answered with OK after what is queued.
      if (this.partialBytes > 0) {
        this.reject(new TesseraError('TSR_INVALID_ARGUMENT', `agent ${this.peer} ended its stream inside a message (${this.partialBytes} bytes of it came)`, { grpcStatus: grpc.status.INTERNAL }));
      } else {
        this.end();
        this.finish(undefined);
      }
    };
    stream.onClose = (reason) => {
      this.streamGone = true;
      clearTimeout(this.graceTimer);
      for (const resolve of this.closeWaiters.splice(0)) resolve();
      // A reset stream or a dropped connection: the agent went away. When the master ended the stream,
      // what ended it says why (it may still be on its way here).
      if (!this.closed) this.finish(reason.kind === 'done' ? undefined : this.lost());
    };
    stream.respond([...GRPC_RESPONSE_START, [PROTOCOL_METADATA, PROTOCOL_VERSION]]);
    try {
      this.handler.onConnect?.(this);
    } catch (err) {
      this.refuse(err);
    }
  }

  /** streamClosed resolves once the HTTP/2 stream closed (both sides ended, or reset). */
  streamClosed(): Promise<void> {
    if (this.streamGone || this.stream.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private lost(): TesseraError {
    return new TesseraError('TSR_AGENT_DISCONNECTED', `agent ${this.peer} went away without a goodbye (stream reset or connection lost)`);
  }

  send(msg: MasterMessage | Buffer): void {
    if (this.closed) return;
    const bytes = Buffer.isBuffer(msg) ? msg : encodeMasterMessage(msg);
    const frame = Buffer.allocUnsafe(PREFIX_BYTES + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, PREFIX_BYTES);
    if (this.stream.queuedBytes + frame.length > this.limits.queued) {
      this.cutOff(this.stream.queuedBytes + frame.length);
      return;
    }
    this.stream.write(frame);
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason === undefined) this.end();
    else this.fail(new TesseraError('TSR_AGENT_CLOSED', reason, { grpcStatus: grpc.status.UNAVAILABLE }));
    queueMicrotask(() => this.finish(undefined));
  }

  // Splits the stream's bytes into gRPC messages: a 5-byte prefix (compressed flag, length), then the message.
  private frames(chunk: Buffer): void {
    if (this.closed) return;
    let buf = chunk;
    if (this.partialBytes > 0) {
      this.partial.push(chunk);
      this.partialBytes += chunk.length;
      const need = this.partial[0].length >= PREFIX_BYTES ? PREFIX_BYTES + this.partial[0].readUInt32BE(1) : PREFIX_BYTES;
      if (this.partialBytes < need) {
        this.holdPartial();
        return;
      }
      buf = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
      this.partialBytes = 0;
    }
    let at = 0;
    while (!this.closed && buf.length - at >= PREFIX_BYTES) {
      const length = buf.readUInt32BE(at + 1);
      if (length > MAX_MESSAGE_BYTES) {
        this.reject(new TesseraError('TSR_INVALID_ARGUMENT', `agent ${this.peer} sent a message of ${length} bytes; the limit is ${MAX_MESSAGE_BYTES}`, { grpcStatus: grpc.status.RESOURCE_EXHAUSTED }));
        return;
      }
      if (buf[at] !== 0) {
        this.reject(new TesseraError('TSR_INVALID_ARGUMENT', `agent ${this.peer} sent a compressed message; the agent protocol does not use compression: do not enable it on the agent's channel`, { grpcStatus: grpc.status.INTERNAL }));
        return;
      }
      if (buf.length - at < PREFIX_BYTES + length) break;
      const message = buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + length);
      at += PREFIX_BYTES + length;
      this.receive(message);
    }
    if (!this.closed && at < buf.length) {
      // A message not complete yet: keep its bytes (a copy, so the chunk it came in can go).
      const rest = Buffer.from(buf.subarray(at));
      this.partial = [rest];
      this.partialBytes = rest.length;
    }
    this.holdPartial();
  }

  // What unfinished messages keep is bounded per connection too: a peer with many streams (a proxy, or
  // a hostile client) could otherwise hold MAX_MESSAGE_BYTES on each.
  private holdPartial(): void {
    if (this.closed) return;
    const held = this.stream.hold(this.partialBytes);
    if (held > this.limits.held && this.partialBytes > 0) {
      const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
      this.reject(
        new TesseraError('TSR_INVALID_ARGUMENT', `the connection of agent ${this.peer} holds ${mib(held)} MiB of unfinished messages across its streams; the limit is ${mib(this.limits.held)} MiB`, {
          grpcStatus: grpc.status.RESOURCE_EXHAUSTED,
        }),
      );
    }
  }

  private receive(bytes: Buffer): void {
    if (this.closed) return;
    let msg: AgentMessage;
    try {
      msg = decodeAgentMessage(bytes);
    } catch (err) {
      const problem = TesseraError.wrap(err, 'TSR_INVALID_ARGUMENT');
      this.reject(new TesseraError(problem.code, `malformed message from agent ${this.peer}: ${problem.message}`, { grpcStatus: grpc.status.INVALID_ARGUMENT, cause: err }));
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

  // The agent sent something unreadable: close only its connection, saying what.
  private reject(error: TesseraError): void {
    this.log.warn(`${error.message}; closing its connection`, { connection: this.id });
    this.fail(error);
    this.finish(error);
  }

  // The handler threw: tell the agent why (a Refused message, then the status) and end the connection.
  private refuse(err: unknown): void {
    if (this.closed) return;
    let wrapped: TesseraError;
    try {
      wrapped = TesseraError.wrap(err, 'TSR_AGENT_REFUSED');
    } catch {
      wrapped = new TesseraError('TSR_AGENT_REFUSED', describeThrown(err));
    }
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

  // The agent stopped reading: drop what waits for it and reset its stream (the agent sees
  // RESOURCE_EXHAUSTED), so a stuck agent cannot pin memory.
  private cutOff(queued: number): void {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const error = new TesseraError(
      'TSR_AGENT_BACKLOG',
      `agent ${this.peer} stopped reading: ${mib(queued)} MiB of messages queued for it (limit ${mib(this.limits.queued)} MiB); ` +
        'closed its connection, it must reconnect and re-register',
      { grpcStatus: grpc.status.RESOURCE_EXHAUSTED },
    );
    this.log.error(error.message, { connection: this.id });
    this.closed = true;
    this.finish(error); // first: the reset below closes the stream at once
    this.stream.reset(ErrorCode.ENHANCE_YOUR_CALM); // frees the messages still queued
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.endStream(OK_TRAILERS);
  }

  private fail(error: TesseraError): void {
    if (this.closed) return;
    this.closed = true;
    this.endStream(statusTrailers(error));
  }

  // Ends the master's side: the trailers follow what is queued. An agent that does not read keeps
  // them waiting: after CLOSE_GRACE_MS its stream is reset, so what is queued for it goes.
  private endStream(trailers: HeaderList): void {
    if (this.streamGone) return;
    this.stream.end(trailers);
    if (this.stream.closed) return;
    this.graceTimer = setTimeout(() => this.stream.reset(ErrorCode.CANCEL), CLOSE_GRACE_MS);
    this.graceTimer.unref();
  }

  private finish(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.partial = [];
    this.partialBytes = 0;
    this.onFinished();
    try {
      this.handler.onDisconnect(this, error);
    } catch (err) {
      this.log.error(`onDisconnect of agent ${this.peer} threw: ${describeThrown(err)}`);
    }
  }
}
