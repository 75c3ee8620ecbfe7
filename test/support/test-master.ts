/**
 * A master's transport without a master, for tests of the agent protocol: an AgentLinkServer and a tiny
 * HTTP server behind one listenShared() port, recording what arrives. The handler given fills in the
 * behaviour (answer Register, launch tasks...).
 *
 * ```ts
 * const master = await startTestMaster({ onMessage: (conn, msg) => { if (msg.register) conn.send({ registered: ... }); } });
 * const agent = new SimAgent({ master: master.address, resources: 'cpus:1' });
 * await waitFor(() => master.messages.length > 0, 'a message');
 * await master.close();
 * ```
 */
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { createLog, type Log } from '../../core/src/log';
import { AgentLinkClient, type AgentLinkClientOptions } from '../../core/src/agent-protocol/client';
import type { AgentMessage } from '../../core/src/agent-protocol/messages';
import { listenShared, type SharedListener } from '../../core/src/agent-protocol/port-mux';
import { AgentLinkServer, type AgentConnection, type AgentLinkHandler } from '../../core/src/agent-protocol/server';

/** TestMaster is a running transport with what it saw. */
export interface TestMaster {
  /** address is `127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  readonly link: AgentLinkServer;
  readonly listener: SharedListener;
  readonly connects: AgentConnection[];
  readonly messages: { conn: AgentConnection; msg: AgentMessage }[];
  readonly disconnects: { conn: AgentConnection; error?: Error }[];
  /** logs are the transport's log lines. */
  readonly logs: string[];
  /** close closes every connection and the port. */
  close(): Promise<void>;
}

/** TestMasterOptions configure {@link startTestMaster}. */
export interface TestMasterOptions {
  /** port to bind (default 0: a free one). */
  port?: number;
  maxQueuedBytes?: number;
  maxHeldBytes?: number;
  idleTimeoutMs?: number;
}

/** startTestMaster starts a {@link TestMaster} on 127.0.0.1. */
export async function startTestMaster(handler: Partial<AgentLinkHandler> = {}, opts: TestMasterOptions = {}): Promise<TestMaster> {
  const logs: string[] = [];
  const log: Log = createLog({ level: 'debug', write: (line) => void logs.push(line) });
  const connects: AgentConnection[] = [];
  const messages: { conn: AgentConnection; msg: AgentMessage }[] = [];
  const disconnects: { conn: AgentConnection; error?: Error }[] = [];
  const link = new AgentLinkServer(
    {
      onConnect(conn) {
        connects.push(conn);
        handler.onConnect?.(conn);
      },
      onMessage(conn, msg) {
        messages.push({ conn, msg });
        handler.onMessage?.(conn, msg);
      },
      onDisconnect(conn, error) {
        disconnects.push({ conn, error });
        handler.onDisconnect?.(conn, error);
      },
    },
    { log, maxQueuedBytes: opts.maxQueuedBytes, maxHeldBytes: opts.maxHeldBytes, idleTimeoutMs: opts.idleTimeoutMs },
  );
  const httpServer = http.createServer((req, res) => res.end(`http ${req.method} ${req.url}`));
  const listener = await listenShared({ host: '127.0.0.1', port: opts.port ?? 0, http: httpServer, agents: link, log });
  return {
    address: listener.address,
    port: listener.port,
    link,
    listener,
    connects,
    messages,
    disconnects,
    logs,
    async close() {
      await link.close();
      await listener.close();
      httpServer.close();
    },
  };
}

/** waitFor polls `condition` every 5 ms until it holds, or fails after `timeoutMs` naming `what`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** rawConnect opens a Connect stream with raw bytes both ways, for tests that send what no client would. */
export function rawConnect(address: string, metadata: Record<string, string> = {}): { client: grpc.Client; call: grpc.ClientDuplexStream<Buffer, Buffer> } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const call = client.makeBidiStreamRequest<Buffer, Buffer>('/tessera.agent.v1.AgentLink/Connect', (b) => b, (b) => b, md);
  call.on('error', () => undefined); // tests read the 'status' event
  return { client, call };
}

/** quietLog drops every line. */
export const quietLog: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog, level: 'error' };

const clients: AgentLinkClient[] = [];

/** newClient makes an AgentLinkClient with a quiet log, which {@link destroyClients} destroys (call it in afterEach). */
export function newClient(opts: AgentLinkClientOptions = {}): AgentLinkClient {
  const client = new AgentLinkClient({ log: quietLog, ...opts });
  clients.push(client);
  return client;
}

/** destroyClients destroys every client {@link newClient} made, so a failed test leaves no stream behind. */
export function destroyClients(): void {
  for (const client of clients.splice(0)) client.destroy();
}
