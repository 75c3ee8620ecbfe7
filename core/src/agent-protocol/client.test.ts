// The agent's side: reconnection with backoff across a master restart on the same port, and what a
// refused agent is told.
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { destroyClients, newClient, startTestMaster, waitFor, type TestMaster } from '../../../test/support/test-master';
import type { ConnectedEvent, DisconnectedEvent } from './client';
import { PROTOCOL_VERSION } from './messages';


async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let master: TestMaster | undefined;
afterEach(async () => {
  destroyClients();
  await master?.close();
  master = undefined;
});

test('the agent reconnects after the master restarts on the same port, and registers on each new stream', async () => {
  const port = await freePort();
  master = await startTestMaster({}, { port });
  const connected: ConnectedEvent[] = [];
  const disconnected: DisconnectedEvent[] = [];
  const agent = newClient({ initialBackoffMs: 20, maxBackoffMs: 200 });
  agent.on('connected', (e) => {
    connected.push(e);
    agent.send({ register: { agent_info: { hostname: 'node-1' } } });
  });
  agent.on('disconnected', (e) => disconnected.push(e));
  agent.connect(`127.0.0.1:${port}`);
  await waitFor(() => master!.messages.length === 1, 'the first registration');
  expect(connected).toEqual([{ masterProtocol: PROTOCOL_VERSION, streams: 1 }]);

  await master.close();
  await waitFor(() => disconnected.length >= 1, 'the disconnection');
  expect(disconnected[0].wasConnected).toBe(true);
  // The master said why before its port closed (not a bare reset).
  expect(disconnected[0].error?.message).toMatch(/the master is shutting down/);
  expect(agent.connected).toBe(false);
  expect(agent.send({ pong: { seq: 1 } })).toBe(false); // dropped while down
  // While the port is closed, attempts fail (wasConnected false) and are retried with growing delays.
  await waitFor(() => disconnected.length >= 4, 'failed attempts');
  const failed = disconnected.slice(1);
  expect(failed.every((e) => !e.wasConnected && e.error?.grpcStatus === grpc.status.UNAVAILABLE)).toBe(true);
  expect(failed.every((e) => e.retryInMs! <= 200)).toBe(true);

  master = await startTestMaster({}, { port });
  await waitFor(() => master!.messages.length === 1, 'the registration on the restarted master');
  expect(master.messages[0].msg).toEqual({ register: { agent_info: { hostname: 'node-1' } } });
  expect(connected).toHaveLength(2);
  expect(connected[1].streams).toBe(2);
  await agent.close();
});

test('backoff doubles from the initial delay up to the cap, with jitter', async () => {
  const port = await freePort(); // nothing listens
  const delays: number[] = [];
  const agent = newClient({ initialBackoffMs: 10, maxBackoffMs: 80 });
  agent.on('disconnected', (e) => delays.push(e.retryInMs!));
  agent.connect(`127.0.0.1:${port}`);
  await waitFor(() => delays.length >= 7, 'seven attempts', 10_000);
  agent.destroy();
  const bases = [10, 20, 40, 80, 80, 80, 80];
  delays.slice(0, 7).forEach((d, i) => {
    expect(d).toBeGreaterThanOrEqual(bases[i] / 2);
    expect(d).toBeLessThanOrEqual(bases[i]);
  });
});

test('an agent of another major learns, as a coded error, what to upgrade; it never counts as connected', async () => {
  master = await startTestMaster();
  const agent = newClient({ protocolVersion: '2.0', initialBackoffMs: 60_000 });
  const connected = jest.fn();
  agent.on('connected', connected);
  const event = new Promise<DisconnectedEvent>((resolve) => agent.once('disconnected', resolve));
  agent.connect(master.address);
  const { wasConnected, error } = await event;
  expect(wasConnected).toBe(false);
  expect(error?.code).toBe('TSR_AGENT_PROTOCOL_MISMATCH');
  expect(error?.message).toMatch(new RegExp(`^master ${master.address}: the agent speaks Tessera agent protocol 2\\.0 but this master speaks`));
  expect(connected).not.toHaveBeenCalled();
  agent.destroy();
});

test('close() says goodbye and stops reconnecting', async () => {
  master = await startTestMaster();
  const agent = newClient({ initialBackoffMs: 10 });
  const disconnected: DisconnectedEvent[] = [];
  agent.on('disconnected', (e) => disconnected.push(e));
  agent.connect(master.address);
  await waitFor(() => agent.connected, 'the stream');
  await agent.close();
  await waitFor(() => master!.disconnects.length === 1, 'the goodbye');
  expect(master.disconnects[0].error).toBeUndefined();
  await new Promise((r) => setTimeout(r, 100));
  expect(master.connects).toHaveLength(1);
  expect(disconnected).toEqual([{ wasConnected: true, error: undefined }]);
});
