/**
 * The Mesos v1 message types Tessera speaks (core/proto/mesos/v1), loaded from the generated protobufjs
 * descriptor, and the field plans the JSON and protobuf codecs walk.
 *
 * Both codecs share one in-memory shape, a {@link PlainMessage}: the proto's snake_case field names as
 * keys, enums as their names, bytes as Buffer (any Uint8Array on input), 64-bit integers as numbers,
 * maps as plain objects. Unset fields, empty repeated fields and empty maps are absent.
 */
import protobuf from 'protobufjs';
import descriptor from './generated/mesos-v1.json';
import { WireError, type FieldPath } from './wire-error';

/** mesosRoot holds every Mesos v1 type Tessera knows, with the protos' snake_case field names. */
export const mesosRoot = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
mesosRoot.resolveAll();

/** PlainMessage is a Mesos message in the in-memory shape both codecs decode to and encode from. */
export type PlainMessage = { [field: string]: unknown };

/**
 * MAX_DEPTH bounds how deep a field path may go (field names, array indexes and map keys; real Mesos
 * messages stay under 30), as protobuf's own parsers bound recursion: a hostile body of deeply nested
 * messages fails cleanly instead of exhausting the stack.
 */
const MAX_DEPTH = 100;

/** checkDepth throws when a codec entering a message at `path` is deeper than {@link MAX_DEPTH}. */
export function checkDepth(path: FieldPath): void {
  if (path.depth > MAX_DEPTH) throw path.error(`messages nest deeper than ${MAX_DEPTH} levels`);
}

/** lookupType finds a message type by its full name, e.g. `mesos.v1.scheduler.Call`. */
export function lookupType(name: string): protobuf.Type {
  const found = mesosRoot.lookup(name.startsWith('.') ? name : `.${name}`);
  if (!(found instanceof protobuf.Type)) {
    throw new WireError(`unknown Mesos message type '${name}': use a full name such as mesos.v1.scheduler.Call`, { status: 500 });
  }
  return found;
}

/** ScalarKind is a protobuf scalar type. */
export type ScalarKind =
  | 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'bool' | 'string' | 'bytes';

/** EnumPlan maps an enum's names and numbers both ways. */
export interface EnumPlan {
  readonly fullName: string;
  readonly numberOf: ReadonlyMap<string, number>;
  readonly nameOf: ReadonlyMap<number, string>;
}

/** FieldPlan is what a codec needs to know about one field, computed once. */
export interface FieldPlan {
  /** name is the proto field name: the JSON key and the in-memory key. */
  readonly name: string;
  readonly id: number;
  /** kind is the type of the field, or of a map's values. */
  readonly kind: ScalarKind | 'enum' | 'message';
  /** repeated is true for repeated fields (maps are not repeated). */
  readonly repeated: boolean;
  /** map is true for map<string, Message> fields. */
  readonly map: boolean;
  readonly required: boolean;
  /** wireType is the protobuf wire type of one value. */
  readonly wireType: number;
  readonly enumPlan: EnumPlan | undefined;
  readonly messagePlan: MessagePlan | undefined;
  /** oneofSiblings are the other members of the field's oneof: setting the field clears them. */
  readonly oneofSiblings: readonly string[];
  /** outputDefault is the explicit default the JSON encoder writes for the unset field, as Mesos does. */
  readonly outputDefault: unknown;
}

/** MessagePlan is what a codec needs to know about one message type, computed once. */
export interface MessagePlan {
  /** fullName is the type's name without the leading dot, e.g. `mesos.v1.TaskInfo`. */
  readonly fullName: string;
  /** fields are in declaration order, the order Mesos writes JSON in. */
  readonly fields: readonly FieldPlan[];
  /** fieldsById are in field number order, the order protobuf is written in. */
  readonly fieldsById: readonly FieldPlan[];
  readonly byName: ReadonlyMap<string, FieldPlan>;
  readonly byId: ReadonlyMap<number, FieldPlan>;
  readonly required: readonly FieldPlan[];
}

const WIRE_TYPES: Record<ScalarKind | 'enum' | 'message', number> = {
  int32: 0, uint32: 0, sint32: 0, int64: 0, uint64: 0, sint64: 0, bool: 0, enum: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  string: 2, bytes: 2, message: 2,
  fixed32: 5, sfixed32: 5, float: 5,
};

const messagePlans = new Map<string, MessagePlan>();
const enumPlans = new Map<string, EnumPlan>();

/** messagePlan returns the (cached) plan of a message type, e.g. `mesos.v1.scheduler.Call`. */
export function messagePlan(typeName: string): MessagePlan {
  return messagePlans.get(typeName) ?? planOf(lookupType(typeName));
}

function planOf(type: protobuf.Type): MessagePlan {
  const fullName = type.fullName.slice(1);
  const cached = messagePlans.get(fullName);
  if (cached) return cached;
  const fields: FieldPlan[] = [];
  const plan: MessagePlan = {
    fullName,
    fields,
    fieldsById: [],
    byName: new Map(),
    byId: new Map(),
    required: [],
  };
  // Cached before its fields are planned: a type may contain itself (ContainerID.parent).
  messagePlans.set(fullName, plan);
  for (const f of type.fieldsArray) fields.push(fieldPlanOf(f));
  Object.assign(plan, {
    fieldsById: [...fields].sort((a, b) => a.id - b.id),
    byName: new Map(fields.map((f) => [f.name, f])),
    byId: new Map(fields.map((f) => [f.id, f])),
    required: fields.filter((f) => f.required),
  });
  return plan;
}

function fieldPlanOf(f: protobuf.Field): FieldPlan {
  const resolved = f.resolvedType;
  // The Mesos protos only have map<string, Message> fields; the codecs rely on it.
  if (f instanceof protobuf.MapField && (f.keyType !== 'string' || !(resolved instanceof protobuf.Type))) {
    throw new Error(`${f.fullName}: only map<string, Message> fields are supported`);
  }
  const kind = resolved instanceof protobuf.Type ? 'message' : resolved instanceof protobuf.Enum ? 'enum' : (f.type as ScalarKind);
  const options = f.options ?? {};
  const hasOutputDefault = 'default' in options && !options.deprecated && !f.repeated && !f.map;
  return {
    name: f.name,
    id: f.id,
    kind,
    repeated: f.repeated,
    map: f.map,
    required: f.required,
    wireType: WIRE_TYPES[kind],
    enumPlan: resolved instanceof protobuf.Enum ? enumPlanOf(resolved) : undefined,
    messagePlan: resolved instanceof protobuf.Type ? planOf(resolved) : undefined,
    oneofSiblings: f.partOf ? f.partOf.oneof.filter((n) => n !== f.name) : [],
    outputDefault: hasOutputDefault ? options.default : undefined,
  };
}

function enumPlanOf(e: protobuf.Enum): EnumPlan {
  const fullName = e.fullName.slice(1);
  let plan = enumPlans.get(fullName);
  if (!plan) {
    const entries = Object.entries(e.values);
    plan = { fullName, numberOf: new Map(entries), nameOf: new Map(entries.map(([n, v]) => [v, n])) };
    enumPlans.set(fullName, plan);
  }
  return plan;
}

const INT_RANGES: Partial<Record<ScalarKind, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  sint64: [-(2 ** 63), 2 ** 63 - 1],
  sfixed64: [-(2 ** 63), 2 ** 63 - 1],
  uint64: [0, 2 ** 64 - 1],
  fixed64: [0, 2 ** 64 - 1],
};

/** fitsNumber tells whether a number is a valid value of a numeric kind (integers in range for integer kinds). */
export function fitsNumber(kind: ScalarKind, n: number): boolean {
  const range = INT_RANGES[kind];
  if (!range) return true;
  return Number.isInteger(n) && n >= range[0] && n <= range[1];
}

/** describeNumber says what a numeric kind accepts, for error messages. */
export function describeNumber(kind: ScalarKind): string {
  const range = INT_RANGES[kind];
  if (!range) return 'a number';
  return range[0] === 0 ? `a non-negative integer (${kind})` : `an integer (${kind})`;
}

/** isPlainValue tells whether a value has the in-memory shape of one value of the field. */
export function isPlainValue(field: FieldPlan, value: unknown): boolean {
  switch (field.kind) {
    case 'message':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
    case 'enum':
      return typeof value === 'string' && field.enumPlan!.numberOf.has(value);
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'bytes':
      return value instanceof Uint8Array;
    default:
      return typeof value === 'number' && fitsNumber(field.kind, value);
  }
}

/** describePlain says what in-memory value a field takes, for error messages. */
export function describePlain(field: FieldPlan): string {
  switch (field.kind) {
    case 'message':
      return `an object (${field.messagePlan!.fullName})`;
    case 'enum':
      return describeEnum(field.enumPlan!);
    case 'string':
      return 'a string';
    case 'bool':
      return 'a boolean';
    case 'bytes':
      return 'a Buffer or Uint8Array';
    default:
      return describeNumber(field.kind);
  }
}

/** describeEnum lists an enum's names (the first ten) for error messages. */
export function describeEnum(plan: EnumPlan): string {
  const names = [...plan.numberOf.keys()];
  return `one of ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''} (${plan.fullName})`;
}
