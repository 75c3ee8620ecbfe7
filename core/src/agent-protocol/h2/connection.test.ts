// The lean HTTP/2 server connection against raw frames over a real socket: what RFC 9113 requires of a
// server (preface, SETTINGS, PING, flow control both ways, header validation, connection and stream
// errors), and against Node's own HTTP/2 client.
import http2 from 'node:http2';
import net from 'node:net';
import { H2Connection } from './connection';
import { CLIENT_PREFACE, ErrorCode, Flag, FrameType, Setting, frame, settingsFrame, windowUpdateFrame } from './frames';
import { HpackDecoder, encodeHeaders } from './hpack';
import type { H2Stream, StreamCloseReason } from './stream';

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

interface Served {
  stream: H2Stream;
  headers: Record<string, string>;
  data: Buffer[];
  ended: boolean;
  closed?: StreamCloseReason;
}

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** serve starts a TCP server whose connections are H2Connections; `onStream` may answer each request. */
async function serve(onStream: (s: Served) => void = () => undefined, opts: { streamWindow?: number; maxConcurrentStreams?: number } = {}) {
  const served: Served[] = [];
  const errors: string[] = [];
  const connections: H2Connection[] = [];
  const server = net.createServer((socket) => {
    connections.push(new H2Connection(socket, Buffer.alloc(0), {
      ...opts,
      onError: (m) => errors.push(m),
      onStream(stream, headers) {
        const s: Served = { stream, headers, data: [], ended: false };
        served.push(s);
        stream.onData = (chunk) => s.data.push(Buffer.from(chunk));
        stream.onEnd = () => (s.ended = true);
        stream.onClose = (reason) => (s.closed = reason);
        onStream(s);
      },
    }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, served, errors, connections };
}

/** A raw client: sends bytes, collects the server's frames, decodes header blocks. */
async function connect(port: number, preface = true) {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  const frames: Frame[] = [];
  let input = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (chunk) => {
    input = Buffer.concat([input, chunk]);
    while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
      const length = input.readUIntBE(0, 3);
      frames.push({ type: input[3], flags: input[4], streamId: input.readUInt32BE(5), payload: input.subarray(9, 9 + length) });
      input = input.subarray(9 + length);
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  if (preface) socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([])]));
  const decoder = new HpackDecoder();
  const client = {
    socket,
    frames,
    get closed() {
      return closed;
    },
    send: (...bufs: Buffer[]) => socket.write(Buffer.concat(bufs)),
    request: (streamId: number, headers: Array<[string, string]> = GRPC_REQUEST, flags = Flag.END_HEADERS) => frame(FrameType.HEADERS, flags, streamId, encodeHeaders(headers)),
    async waitFor(pred: (f: Frame) => boolean, what: string): Promise<Frame> {
      const deadline = Date.now() + 3000;
      for (;;) {
        const hit = frames.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no ${what}; frames: ${frames.map((f) => `${f.type}/${f.flags}/${f.streamId}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    headersOf: (f: Frame) => Object.fromEntries(decoder.decode(f.payload).headers),
    async goaway(): Promise<{ code: number; debug: string }> {
      const f = await client.waitFor((x) => x.type === FrameType.GOAWAY, 'GOAWAY');
      return { code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
    },
    async rst(streamId: number): Promise<number> {
      const f = await client.waitFor((x) => x.type === FrameType.RST_STREAM && x.streamId === streamId, `RST_STREAM on ${streamId}`);
      return f.payload.readUInt32BE(0);
    },
  };
  return client;
}

const GRPC_REQUEST: Array<[string, string]> = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/svc/Method'],
  [':authority', 'localhost'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
];

const data = (streamId: number, bytes: Buffer | string, flags = 0) => frame(FrameType.DATA, flags, streamId, Buffer.from(bytes));
const until = async (cond: () => boolean, what: string) => {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('connection setup', () => {
  test('the server sends its SETTINGS and acknowledges the client’s, and answers PING', async () => {
    const { port } = await serve();
    const c = await connect(port);
    const settings = await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0, 'server SETTINGS');
    const values = new Map<number, number>();
    for (let i = 0; i < settings.payload.length; i += 6) values.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    expect(values.get(Setting.MAX_CONCURRENT_STREAMS)).toBe(100_000);
    expect(values.get(Setting.ENABLE_PUSH)).toBe(0);
    await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK, 'SETTINGS ack');
    c.send(frame(FrameType.PING, 0, 0, Buffer.from('12345678')));
    const pong = await c.waitFor((f) => f.type === FrameType.PING, 'PING ack');
    expect(pong.flags).toBe(Flag.ACK);
    expect(pong.payload.toString()).toBe('12345678');
  });

  test('a wrong preface, or a first frame other than SETTINGS, ends the connection with PROTOCOL_ERROR', async () => {
    const { port, errors } = await serve();
    const c = await connect(port, false);
    c.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
    expect((await c.goaway()).code).toBe(ErrorCode.PROTOCOL_ERROR);
    await until(() => c.closed, 'the close');
    const d = await connect(port, false);
    d.send(CLIENT_PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    expect(await d.goaway()).toEqual({ code: ErrorCode.PROTOCOL_ERROR, debug: 'the client preface must end with a SETTINGS frame' });
    expect(errors.join('\n')).toMatch(/broke the protocol: not the HTTP\/2 client preface/);
  });

  test('frame-level violations are connection errors with the RFC’s code', async () => {
    const { port } = await serve();
    const cases: Array<[Buffer, ErrorCode, RegExp]> = [
      [Buffer.concat([Buffer.from([0, 0x40, 1, 0, 0, 0, 0, 0, 1]), Buffer.alloc(16_385)]), ErrorCode.FRAME_SIZE_ERROR, /16385-byte frame/],
      [frame(FrameType.PING, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR, /7-byte PING/],
      [frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR, /5-byte SETTINGS/],
      [settingsFrame([[Setting.MAX_FRAME_SIZE, 100]]), ErrorCode.PROTOCOL_ERROR, /MAX_FRAME_SIZE 100/],
      [settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0x8000_0000]]), ErrorCode.FLOW_CONTROL_ERROR, /INITIAL_WINDOW_SIZE/],
      [data(1, 'x'), ErrorCode.PROTOCOL_ERROR, /DATA on idle stream 1/],
      [data(0, 'x'), ErrorCode.PROTOCOL_ERROR, /DATA on stream 0/],
      [frame(FrameType.HEADERS, Flag.END_HEADERS, 2, encodeHeaders(GRPC_REQUEST)), ErrorCode.PROTOCOL_ERROR, /even-numbered stream 2/],
      [frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR, /PUSH_PROMISE/],
      [windowUpdateFrame(0, 0), ErrorCode.PROTOCOL_ERROR, /WINDOW_UPDATE of 0/],
      [Buffer.concat([windowUpdateFrame(0, 0x7fff_ffff)]), ErrorCode.FLOW_CONTROL_ERROR, /connection window over/],
      [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), ErrorCode.COMPRESSION_ERROR, /HPACK/],
      [Buffer.concat([frame(FrameType.HEADERS, 0, 1, encodeHeaders(GRPC_REQUEST)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR, /header block of stream 1 was interrupted/],
      [frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 1, Buffer.from([5, 1, 2])), ErrorCode.PROTOCOL_ERROR, /padding of 5 bytes/],
    ];
    for (const [bytes, code, debug] of cases) {
      const c = await connect(port);
      c.send(bytes);
      const got = await c.goaway();
      expect({ code: got.code, debug: got.debug }).toEqual({ code, debug: expect.stringMatching(debug) });
      await until(() => c.closed, 'the close after GOAWAY');
    }
  });
});

describe('limits a hostile peer meets', () => {
  test('a header block in endless CONTINUATIONs, or empty ones, ends the connection (ENHANCE_YOUR_CALM)', async () => {
    const { port } = await serve();
    const c = await connect(port);
    c.send(frame(FrameType.HEADERS, 0, 1, encodeHeaders(GRPC_REQUEST).subarray(0, 3)), ...Array.from({ length: 40 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.from([0x88]))));
    expect((await c.goaway()).code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    const d = await connect(port);
    d.send(frame(FrameType.HEADERS, 0, 1, encodeHeaders(GRPC_REQUEST).subarray(0, 3)), frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0)));
    expect(await d.goaway()).toEqual({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: expect.stringMatching(/CONTINUATION/) });
  });

  test('a SETTINGS frame of more than 32 entries ends the connection', async () => {
    const { port } = await serve();
    const c = await connect(port);
    c.send(settingsFrame(Array.from({ length: 33 }, () => [Setting.INITIAL_WINDOW_SIZE, 70_000] as [Setting, number])));
    expect(await c.goaway()).toEqual({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'a SETTINGS frame of 33 entries; the limit is 32' });
  });

  test('SETTINGS_INITIAL_WINDOW_SIZE entries apply to open streams once, as their sum', async () => {
    const { port } = await serve((s) => {
      s.stream.respond([[':status', '200']]);
      s.stream.write(Buffer.alloc(3000, 1));
    });
    const c = await connect(port, false);
    c.send(CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1000]]), c.request(1));
    await c.waitFor((f) => f.type === FrameType.DATA, 'the first 1,000 bytes');
    c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 500], [Setting.INITIAL_WINDOW_SIZE, 2500]]));
    await c.waitFor((f) => f.type === FrameType.DATA && f.payload.length === 1500, 'the next 1,500');
    await new Promise((r) => setTimeout(r, 30));
    expect(c.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length)).toEqual([1000, 1500]);
  });

  test('streams opened and reset by the thousand end the connection (rapid reset)', async () => {
    const { port, served } = await serve();
    const c = await connect(port);
    const burst: Buffer[] = [];
    for (let id = 1; id <= 2 * 1002; id += 2) burst.push(c.request(id), frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, ErrorCode.CANCEL])));
    c.send(...burst);
    expect(await c.goaway()).toEqual({ code: ErrorCode.ENHANCE_YOUR_CALM, debug: 'more than 1000 stream resets at once' });
    expect(served.length).toBeLessThanOrEqual(1002);
  });

  test.each([
    ['a CR LF in a value', [...GRPC_REQUEST, ['x-log', 'ok\r\nforged: line']]],
    ['a NUL in a value', [...GRPC_REQUEST, ['x-log', 'a\0b']]],
    ['a space in a name', [...GRPC_REQUEST, ['x log', 'v']]],
    ['leading whitespace in a value', [...GRPC_REQUEST, ['x-log', ' v']]],
  ] as Array<[string, Array<[string, string]>]>)('a field with %s is a malformed request', async (_, headers) => {
    const { port, served } = await serve();
    const c = await connect(port);
    c.send(c.request(1, headers));
    expect(await c.rst(1)).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(served).toHaveLength(0);
  });

  test('a peer that reads nothing loses its connection once its last stream is reset', async () => {
    const { port, served, connections, errors } = await serve((s) => {
      s.stream.respond([[':status', '200']]);
      for (let i = 0; i < 64; i++) s.stream.write(Buffer.alloc(64 * 1024, 1));
    });
    const c = await connect(port, false);
    c.send(CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0x7fff_ffff]]), windowUpdateFrame(0, 0x7fff_ffff - 65_535), c.request(1));
    c.socket.pause(); // reads nothing from now on
    await until(() => served.length === 1, 'the stream');
    await new Promise((r) => setTimeout(r, 100));
    expect(connections[0].bufferedBytes).toBeGreaterThan(1024 * 1024);
    served[0].stream.reset(ErrorCode.ENHANCE_YOUR_CALM);
    await until(() => connections[0].closed && served[0].closed !== undefined, 'the connection dropped');
    expect(errors.join('\n')).toMatch(/its last stream ended with \d+ bytes it did not read/);
  });

  test('after its GOAWAY the server closes a connection the peer keeps half-open', async () => {
    const { port } = await serve();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(socket);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => undefined);
    socket.write('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n');
    const t0 = Date.now();
    // The peer keeps writing: once the server has destroyed its socket, a write is answered with a reset.
    const writer = setInterval(() => socket.writable && socket.write('x'), 100);
    await closed;
    clearInterval(writer);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

describe('requests', () => {
  test('a handler that throws ends only its connection (INTERNAL_ERROR), and the server goes on', async () => {
    let calls = 0;
    const { port, errors } = await serve((s) => {
      if (++calls === 1) throw new Error('boom');
      s.stream.respond([[':status', '200']], true);
    });
    const c = await connect(port);
    c.send(c.request(1));
    expect(await c.goaway()).toEqual({ code: ErrorCode.INTERNAL_ERROR, debug: 'internal error' });
    expect(errors.join('\n')).toMatch(/was closed: the server failed: Error: boom/);
    const d = await connect(port);
    d.send(d.request(1, GRPC_REQUEST, Flag.END_HEADERS | Flag.END_STREAM));
    expect(d.headersOf(await d.waitFor((f) => f.type === FrameType.HEADERS, 'an answer'))).toEqual({ ':status': '200' });
  });

  test('headers split over CONTINUATION, padded DATA, END_STREAM: the handler sees them in order', async () => {
    const { port, served } = await serve((s) => {
      s.stream.respond([[':status', '200'], ['content-type', 'application/grpc']]);
      s.stream.onEnd = () => {
        s.ended = true;
        s.stream.write(Buffer.from('reply'));
        s.stream.end([['grpc-status', '0']]);
      };
    });
    const c = await connect(port);
    const block = encodeHeaders([...GRPC_REQUEST, ['x-long', 'v'.repeat(300)]]);
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from('hello'), Buffer.alloc(3)]);
    c.send(
      frame(FrameType.HEADERS, Flag.PRIORITY, 1, Buffer.concat([Buffer.alloc(5), block.subarray(0, 10)])),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 100)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(100)),
      frame(FrameType.DATA, Flag.PADDED, 1, padded),
      data(1, ' world', Flag.END_STREAM),
    );
    await until(() => served.length === 1 && served[0].closed !== undefined, 'the stream to close');
    expect(served[0].headers[':path']).toBe('/svc/Method');
    expect(served[0].headers['x-long']).toHaveLength(300);
    expect(Buffer.concat(served[0].data).toString()).toBe('hello world');
    expect(served[0].closed).toEqual({ kind: 'done' });
    const headers = c.frames.filter((f) => f.type === FrameType.HEADERS);
    expect(headers.map((f) => c.headersOf(f))).toEqual([{ ':status': '200', 'content-type': 'application/grpc' }, { 'grpc-status': '0' }]);
    expect(headers[1].flags & Flag.END_STREAM).toBe(Flag.END_STREAM);
    const body = c.frames.filter((f) => f.type === FrameType.DATA && f.streamId === 1);
    expect(Buffer.concat(body.map((f) => f.payload)).toString()).toBe('reply');
  });

  test.each([
    ['an uppercase name', [...GRPC_REQUEST, ['X-Bad', '1']]],
    ['no :path', GRPC_REQUEST.filter(([n]) => n !== ':path')],
    ['an unknown pseudo-header', [...GRPC_REQUEST.slice(0, 4), [':status', '200'], ...GRPC_REQUEST.slice(4)]],
    ['a pseudo-header after a regular one', [...GRPC_REQUEST, [':authority', 'again']]],
    ['a connection-specific header', [...GRPC_REQUEST, ['connection', 'keep-alive']]],
    ['te other than trailers', [...GRPC_REQUEST.slice(0, 5), ['te', 'gzip']]],
  ] as Array<[string, Array<[string, string]>]>)('a malformed request (%s) is reset with PROTOCOL_ERROR; the connection stays', async (_, headers) => {
    const { port, served } = await serve((s) => s.stream.respond([[':status', '200']], true));
    const c = await connect(port);
    c.send(c.request(1, headers));
    expect(await c.rst(1)).toBe(ErrorCode.PROTOCOL_ERROR);
    c.send(c.request(3, GRPC_REQUEST, Flag.END_HEADERS | Flag.END_STREAM));
    const ok = await c.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 3, 'the next request answered');
    expect(c.headersOf(ok)).toEqual({ ':status': '200' });
    expect(served).toHaveLength(1);
    // The request ended with its headers: answering it at once needs no reset of the stream.
    await new Promise((r) => setTimeout(r, 30));
    expect(c.frames.filter((f) => f.type === FrameType.RST_STREAM && f.streamId === 3)).toEqual([]);
  });

  test('headers over the advertised list size are answered 431; streams beyond the limit are refused', async () => {
    const { port, served } = await serve(() => undefined, { maxConcurrentStreams: 1 });
    const c = await connect(port);
    c.send(c.request(1, [...GRPC_REQUEST, ['x-big', 'b'.repeat(70_000)]].slice(0) as Array<[string, string]>));
    // 70,000 bytes of header block exceed one frame: send it in CONTINUATIONs instead.
    const d = await connect(port);
    const block = encodeHeaders([...GRPC_REQUEST, ['x-big', 'b'.repeat(70_000)]]);
    const parts = [frame(FrameType.HEADERS, 0, 1, block.subarray(0, 16_000))];
    for (let at = 16_000; at < block.length; at += 16_000) parts.push(frame(FrameType.CONTINUATION, at + 16_000 >= block.length ? Flag.END_HEADERS : 0, 1, block.subarray(at, at + 16_000)));
    d.send(...parts);
    const answer = await d.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 1, 'the 431');
    expect(d.headersOf(answer)).toEqual({ ':status': '431' });
    expect(answer.flags & Flag.END_STREAM).toBe(Flag.END_STREAM);
    expect((await c.goaway()).code).toBe(ErrorCode.FRAME_SIZE_ERROR); // the single 70 KB frame
    const e = await connect(port);
    e.send(e.request(1), e.request(3));
    expect(await e.rst(3)).toBe(ErrorCode.REFUSED_STREAM);
    await until(() => served.length === 1, 'the first stream served');
  });
});

describe('flow control', () => {
  test('the server never sends beyond the client’s windows, and resumes on WINDOW_UPDATE', async () => {
    const payload = Buffer.alloc(100_000, 7);
    const { port } = await serve((s) => {
      s.stream.respond([[':status', '200']]);
      s.stream.write(payload);
      s.stream.end([['grpc-status', '0']]);
    });
    const c = await connect(port, false);
    c.send(CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1000], [Setting.MAX_FRAME_SIZE, 16_384]]), c.request(1));
    await until(() => c.frames.some((f) => f.type === FrameType.DATA), 'the first DATA');
    await new Promise((r) => setTimeout(r, 50));
    const sent = () => c.frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
    expect(sent()).toBe(1000);
    c.send(windowUpdateFrame(1, 200_000));
    await new Promise((r) => setTimeout(r, 50));
    expect(sent()).toBe(65_535); // now the connection's window holds it back
    c.send(windowUpdateFrame(0, 200_000));
    await c.waitFor((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0, 'the trailers');
    expect(sent()).toBe(100_000);
    expect(c.frames.filter((f) => f.type === FrameType.DATA).every((f) => f.payload.length <= 16_384)).toBe(true);
  });

  test('the server opens its windows as it reads, and a client that overruns them is stopped', async () => {
    const { port, served } = await serve(undefined, { streamWindow: 10_000 });
    const c = await connect(port);
    c.send(c.request(1), data(1, Buffer.alloc(9_000, 1)));
    const update = await c.waitFor((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 1, 'a stream WINDOW_UPDATE');
    expect(update.payload.readUInt32BE(0)).toBe(9_000);
    await until(() => served.length === 1 && Buffer.concat(served[0].data).length === 9_000, 'the data');
    // The window is 10,000 again: a 16,000-byte frame overruns it.
    c.send(data(1, Buffer.alloc(16_000)));
    expect(await c.rst(1)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
    await until(() => served[0].closed !== undefined, 'the stream closed');
    expect(served[0].closed).toEqual({ kind: 'reset', code: ErrorCode.FLOW_CONTROL_ERROR, byPeer: false });
  });
});

describe('endings', () => {
  test('a client reset and a lost connection close the stream and say how', async () => {
    const { port, served } = await serve();
    const c = await connect(port);
    c.send(c.request(1), c.request(3));
    await until(() => served.length === 2, 'two streams');
    c.send(frame(FrameType.RST_STREAM, 0, 1, Buffer.from([0, 0, 0, ErrorCode.CANCEL])));
    await until(() => served[0].closed !== undefined, 'the reset');
    expect(served[0].closed).toEqual({ kind: 'reset', code: ErrorCode.CANCEL, byPeer: true });
    c.socket.destroy();
    await until(() => served[1].closed !== undefined, 'the loss');
    expect(served[1].closed).toMatchObject({ kind: 'lost' });
  });

  test('ending the response before the client ended its side resets the rest with NO_ERROR', async () => {
    const { port, served } = await serve((s) => {
      s.stream.respond([[':status', '200']]);
      s.stream.end([['grpc-status', '0']]);
    });
    const c = await connect(port);
    c.send(c.request(1));
    expect(await c.rst(1)).toBe(ErrorCode.NO_ERROR);
    await until(() => served[0].closed !== undefined, 'the close');
    expect(served[0].closed).toEqual({ kind: 'done' });
    c.send(data(1, 'late')); // dropped, not an error
    c.send(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await c.waitFor((f) => f.type === FrameType.PING, 'the connection still up');
  });

  test('Node’s own HTTP/2 client talks to it: a request, a streamed body, trailers', async () => {
    const { port } = await serve((s) => {
      s.stream.respond([[':status', '200'], ['content-type', 'application/grpc']]);
      s.stream.onData = (chunk) => s.stream.write(Buffer.from(chunk.toString().toUpperCase()));
      s.stream.onEnd = () => s.stream.end([['grpc-status', '0'], ['grpc-message', 'fine']]);
    });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/svc/Echo', 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
      const response = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on('response', resolve));
      const ended = new Promise((resolve) => req.on('end', resolve));
      req.write('abc');
      req.end('def'.repeat(30_000));
      expect((await response)[':status']).toBe(200);
      expect(await trailers).toMatchObject({ 'grpc-status': '0', 'grpc-message': 'fine' });
      await ended;
      expect(Buffer.concat(chunks).toString()).toBe(`ABC${'DEF'.repeat(30_000)}`);
    } finally {
      session.destroy();
    }
  });
});
