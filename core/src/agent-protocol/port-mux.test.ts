// One port for HTTP and gRPC, over real sockets.
import http from 'node:http';
import net from 'node:net';
import { destroyClients, newClient, quietLog, startTestMaster, waitFor, type TestMaster } from '../../../test/support/test-master';
import { listenShared } from './port-mux';
import { AgentLinkServer } from './server';


function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** rawExchange writes bytes (in pieces, with pauses), half-closes, and collects what comes back until the socket closes. */
function rawExchange(port: number, pieces: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (c) => (out += c));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 50));
      socket.end();
    });
  });
}

let master: TestMaster;
afterEach(async () => {
  destroyClients();
  await master?.close();
});

test('an HTTP GET and a gRPC Connect share one port', async () => {
  master = await startTestMaster();
  const agent = newClient();
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the agent stream');
  expect(await get(master.port, '/health')).toEqual({ status: 200, body: 'http GET /health' });
  agent.send({ pong: { seq: 1 } });
  await waitFor(() => master.messages.length === 1, 'the pong');
  // A keep-alive HTTP connection carries a second request on the same socket.
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  expect((await get(master.port, '/a', keepAlive)).body).toBe('http GET /a');
  expect((await get(master.port, '/b', keepAlive)).body).toBe('http GET /b');
  keepAlive.destroy();
  await agent.close();
});

test('requests that arrive in small pieces are routed once they are decisive', async () => {
  master = await startTestMaster();
  // HTTP/1.0, shorter than the HTTP/2 preface, in three pieces: decided at the first byte.
  const reply = await rawExchange(master.port, ['G', 'ET /x HTTP/1.0\r\n', '\r\n']);
  expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*http GET \/x$/);
  // A prefix of the preface, then the connection closes: nothing to route, nothing breaks.
  expect(await rawExchange(master.port, ['PRI * HTTP/2'])).toBe('');
  // A connection that sends nothing and closes.
  await new Promise<void>((resolve) => net.connect(master.port, '127.0.0.1', function (this: net.Socket) { this.end(); }).on('close', () => resolve()));
  expect((await get(master.port, '/still')).body).toBe('http GET /still');
});

test('a port in use is reported with host:port and what to do', async () => {
  master = await startTestMaster();
  const link = new AgentLinkServer({ onMessage() {}, onDisconnect() {} }, { log: quietLog });
  await expect(listenShared({ host: '127.0.0.1', port: master.port, http: http.createServer(), agents: link, log: quietLog })).rejects.toMatchObject({
    code: 'TSR_PORT_IN_USE',
    message: `another process listens on 127.0.0.1:${master.port}: stop it or pass --port`,
  });
});

test('close() closes the port and every connection, HTTP and gRPC', async () => {
  master = await startTestMaster();
  const agent = newClient({ initialBackoffMs: 60_000 });
  const down = new Promise((resolve) => agent.once('disconnected', resolve));
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the agent stream');
  const idle = net.connect(master.port, '127.0.0.1');
  const idleClosed = new Promise((resolve) => idle.on('close', resolve));
  await new Promise((r) => idle.once('connect', r));
  await master.listener.close();
  await idleClosed;
  await down;
  await expect(get(master.port, '/')).rejects.toThrow(/ECONNREFUSED/);
  agent.destroy();
});

test('connections that say nothing are dropped after peekTimeoutMs, each in its turn; the others are served', async () => {
  const link = new AgentLinkServer({ onMessage() {}, onDisconnect() {} }, { log: quietLog });
  const server = http.createServer((_req, res) => res.end('ok'));
  const listener = await listenShared({ host: '127.0.0.1', port: 0, http: server, agents: link, log: quietLog, peekTimeoutMs: 300 });
  try {
    const silent = async (): Promise<number> => {
      const t0 = Date.now();
      const s = net.connect(listener.port, '127.0.0.1');
      await new Promise<void>((resolve) => s.on('close', () => resolve()));
      return Date.now() - t0;
    };
    const first = silent();
    await new Promise((r) => setTimeout(r, 150));
    const second = silent();
    // A connection that does speak is not dropped, however long it then waits between requests.
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(listener.port, '/a', keepAlive)).body).toBe('ok');
    const [a, b] = await Promise.all([first, second]);
    for (const waited of [a, b]) {
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2000);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect((await get(listener.port, '/b', keepAlive)).body).toBe('ok');
    keepAlive.destroy();
  } finally {
    await listener.close();
  }
});
