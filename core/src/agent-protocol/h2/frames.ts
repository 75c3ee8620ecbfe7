/**
 * HTTP/2 frame constants and builders (RFC 9113 §4, §6): what the lean server writes. Every builder
 * returns one Buffer holding the 9-byte frame header and the payload, ready for the socket.
 */

/** CLIENT_PREFACE opens every HTTP/2 connection (RFC 9113 §3.4), before the client's SETTINGS. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** FRAME_HEADER_BYTES is the fixed header of every frame: length (24 bits), type, flags, stream id (31 bits). */
export const FRAME_HEADER_BYTES = 9;

/** FrameType numbers (RFC 9113 §6). */
export enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

/** Flag bits (their meaning depends on the frame type). */
export enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** ErrorCode values for RST_STREAM and GOAWAY (RFC 9113 §7). */
export enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

/** Setting identifiers (RFC 9113 §6.5.2). */
export enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

/** DEFAULT_WINDOW is every flow-control window's size before SETTINGS or WINDOW_UPDATE change it. */
export const DEFAULT_WINDOW = 65_535;
/** MAX_WINDOW is the largest a flow-control window may grow (2^31 - 1). */
export const MAX_WINDOW = 0x7fff_ffff;
/** DEFAULT_MAX_FRAME_SIZE is the largest frame payload a peer accepts until its SETTINGS say more. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

/** frame builds one frame around `payload` (or an empty one). */
export function frame(type: FrameType, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  writeFrameHeader(out, 0, length, type, flags, streamId);
  if (payload) out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** writeFrameHeader writes a 9-byte frame header at `at`. */
export function writeFrameHeader(out: Buffer, at: number, length: number, type: FrameType, flags: number, streamId: number): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId & MAX_WINDOW, at + 5);
}

/** settingsFrame is a SETTINGS frame with the given [id, value] pairs. */
export function settingsFrame(settings: ReadonlyArray<readonly [Setting, number]>): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** SETTINGS_ACK acknowledges the peer's SETTINGS. */
export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);

/** windowUpdateFrame grants the peer `increment` more bytes on a stream (0: the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(increment & MAX_WINDOW, FRAME_HEADER_BYTES);
  return out;
}

/** rstStreamFrame ends one stream with an error code. */
export function rstStreamFrame(streamId: number, code: ErrorCode): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return out;
}

/** goawayFrame ends the connection: the last stream the server processed, why, and a debug text for people. */
export function goawayFrame(lastStreamId: number, code: ErrorCode, debug: string): Buffer {
  const text = Buffer.from(debug.slice(0, 1024), 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.length);
  writeFrameHeader(out, 0, 8 + text.length, FrameType.GOAWAY, 0, 0);
  out.writeUInt32BE(lastStreamId & MAX_WINDOW, FRAME_HEADER_BYTES);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  text.copy(out, FRAME_HEADER_BYTES + 8);
  return out;
}

/**
 * headerFrames carries one encoded header block: a HEADERS frame, then CONTINUATION frames when the
 * block is larger than the peer's frame size.
 */
export function headerFrames(streamId: number, block: Buffer, endStream: boolean, maxFrameSize: number): Buffer {
  const endFlag = endStream ? Flag.END_STREAM : 0;
  if (block.length <= maxFrameSize) {
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length);
    writeFrameHeader(out, 0, block.length, FrameType.HEADERS, Flag.END_HEADERS | endFlag, streamId);
    block.copy(out, FRAME_HEADER_BYTES);
    return out;
  }
  const parts: Buffer[] = [];
  for (let at = 0; at < block.length; at += maxFrameSize) {
    const piece = block.subarray(at, at + maxFrameSize);
    const last = at + maxFrameSize >= block.length;
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 ? endFlag : 0);
    parts.push(frame(type, flags, streamId, piece));
  }
  return Buffer.concat(parts);
}
