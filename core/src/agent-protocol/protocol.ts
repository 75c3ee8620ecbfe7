/**
 * What both ends of the agent protocol share: the gRPC method of `AgentLink.Connect` with the wire
 * layer's codecs as serializers, the version rule, and the codes of the errors the transport makes.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { TesseraError } from '../errors';
import { decodeProto, encodeProto, mesosRoot, messagePlan, type PlainMessage } from '../master/wire';
import {
  AGENT_LINK_SERVICE, AGENT_MESSAGE_TYPE, MASTER_MESSAGE_TYPE, PROTOCOL_METADATA, PROTOCOL_VERSION,
  type AgentMessage, type MasterMessage, type Registered,
} from './messages';

/**
 * AgentProtocolErrorCodes are the codes of the errors this transport makes (TesseraErrors, also sent as
 * the `tessera-error-code` trailer). Malformed messages use the wire layer's TSR_INVALID_ARGUMENT.
 */
export const AgentProtocolErrorCodes = {
  TSR_AGENT_PROTOCOL_MISMATCH: 'The agent speaks another major version of the agent protocol than the master (or sent none).',
  TSR_AGENT_REFUSED: 'The master refused the agent; the message says why and what to do.',
  TSR_AGENT_CLOSED: "The master closed the agent's stream (shutdown, the agent was removed or reconnected); the agent reconnects.",
  TSR_AGENT_DISCONNECTED: 'The agent went away without a goodbye: its stream was reset or its connection lost.',
  TSR_AGENT_BACKLOG: 'The agent stopped reading and too many bytes were queued for it: the master closed its connection.',
  TSR_PORT_IN_USE: "Another process listens on the master's host:port.",
  TSR_LISTEN_FAILED: "The master's port could not be opened (permissions, unknown address).",
} as const;

/** MAX_MESSAGE_BYTES bounds one message either way (a RunTask with a large `data` field). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** CONNECT_PATH is the HTTP/2 path of `AgentLink.Connect`. */
export const CONNECT_PATH = `/${AGENT_LINK_SERVICE}/Connect`;

/** checkDescriptor checks, once, that the descriptor has the service the transport is written for. */
function checkDescriptor(): void {
  const service = mesosRoot.lookup(`.${AGENT_LINK_SERVICE}`);
  if (!(service instanceof protobuf.Service) || !service.methods.Connect?.requestStream || !service.methods.Connect.responseStream) {
    throw new Error(`${AGENT_LINK_SERVICE}.Connect (bidi) is missing from the wire descriptor: run \`node core/scripts/gen-mesos.mjs\``);
  }
}
checkDescriptor();

/**
 * serverServiceDefinition is `AgentLink` for a grpc-js Server. Requests arrive as raw bytes: grpc-js
 * answers a deserializer that throws with a bare INTERNAL "Error deserializing request", so the server
 * decodes each message itself to refuse it with INVALID_ARGUMENT naming the field. Responses may be
 * passed pre-encoded (a Buffer, as the server does to count queued bytes) or as a message.
 */
export function serverServiceDefinition(): grpc.ServiceDefinition {
  return {
    Connect: {
      path: CONNECT_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: (msg: AgentMessage) => encodeProto(AGENT_MESSAGE_TYPE, msg as unknown as PlainMessage),
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (msg: MasterMessage | Buffer) =>
        Buffer.isBuffer(msg) ? msg : encodeProto(MASTER_MESSAGE_TYPE, msg as unknown as PlainMessage),
      responseDeserialize: (bytes: Buffer) => decodeProto<MasterMessage>(MASTER_MESSAGE_TYPE, bytes),
    },
  } as grpc.ServiceDefinition;
}

/** encodeAgentMessage encodes an agent message (a WireError with status 500 when it is built wrong). */
export function encodeAgentMessage(msg: AgentMessage): Buffer {
  return encodeProto(AGENT_MESSAGE_TYPE, msg as unknown as PlainMessage);
}

/** decodeAgentMessage decodes an agent message (a WireError with status 400 naming the field when malformed). */
export function decodeAgentMessage(bytes: Uint8Array): AgentMessage {
  return decodeProto<AgentMessage>(AGENT_MESSAGE_TYPE, bytes);
}

/** encodeMasterMessage encodes a master message (a WireError with status 500 when it is built wrong). */
export function encodeMasterMessage(msg: MasterMessage): Buffer {
  return encodeProto(MASTER_MESSAGE_TYPE, msg as unknown as PlainMessage);
}

/**
 * registeredEncoder encodes the MasterMessages that admit agents (`registered`), for AgentConnection.send.
 * A master's answers differ only in the agent's id, so the rest (its MasterInfo, the ping interval) is
 * encoded once and each answer is the id's bytes in front of it: protobuf fields may come in any order.
 * After a master's restart, thousands of agents are answered within a second or two.
 */
export function registeredEncoder(rest: Omit<Registered, 'agent_id'>): (agentId: string) => Buffer {
  const registered = messagePlan(MASTER_MESSAGE_TYPE).byName.get('registered');
  const idField = registered?.messagePlan?.byName.get('agent_id');
  const valueField = idField?.messagePlan?.byName.get('value');
  if (!registered?.messagePlan || !idField || !valueField) throw new Error(`${MASTER_MESSAGE_TYPE}.registered.agent_id.value is missing from the wire descriptor`);
  const whole = (agentId: string): Buffer => encodeMasterMessage({ registered: { agent_id: { value: agentId }, ...rest } });
  // The agent_id field of Registered: an AgentID whose only field is its value.
  const idBytes = (agentId: string): Uint8Array =>
    protobuf.Writer.create().uint32((idField.id << 3) | 2).fork().uint32((valueField.id << 3) | 2).string(agentId).ldelim().finish();
  // The rest as the encoder writes it after the id (its first field); anything else, and each answer is encoded whole.
  const sample = encodeProto(registered.messagePlan.fullName, { agent_id: { value: '' }, ...rest } as unknown as PlainMessage);
  const placeholder = idBytes('');
  if (!sample.subarray(0, placeholder.length).equals(placeholder)) return whole;
  const varint = (n: number): Uint8Array => protobuf.Writer.create().uint32(n).finish();
  const tail = sample.subarray(placeholder.length);
  const tag = varint((registered.id << 3) | 2);
  return (agentId) => {
    const head = idBytes(agentId);
    return Buffer.concat([tag, varint(head.length + tail.length), head, tail]);
  };
}

/** decodeMasterMessage decodes a master message (a WireError with status 400 naming the field when malformed). */
export function decodeMasterMessage(bytes: Uint8Array): MasterMessage {
  return decodeProto<MasterMessage>(MASTER_MESSAGE_TYPE, bytes);
}

/** majorOf returns the major of "X.Y" (or "X.Y.Z"), undefined when the text is not such a version. */
export function majorOf(version: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

/**
 * checkAgentProtocol applies the version rule to what an agent sent in {@link PROTOCOL_METADATA}: same
 * major, any minor (minor versions only add fields and messages). It returns undefined when accepted,
 * else a TesseraError (TSR_AGENT_PROTOCOL_MISMATCH, FAILED_PRECONDITION) saying what to upgrade.
 */
export function checkAgentProtocol(sent: string | undefined, own: string = PROTOCOL_VERSION): TesseraError | undefined {
  const ownMajor = majorOf(own)!;
  const speaks = `this master speaks Tessera agent protocol ${own} and accepts agents of protocol ${ownMajor}.x`;
  const fail = (message: string) =>
    new TesseraError('TSR_AGENT_PROTOCOL_MISMATCH', message, { grpcStatus: grpc.status.FAILED_PRECONDITION });
  if (sent === undefined || sent === '') {
    return fail(
      `the agent sent no ${PROTOCOL_METADATA} metadata, but ${speaks}: upgrade the agent to a Tessera release ` +
        `that speaks protocol ${ownMajor}.x (a hand-written agent sends "${PROTOCOL_METADATA}: ${own}" on its Connect call)`,
    );
  }
  const major = majorOf(sent);
  if (major === undefined) {
    return fail(`the agent sent ${PROTOCOL_METADATA} "${sent}", which is not a version such as "${own}"; ${speaks}: fix or upgrade the agent`);
  }
  if (major > ownMajor) {
    return fail(
      `the agent speaks Tessera agent protocol ${sent} but ${speaks} only: upgrade the master to a release that speaks ` +
        `protocol ${major}.x, or run an agent release that speaks protocol ${ownMajor}.x`,
    );
  }
  if (major < ownMajor) {
    return fail(`the agent speaks Tessera agent protocol ${sent} but ${speaks} only: upgrade the agent to a release that speaks protocol ${ownMajor}.x`);
  }
  return undefined;
}

/** protocolMetadata is metadata carrying a protocol version, for the agent's request or the master's response. */
export function protocolMetadata(version: string = PROTOCOL_VERSION): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(PROTOCOL_METADATA, version);
  return md;
}
