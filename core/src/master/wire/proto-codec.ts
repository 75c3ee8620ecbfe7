/**
 * Protobuf (application/x-protobuf) encoding of Mesos messages, over the same in-memory shape as the JSON
 * codec: protobufjs's Reader and Writer do the wire primitives, the field plans of mesos-types.ts do the
 * rest, so that a decoded message has snake_case keys, enum names, numbers for 64-bit integers and
 * Buffers for bytes, and every problem is a {@link WireError} naming the field.
 *
 * Proto2 rules: unknown fields and unknown enum numbers are skipped, packed and unpacked repeated scalars
 * are both read, a missing required field is an error. A singular message field that occurs twice keeps
 * the last occurrence (protobufjs's rule; C++ would merge them).
 *
 * Decoding first runs the decoder compiled for the type (proto-compiled.ts), which reports no errors: on
 * any input it gives up on, the generic decoder here, the reference it matches, decodes it again and
 * names the problem.
 */
import protobuf from 'protobufjs';
import { FieldPath, WireError, describeValue } from './wire-error';
import { checkDepth, describePlain, isPlainValue, messagePlan, type FieldPlan, type MessagePlan, type PlainMessage } from './mesos-types';
import { decodeCompiled } from './proto-compiled';

/**
 * decodeProto turns protobuf bytes into a {@link PlainMessage} of the given type, or throws a
 * {@link WireError} (status 400): malformed bytes never escape as another error.
 *
 * ```ts
 * const call = decodeProto('mesos.v1.scheduler.Call', body);
 * if (call.type === 'ACCEPT') ...
 * ```
 */
export function decodeProto<T = PlainMessage>(typeName: string, bytes: Uint8Array): T {
  const plan = messagePlan(typeName);
  // The compiled decoder gives up on anything wrong: the generic one below then makes the error.
  return (decodeCompiled(plan, bytes) ?? decodePlan(plan, bytes)) as T;
}

/**
 * decodeProtoSlow is decodeProto without its compiled fast path, for a type name or a plan: the reference
 * the compiled decoders must match, exported for their tests only.
 * @internal
 */
export function decodeProtoSlow<T = PlainMessage>(type: string | MessagePlan, bytes: Uint8Array): T {
  return decodePlan(typeof type === 'string' ? messagePlan(type) : type, bytes) as T;
}

function decodePlan(plan: MessagePlan, bytes: Uint8Array): PlainMessage {
  const path = new FieldPath(plan.fullName, 400);
  const reader = protobuf.Reader.create(bytes);
  try {
    return decodeMessage(reader, reader.len, plan, path);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw path.error(`malformed protobuf: ${(err as Error).message}`, err);
  }
}

// What decoding one message type needs, built once per type. The generic loop stores into objects of
// every message type through one `out[name]` site, which V8 handles as a slow megamorphic store; each
// field's own accessor (`o.name`, compiled once) keeps that site specific to one field of one type.
interface FastField {
  readonly field: FieldPlan;
  readonly get: (o: PlainMessage) => unknown;
  readonly set: (o: PlainMessage, value: unknown) => void;
  /** Clears the other members of the field's oneof; undefined when it has none. */
  readonly clearSiblings: ((o: PlainMessage) => void) | undefined;
}
interface FastPlan {
  readonly byId: ReadonlyMap<number, FastField>;
  readonly required: readonly FastField[];
}
const fastPlans = new WeakMap<MessagePlan, FastPlan>();

function fastPlan(plan: MessagePlan): FastPlan {
  let fast = fastPlans.get(plan);
  if (fast) return fast;
  const byId = new Map<number, FastField>();
  for (const field of plan.fieldsById) {
    const key = JSON.stringify(field.name);
    const clear = field.oneofSiblings.map((n) => `if (o[${JSON.stringify(n)}] !== undefined) delete o[${JSON.stringify(n)}];`).join('\n');
    byId.set(field.id, {
      field,
      get: new Function('o', `return o[${key}];`) as FastField['get'],
      set: new Function('o', 'v', `o[${key}] = v;`) as FastField['set'],
      clearSiblings: clear ? (new Function('o', clear) as NonNullable<FastField['clearSiblings']>) : undefined,
    });
  }
  fast = { byId, required: plan.required.map((f) => byId.get(f.id)!) };
  fastPlans.set(plan, fast);
  return fast;
}

function decodeMessage(reader: protobuf.Reader, end: number, plan: MessagePlan, path: FieldPath): PlainMessage {
  if (end > reader.len) throw path.error(`malformed protobuf: a ${end - reader.pos}-byte message overruns the input`);
  checkDepth(path);
  const fast = fastPlan(plan);
  const out: PlainMessage = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 === 0) throw path.error('malformed protobuf: field number 0');
    const access = fast.byId.get(tag >>> 3);
    const field = access?.field;
    const packed = wireType === 2 && field !== undefined && field.repeated && field.wireType !== 2;
    if (access === undefined || field === undefined || (wireType !== field.wireType && !packed)) {
      reader.skipType(wireType);
      continue;
    }
    path.push(field.name);
    if (field.map) {
      let map = access.get(out) as Record<string, unknown> | undefined;
      if (map === undefined) access.set(out, (map = {}));
      decodeMapEntry(reader, field, map, path);
    } else if (field.repeated) {
      const list = (access.get(out) as unknown[] | undefined) ?? [];
      if (packed) {
        const last = reader.uint32() + reader.pos;
        while (reader.pos < last) appendValue(reader, field, list, path);
        if (reader.pos > last) throw path.error('malformed protobuf: a packed field overruns its length');
      } else {
        appendValue(reader, field, list, path);
      }
      if (list.length > 0) access.set(out, list);
    } else {
      const value = decodeValue(reader, field, path);
      if (value !== undefined) {
        access.clearSiblings?.(out);
        access.set(out, value);
      }
    }
    path.pop();
  }
  if (reader.pos > end) throw path.error('malformed protobuf: a field overruns its message');
  for (const access of fast.required) {
    if (access.get(out) === undefined) {
      path.push(access.field.name);
      throw path.error('required field is missing');
    }
  }
  return out;
}

function appendValue(reader: protobuf.Reader, field: FieldPlan, list: unknown[], path: FieldPath): void {
  path.push(list.length);
  const value = decodeValue(reader, field, path);
  path.pop();
  if (value !== undefined) list.push(value);
}

function decodeMapEntry(reader: protobuf.Reader, field: FieldPlan, map: Record<string, unknown>, path: FieldPath): void {
  const end = reader.uint32() + reader.pos;
  let key = '';
  let value: unknown;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 0x0a) key = reader.string();
    else if (tag === ((2 << 3) | field.wireType)) {
      path.push({ key });
      value = decodeValue(reader, field, path);
      path.pop();
    } else reader.skipType(tag & 7);
  }
  if (reader.pos > end) throw path.error('malformed protobuf: a map entry overruns its length');
  path.push({ key });
  // An entry without a value has an empty message, which fails if the message has required fields (as in C++).
  map[key] = value ?? decodeMessage(protobuf.Reader.create(new Uint8Array(0)), 0, field.messagePlan!, path);
  path.pop();
}

// A 64-bit value as a number (exact up to 2^53). protobufjs gives a Long when long.js is installed.
function long(value: protobuf.Long | number): number {
  if (typeof value === 'number') return value;
  return (value.unsigned ? value.high >>> 0 : value.high) * 4294967296 + (value.low >>> 0);
}

// A bytes value in memory of its own. A slice of the message would pin the whole message, and a small
// Buffer.from() copy lands in Node's shared 8 KiB pool and pins that slab: a task's status uuid lives as
// long as the task, so 100,000 tasks would keep ~200 MiB of mostly dead slabs alive.
function ownedCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}

// One value of the field; undefined for an enum number the enum does not define (skipped, as in proto2).
function decodeValue(reader: protobuf.Reader, field: FieldPlan, path: FieldPath): unknown {
  switch (field.kind) {
    case 'message': {
      const length = reader.uint32();
      return decodeMessage(reader, reader.pos + length, field.messagePlan!, path);
    }
    case 'enum':
      return field.enumPlan!.nameOf.get(reader.int32());
    case 'string':
      return reader.string();
    case 'bytes':
      return ownedCopy(reader.bytes());
    case 'bool':
      return reader.bool();
    case 'int32':
      return reader.int32();
    case 'uint32':
      return reader.uint32();
    case 'sint32':
      return reader.sint32();
    case 'fixed32':
      return reader.fixed32();
    case 'sfixed32':
      return reader.sfixed32();
    case 'float':
      return reader.float();
    case 'double':
      return reader.double();
    case 'int64':
      return long(reader.int64());
    case 'uint64':
      return long(reader.uint64());
    case 'sint64':
      return long(reader.sint64());
    case 'fixed64':
      return long(reader.fixed64());
    case 'sfixed64':
      return long(reader.sfixed64());
  }
}

/**
 * encodeProto turns a {@link PlainMessage} into protobuf bytes. A message the caller built wrong (a missing
 * required field, a value of the wrong type) throws a {@link WireError} with status 500 naming the path.
 *
 * ```ts
 * const bytes = encodeProto('mesos.v1.scheduler.Event', { type: 'HEARTBEAT' });
 * ```
 */
export function encodeProto(typeName: string, message: PlainMessage): Buffer {
  const plan = messagePlan(typeName);
  const writer = protobuf.Writer.create();
  encodeMessage(writer, plan, message, new FieldPath(plan.fullName, 500));
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function encodeMessage(writer: protobuf.Writer, plan: MessagePlan, message: PlainMessage, path: FieldPath): void {
  checkDepth(path);
  for (const field of plan.fieldsById) {
    const value = message[field.name];
    if (value === undefined || value === null) {
      if (field.required) {
        path.push(field.name);
        throw path.error('required field is missing');
      }
      continue;
    }
    path.push(field.name);
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) throw path.error(`expected an object (map), got ${describeValue(value)}`);
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        path.push({ key });
        writer.uint32((field.id << 3) | 2).fork().uint32(0x0a).string(key);
        encodeValue(writer, field, 2, v, path);
        writer.ldelim();
        path.pop();
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw path.error(`expected an array, got ${describeValue(value)}`);
      value.forEach((v, i) => {
        path.push(i);
        encodeValue(writer, field, field.id, v, path);
        path.pop();
      });
    } else {
      encodeValue(writer, field, field.id, value, path);
    }
    path.pop();
  }
}

function encodeValue(writer: protobuf.Writer, field: FieldPlan, id: number, value: unknown, path: FieldPath): void {
  if (!isPlainValue(field, value)) throw path.error(`expected ${describePlain(field)}, got ${describeValue(value)}`);
  writer.uint32((id << 3) | field.wireType);
  switch (field.kind) {
    case 'message':
      writer.fork();
      encodeMessage(writer, field.messagePlan!, value as PlainMessage, path);
      writer.ldelim();
      return;
    case 'enum':
      writer.int32(field.enumPlan!.numberOf.get(value as string)!);
      return;
    case 'string':
      writer.string(value as string);
      return;
    case 'bytes':
      writer.bytes(value as Uint8Array);
      return;
    case 'bool':
      writer.bool(value as boolean);
      return;
    default:
      writer[field.kind](value as number);
  }
}
