/**
 * The wire layer of the master's Mesos v1 HTTP APIs (scheduler API `/api/v1/scheduler`, operator API
 * `/api/v1`): Mesos messages in Mesos's JSON and in protobuf over one in-memory shape, RecordIO framing
 * and content negotiation, so that existing Mesos client libraries work unchanged.
 *
 * ```ts
 * import { requestFormat, responseFormat, decodeJson, decodeProto, encodeJson, encodeRecord } from './master/wire';
 *
 * const f = requestFormat(req.headers['content-type']);
 * if (!f.ok) return reply(f.status, f.message);
 * const call = f.format === 'json' ? decodeJson('mesos.v1.scheduler.Call', body) : decodeProto('mesos.v1.scheduler.Call', body);
 * if (call.type === 'SUBSCRIBE') {
 *   const out = responseFormat({ accept: req.headers.accept, messageAccept: req.headers['message-accept'] }, { stream: true });
 *   // ... res.write(encodeRecord(encodeJson('mesos.v1.scheduler.Event', { type: 'SUBSCRIBED', subscribed: { ... } })));
 * }
 * ```
 * Decoding errors are {@link WireError}s (status 400) whose message names the JSON path of the field.
 * @module
 */
export { WireError } from './wire-error';
export { mesosRoot, lookupType, messagePlan, type PlainMessage } from './mesos-types';
export { decodeJson, encodeJson } from './json-codec';
export { decodeProto, encodeProto } from './proto-codec';
export { encodeRecord, RecordIODecoder, DEFAULT_MAX_RECORD_BYTES } from './recordio';
export { requestFormat, responseFormat, MEDIA_TYPES, type WireFormat, type RequestFormat, type ResponseFormat } from './content-type';
