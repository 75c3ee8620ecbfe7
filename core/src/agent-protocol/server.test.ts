// The master's side over real sockets: the version rule, malformed messages, refusals, goodbyes and
// crashes, and an agent that stops reading.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import { destroyClients, newClient, rawConnect, startTestMaster, waitFor, type TestMaster } from '../../../test/support/test-master';
import type { DisconnectedEvent } from './client';
import { PROTOCOL_METADATA, PROTOCOL_VERSION, type MasterMessage } from './messages';
import { CONNECT_PATH, MAX_MESSAGE_BYTES, checkAgentProtocol, decodeMasterMessage, encodeAgentMessage } from './protocol';

const REGISTER = { register: { agent_info: { hostname: 'node-1' } } };

function statusOf(call: grpc.ClientDuplexStream<Buffer, Buffer>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.once('status', resolve));
}

// An agent in another process (raw grpc-js), so that killing it drops its TCP connection for real.
function spawnRawAgent(address: string): ChildProcess {
  const script = `
    const grpc = require('@grpc/grpc-js');
    const client = new grpc.Client(${JSON.stringify(address)}, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('${PROTOCOL_METADATA}', '${PROTOCOL_VERSION}');
    const call = client.makeBidiStreamRequest('/tessera.agent.v1.AgentLink/Connect', (b) => b, (b) => b, md);
    call.on('error', () => {});
    setInterval(() => {}, 1000);`;
  return spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: 'ignore' });
}

let master: TestMaster;
afterEach(async () => {
  destroyClients();
  await master?.close();
});

describe('version rule', () => {
  test('an agent of another major is refused with FAILED_PRECONDITION saying what to upgrade', async () => {
    master = await startTestMaster();
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: '2.1' });
    const status = await statusOf(call);
    client.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe(
      `the agent speaks Tessera agent protocol 2.1 but this master speaks Tessera agent protocol ${PROTOCOL_VERSION} and accepts agents of protocol 1.x only: ` +
        'upgrade the master to a release that speaks protocol 2.x, or run an agent release that speaks protocol 1.x',
    );
    expect(status.metadata.get('tessera-error-code')).toEqual(['TSR_AGENT_PROTOCOL_MISMATCH']);
    expect(status.metadata.get(PROTOCOL_METADATA)).toEqual([PROTOCOL_VERSION]);
    expect(master.connects).toHaveLength(0);
  });

  test('refusals are logged at most once a second, saying how many went unlogged', async () => {
    master = await startTestMaster();
    for (let i = 0; i < 5; i++) {
      const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: '2.1' });
      expect((await statusOf(call)).code).toBe(grpc.status.FAILED_PRECONDITION);
      client.close();
    }
    expect(master.logs.filter((l) => l.includes('refused an agent connection'))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1050));
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: '2.1' });
    await statusOf(call);
    client.close();
    const lines = master.logs.filter((l) => l.includes('refused an agent connection'));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/\(and 4 more refused since the last such line\)/);
  });

  test('an agent that sends no version is told to upgrade', async () => {
    master = await startTestMaster();
    const { client, call } = rawConnect(master.address);
    const status = await statusOf(call);
    client.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toMatch(/^the agent sent no tessera-agent-protocol metadata, but this master speaks .* upgrade the agent/);
  });

  test('older majors and garbage are refused too', () => {
    expect(checkAgentProtocol('0.9')?.message).toMatch(/speaks Tessera agent protocol 0\.9 .* upgrade the agent to a release that speaks protocol 1\.x$/);
    expect(checkAgentProtocol('one')?.message).toMatch(/"one", which is not a version such as "1\.1"/);
    expect(checkAgentProtocol('1.0.3')).toBeUndefined();
  });

  test('an agent of the same major and a newer minor is accepted and learns the master version', async () => {
    master = await startTestMaster({ onMessage: (conn) => conn.send({ ping: { seq: 1 } }) });
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: '1.7' });
    const metadata = new Promise<grpc.Metadata>((resolve) => call.once('metadata', resolve));
    const first = new Promise<Buffer>((resolve) => call.once('data', resolve));
    call.write(encodeAgentMessage(REGISTER));
    expect((await metadata).get(PROTOCOL_METADATA)).toEqual([PROTOCOL_VERSION]);
    expect(decodeMasterMessage(await first)).toEqual({ ping: { seq: 1 } });
    expect(master.connects[0].protocolVersion).toBe('1.7');
    call.cancel();
    client.close();
  });
});

describe('malformed messages', () => {
  test('close only the connection that sent them, with INVALID_ARGUMENT naming the field', async () => {
    master = await startTestMaster();
    const good = newClient();
    good.connect(master.address);
    await waitFor(() => good.connected, 'the good agent');

    const bad = rawConnect(master.address, { [PROTOCOL_METADATA]: PROTOCOL_VERSION });
    // A Register without its required agent_info.hostname: field 1 (register) holding field 1 (agent_info) empty.
    bad.call.write(Buffer.from([0x0a, 0x02, 0x0a, 0x00]));
    const status = await statusOf(bad.call);
    bad.client.close();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/^malformed message from agent 127\.0\.0\.1:\d+: tessera\.agent\.v1\.AgentMessage: register\.agent_info\.hostname: required field is missing$/);
    await waitFor(() => master.disconnects.length === 1, 'the bad connection to end');
    expect(master.disconnects[0].error?.message).toMatch(/register\.agent_info\.hostname/);

    // Bytes that are not protobuf at all.
    const worse = rawConnect(master.address, { [PROTOCOL_METADATA]: PROTOCOL_VERSION });
    worse.call.write(Buffer.from([0xff, 0xff, 0xff]));
    expect((await statusOf(worse.call)).code).toBe(grpc.status.INVALID_ARGUMENT);
    worse.client.close();

    // The good agent is untouched.
    expect(good.send(REGISTER)).toBe(true);
    await waitFor(() => master.messages.length === 1, 'the good agent message');
    expect(master.messages[0].msg).toEqual(REGISTER);
    expect(master.link.connections).toHaveLength(1);
    await good.close();
  });

  test('a message of a kind this master does not know (a newer minor) is skipped', async () => {
    master = await startTestMaster();
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: '1.9' });
    call.write(Buffer.from([0xaa, 0x06, 0x00])); // field 101, an empty message: unknown here
    call.write(encodeAgentMessage({ pong: { seq: 3 } }));
    await waitFor(() => master.messages.length === 1, 'the pong');
    expect(master.messages[0].msg).toEqual({ pong: { seq: 3 } });
    expect(master.disconnects).toHaveLength(0);
    call.cancel();
    client.close();
  });
});

/** h2Request opens a stream with a plain HTTP/2 client (no gRPC library), to send exactly the bytes a test needs. */
function h2Request(address: string, headers: http2.OutgoingHttpHeaders) {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': CONNECT_PATH, 'content-type': 'application/grpc', te: 'trailers', [PROTOCOL_METADATA]: PROTOCOL_VERSION, ...headers });
  stream.on('error', () => undefined);
  const answer = new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }>((resolve) => {
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    const done = () => resolve({ headers: head, trailers, body: Buffer.concat(body) });
    stream.on('response', (h) => (head = h));
    // The master ends its side (trailers, or a trailers-only answer); this client never ends its own.
    stream.on('trailers', (t) => {
      trailers = t;
      done();
    });
    stream.on('data', (c: Buffer) => body.push(c));
    stream.on('end', done);
    stream.on('close', done);
  });
  return { session, stream, answer };
}

/** grpcFrame is one gRPC message on the wire: compressed flag, 4-byte length, the bytes. */
function grpcFrame(bytes: Buffer, compressed = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed;
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

describe('idle connections', () => {
  test('a connection that opens no stream is closed after idleTimeoutMs; one with an agent stream stays', async () => {
    master = await startTestMaster({}, { idleTimeoutMs: 200 });
    const agent = newClient();
    agent.connect(master.address);
    await waitFor(() => master.connects.length === 1, 'the agent stream');
    const idle = http2.connect(`http://${master.address}`);
    idle.on('error', () => undefined);
    const closedAt = await new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())));
    expect(closedAt).toBeGreaterThan(0);
    expect(master.logs.some((l) => /closing the HTTP\/2 connection from .*: no stream for \d+ s/.test(l))).toBe(true);
    // The agent's connection, which holds a stream, is still there.
    await new Promise((r) => setTimeout(r, 400));
    expect(master.disconnects).toEqual([]);
  });
});

describe('gRPC framing on HTTP/2', () => {
  test('messages split across DATA frames at any byte, prefix included, arrive whole and in order', async () => {
    master = await startTestMaster();
    const { session, stream } = h2Request(master.address, {});
    const wire = Buffer.concat([grpcFrame(encodeAgentMessage(REGISTER)), grpcFrame(encodeAgentMessage({ pong: { seq: 1 } })), grpcFrame(encodeAgentMessage({ pong: { seq: 2 } }))]);
    for (let at = 0; at < wire.length; at += 3) {
      stream.write(wire.subarray(at, at + 3));
      await new Promise((r) => setImmediate(r)); // separate DATA frames
    }
    await waitFor(() => master.messages.length === 3, 'three messages');
    expect(master.messages.map((m) => m.msg)).toEqual([REGISTER, { pong: { seq: 1 } }, { pong: { seq: 2 } }]);
    expect(master.disconnects).toHaveLength(0);
    session.destroy();
  });

  test('a compressed message, an oversized length, another method and a request that is not gRPC are each refused, the master serving on', async () => {
    master = await startTestMaster();
    const compressed = h2Request(master.address, {});
    compressed.stream.write(grpcFrame(encodeAgentMessage(REGISTER), 1));
    const c = await compressed.answer;
    expect(c.trailers['grpc-status']).toBe(String(grpc.status.INTERNAL));
    expect(decodeURIComponent(String(c.trailers['grpc-message']))).toMatch(/sent a compressed message; the agent protocol does not use compression/);
    compressed.session.destroy();

    const huge = h2Request(master.address, {});
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 1);
    huge.stream.write(prefix);
    const h = await huge.answer;
    expect(h.trailers['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(h.trailers['grpc-message']))).toMatch(new RegExp(`sent a message of ${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES}`));
    huge.session.destroy();

    const other = h2Request(master.address, { ':path': '/tessera.agent.v1.AgentLink/Other' });
    const o = await other.answer;
    expect(o.headers['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED)); // trailers-only answer
    expect(decodeURIComponent(String(o.headers['grpc-message']))).toBe(`this master serves ${CONNECT_PATH}, not /tessera.agent.v1.AgentLink/Other`);
    other.session.destroy();

    const notGrpc = h2Request(master.address, { 'content-type': 'application/json' });
    expect((await notGrpc.answer).headers[':status']).toBe(415);
    notGrpc.session.destroy();

    expect(master.connects).toHaveLength(2); // only the two gRPC Connect streams became connections
    const good = newClient();
    good.connect(master.address);
    await waitFor(() => good.connected, 'an agent after all that');
    await good.close();
  });

  test('an agent that half-closes inside a message is not taken for a goodbye', async () => {
    master = await startTestMaster();
    const { session, stream, answer } = h2Request(master.address, {});
    const frame = grpcFrame(encodeAgentMessage(REGISTER));
    stream.end(frame.subarray(0, frame.length - 2));
    const a = await answer;
    expect(a.trailers['grpc-status']).toBe(String(grpc.status.INTERNAL));
    expect(decodeURIComponent(String(a.trailers['grpc-message']))).toMatch(/ended its stream inside a message \(\d+ bytes of it came\)/);
    await waitFor(() => master.disconnects.length === 1, 'the disconnect');
    expect(master.disconnects[0].error?.message).toMatch(/inside a message/);
    expect(master.messages).toHaveLength(0);
    session.destroy();
  });

  test('unfinished messages are bounded per connection too: the stream that goes over is refused', async () => {
    master = await startTestMaster({}, { maxHeldBytes: 100_000 });
    const session = http2.connect(`http://${master.address}`);
    session.on('error', () => undefined);
    const open = (i: number, sent = 40_000) => {
      const stream = session.request({ ':method': 'POST', ':path': CONNECT_PATH, 'content-type': 'application/grpc', te: 'trailers', [PROTOCOL_METADATA]: PROTOCOL_VERSION });
      stream.on('error', () => undefined);
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
      // A 1 MB message announced, 40,000 bytes of it sent: each stream alone is within every limit.
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(1_000_000, 1);
      stream.write(Buffer.concat([prefix, Buffer.alloc(sent - 5, i)]));
      return { stream, trailers };
    };
    const first = open(1);
    const second = open(2);
    await waitFor(() => master.connects.length === 2, 'two streams');
    const third = open(3); // 120,000 bytes held on the connection
    const t = await third.trailers;
    expect(t['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(t['grpc-message']))).toMatch(/holds 0\.1 MiB of unfinished messages across its streams; the limit is 0\.1 MiB$/);
    await waitFor(() => master.disconnects.length === 1, 'the refused stream');
    // The others stay, and what the refused one held was given back: 80,000 + 15,000 fits.
    const fourth = open(4, 15_000);
    await waitFor(() => master.connects.length === 4, 'a fourth stream');
    await new Promise((r) => setTimeout(r, 50));
    expect(master.disconnects).toHaveLength(1);
    for (const x of [first, second, fourth]) x.stream.close();
    session.destroy();
  });

  test('once the master closed a stream, an agent that keeps its side open is reset after the trailers', async () => {
    master = await startTestMaster();
    const { session, stream } = h2Request(master.address, {});
    stream.write(grpcFrame(encodeAgentMessage(REGISTER)));
    await waitFor(() => master.messages.length === 1, 'the register');
    const closed = new Promise<{ trailers?: http2.IncomingHttpHeaders; rstCode: number }>((resolve) => {
      let trailers: http2.IncomingHttpHeaders | undefined;
      stream.on('trailers', (t) => (trailers = t));
      stream.on('close', () => resolve({ trailers, rstCode: stream.rstCode ?? -1 }));
    });
    master.connects[0].close('the agent was removed');
    const c = await closed; // this client never ends its side: the master's reset closes the stream
    expect(c.trailers?.['grpc-status']).toBe(String(grpc.status.UNAVAILABLE));
    expect(decodeURIComponent(String(c.trailers?.['grpc-message']))).toBe('the agent was removed');
    expect(c.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    session.destroy();
  });

  test('a status message with non-ASCII text reaches a grpc-js agent intact', async () => {
    master = await startTestMaster({
      onMessage() {
        throw new Error('agent “node-1” is not welcome: ünïcode and 100% sure');
      },
    });
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: PROTOCOL_VERSION });
    call.on('data', () => undefined);
    call.write(encodeAgentMessage(REGISTER));
    const status = await statusOf(call);
    client.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe('agent “node-1” is not welcome: ünïcode and 100% sure');
    expect(status.metadata.get('tessera-error-code')).toEqual(['TSR_AGENT_REFUSED']);
  });
});

describe('connections', () => {
  test('a handler that throws refuses the agent: a Refused message, then FAILED_PRECONDITION', async () => {
    master = await startTestMaster({
      onMessage() {
        throw new Error('agent node-1 has hostname node-1 but registered before as node-2: fix --hostname');
      },
    });
    const received: MasterMessage[] = [];
    const agent = newClient({ onMessage: (m) => received.push(m), initialBackoffMs: 60_000 });
    const ended = new Promise<unknown>((resolve) => agent.once('disconnected', resolve));
    agent.on('connected', () => agent.send(REGISTER));
    agent.connect(master.address);
    const event = (await ended) as { wasConnected: boolean; error?: { code: string; message: string; grpcStatus: number } };
    expect(received).toEqual([{ refused: { message: 'agent node-1 has hostname node-1 but registered before as node-2: fix --hostname' } }]);
    expect(event.wasConnected).toBe(true);
    expect(event.error?.grpcStatus).toBe(grpc.status.FAILED_PRECONDITION);
    expect(event.error?.code).toBe('TSR_AGENT_REFUSED');
    expect(master.disconnects).toHaveLength(1);
    agent.destroy();
  });

  test('onDisconnect runs once: no error for a goodbye, an error for a crash, none for the master closing', async () => {
    master = await startTestMaster();
    const polite = newClient();
    polite.connect(master.address);
    await waitFor(() => master.connects.length === 1, 'the first agent');
    await polite.close();
    await waitFor(() => master.disconnects.length === 1, 'the goodbye');
    expect(master.disconnects[0].error).toBeUndefined();

    // A crash: the agent's process dies, its connection with it.
    const crashing = spawnRawAgent(master.address);
    await waitFor(() => master.connects.length === 2, 'the second agent');
    crashing.kill('SIGKILL');
    await waitFor(() => master.disconnects.length === 2, 'the crash');
    expect(master.disconnects[1].error?.message).toMatch(/^agent 127\.0\.0\.1:\d+ went away without a goodbye/);

    const closed = newClient({ initialBackoffMs: 60_000 });
    const why = new Promise<DisconnectedEvent>((resolve) => closed.once('disconnected', resolve));
    closed.connect(master.address);
    await waitFor(() => master.connects.length === 3, 'the third agent');
    const conn = master.connects[2];
    conn.close('removed: it missed 5 pings');
    conn.send({ ping: { seq: 1 } }); // a no-op after close
    const { error } = await why;
    expect(error).toMatchObject({ code: 'TSR_AGENT_CLOSED', grpcStatus: grpc.status.UNAVAILABLE });
    expect(error?.message).toMatch(/removed: it missed 5 pings$/);
    await waitFor(() => master.disconnects.length === 3, 'the close');
    await new Promise((r) => setTimeout(r, 50));
    expect(master.disconnects).toHaveLength(3);
    expect(master.disconnects[2].error).toBeUndefined();
    closed.destroy();
  });

  test('an agent that stops reading is cut off once more than maxQueuedBytes wait for it', async () => {
    master = await startTestMaster({}, { maxQueuedBytes: 1024 * 1024 });
    const { client, call } = rawConnect(master.address, { [PROTOCOL_METADATA]: PROTOCOL_VERSION });
    const status = statusOf(call);
    call.pause(); // reads nothing from now on
    call.write(encodeAgentMessage(REGISTER));
    await waitFor(() => master.messages.length === 1, 'the register');
    const conn = master.connects[0];
    const data = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 200 && master.disconnects.length === 0; i++) {
      conn.send({ run_task: { framework: { user: 'u', name: 'f' }, task: { name: `t${i}`, task_id: { value: `t${i}` }, agent_id: { value: 'a' }, data } } });
      await new Promise((r) => setImmediate(r));
    }
    expect(master.disconnects).toHaveLength(1);
    expect(master.disconnects[0].error?.message).toMatch(
      /^agent 127\.0\.0\.1:\d+ stopped reading: 1\.0 MiB of messages queued for it \(limit 1\.0 MiB\); closed its connection/,
    );
    expect(master.logs.some((l) => l.includes('ERROR') && l.includes('stopped reading'))).toBe(true);
    expect((await status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(master.link.connections).toHaveLength(0);
    client.close();
  });
});
