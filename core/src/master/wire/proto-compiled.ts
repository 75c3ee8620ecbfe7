/**
 * Compiled protobuf decoders: the fast path of decodeProto. Each message type gets, on first use, a
 * decode function of its own (built with `new Function`): a loop over tags with a `switch` on the tag,
 * direct property stores and inline varint reads, where the generic decoder of proto-codec.ts walks the
 * field plans and keeps a FieldPath for its errors.
 *
 * The compiled decoders report no errors. On anything the generic decoder would refuse, and on the few
 * inputs whose protobufjs reading is odd (a string overrunning the input, a varint protobufjs reads
 * past its end), they give up, and decodeProto re-runs the generic decoder, which gives the exact
 * error (or the odd result). What they do decode is what the generic decoder gives, key order included.
 */
import protobuf from 'protobufjs';
import { checkDepth, type EnumPlan, type FieldPlan, type MessagePlan, type PlainMessage } from './mesos-types';
import type { FieldPath } from './wire-error';

/**
 * decodeCompiled decodes protobuf bytes with the compiled decoder of `plan`, or returns undefined where
 * the generic decoder must decide: malformed bytes, a missing required field, nesting too deep.
 */
export function decodeCompiled(plan: MessagePlan, bytes: Uint8Array): PlainMessage | undefined {
  // protobufjs reads a Node Buffer's strings with Node's UTF-8 decoder and other arrays' with its own.
  const nodeBuffer = NodeBuffer !== null && NodeBuffer.isBuffer(bytes);
  if (!nodeBuffer && !(bytes instanceof Uint8Array)) return undefined;
  try {
    return slotOf(plan).fn(new Cursor(bytes, nodeBuffer), bytes.length, 0);
  } catch {
    return undefined;
  }
}

// protobufjs's Buffer, null where it found none (its typing says otherwise).
const NodeBuffer = protobuf.util.Buffer as typeof Buffer | null;

/** Where the decoders of one input are: each decoder keeps the position in a local and syncs it here around calls. */
class Cursor {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly nodeBuffer: boolean,
  ) {}
}

type Decoder = (c: Cursor, end: number, depth: number) => PlainMessage;

// A message type's decoder, compiled on its first call: the decoders refer to the slots of the types
// they contain, so that a type containing itself (ContainerID.parent) compiles, and unused types never do.
interface Slot {
  fn: Decoder;
}
const slots = new WeakMap<MessagePlan, Slot>();

function slotOf(plan: MessagePlan): Slot {
  let slot = slots.get(plan);
  if (slot === undefined) {
    const created: Slot = {
      fn: (c, end, depth) => {
        created.fn = compile(plan);
        return created.fn(c, end, depth);
      },
    };
    slots.set(plan, (slot = created));
  }
  return slot;
}

// What the decoders throw to give up: an Error made once, so giving up costs no stack trace.
const BAIL = new Error('compiled protobuf decoder gave up');

// The deepest path checkDepth accepts, asked of it once (mesos-types keeps its limit to itself): the
// compiled decoders must give up exactly where the generic one fails.
const MAX_DEPTH = (() => {
  const probe = { depth: 0, error: () => BAIL };
  for (; probe.depth < 100_000; probe.depth++) {
    try {
      checkDepth(probe as unknown as FieldPath);
    } catch {
      break;
    }
  }
  return probe.depth - 1;
})();

// ---- reading, as protobufjs reads (what the generated code calls) ----

/**
 * Reads a varint as protobufjs's Reader.uint32 does: 4 bits of a 5th byte, and a 5th byte with its high bit
 * set skips the 5 bytes after it unread (a negative int32 is 10 bytes). Gives up past `bound`.
 */
function readVarint32(c: Cursor, bound: number): number {
  const buf = c.buf;
  let pos = c.pos;
  let b = buf[pos++];
  let value = b & 127;
  if (b > 127) {
    b = buf[pos++];
    value |= (b & 127) << 7;
    if (b > 127) {
      b = buf[pos++];
      value |= (b & 127) << 14;
      if (b > 127) {
        b = buf[pos++];
        value |= (b & 127) << 21;
        if (b > 127) {
          b = buf[pos++];
          value = (value | ((b & 15) << 28)) >>> 0;
          if (b > 127) pos += 5;
        }
      }
    }
  }
  // A byte past the input is undefined: it ends the varint, and pos is then past the bound.
  if (pos > bound) throw BAIL;
  c.pos = pos;
  return value;
}

// The two halves of the last 64-bit varint read (protobufjs's LongBits).
let lo = 0;
let hi = 0;

// Reads a 64-bit varint into lo and hi. protobufjs would take a 4th byte near the input's end whatever its
// high bit; a valid varint never has one there, so giving up on it loses nothing.
function readLongBits(c: Cursor, bound: number): void {
  const buf = c.buf;
  let pos = c.pos;
  let b = 0;
  lo = 0;
  hi = 0;
  for (let i = 0; i < 4; i++) {
    b = buf[pos++];
    lo = (lo | ((b & 127) << (i * 7))) >>> 0;
    if (b < 128) return endLongBits(c, pos, bound);
  }
  b = buf[pos++];
  lo = (lo | ((b & 127) << 28)) >>> 0;
  hi = (b & 127) >> 4;
  if (b < 128) return endLongBits(c, pos, bound);
  for (let i = 0; i < 5; i++) {
    b = buf[pos++];
    hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
    if (b < 128) return endLongBits(c, pos, bound);
  }
  // An undefined byte past the input never ends a varint: it ends up here.
  throw BAIL;
}

function endLongBits(c: Cursor, pos: number, bound: number): void {
  if (pos > bound) throw BAIL;
  c.pos = pos;
}

// The 64-bit values as numbers, by proto-codec's long() rule: high half times 2^32 plus the unsigned low half.
function readInt64(c: Cursor, bound: number): number {
  readLongBits(c, bound);
  return (hi | 0) * 4294967296 + lo;
}

function readUint64(c: Cursor, bound: number): number {
  readLongBits(c, bound);
  return hi * 4294967296 + lo;
}

function readSint64(c: Cursor, bound: number): number {
  readLongBits(c, bound);
  const mask = -(lo & 1);
  const low = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
  return (((hi >>> 1) ^ mask) | 0) * 4294967296 + low;
}

function readFixed64(buf: Uint8Array, pos: number, signed: boolean): number {
  const low = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  const high = buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24);
  return (signed ? high : high >>> 0) * 4294967296 + low;
}

// A string as protobufjs reads it: Node's decoder for a Buffer (BufferReader), protobufjs's own for other
// arrays (they differ on invalid UTF-8). A short ASCII string is the same in both, and is made here with
// one String.fromCharCode call, 2 to 3 times quicker than a call into Node's decoder.
function readString(c: Cursor, start: number, end: number): string {
  if (end - start <= SHORT_STRING) {
    const short = shortAscii(c.buf, start, end);
    if (short !== undefined) return short;
  }
  const buf = c.buf as Utf8Buffer;
  if (!c.nodeBuffer) return protobuf.util.utf8.read(buf.subarray(start, end), 0, end - start);
  return buf.utf8Slice ? buf.utf8Slice(start, end) : (buf as Buffer).toString('utf-8', start, end);
}

type Utf8Buffer = Uint8Array & { utf8Slice?(start: number, end: number): string };

// Past 16 characters the many-argument call gets slower than Node's decoder.
const SHORT_STRING = 16;

// The ASCII string of buf[start, end) (at most SHORT_STRING bytes), undefined when a byte is not ASCII.
const shortAscii = new Function(
  'fromCharCode',
  `return function shortAscii(b, s, e) {
  let any = 0;
  for (let i = s; i < e; i++) any |= b[i];
  if (any > 127) return undefined;
  switch (e - s) {
${Array.from({ length: SHORT_STRING + 1 }, (_, n) => `    case ${n}: return fromCharCode(${Array.from({ length: n }, (_, i) => `b[s + ${i}]`).join(', ')});`).join('\n')}
  }
};`,
)(String.fromCharCode) as (buf: Uint8Array, start: number, end: number) => string | undefined;

// A bytes value in memory of its own, as proto-codec's ownedCopy makes it (see why there).
function readBytes(buf: Uint8Array, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafeSlow(end - start);
  if (end - start <= 64) {
    for (let i = start; i < end; i++) copy[i - start] = buf[i];
  } else {
    copy.set(buf.subarray(start, end));
  }
  return copy;
}

// Skips a field as protobufjs's skipType does; groups (wire types 3 and 4) and invalid wire types give up.
function skipField(c: Cursor, wireType: number, bound: number): void {
  const buf = c.buf;
  let pos = c.pos;
  switch (wireType) {
    case 0:
      do {
        if (pos >= bound) throw BAIL;
      } while (buf[pos++] & 128);
      break;
    case 1:
      pos += 8;
      break;
    case 2: {
      const length = readVarint32(c, bound);
      pos = c.pos + length;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw BAIL;
  }
  if (pos > bound) throw BAIL;
  c.pos = pos;
}

const F64 = new Float64Array([-0]);
const F8 = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = F8[7] === 128;

const RUNTIME = {
  F64,
  F8,
  BAIL,
  u32: readVarint32,
  i64: readInt64,
  u64: readUint64,
  s64: readSint64,
  fx64: readFixed64,
  str: readString,
  bytes: readBytes,
  skip: skipField,
  f32: protobuf.util.float.readFloatLE,
  f64: protobuf.util.float.readDoubleLE,
};

// ---- the compiler ----

// An enum's names by number, in an object without prototype that the generated code indexes.
const enumTables = new WeakMap<EnumPlan, Record<number, string>>();

function enumTable(plan: EnumPlan): Record<number, string> {
  let table = enumTables.get(plan);
  if (table === undefined) {
    table = Object.create(null) as Record<number, string>;
    for (const [number, name] of plan.nameOf) table[number] = name;
    enumTables.set(plan, table);
  }
  return table;
}

// What the source of one decoder refers to: the slots of the message types and the enum tables it uses.
class Context {
  readonly slots: Slot[] = [];
  readonly enums: Record<number, string>[] = [];

  slot(plan: MessagePlan): string {
    return `D${indexOf(this.slots, slotOf(plan))}`;
  }

  enum(plan: EnumPlan): string {
    return `E${indexOf(this.enums, enumTable(plan))}`;
  }
}

function indexOf<T>(list: T[], item: T): number {
  const i = list.indexOf(item);
  return i >= 0 ? i : list.push(item) - 1;
}

// Every type's decoder makes its objects with `new O()`, O a constructor of the type's name whose
// prototype is Object.prototype, so they are plain objects as `{}` makes them (same prototype, same
// constructor, keys in the order stored). What differs is where V8 keeps their fields: a `{}` has room
// for 4 in the object and puts the rest in a separate array, while a constructor's objects get room
// for what its body assigns (the never-run `this.f = 0` lines: one per field), trimmed to what the
// first objects used. A decoded Task (11 fields) is then one object instead of two: 9% less heap per
// re-registered task and less for the GC to copy.
function compile(plan: MessagePlan): Decoder {
  const ctx = new Context();
  const cases = plan.fieldsById.map((f) => fieldCases(f, ctx).replace(/^/gm, '      ')).join('\n');
  const required = plan.required.map((f) => `  if (${prop(f.name)} === undefined) throw BAIL;\n`).join('');
  const source = `"use strict";
const { BAIL, u32, i64, u64, s64, fx64, str, bytes, skip, f32, f64, F64, F8 } = R;
${ctx.slots.map((_, i) => `const D${i} = D[${i}];`).join('\n')}
${ctx.enums.map((_, i) => `const E${i} = E[${i}];`).join('\n')}
// The decoded objects are made by a constructor of their own (see above compile()), named after the
// type so that heap snapshots say what they are.
const O = function ${plan.fullName.replace(/[^\w$]/g, '_')}() { if (false) { ${plan.fieldsById.map((f) => `this[${JSON.stringify(f.name)}] = 0;`).join(' ')} } };
O.prototype = Object.prototype;
return function ${identifier(plan.fullName)}(c, end, depth) {
  if (depth > ${MAX_DEPTH}) throw BAIL;
  const buf = c.buf;
  let pos = c.pos, t = 0, n = 0, v, l, m;
  const o = new O();
  while (pos < end) {
    t = buf[pos];
    if (t < 128) pos++; else { c.pos = pos; t = u32(c, end); pos = c.pos; }
    switch (t) {
${cases}
      default:
        if (t < 8) throw BAIL;
        c.pos = pos; skip(c, t & 7, end); pos = c.pos;
    }
  }
  if (pos !== end) throw BAIL;
${required}  c.pos = pos;
  return o;
};`;
  return new Function('R', 'D', 'E', source)(RUNTIME, ctx.slots, ctx.enums) as Decoder;
}

// The `case`s of one field: its own wire type, and the packed form of a repeated scalar.
function fieldCases(f: FieldPlan, ctx: Context): string {
  const tag = f.id * 8 + f.wireType;
  if (f.map) return `case ${tag}: {\n${mapEntry(f, ctx)}\nbreak;\n}`;
  if (!f.repeated) return `case ${tag}: {\n${readValue(f, ctx, 'end')}\n${storeSingular(f)}\nbreak;\n}`;
  const unpacked = `case ${tag}: {\n${readValue(f, ctx, 'end')}\nl = ${prop(f.name)};\n${storeRepeated(f)}\nbreak;\n}`;
  if (f.wireType === 2) return unpacked;
  return `${unpacked}
case ${f.id * 8 + 2}: {
${readLength('end')}
const last = pos + n;
l = ${prop(f.name)};
while (pos < last) {
${readValue(f, ctx, 'last')}
${storeRepeated(f)}
}
break;
}`;
}

// A singular value replaces the field, clearing its oneof siblings first; an unknown enum number sets nothing.
function storeSingular(f: FieldPlan): string {
  const clear = f.oneofSiblings.map((n) => `if (${prop(n)} !== undefined) delete ${prop(n)};`).join(' ');
  const store = `${clear} ${prop(f.name)} = v;`;
  return f.kind === 'enum' ? `if (v !== undefined) { ${store} }` : store;
}

// A repeated field is only set once it has a value (its key lands then); `l` holds the list, if any.
function storeRepeated(f: FieldPlan): string {
  const store = `if (l === undefined) ${prop(f.name)} = l = [v]; else l.push(v);`;
  return f.kind === 'enum' ? `if (v !== undefined) { ${store} }` : store;
}

// A map entry: the map is set with its first entry; an entry without a value gets an empty message,
// through the decoder so that its required fields and the depth are checked.
function mapEntry(f: FieldPlan, ctx: Context): string {
  if (f.kind !== 'message') throw new Error(`${f.name}: only map<string, Message> fields are supported`);
  const decoder = ctx.slot(f.messagePlan!);
  return `${readLength('end')}
const me = pos + n;
m = ${prop(f.name)};
if (m === undefined) ${prop(f.name)} = m = {};
let mk = '', mv;
while (pos < me) {
  ${readVarint('t', 'me')}
  if (t === 10) { ${readLength('me')} mk = str(c, pos, pos + n); pos += n; }
  else if (t === 18) { ${readLength('me')} c.pos = pos; mv = ${decoder}.fn(c, pos + n, depth + 2); pos = c.pos; }
  else { c.pos = pos; skip(c, t & 7, me); pos = c.pos; }
}
if (mv === undefined) { c.pos = pos; mv = ${decoder}.fn(c, pos, depth + 2); }
m[mk] = mv;`;
}

// Reads one value of the field into `v`, staying within `bound` (the name of a variable).
function readValue(f: FieldPlan, ctx: Context, bound: string): string {
  switch (f.kind) {
    case 'message': {
      // The FieldPath of the generic decoder has the field's name, and an index for a repeated field.
      const depth = f.repeated ? 'depth + 2' : 'depth + 1';
      return `${readLength(bound)} c.pos = pos; v = ${ctx.slot(f.messagePlan!)}.fn(c, pos + n, ${depth}); pos = c.pos;`;
    }
    case 'enum':
      return `${readVarint('v', bound)} v = ${ctx.enum(f.enumPlan!)}[v | 0];`;
    case 'string':
      return `${readLength(bound)} v = str(c, pos, pos + n); pos += n;`;
    case 'bytes':
      return `${readLength(bound)} v = bytes(buf, pos, pos + n); pos += n;`;
    case 'bool':
      return `${readVarint('v', bound)} v = v !== 0;`;
    case 'int32':
      return `${readVarint('v', bound)} v = v | 0;`;
    case 'uint32':
      return readVarint('v', bound);
    case 'sint32':
      return `${readVarint('v', bound)} v = (v >>> 1) ^ -(v & 1) | 0;`;
    case 'fixed32':
      return `if (${bound} - pos < 4) throw BAIL; v = (buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16 | buf[pos + 3] << 24) >>> 0; pos += 4;`;
    case 'sfixed32':
      return `if (${bound} - pos < 4) throw BAIL; v = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16 | buf[pos + 3] << 24; pos += 4;`;
    case 'float':
      return `if (${bound} - pos < 4) throw BAIL; v = f32(buf, pos); pos += 4;`;
    case 'double':
      return `if (${bound} - pos < 8) throw BAIL; ${readDouble()} pos += 8;`;
    case 'int64':
      return readVarint('v', bound, 'i64');
    case 'uint64':
      return readVarint('v', bound, 'u64');
    case 'sint64':
      return `c.pos = pos; v = s64(c, ${bound}); pos = c.pos;`;
    case 'fixed64':
      return `if (${bound} - pos < 8) throw BAIL; v = fx64(buf, pos, false); pos += 8;`;
    case 'sfixed64':
      return `if (${bound} - pos < 8) throw BAIL; v = fx64(buf, pos, true); pos += 8;`;
  }
}

// A double into `v` the way protobufjs reads it (8 bytes into a Float64Array), inline where the machine
// is little-endian: resources carry one in each scalar.
function readDouble(): string {
  if (!LITTLE_ENDIAN) return 'v = f64(buf, pos);';
  return `${Array.from({ length: 8 }, (_, i) => `F8[${i}] = buf[pos + ${i}];`).join(' ')} v = F64[0];`;
}

// A varint into `target`: a one-byte varint inline (the same value for every varint kind but sint64),
// a longer one by `reader`. A byte past the input is undefined, not < 128: the reader gives up on it.
function readVarint(target: string, bound: string, reader = 'u32'): string {
  return `${target} = buf[pos]; if (${target} < 128) pos++; else { c.pos = pos; ${target} = ${reader}(c, ${bound}); pos = c.pos; } if (pos > ${bound}) throw BAIL;`;
}

// The length of a length-delimited value into `n`, which must fit before `bound`.
function readLength(bound: string): string {
  return `${readVarint('n', bound)} if (n > ${bound} - pos) throw BAIL;`;
}

// The property of `o` named `name`, as the generated code writes it.
function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `o.${name}` : `o[${JSON.stringify(name)}]`;
}

// A function name for stack traces and profiles: decode_mesos_v1_TaskInfo.
function identifier(fullName: string): string {
  return `decode_${fullName.replace(/[^\w$]/g, '_')}`;
}
