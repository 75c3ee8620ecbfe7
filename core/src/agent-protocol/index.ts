/**
 * The master↔agent protocol transport (core/proto/tessera/agent/v1/agent.proto): agents dial the master
 * on its one port and keep one bidirectional gRPC stream open; Mesos's own types travel inside, in the
 * wire layer's plain shape.
 *
 * Master:
 * ```ts
 * const link = new AgentLinkServer(master, { log });  // master implements AgentLinkHandler
 * const listener = await listenShared({ host: '0.0.0.0', port: 5050, http: httpServer, agents: link });
 * ```
 * Agent:
 * ```ts
 * const client = new AgentLinkClient({ onMessage: (msg) => agent.handle(msg) });
 * client.on('connected', () => client.send({ register: { agent_info: { hostname: 'node-1', resources } } }));
 * client.connect('master:5050');
 * ```
 * @module
 */
export {
  PROTOCOL_VERSION, PROTOCOL_METADATA, AGENT_LINK_SERVICE, AGENT_MESSAGE_TYPE, MASTER_MESSAGE_TYPE,
  agentMessageKind, masterMessageKind,
  type AgentMessage, type AgentMessageKind, type AgentMessageKinds, type MasterMessage, type MasterMessageKind, type MasterMessageKinds,
  type Register, type Reregister, type StatusUpdate, type Pong, type ResourcesChanged,
  type Registered, type RunTask, type KillTask, type StatusUpdateAck, type Ping, type ShutdownFramework, type Refused, type OneOf,
} from './messages';
export {
  AgentProtocolErrorCodes, CONNECT_PATH, MAX_MESSAGE_BYTES, checkAgentProtocol,
  encodeAgentMessage, decodeAgentMessage, encodeMasterMessage, decodeMasterMessage,
} from './protocol';
export { AgentLinkServer, DEFAULT_MAX_QUEUED_BYTES, type AgentConnection, type AgentLinkHandler, type AgentLinkServerOptions } from './server';
export { AgentLinkClient, type AgentLinkClientOptions, type AgentLinkEvents, type ConnectedEvent, type DisconnectedEvent } from './client';
export { listenShared, HTTP2_PREFACE, type SharedListenOptions, type SharedListener } from './port-mux';
