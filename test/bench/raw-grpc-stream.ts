/**
 * RawGrpcStream is the bench's cheapest gRPC client: one bidirectional call on its own HTTP/2
 * connection, written straight on a TCP socket. The bytes are what any gRPC client sends (the client
 * preface, SETTINGS, a HEADERS frame with the call's headers HPACK-encoded, DATA frames holding
 * length-prefixed messages) and it keeps HTTP/2's rules towards the master: SETTINGS acknowledged, PINGs
 * answered, flow control both ways. What it leaves out is what a simulator does not need: response
 * headers are not decoded (the call's end is the END_STREAM flag, a reset, or the connection closing).
 *
 * Why: 10,000 simulated agents share two CPUs with the master under test. Node's http2 client costs
 * about four times the CPU of this per connection, and then the re-registration figure measures the
 * simulators more than the master.
 */
import net from 'node:net';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, Flag, FrameType, SETTINGS_ACK, Setting, frame, windowUpdateFrame, writeFrameHeader } from '../../core/src/agent-protocol/h2/frames';
import { encodeHeaders } from '../../core/src/agent-protocol/h2/hpack';

const { DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE } = FrameType;
const { END_STREAM, ACK, END_HEADERS, PADDED } = Flag;
const STREAM = 1;

/** The client's windows are the default 65,535 bytes; it gives back what it read once half is used. */
const GRANT_AT = 32_768;

/** callOpening is what opens a call: the preface, empty SETTINGS (defaults), and the call's HEADERS. */
export function callOpening(authority: string, path: string, metadata: ReadonlyArray<readonly [string, string]>): Buffer {
  const block = encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', authority], ['content-type', 'application/grpc+proto'], ['te', 'trailers'], ...metadata]);
  return Buffer.concat([CLIENT_PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, STREAM, block)]);
}

/** RawGrpcStream: see the module comment. */
export class RawGrpcStream {
  private readonly socket: net.Socket;
  private input = Buffer.alloc(0);
  private sendWindow = DEFAULT_WINDOW;
  private connWindow = DEFAULT_WINDOW;
  private readonly waiting: Buffer[] = [];
  private ended = false;
  /** What was read since the last WINDOW_UPDATE. */
  private consumed = 0;

  constructor(
    host: string,
    port: number,
    opening: Buffer,
    first: Buffer | undefined,
    private readonly onMessageBytes: (chunk: Buffer) => void,
    private readonly onClose: () => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', () => undefined); // 'close' follows
    this.socket.on('close', () => this.end());
    // The opening and the first message leave in one write, as one TCP segment.
    this.socket.cork();
    this.socket.write(opening);
    if (first) this.write(first);
    this.socket.uncork();
  }

  /** write sends bytes of the call's body (gRPC-framed messages), as the master's windows allow. */
  write(bytes: Buffer): void {
    if (this.ended) return;
    this.waiting.push(bytes);
    this.pump();
  }

  /** destroy drops the connection (a crash). */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private end(): void {
    if (this.ended && this.socket.destroyed) return;
    this.ended = true;
    this.socket.destroy();
    this.onClose();
  }

  private pump(): void {
    const out: Buffer[] = [];
    while (this.waiting.length > 0) {
      const head = this.waiting[0];
      const n = Math.min(head.length, this.sendWindow, this.connWindow, DEFAULT_MAX_FRAME_SIZE);
      if (n <= 0) break;
      const f = Buffer.allocUnsafe(9 + n);
      writeFrameHeader(f, 0, n, DATA, 0, STREAM);
      head.copy(f, 9, 0, n);
      out.push(f);
      this.sendWindow -= n;
      this.connWindow -= n;
      if (n === head.length) this.waiting.shift();
      else this.waiting[0] = head.subarray(n);
    }
    if (out.length === 1) this.socket.write(out[0]);
    else if (out.length > 1) this.socket.write(Buffer.concat(out));
  }

  private receive(chunk: Buffer): void {
    const buf = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    let at = 0;
    let consumed = 0;
    const replies: Buffer[] = [];
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3];
      const flags = buf[at + 4];
      const stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = buf.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      if (type === DATA) {
        consumed += length;
        const data = flags & PADDED ? payload.subarray(1, payload.length - payload[0]) : payload;
        if (stream === STREAM && data.length > 0) this.onMessageBytes(data);
        if (flags & END_STREAM) return this.end();
      } else if (type === HEADERS) {
        if (flags & END_STREAM) return this.end(); // the trailers: the call is over
      } else if (type === SETTINGS) {
        if (!(flags & ACK)) {
          for (let i = 0; i + 6 <= payload.length; i += 6) {
            if (payload.readUInt16BE(i) === Setting.INITIAL_WINDOW_SIZE) this.sendWindow += payload.readUInt32BE(i + 2) - DEFAULT_WINDOW;
          }
          replies.push(SETTINGS_ACK);
        }
      } else if (type === PING) {
        if (!(flags & ACK)) replies.push(frame(PING, ACK, 0, payload));
      } else if (type === WINDOW_UPDATE) {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (stream === 0) this.connWindow += inc;
        else this.sendWindow += inc;
      } else if (type === RST_STREAM || type === GOAWAY) {
        return this.end();
      }
    }
    this.input = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    this.consumed += consumed;
    if (this.consumed >= GRANT_AT) {
      // Give back what was read once half the window is used, as nghttp2 (Node's and grpc-js's) does.
      replies.push(windowUpdateFrame(0, this.consumed), windowUpdateFrame(STREAM, this.consumed));
      this.consumed = 0;
    }
    if (replies.length) this.socket.write(replies.length === 1 ? replies[0] : Buffer.concat(replies));
    if (this.waiting.length) this.pump();
  }
}
