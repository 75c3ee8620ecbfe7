/**
 * One request stream of a lean HTTP/2 server connection ({@link H2Connection}): what the agent link's
 * gRPC layer reads from and writes to. Callbacks, not events: the master holds 10,000 of these and
 * each event listener costs.
 */
import { ErrorCode, FRAME_HEADER_BYTES, Flag, FrameType, MAX_WINDOW, frame, headerFrames, rstStreamFrame, writeFrameHeader } from './frames';
import { encodeHeaders } from './hpack';

/** HeaderList is a header block in order: [name, value] pairs, names lowercase. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** StreamCloseReason says how a stream ended: both sides done, reset (by whom, with what code), or its connection lost. */
export type StreamCloseReason = { kind: 'done' } | { kind: 'reset'; code: ErrorCode; byPeer: boolean } | { kind: 'lost'; message: string };

/** What a stream needs of its connection. */
export interface StreamOwner {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** heldBytes is what the connection's streams hold of unfinished messages (see H2Stream.hold). */
  heldBytes: number;
  /** sendWindow is the connection's flow-control window towards the peer. */
  sendWindow: number;
  readonly peerMaxFrameSize: number;
  /** bufferedBytes is what the connection's socket holds unsent. */
  readonly bufferedBytes: number;
  queue(bytes: Buffer): void;
  /** blocked: the stream has data waiting for the connection's window. */
  blocked(stream: H2Stream): void;
  streamClosed(stream: H2Stream): void;
}

/** H2Stream is one client-initiated stream, from the server's side. */
export class H2Stream {
  /** onData receives the request body as it arrives (DATA payloads, padding removed). */
  onData: ((chunk: Buffer) => void) | undefined;
  /** onEnd runs when the peer ended its side (END_STREAM): no more data comes. */
  onEnd: (() => void) | undefined;
  /** onClose runs once when the stream is gone for both sides; nothing else runs after it. */
  onClose: ((reason: StreamCloseReason) => void) | undefined;

  /** sendWindow is the peer's flow-control window for this stream (it may go negative after a SETTINGS change). */
  sendWindow: number;
  /** recvWindow is what the peer may still send on this stream before a WINDOW_UPDATE. */
  recvWindow: number;
  /** consumed is what arrived since the last WINDOW_UPDATE for this stream. */
  consumed = 0;
  remoteEnded = false;
  /** peerEnding: the request's HEADERS carried END_STREAM (applied once the handler has seen the stream). */
  peerEnding = false;
  closed = false;
  private responded = false;
  private ending = false;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private trailers: Buffer | undefined;
  private held = 0;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    initialSendWindow: number,
    initialRecvWindow: number,
  ) {
    this.sendWindow = initialSendWindow;
    this.recvWindow = initialRecvWindow;
  }

  /** remoteAddress and remotePort are the peer's, as its connection was accepted. */
  get remoteAddress(): string {
    return this.owner.remoteAddress;
  }
  get remotePort(): number {
    return this.owner.remotePort;
  }

  /** queuedBytes is what waits to leave for this peer: this stream's data held back by flow control, and the socket's unsent bytes. */
  get queuedBytes(): number {
    return this.pendingBytes + this.owner.bufferedBytes;
  }

  /** respond sends the response headers; `endStream` makes them the whole response (e.g. a trailers-only gRPC answer). */
  respond(headers: HeaderList, endStream = false): void {
    if (this.closed || this.responded) return;
    this.responded = true;
    this.owner.queue(headerFrames(this.id, encodeHeaders(headers), endStream, this.owner.peerMaxFrameSize));
    if (endStream) {
      this.ending = true;
      this.localEnded();
    }
  }

  /** write queues body bytes; they leave as the peer's flow-control windows allow. */
  write(data: Buffer): void {
    if (this.closed || this.ending || data.length === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.pump();
  }

  /**
   * end finishes the response after what is queued: the trailers (or an empty END_STREAM DATA frame).
   * A peer that has not ended its side by then is reset with NO_ERROR (RFC 9113 §8.1: the response is
   * complete, the rest of its request is not wanted).
   */
  end(trailers?: HeaderList): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.trailers = trailers ? headerFrames(this.id, encodeHeaders(trailers), true, this.owner.peerMaxFrameSize) : frame(FrameType.DATA, Flag.END_STREAM, this.id);
    this.pump();
  }

  /** reset ends the stream at once with RST_STREAM; what was queued is dropped. */
  reset(code: ErrorCode = ErrorCode.CANCEL): void {
    if (this.closed) return;
    this.owner.queue(rstStreamFrame(this.id, code));
    this.close({ kind: 'reset', code, byPeer: false });
  }

  /** pump sends queued data as far as both windows allow, then the trailers once nothing is left. */
  pump(): void {
    while (this.pending.length > 0 && !this.closed) {
      const window = Math.min(this.sendWindow, this.owner.sendWindow);
      if (window <= 0) {
        if (this.owner.sendWindow <= 0) this.owner.blocked(this);
        return;
      }
      const head = this.pending[0];
      const n = Math.min(head.length, window, this.owner.peerMaxFrameSize);
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      writeFrameHeader(out, 0, n, FrameType.DATA, 0, this.id);
      head.copy(out, FRAME_HEADER_BYTES, 0, n);
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      this.pendingBytes -= n;
      this.sendWindow -= n;
      this.owner.sendWindow -= n;
      this.owner.queue(out);
    }
    if (this.trailers && this.pending.length === 0 && !this.closed) {
      this.owner.queue(this.trailers);
      this.trailers = undefined;
      this.localEnded();
    }
  }

  /** windowUpdate grants more of the stream's window; false when it overflows (a FLOW_CONTROL_ERROR). */
  windowUpdate(increment: number): boolean {
    this.sendWindow += increment;
    if (this.sendWindow > MAX_WINDOW) return false;
    this.pump();
    return true;
  }

  /**
   * hold records how much of the peer's input this stream's reader keeps (an unfinished message) and
   * returns what all streams of the connection keep: the connection's window opens as data is read, so
   * a bound on what the reader keeps is the reader's to enforce, per connection as well as per stream.
   */
  hold(bytes: number): number {
    if (!this.closed) {
      this.owner.heldBytes += bytes - this.held;
      this.held = bytes;
    }
    return this.owner.heldBytes;
  }

  /** remoteEnd: the peer sent END_STREAM. */
  remoteEnd(): void {
    if (this.remoteEnded || this.closed) return;
    this.remoteEnded = true;
    this.onEnd?.();
    if (this.ending && this.trailers === undefined && this.pending.length === 0) this.close({ kind: 'done' });
  }

  /** close ends the stream for good and tells the owner and the reader, once. */
  close(reason: StreamCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.heldBytes -= this.held;
    this.held = 0;
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.trailers = undefined;
    this.owner.streamClosed(this);
    const onClose = this.onClose;
    this.onData = this.onEnd = this.onClose = undefined;
    onClose?.(reason);
  }

  // Our side has ended: done if the peer's has too, else the peer is told to stop (see end()).
  private localEnded(): void {
    if (this.remoteEnded || this.peerEnding) {
      this.close({ kind: 'done' });
    } else {
      this.owner.queue(rstStreamFrame(this.id, ErrorCode.NO_ERROR));
      this.close({ kind: 'done' });
    }
  }
}
