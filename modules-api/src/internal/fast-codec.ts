// One-pass protobuf encoders and decoders for the ABI's message types, generated once per type.
//
// protobufjs needs two passes each way: fromObject builds Message instances that encode then walks, and
// decode builds Message instances that toObject then converts. On the allocator stream that was half the
// cost. The functions generated here go straight between the plain shape of generated/types.ts and the wire
// (byte-writer.ts writes, protobufjs's Reader reads) with the results of those two passes:
// - encode: the same bytes for the same value: values converted as fromObject converts them, fields in
//   field-number order, set defaults written, packing as the field says, and the same errors;
// - decode: the object toObject gives with codec.ts's CONVERSION: enum names (unknown numbers kept), 64-bit
//   integers as numbers, bytes as Buffers, repeated fields always there ([] when empty), unset fields absent,
//   the last occurrence of a singular field winning, keys in toObject's order; malformed bytes throw where
//   protobufjs throws.
// fast-codec.test.ts holds the two passes as the oracle. Source is generated, as protobufjs does, because
// reading and writing properties by constant names is what makes it fast; messageSource shows it.
import protobuf from 'protobufjs';
import { ByteWriter, withWriter } from './byte-writer';
import { HELPERS } from './conversions';

const { util } = protobuf;

// protobufjs's tables of the scalar types (types.js), by type name: wire type, default value, whether 64-bit,
// wire type as a map key, whether packable.
interface ScalarTables {
  basic: Record<string, number>;
  defaults: Record<string, unknown>;
  long: Record<string, number>;
  mapKey: Record<string, number>;
  packed: Record<string, number>;
}
const wire = protobuf.types as unknown as ScalarTables;

// Nesting depth limits, as protobufjs applies them (100, as protoc).
const ENCODE_LIMIT = util.recursionLimit;
const DECODE_LIMIT = Math.min(protobuf.Reader.recursionLimit, util.recursionLimit);

/** MessageCodec turns plain objects of one message type into bytes and back. */
export interface MessageCodec {
  /** encode writes a plain object; a value of the wrong shape throws an Error naming the field. */
  encode(value: unknown): Buffer;
  /** decode reads bytes into a plain object; malformed bytes throw. */
  decode(bytes: Uint8Array): Record<string, unknown>;
}

const codecs = new WeakMap<protobuf.Type, MessageCodec>();

/** messageCodec gives the codec of a message type, generating it (and those of its field types) on first use. */
export function messageCodec(type: protobuf.Type): MessageCodec {
  let codec = codecs.get(type);
  if (!codec) {
    const generated = generate(type);
    // fromObject checks the top-level value only when the type has fields; nested values are checked by the parent.
    const checkObject = type.fieldsArray.length > 0;
    const notObject = `${type.fullName}: object expected`;
    codec = {
      encode(value) {
        if (checkObject && !(value && typeof value === 'object')) throw TypeError(notObject);
        return withWriter((writer) => generated.encode(value as object, writer, 0));
      },
      decode(bytes) {
        return generated.decode(protobuf.Reader.create(bytes), undefined, 0);
      },
    };
    codecs.set(type, codec);
  }
  return codec;
}

/** messageSource shows the generated encoder and decoder of a type, for debugging. */
export function messageSource(type: protobuf.Type): string {
  return `${encoderSource(type, new Scope()).body}\n${decoderSource(type, new Scope()).body}`;
}

// The generated functions of one type. Other types call them through this record, so that a type can be
// generated while a recursive field type (ContainerID.parent) is still being generated.
interface Generated {
  encode(value: object, writer: ByteWriter, depth: number): ByteWriter;
  decode(reader: protobuf.Reader, length: number | undefined, depth: number): Record<string, unknown>;
}

const generatedByType = new Map<protobuf.Type, Generated>();

function generate(type: protobuf.Type): Generated {
  let done = generatedByType.get(type);
  if (done) return done;
  const notYet = (): never => {
    throw new Error(`codec of ${type.fullName} used while being generated`);
  };
  done = { encode: notYet, decode: notYet };
  generatedByType.set(type, done);
  try {
    if (protobuf.wrappers[type.fullName]) throw new Error(`codec: ${type.fullName} has a custom protobufjs wrapper, which the codec does not reproduce`);
    done.encode = encoderSource(type, new Scope()).compile();
    done.decode = decoderSource(type, new Scope()).compile();
  } catch (err) {
    generatedByType.delete(type);
    throw err;
  }
  return done;
}

function sortedFields(type: protobuf.Type): protobuf.Field[] {
  const fields = type.fieldsArray.map((f) => f.resolve());
  for (const field of fields) {
    if (field.delimited) throw new Error(`codec: ${field.fullName} is a group, which the codec does not support`);
    if (field.map && wire.long[keyTypeOf(field)] !== undefined) {
      throw new Error(`codec: ${field.fullName} has 64-bit map keys, which the codec does not support`);
    }
  }
  return fields.sort((a, b) => a.id - b.id);
}

// The typings keep MapField apart from Field; at run time a map field is a Field with a key type.
function keyTypeOf(field: protobuf.Field): string {
  return (field as unknown as protobuf.MapField).keyType;
}

// The type a field is written and read as: enums are int32 on the wire.
function wireTypeName(field: protobuf.Field): string {
  return field.resolvedType instanceof protobuf.Enum ? 'int32' : field.type;
}

function tag(id: number, wireType: number): number {
  return ((id << 3) | wireType) >>> 0;
}

// `.name` or `["name"]`, to read or set a property in generated code.
function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}


// ---- encoding ----------------------------------------------------------------------------------------

// How fromObject converts a plain value of each scalar type (protobufjs converter.js).
const CONVERT: Record<string, (x: string) => string> = {
  double: (x) => `Number(${x})`,
  float: (x) => `Number(${x})`,
  int32: (x) => `(${x} | 0)`,
  sint32: (x) => `(${x} | 0)`,
  sfixed32: (x) => `(${x} | 0)`,
  uint32: (x) => `(${x} >>> 0)`,
  fixed32: (x) => `(${x} >>> 0)`,
  bool: (x) => `Boolean(${x})`,
  string: (x) => `String(${x})`,
  int64: (x) => `toLong(${x}, false)`,
  sint64: (x) => `toLong(${x}, false)`,
  sfixed64: (x) => `toLong(${x}, false)`,
  uint64: (x) => `toLong(${x}, true)`,
  fixed64: (x) => `toLong(${x}, true)`,
  bytes: (x) => `toBytes(${x})`,
};

// A write of an already converted scalar to the writer expression `w`.
function writeScalar(type: string, w: string, x: string): string {
  return `${w}.${type}(${x})`;
}

function encoderSource(type: protobuf.Type, scope: Scope): Source {
  const src = new Source(scope);
  const fields = sortedFields(type);
  src.open(`return function ${type.name}$encode(m, w, q) {`);
  // fromObject hands a Message instance of the type through unchanged; protobufjs's own encoder writes it.
  src.line(`if (m instanceof ${scope.ref(type.ctor, 'Ctor')}) return ${scope.ref(type, 'Type')}.encode(m, w, q);`);
  // fromObject stops at the depth limit, or encode does for a type without fields (fromObject skips those).
  src.line(`if (q > ${ENCODE_LIMIT}) throw Error(${JSON.stringify(fields.length ? 'maximum nesting depth exceeded' : 'max depth exceeded')});`);
  if (fields.length) src.line('var v, e, i, k, ks;');
  for (const field of fields) {
    src.line(`// ${field.name} = ${field.id}`);
    src.line(`v = m${prop(field.name)};`);
    if (field.map) encodeMap(src, field);
    else if (field.repeated) encodeRepeated(src, field);
    else encodeSingle(src, field);
  }
  src.line('return w;');
  src.close('};');
  return src;
}

function objectExpected(field: protobuf.Field): string {
  return `throw TypeError(${JSON.stringify(`${field.fullName}: object expected`)});`;
}

// A message value `x` already checked to be an object, written as a length-delimited sub-message.
function encodeSubMessage(src: Source, field: protobuf.Field, x: string, tagValue: number): string {
  return `${src.scope.ref(generate(field.resolvedType as protobuf.Type), 'T')}.encode(${x}, w.uint32(${tagValue}).fork(), q + 1).ldelim();`;
}

function encodeSingle(src: Source, field: protobuf.Field): void {
  const type = wireTypeName(field);
  const t = tag(field.id, wire.basic[type] ?? 2);
  if (field.resolvedType instanceof protobuf.Type) {
    src.open('if (v != null) {');
    src.line(`if (typeof v !== "object") ${objectExpected(field)}`);
    src.line(encodeSubMessage(src, field, 'v', t));
    src.close('}');
  } else if (field.resolvedType instanceof protobuf.Enum) {
    // A known name or any number is written; anything else leaves the field unset, as fromObject does.
    src.line(`if (typeof v === "string") v = ${src.scope.enumValues(field.resolvedType)}.get(v);`);
    src.line(`if (typeof v === "number") w.uint32(${t}).int32(v);`);
  } else if (type === 'bytes') {
    // fromObject leaves the field unset when the value is neither base64 text nor array-like.
    src.line(`if (v != null && (v = toBytes(v)) !== undefined) w.uint32(${t}).bytes(v);`);
  } else {
    src.line(`if (v != null) ${writeScalar(type, `w.uint32(${t})`, CONVERT[type]('v'))};`);
  }
}

function encodeRepeated(src: Source, field: protobuf.Field): void {
  const type = wireTypeName(field);
  src.open('if (v) {');
  src.line(`if (!Array.isArray(v)) throw TypeError(${JSON.stringify(`${field.fullName}: array expected`)});`);
  if (field.resolvedType instanceof protobuf.Type) {
    src.open('for (i = 0; i < v.length; ++i) {');
    src.line('e = v[i];');
    src.line(`if (!e || typeof e !== "object") ${objectExpected(field)}`);
    src.line(encodeSubMessage(src, field, 'e', tag(field.id, 2)));
    src.close('}');
  } else {
    const item = repeatedItem(src, field);
    if (field.packed && wire.packed[type] !== undefined) {
      src.open('if (v.length) {');
      src.line(`w.uint32(${tag(field.id, 2)}).fork();`);
      src.line(`for (i = 0; i < v.length; ++i) ${writeScalar(type, 'w', item)};`);
      src.line('w.ldelim();');
      src.close('}');
    } else {
      src.line(`for (i = 0; i < v.length; ++i) ${writeScalar(type, `w.uint32(${tag(field.id, wire.basic[type])})`, item)};`);
    }
  }
  src.close('}');
}

// The converted value of item `v[i]` of a repeated scalar or enum field.
function repeatedItem(src: Source, field: protobuf.Field): string {
  if (!(field.resolvedType instanceof protobuf.Enum)) return CONVERT[field.type]('v[i]');
  // fromObject turns an unknown name into the field's default, or leaves a hole that encodes as 0.
  const values = field.resolvedType.values;
  const fallback = Object.values(values).includes(field.typeDefault as number) ? (field.typeDefault as number) : 0;
  return `enumItem(${src.scope.enumValues(field.resolvedType)}, v[i], ${fallback})`;
}

function encodeMap(src: Source, field: protobuf.Field): void {
  const type = wireTypeName(field);
  const keyType = keyTypeOf(field);
  const keyTag = 8 | wire.mapKey[keyType];
  src.open('if (v) {');
  src.line(`if (typeof v !== "object") ${objectExpected(field)}`);
  src.line('ks = Object.keys(v);');
  src.open('for (i = 0; i < ks.length; ++i) {');
  src.line('k = ks[i];');
  src.line('e = v[k];');
  if (field.resolvedType instanceof protobuf.Type) {
    src.line(`if (!e || typeof e !== "object") ${objectExpected(field)}`);
    src.line(`w.uint32(${tag(field.id, 2)}).fork().uint32(${keyTag}).${keyType}(k);`);
    src.line(encodeSubMessage(src, field, 'e', 18));
  } else {
    // An entry whose value fromObject would leave unset (unknown enum name, bytes that are neither) is dropped.
    if (field.resolvedType instanceof protobuf.Enum) {
      src.line(`if (typeof e === "string") e = ${src.scope.enumValues(field.resolvedType)}.get(e);`);
      src.line('if (typeof e !== "number") continue;');
    } else if (type === 'bytes') {
      src.line('if ((e = toBytes(e)) === undefined) continue;');
    } else {
      src.line(`e = ${CONVERT[type]('e')};`);
    }
    src.line(`w.uint32(${tag(field.id, 2)}).fork().uint32(${keyTag}).${keyType}(k);`);
    src.line(`${writeScalar(type, `w.uint32(${16 | wire.basic[type]})`, 'e')};`);
  }
  src.line('w.ldelim();');
  src.close('}');
  src.close('}');
}

// ---- decoding ----------------------------------------------------------------------------------------

function decoderSource(type: protobuf.Type, scope: Scope): Source {
  const src = new Source(scope);
  const fields = sortedFields(type);
  const local = (field: protobuf.Field): string => `f${field.id}`;
  src.open(`return function ${type.name}$decode(r, l, n) {`);
  src.line(`if (n > ${DECODE_LIMIT}) throw Error("maximum nesting depth exceeded");`);
  // One local per field, undefined while the field has not been read; `c` is where this message ends.
  src.line(['var c, c2, t, t2, k, e', ...fields.map(local)].join(', ') + ';');
  src.line('if (l === undefined) c = r.len;');
  src.open('else {');
  src.line('c = r.pos + l;');
  src.line('if (c > r.len) throw RangeError("index out of range");');
  src.line('l = r.len;');
  src.line('r.len = c;');
  src.close('}');
  src.open('while (r.pos < c) {');
  src.line('t = r.uint32();');
  src.open('switch (t >>> 3) {');
  for (const field of fields) {
    src.open(`case ${field.id}: // ${field.name}`);
    if (field.map) decodeMapEntry(src, field, local(field));
    else if (field.repeated) decodeRepeated(src, field, local(field));
    else src.line(`${local(field)} = ${readValue(src, field)};`);
    src.line('break;');
    src.close();
  }
  src.line('default:');
  src.line('  r.skipType(t & 7, n);');
  src.close('}');
  src.close('}');
  src.open('if (l !== undefined) {');
  src.line('if (r.pos !== c) throw RangeError("index out of range");');
  src.line('r.len = l;');
  src.close('}');
  // Keys in toObject's order: the repeated fields, always present, then the others that were read, by number.
  // Added one by one to an empty literal, which has room for four properties in the object itself.
  const repeated = fields.filter((f) => f.repeated && !f.map);
  src.line('var d = {};');
  for (const f of repeated) src.line(`d${prop(f.name)} = ${local(f)} === undefined ? [] : ${local(f)};`);
  for (const field of fields) {
    if (!repeated.includes(field)) src.line(`if (${local(field)} !== undefined) d${prop(field.name)} = ${local(field)};`);
  }
  src.line('return d;');
  src.close('};');
  return src;
}

// An expression reading one value of the field, converted as toObject converts it.
function readValue(src: Source, field: protobuf.Field): string {
  if (field.resolvedType instanceof protobuf.Type) {
    return `${src.scope.ref(generate(field.resolvedType), 'T')}.decode(r, r.uint32(), n + 1)`;
  }
  if (field.resolvedType instanceof protobuf.Enum) return `enumName(${src.scope.enumNames(field.resolvedType)}, r.int32())`;
  if (field.type === 'int64' || field.type === 'uint64') return `readVarint64(r, ${field.type === 'uint64'})`;
  if (wire.long[field.type] !== undefined) return `toNumber(r.${field.type}(), ${field.type === 'fixed64'})`;
  if (field.type === 'string') return 'readString(r)';
  return `r.${field.type}()`;
}

function decodeRepeated(src: Source, field: protobuf.Field, local: string): void {
  // Packed and unpacked encodings are both accepted for the types that can be packed.
  if (wire.packed[wireTypeName(field)] !== undefined) {
    src.line(`if (${local} === undefined) ${local} = [];`);
    src.open('if ((t & 7) === 2) {');
    src.line('c2 = r.uint32() + r.pos;');
    src.line('if (c2 > r.len) throw RangeError("index out of range");');
    src.line('r.len = c2;');
    src.line(`while (r.pos < c2) ${local}.push(${readValue(src, field)});`);
    src.line('if (r.pos !== c2) throw RangeError("index out of range");');
    src.line('r.len = c;');
    src.close(`} else ${local}.push(${readValue(src, field)});`);
  } else {
    // The first item makes an array of one (push on [] reserves room for 17; lists here are mostly short).
    src.line(`if (${local} === undefined) ${local} = [${readValue(src, field)}];`);
    src.line(`else ${local}.push(${readValue(src, field)});`);
  }
}

function decodeMapEntry(src: Source, field: protobuf.Field, local: string): void {
  const keyType = keyTypeOf(field);
  src.line(`if (${local} === undefined) ${local} = {};`);
  src.line('c2 = r.uint32() + r.pos;');
  src.line('if (c2 > r.len) throw RangeError("index out of range");');
  src.line('r.len = c2;');
  // A missing key or value is the type's default (null for a message), as protobufjs's decoder has it.
  src.line(`k = ${JSON.stringify(wire.defaults[keyType])};`);
  src.line(`e = ${defaultValue(src, field)};`);
  src.open('while (r.pos < c2) {');
  src.line('t2 = r.uint32();');
  src.open('switch (t2 >>> 3) {');
  src.line(`case 1: k = ${keyType === 'string' ? 'readString(r)' : `r.${keyType}()`}; break;`);
  src.line(`case 2: e = ${readValue(src, field)}; break;`);
  src.line('default: r.skipType(t2 & 7, n);');
  src.close('}');
  src.close('}');
  src.line('if (r.pos !== c2) throw RangeError("index out of range");');
  src.line('r.len = c;');
  if (field.resolvedType instanceof protobuf.Type && field.resolvedType.fieldsArray.length) {
    // toObject cannot convert the null that stands for a missing message value.
    src.line(`if (e === null) throw TypeError(${JSON.stringify(`${field.fullName}: map entry without a value`)});`);
  } else if (field.resolvedType instanceof protobuf.Type) {
    src.line('if (e === null) e = {};');
  }
  if (keyType === 'string') src.line(`if (k === "__proto__") makeProp(${local}, k);`);
  src.line(`${local}[k] = e;`);
}

function defaultValue(src: Source, field: protobuf.Field): string {
  if (field.resolvedType instanceof protobuf.Type) return 'null';
  if (field.resolvedType instanceof protobuf.Enum) return JSON.stringify(field.resolvedType.valuesById[0] ?? 0);
  if (field.type === 'bytes') return src.scope.ref(util.emptyArray, 'emptyArray');
  return JSON.stringify(wire.defaults[field.type]);
}

// ---- code generation -------------------------------------------------------------------------------

// The values generated code refers to by name: helpers, enum tables, other types' records.
class Scope {
  readonly names: string[] = Object.keys(HELPERS);
  readonly values: unknown[] = Object.values(HELPERS);
  private readonly tables = new Map<string, string>();

  ref(value: unknown, prefix: string): string {
    const found = this.values.indexOf(value);
    if (found >= 0) return this.names[found];
    const name = `${prefix}${this.names.length}`;
    this.names.push(name);
    this.values.push(value);
    return name;
  }

  /** enumValues names a Map from the enum's value names to numbers (only its own names, as fromObject). */
  enumValues(e: protobuf.Enum): string {
    return this.table(e, 'values', () => new Map(Object.entries(e.values)));
  }

  /** enumNames names a Map from numbers to names (valuesById, which toObject reads through `values`). */
  enumNames(e: protobuf.Enum): string {
    return this.table(e, 'names', () => new Map(Object.entries(e.valuesById).map(([n, name]) => [Number(n), name])));
  }

  private table(e: protobuf.Enum, kind: string, build: () => Map<unknown, unknown>): string {
    const key = `${e.fullName} ${kind}`;
    let name = this.tables.get(key);
    if (!name) {
      name = this.ref(build(), kind === 'values' ? 'E' : 'N');
      this.tables.set(key, name);
    }
    return name;
  }
}

// Lines of JavaScript, indented for reading (messageSource).
class Source {
  private readonly lines: string[] = [];
  private depth = 0;

  constructor(readonly scope: Scope) {}

  line(text: string): void {
    this.lines.push('  '.repeat(this.depth) + text);
  }

  open(text: string): void {
    this.line(text);
    this.depth++;
  }

  close(text?: string): void {
    this.depth--;
    if (text !== undefined) this.line(text);
  }

  get body(): string {
    return this.lines.join('\n');
  }

  compile<F>(): F {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the descriptor, as protobufjs does
    return new Function(...this.scope.names, this.body)(...this.scope.values) as F;
  }
}
