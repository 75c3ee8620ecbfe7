// Encoding of ABI messages with protobufjs from the generated descriptor, gRPC service definitions
// for @grpc/grpc-js, and the version gate that strips elements newer than a negotiated ABI version.
import protobuf from 'protobufjs';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import abi from '../generated/abi.json';
import sinceTable from '../generated/since.json';
import { TesseraError } from '../errors';
import { messageCodec } from './fast-codec';

const root = protobuf.Root.fromJSON(abi as protobuf.INamespace);
const since = sinceTable as Record<string, string>;

/**
 * CONVERSION is the plain shape `decode` gives, as protobufjs's toObject options; the codec of fast-codec.ts
 * produces it directly (its tests compare it with toObject under these options).
 */
export const CONVERSION: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  bytes: Buffer as unknown as typeof String,
  arrays: true,
  objects: false,
  defaults: false,
  // No oneof discriminators: proto3 `optional` fields are synthetic oneofs and would add `_field` keys to
  // every decoded object. Which member of a real oneof is set is the one present.
  oneofs: false,
};

/** lookupType finds a message type by its fully-qualified name. */
export function lookupType(name: string): protobuf.Type {
  return root.lookupType(name);
}

/** lookupService finds a service by its fully-qualified name. */
export function lookupService(name: string): protobuf.Service {
  return root.lookupService(name);
}

/** encode turns a plain object into protobuf bytes, reporting a bad field with its path. */
export function encode(type: protobuf.Type, value: object): Buffer {
  const codec = messageCodec(type);
  try {
    return codec.encode(value);
  } catch (err) {
    // The field is named as protobufjs names it: ".tessera.modules.v1.PrepareRequest.containerId: object expected"
    throw new TesseraError('TSR_INVALID_ARGUMENT', `cannot encode ${type.fullName.slice(1)}: ${(err as Error).message}`);
  }
}

/** decode turns protobuf bytes into a plain object (enums as names, 64-bit ints as numbers). */
export function decode<T>(type: protobuf.Type, bytes: Buffer): T {
  return messageCodec(type).decode(bytes) as T;
}

/** serviceDefinition builds the grpc-js definition of a service from the descriptor. */
export function serviceDefinition(serviceName: string): ServiceDefinition {
  const service = lookupService(serviceName);
  const def: Record<string, MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (v: object) => encode(req, v),
      requestDeserialize: (b: Buffer) => decode<object>(req, b),
      responseSerialize: (v: object) => encode(res, v),
      responseDeserialize: (b: Buffer) => decode<object>(res, b),
      originalName: method.name[0].toLowerCase() + method.name.slice(1),
    };
  }
  return def as ServiceDefinition;
}

/** requestTypeOf names the request message of a method. */
export function requestTypeOf(serviceName: string, rpc: string): protobuf.Type {
  const method = lookupService(serviceName).methods[rpc];
  method.resolve();
  return method.resolvedRequestType!;
}

/** compareAbi compares two "X.Y" or "X.Y.Z" versions by major and minor. */
export function compareAbi(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** sinceOf tells the ABI version that introduced a proto element ("pkg.Service.Method", "pkg.Msg.field"). */
export function sinceOf(fullName: string): string {
  return since[fullName] ?? '1.0';
}

// Per (type, version): whether any field in the type's subtree is newer than the version. Almost always
// false, which keeps the gate free on hot paths such as the allocator stream.
const newerCache = new Map<string, boolean>();

function hasNewer(type: protobuf.Type, version: string, seen: Set<string> = new Set()): boolean {
  const key = `${type.fullName}@${version}`;
  const cached = newerCache.get(key);
  if (cached !== undefined) return cached;
  if (seen.has(type.fullName)) return false;
  seen.add(type.fullName);
  let result = false;
  for (const field of type.fieldsArray) {
    field.resolve();
    if (compareAbi(sinceOf(`${type.fullName.slice(1)}.${field.name}`), version) > 0) result = true;
    else if (field.resolvedType instanceof protobuf.Type && hasNewer(field.resolvedType, version, seen)) result = true;
    if (result) break;
  }
  newerCache.set(key, result);
  return result;
}

/**
 * gate returns the value without the fields a peer speaking ABI `version` does not know. A message
 * built by a newer core for an older module therefore never carries a field the module was not built for.
 */
export function gate<T>(type: protobuf.Type, value: T, version: string): T {
  if (value === null || typeof value !== 'object' || !hasNewer(type, version)) return value;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[name];
    if (!field) {
      out[name] = v;
      continue;
    }
    if (compareAbi(sinceOf(`${type.fullName.slice(1)}.${field.name}`), version) > 0) continue;
    field.resolve();
    const sub = field.resolvedType;
    if (sub instanceof protobuf.Type) {
      out[name] = Array.isArray(v) ? v.map((x) => gate(sub, x, version)) : field.map ? gateMap(sub, v, version) : gate(sub, v, version);
    } else {
      out[name] = v;
    }
  }
  return out as T;
}

function gateMap(type: protobuf.Type, v: unknown, version: string): unknown {
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, gate(type, x, version)]));
}
