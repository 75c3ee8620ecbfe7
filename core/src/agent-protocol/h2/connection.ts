/**
 * A lean HTTP/2 server connection (RFC 9113) for the agent link's gRPC. Node's http2 server costs
 * ≈ 0.21 ms of CPU per connection before any request is handled (a plain TCP server ≈ 0.07 ms, measured
 * with 10,000 connections on the 2-CPU bench machine); when every agent of a large cluster reconnects
 * to a restarted master, that is most of the master's time. This implementation does what a gRPC
 * server needs and nothing else: client-initiated streams, HPACK (./hpack.ts), flow control both ways,
 * SETTINGS, PING, RST_STREAM, GOAWAY. It never pushes and never opens streams.
 *
 * ```ts
 * const conn = new H2Connection(socket, alreadyRead, {
 *   onStream(stream, headers) {
 *     stream.respond([[':status', '200'], ['content-type', 'application/grpc+proto']]);
 *     stream.onData = (chunk) => ...;
 *   },
 * });
 * ```
 * Errors follow the RFC: a connection error sends GOAWAY with the code and a debug text, then closes;
 * a stream error resets that stream only; a malformed request (uppercase names, missing or unknown
 * pseudo-headers, connection-specific headers, NUL/CR/LF in a value) is reset with PROTOCOL_ERROR.
 * A hostile peer meets nghttp2's limits: at most 32 CONTINUATION frames per header block and 32
 * SETTINGS entries per frame, 1,000 stream resets at once (then 33/s), and no reading from a peer that
 * leaves more than 1 MiB of answers unread; a connection told GOAWAY is destroyed 2 s later.
 */
import type net from 'node:net';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ErrorCode, FRAME_HEADER_BYTES, Flag, FrameType, MAX_WINDOW, SETTINGS_ACK, Setting, frame, goawayFrame, rstStreamFrame, settingsFrame, windowUpdateFrame } from './frames';
import { HpackDecoder, HpackError } from './hpack';
import { H2Stream, type StreamOwner } from './stream';

/** H2ConnectionOptions configure one connection (the server passes the same to all). */
export interface H2ConnectionOptions {
  /** onStream receives each new request: its headers by name (the first value of a repeated name). */
  onStream(stream: H2Stream, headers: Record<string, string>): void;
  /** onError hears about connection errors (the peer broke the protocol), for the log. */
  onError?(message: string): void;
  /** maxConcurrentStreams is advertised and enforced (default 100,000: a proxy may carry many agents). */
  maxConcurrentStreams?: number;
  /** streamWindow is each stream's receive window (default 1 MiB; at least 65,535 for clients that send before they read our SETTINGS). */
  streamWindow?: number;
  /** connectionWindow is the connection's receive window (default 16 MiB). */
  connectionWindow?: number;
  /** maxHeaderListSize bounds a request's headers (default 64 KiB); larger ones are answered 431. */
  maxHeaderListSize?: number;
}

const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** Limits on what a peer may make the server do, as nghttp2 (Node's HTTP/2) sets them by default. */
const MAX_CONTINUATIONS = 32; // CVE-2024-28182: a header block in endless CONTINUATION frames
const MAX_SETTINGS_ENTRIES = 32; // CVE-2020-11080: one SETTINGS frame touching every stream thousands of times
const RESET_BURST = 1000; // CVE-2023-44487 ("rapid reset"): streams opened and reset at once
const RESETS_PER_MS = 33 / 1000;
/** Beyond this much unsent to a peer, the server stops reading it (CVE-2019-9512/9515: PING and SETTINGS floods by a peer that does not read the answers). */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** A connection that got a GOAWAY is destroyed this long after, if the peer has not closed it. */
const GOAWAY_LINGER_MS = 2000;
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** A field name: lowercase token characters, a leading ':' for pseudo-headers (RFC 9113 §8.2.1). */
const TOKEN = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** What a field value may not hold: NUL, CR, LF, or whitespace at either end (RFC 9113 §8.2.1). */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':path', ':authority']);
const EMPTY = Buffer.alloc(0);

/** The server preface of each options object's connections (never written to: queued bytes are only read). */
const PREFACES = new WeakMap<H2ConnectionOptions, Buffer>();

/** A connection error: GOAWAY with this code. */
class ConnectionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** H2Connection serves one accepted socket; see the module comment. */
export class H2Connection implements StreamOwner {
  readonly remoteAddress: string;
  readonly remotePort: number;
  sendWindow = DEFAULT_WINDOW;
  heldBytes = 0;
  peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  closed = false;
  /** Since when (Date.now()) the connection has had no open stream; undefined while it has one. */
  idleSince: number | undefined = Date.now();
  private readonly streams = new Map<number, H2Stream>();
  private readonly waitingForWindow = new Set<H2Stream>();
  private readonly decoder = new HpackDecoder();
  private peerInitialWindow = DEFAULT_WINDOW;
  private lastStreamId = 0;
  private input: Buffer = EMPTY;
  private prefaceSeen = false;
  private settingsSeen = false;
  private headerBlock: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number; frames: number } | undefined;
  private resetTokens = RESET_BURST;
  private resetsCountedAt = Date.now();
  private consumed = 0;
  private recvWindow: number;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private readonly streamWindow: number;
  private readonly connectionWindow: number;
  private readonly maxStreams: number;
  private readonly maxHeaderListSize: number;

  constructor(
    private readonly socket: net.Socket,
    head: Buffer,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
    this.streamWindow = opts.streamWindow ?? 1024 * 1024;
    this.connectionWindow = opts.connectionWindow ?? 16 * 1024 * 1024;
    this.maxStreams = opts.maxConcurrentStreams ?? 100_000;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? 64 * 1024;
    this.recvWindow = this.connectionWindow;
    socket.setNoDelay(true);
    // The server's preface: its SETTINGS, and the connection window opened beyond the default. The same
    // bytes for every connection of a server (its options), made once.
    let preface = PREFACES.get(opts);
    if (preface === undefined) {
      const settings = settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, this.maxStreams],
        [Setting.INITIAL_WINDOW_SIZE, this.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, this.maxHeaderListSize],
        [Setting.ENABLE_PUSH, 0],
      ]);
      preface = this.connectionWindow > DEFAULT_WINDOW ? Buffer.concat([settings, windowUpdateFrame(0, this.connectionWindow - DEFAULT_WINDOW)]) : settings;
      PREFACES.set(opts, preface);
    }
    this.queue(preface);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.lost('the connection closed'));
    if (head.length > 0) this.receive(head);
  }

  /** bufferedBytes is what the socket holds unsent (an agent that does not read lets it grow). */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.outBytes;
  }

  /** queue adds bytes to the next write; everything queued in one turn of the event loop leaves in one write. */
  queue(bytes: Buffer): void {
    if (this.closed) return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  blocked(stream: H2Stream): void {
    this.waitingForWindow.add(stream);
  }

  streamClosed(stream: H2Stream): void {
    this.streams.delete(stream.id);
    this.waitingForWindow.delete(stream);
    if (this.streams.size === 0) this.idleSince = Date.now();
    // A peer that reads nothing and has no stream left (cut off for it): what waits for it would stay
    // pinned as long as TCP keeps the connection; it goes with the connection.
    if (this.streams.size === 0 && this.socket.writableLength > MAX_UNSENT_BYTES) {
      this.opts.onError?.(`HTTP/2 connection from ${this.remoteAddress}:${this.remotePort} closed: its last stream ended with ${this.socket.writableLength} bytes it did not read`);
      this.destroy();
    }
  }

  /** goAway tells the peer the connection ends (NO_ERROR: a shutdown) and closes it once that is written. */
  goAway(code: ErrorCode = ErrorCode.NO_ERROR, debug = ''): void {
    if (this.closed) return;
    this.queue(goawayFrame(this.lastStreamId, code, debug));
    this.flush();
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), GOAWAY_LINGER_MS).unref();
    this.lost(debug || 'the server closed the connection');
  }

  /** destroy drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
    this.lost('the server closed the connection');
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.socket.destroyed) {
      this.out = [];
      this.outBytes = 0;
      return;
    }
    const out = this.out;
    this.out = [];
    this.outBytes = 0;
    if (out.length === 1) this.socket.write(out[0]);
    else this.socket.write(Buffer.concat(out));
    if (this.socket.writableLength > MAX_UNSENT_BYTES && !this.socket.isPaused()) {
      // The peer does not read what it asks for: read nothing more of it until it does ('drain'
      // follows, as the socket's buffer is above its high-water mark).
      this.socket.pause();
      this.socket.once('drain', () => this.socket.resume());
    }
  }

  private lost(message: string): void {
    this.closed = true;
    this.out = [];
    this.outBytes = 0;
    if (this.streams.size === 0) return;
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) s.close({ kind: 'lost', message });
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let buf = this.input.length > 0 ? Buffer.concat([this.input, chunk]) : chunk;
    let at = 0;
    try {
      if (!this.prefaceSeen) {
        if (buf.length < CLIENT_PREFACE.length) {
          if (!buf.equals(CLIENT_PREFACE.subarray(0, buf.length))) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not the HTTP/2 client preface');
          this.input = buf;
          return;
        }
        if (!buf.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not the HTTP/2 client preface');
        this.prefaceSeen = true;
        at = CLIENT_PREFACE.length;
      }
      while (!this.closed && buf.length - at >= FRAME_HEADER_BYTES) {
        const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
        if (length > DEFAULT_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${length}-byte frame; the limit is ${DEFAULT_MAX_FRAME_SIZE}`);
        if (buf.length - at < FRAME_HEADER_BYTES + length) break;
        const type = buf[at + 3];
        const flags = buf[at + 4];
        const streamId = buf.readUInt32BE(at + 5) & MAX_WINDOW;
        const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        at += FRAME_HEADER_BYTES + length;
        this.onFrame(type, flags, streamId, payload);
      }
    } catch (err) {
      // A peer that broke the protocol, or (a bug) a handler that threw: this connection ends, the server goes on.
      const broken = err instanceof ConnectionError;
      const message = broken ? err.message : `the server failed: ${(err as Error)?.stack ?? String(err)}`;
      this.opts.onError?.(`HTTP/2 connection from ${this.remoteAddress}:${this.remotePort} ${broken ? 'broke the protocol' : 'was closed'}: ${message}`);
      this.goAway(broken ? err.code : ErrorCode.INTERNAL_ERROR, broken ? message : 'internal error');
      return;
    }
    // A frame not complete yet: keep a copy of its bytes, so the chunk it came in can go.
    this.input = at >= buf.length ? EMPTY : Buffer.from(buf.subarray(at));
    buf = EMPTY;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the client preface must end with a SETTINGS frame');
      this.settingsSeen = true;
    }
    if (this.headerBlock !== undefined && (type !== FrameType.CONTINUATION || streamId !== this.headerBlock.streamId)) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `a header block of stream ${this.headerBlock.streamId} was interrupted by a frame of type ${type}`);
    }
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, streamId, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      case FrameType.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5 && this.streams.has(streamId)) this.streamError(streamId, ErrorCode.FRAME_SIZE_ERROR);
        return; // priorities do not matter to a gRPC server
      case FrameType.RST_STREAM:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${payload.length}-byte RST_STREAM`);
        if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
        const reset = this.streams.get(streamId);
        if (reset === undefined) return;
        this.countReset();
        reset.close({ kind: 'reset', code: payload.readUInt32BE(0), byPeer: true });
        return;
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'a client may not send PUSH_PROMISE');
      case FrameType.PING:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${payload.length}-byte PING`);
        if ((flags & Flag.ACK) === 0) this.queue(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${payload.length}-byte GOAWAY`);
        return; // the client stops; its streams end as it closes them or the socket
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  // A peer may reset streams, but not thousands at once (a burst of RESET_BURST, then RESETS_PER_MS).
  private countReset(): void {
    const now = Date.now();
    this.resetTokens = Math.min(RESET_BURST, this.resetTokens + (now - this.resetsCountedAt) * RESETS_PER_MS);
    this.resetsCountedAt = now;
    if (--this.resetTokens < 0) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `more than ${RESET_BURST} stream resets at once`);
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
    const size = payload.length; // padding counts against flow control too
    this.recvWindow -= size;
    if (this.recvWindow < 0) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'the client sent more than the connection window');
    this.consumed += size;
    if (this.consumed >= this.connectionWindow / 2) {
      this.queue(windowUpdateFrame(0, this.consumed));
      this.recvWindow += this.consumed;
      this.consumed = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return; // closed (reset by us, say): its data is dropped
    if (stream.remoteEnded) return this.streamError(streamId, ErrorCode.STREAM_CLOSED);
    stream.recvWindow -= size;
    if (stream.recvWindow < 0) return this.streamError(streamId, ErrorCode.FLOW_CONTROL_ERROR);
    const data = (flags & Flag.PADDED) !== 0 ? unpad(payload) : payload;
    if (data.length > 0) stream.onData?.(data);
    if ((flags & Flag.END_STREAM) !== 0) {
      stream.remoteEnd();
      return;
    }
    stream.consumed += size;
    if (!stream.closed && stream.consumed >= this.streamWindow / 2) {
      this.queue(windowUpdateFrame(streamId, stream.consumed));
      stream.recvWindow += stream.consumed;
      stream.consumed = 0;
    }
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let block = (flags & Flag.PADDED) !== 0 ? unpad(payload) : payload;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (block.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      block = block.subarray(5);
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) !== 0) this.onHeaderBlock(streamId, endStream, block);
    else this.headerBlock = { streamId, endStream, parts: [Buffer.from(block)], bytes: block.length, frames: 0 };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const pending = this.headerBlock;
    if (pending === undefined) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `CONTINUATION on stream ${streamId} without HEADERS`);
    pending.bytes += payload.length;
    if (++pending.frames > MAX_CONTINUATIONS || (payload.length === 0 && (flags & Flag.END_HEADERS) === 0)) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `a header block in more than ${MAX_CONTINUATIONS} CONTINUATION frames, or an empty one`);
    }
    if (pending.bytes > MAX_HEADER_BLOCK_BYTES) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `a header block over ${MAX_HEADER_BLOCK_BYTES} bytes`);
    pending.parts.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.headerBlock = undefined;
    this.onHeaderBlock(pending.streamId, pending.endStream, Buffer.concat(pending.parts, pending.bytes));
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    let decoded: ReturnType<HpackDecoder['decode']>;
    try {
      decoded = this.decoder.decode(block, this.maxHeaderListSize);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${err.message}`);
      throw err;
    }
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers: they must end the stream; a gRPC server has no use for what they say.
      if (!endStream) return this.streamError(streamId, ErrorCode.PROTOCOL_ERROR);
      existing.remoteEnd();
      return;
    }
    if (streamId <= this.lastStreamId) return; // a stream already closed (by our reset, say)
    if (streamId % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `a client opened even-numbered stream ${streamId}`);
    this.lastStreamId = streamId;
    if (this.streams.size >= this.maxStreams) return this.streamError(streamId, ErrorCode.REFUSED_STREAM);
    const stream = new H2Stream(streamId, this, this.peerInitialWindow, this.streamWindow);
    this.idleSince = undefined;
    if (decoded.oversized) {
      this.streams.set(streamId, stream);
      stream.respond([[':status', '431']], true);
      return;
    }
    const headers = requestHeaders(decoded.headers);
    if (headers === undefined) return this.streamError(streamId, ErrorCode.PROTOCOL_ERROR);
    this.streams.set(streamId, stream);
    stream.peerEnding = endStream; // an answer inside onStream must not reset a stream the peer already ended
    this.opts.onStream(stream, headers);
    if (endStream) stream.remoteEnd();
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'a SETTINGS acknowledgement with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${payload.length}-byte SETTINGS frame`);
    if (payload.length / 6 > MAX_SETTINGS_ENTRIES) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `a SETTINGS frame of ${payload.length / 6} entries; the limit is ${MAX_SETTINGS_ENTRIES}`);
    const initialWindow = this.peerInitialWindow;
    let largestWindow = initialWindow;
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        this.peerInitialWindow = value;
        largestWindow = Math.max(largestWindow, value);
      }
      if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
        this.peerMaxFrameSize = value;
      }
      // HEADER_TABLE_SIZE: our encoder never indexes; MAX_CONCURRENT_STREAMS: the server opens none.
    }
    // Applied once: the windows end as if each entry had been, and an overflow on the way is still one.
    const delta = this.peerInitialWindow - initialWindow;
    if (delta !== 0 || largestWindow !== initialWindow) {
      for (const s of this.streams.values()) {
        if (s.sendWindow + (largestWindow - initialWindow) > MAX_WINDOW || !s.windowUpdate(delta)) {
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `a stream window over 2^31-1 after SETTINGS_INITIAL_WINDOW_SIZE ${largestWindow}`);
        }
      }
    }
    this.queue(SETTINGS_ACK);
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a ${payload.length}-byte WINDOW_UPDATE`);
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0 for the connection');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'the connection window over 2^31-1');
      const waiting = [...this.waitingForWindow];
      this.waitingForWindow.clear();
      for (const s of waiting) s.pump();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
      return;
    }
    if (increment === 0) return this.streamError(streamId, ErrorCode.PROTOCOL_ERROR);
    if (!stream.windowUpdate(increment)) this.streamError(streamId, ErrorCode.FLOW_CONTROL_ERROR);
  }

  private streamError(streamId: number, code: ErrorCode): void {
    const stream = this.streams.get(streamId);
    if (stream) stream.reset(code);
    else this.queue(rstStreamFrame(streamId, code));
  }
}

/** unpad strips a PADDED frame's pad length byte and padding (RFC 9113 §6.1). */
function unpad(payload: Buffer): Buffer {
  if (payload.length === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'a padded frame without its pad length');
  const pad = payload[0];
  if (pad >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `padding of ${pad} bytes in a ${payload.length}-byte frame`);
  return payload.subarray(1, payload.length - pad);
}

/**
 * requestHeaders checks a request's header list as RFC 9113 §8.2-8.3 requires of a server and returns
 * it by name; undefined when malformed (the stream is reset with PROTOCOL_ERROR).
 */
function requestHeaders(list: Array<[string, string]>): Record<string, string> | undefined {
  const out: Record<string, string> = Object.create(null);
  let regularSeen = false;
  for (const [name, value] of list) {
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) return undefined;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen || !REQUEST_PSEUDO.has(name) || out[name] !== undefined) return undefined;
    } else {
      regularSeen = true;
      if (CONNECTION_HEADERS.has(name) || (name === 'te' && value !== 'trailers')) return undefined;
    }
    if (out[name] === undefined) out[name] = value;
  }
  if (out[':method'] === undefined || out[':scheme'] === undefined || !out[':path']) return undefined;
  return out;
}
