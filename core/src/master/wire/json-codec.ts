/**
 * Mesos's own protobuf <-> JSON mapping (stout's, not proto3's canonical one), which Mesos client
 * libraries expect:
 *
 * - keys are the proto's snake_case field names; other keys (camelCase included) are ignored;
 * - `null` means unset; a missing required field is an error naming its JSON path;
 * - enums are names (numbers are accepted on input); an unknown enum value leaves a field that is not
 *   required unset (and is dropped from a repeated field) so that newer clients keep working, and fails
 *   a required field; bytes are base64;
 * - 64-bit integers are JSON numbers on output, numbers or numeric strings on input (as are all numbers);
 * - on output, an unset field with an explicit default is written with it (`CommandInfo.shell: true`),
 *   unless the field is deprecated, and empty repeated fields are left out;
 * - output is ASCII-only: other characters are escaped as \uXXXX, so that a string's length equals the
 *   byte length RecordIO frames announce.
 */
import { FieldPath, describeValue } from './wire-error';
import {
  checkDepth,
  describeEnum,
  describeNumber,
  describePlain,
  fitsNumber,
  isPlainValue,
  messagePlan,
  type FieldPlan,
  type MessagePlan,
  type PlainMessage,
  type ScalarKind,
} from './mesos-types';

const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[-+]?(?:inf|infinity)$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const NON_ASCII = /[\u0080-\uffff]/g;

/**
 * decodeJson turns a JSON body (text, UTF-8 bytes or an already parsed value) into a {@link PlainMessage}
 * of the given type, or throws a {@link WireError} (status 400) naming the JSON path of the problem.
 *
 * ```ts
 * const call = decodeJson('mesos.v1.scheduler.Call', '{"type":"DECLINE","decline":{"offer_ids":[{"value":"M-O1"}]}}');
 * // { type: 'DECLINE', decline: { offer_ids: [{ value: 'M-O1' }] } }
 * ```
 */
export function decodeJson<T = PlainMessage>(typeName: string, input: string | Uint8Array | object): T {
  const plan = messagePlan(typeName);
  const path = new FieldPath(plan.fullName, 400);
  let json: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      json = JSON.parse(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'));
    } catch (err) {
      throw path.error(`the body is not valid JSON: ${(err as Error).message}`, err);
    }
  }
  return decodeMessage(plan, json, path) as T;
}

function decodeMessage(plan: MessagePlan, json: unknown, path: FieldPath): PlainMessage {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw path.error(`expected an object (${plan.fullName}), got ${describeValue(json)}`);
  }
  checkDepth(path);
  const source = json as Record<string, unknown>;
  const out: PlainMessage = {};
  for (const key of Object.keys(source)) {
    const field = plan.byName.get(key);
    const value = source[key];
    if (field === undefined || value === null || value === undefined) continue;
    path.push(key);
    const decoded = field.map ? decodeMap(field, value, path) : field.repeated ? decodeRepeated(field, value, path) : decodeValue(field, value, path);
    path.pop();
    if (decoded === undefined) continue;
    for (const sibling of field.oneofSiblings) delete out[sibling];
    out[key] = decoded;
  }
  for (const field of plan.required) {
    if (out[field.name] === undefined) {
      path.push(field.name);
      throw path.error('required field is missing');
    }
  }
  return out;
}

function decodeRepeated(field: FieldPlan, value: unknown, path: FieldPath): unknown[] | undefined {
  if (!Array.isArray(value)) throw path.error(`expected an array, got ${describeValue(value)}`);
  const out: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    path.push(i);
    const decoded = decodeValue(field, value[i], path);
    path.pop();
    if (decoded !== undefined) out.push(decoded);
  }
  return out.length > 0 ? out : undefined;
}

function decodeMap(field: FieldPlan, value: unknown, path: FieldPath): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || Array.isArray(value)) throw path.error(`expected an object (map), got ${describeValue(value)}`);
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  if (keys.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    path.push({ key });
    out[key] = decodeValue(field, source[key], path);
    path.pop();
  }
  return out;
}

// One value of the field; undefined for an unknown enum value of a field that is not required.
function decodeValue(field: FieldPlan, value: unknown, path: FieldPath): unknown {
  switch (field.kind) {
    case 'message':
      return decodeMessage(field.messagePlan!, value, path);
    case 'enum': {
      const plan = field.enumPlan!;
      if (typeof value === 'string' && plan.numberOf.has(value)) return value;
      if (typeof value === 'number' && plan.nameOf.has(value)) return plan.nameOf.get(value);
      // A value from a newer Mesos: discarded unless the field is required, as Mesos does.
      if ((typeof value === 'string' || Number.isInteger(value)) && !field.required) return undefined;
      throw path.error(`expected ${describeEnum(plan)} or its number, got ${describeValue(value)}`);
    }
    case 'string':
      if (typeof value !== 'string') throw path.error(`expected a string, got ${describeValue(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw path.error(`expected a boolean, got ${describeValue(value)}`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !BASE64.test(value)) throw path.error(`expected base64 text, got ${describeValue(value)}`);
      return Buffer.from(value, 'base64');
    default:
      return decodeNumber(field.kind, value, path);
  }
}

function decodeNumber(kind: ScalarKind, value: unknown, path: FieldPath): number {
  // Floating-point fields also take infinity as text (an unlimited resource limit): "Infinity", as
  // protobuf's JSON mapping writes it, or "inf"/"infinity" in any case, as Mesos's parser reads it.
  if ((kind === 'double' || kind === 'float') && typeof value === 'string' && INFINITY.test(value)) return value.trimStart().startsWith('-') ? -Infinity : Infinity;
  const n = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n) || !fitsNumber(kind, n)) {
    throw path.error(`expected ${describeNumber(kind)} (a JSON number or a numeric string), got ${describeValue(value)}`);
  }
  return n;
}

/**
 * encodeJson turns a {@link PlainMessage} into Mesos JSON text (ASCII only, explicit defaults written).
 * A message the caller built wrong (a missing required field, a value of the wrong type) throws a
 * {@link WireError} with status 500 naming the path.
 *
 * ```ts
 * encodeJson('mesos.v1.CommandInfo', { value: 'echo ☃' }); // '{"shell":true,"value":"echo \\u2603"}'
 * ```
 */
export function encodeJson(typeName: string, message: PlainMessage): string {
  const plan = messagePlan(typeName);
  const json = JSON.stringify(toJsonMessage(plan, message, new FieldPath(plan.fullName, 500)));
  return json.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function toJsonMessage(plan: MessagePlan, message: unknown, path: FieldPath): Record<string, unknown> {
  checkDepth(path);
  const source = message as PlainMessage;
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const value = source[field.name];
    if (value === undefined || value === null) {
      if (field.required) {
        path.push(field.name);
        throw path.error('required field is missing');
      }
      if (field.outputDefault !== undefined) out[field.name] = field.outputDefault;
      continue;
    }
    path.push(field.name);
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) throw path.error(`expected an object (map), got ${describeValue(value)}`);
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > 0) {
        const map: Record<string, unknown> = {};
        for (const [key, v] of entries) {
          path.push({ key });
          map[key] = toJsonValue(field, v, path);
          path.pop();
        }
        out[field.name] = map;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw path.error(`expected an array, got ${describeValue(value)}`);
      if (value.length > 0) {
        out[field.name] = value.map((v, i) => {
          path.push(i);
          const json = toJsonValue(field, v, path);
          path.pop();
          return json;
        });
      }
    } else {
      out[field.name] = toJsonValue(field, value, path);
    }
    path.pop();
  }
  return out;
}

function toJsonValue(field: FieldPlan, value: unknown, path: FieldPath): unknown {
  if (!isPlainValue(field, value)) throw path.error(`expected ${describePlain(field)}, got ${describeValue(value)}`);
  if (field.kind === 'message') return toJsonMessage(field.messagePlan!, value, path);
  if (field.kind === 'bytes') {
    const bytes = value as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  }
  // JSON has no infinity (JSON.stringify would write null): an unlimited limit is the string, as
  // protobuf's JSON mapping writes it and Mesos reads it.
  if (typeof value === 'number' && !Number.isFinite(value) && !Number.isNaN(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return value;
}
