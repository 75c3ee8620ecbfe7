// The generated codec against protobufjs's two passes (fromObject + encode, decode + toObject), which codec.ts
// used before it had fast-codec.ts: the same bytes, the same decoded objects (keys in the same order), the
// same errors, for every message type of the ABI and for a test type with what the ABI does not use yet
// (codec.ts's encode and decode take any protobufjs type).
import { inspect } from 'node:util';
import protobuf from 'protobufjs';
import abi from '../generated/abi.json';
import { TesseraError } from '../errors';
import { CONVERSION, decode, encode, lookupType } from './codec';
import { messageSource } from './fast-codec';

// ---- the oracle --------------------------------------------------------------------------------------

function oracleEncode(type: protobuf.Type, value: unknown): Buffer {
  let message: protobuf.Message;
  try {
    message = type.fromObject(value as object);
  } catch (err) {
    throw new TesseraError('TSR_INVALID_ARGUMENT', `cannot encode ${type.fullName.slice(1)}: ${(err as Error).message}`);
  }
  return Buffer.from(type.encode(message).finish());
}

function oracleDecode(type: protobuf.Type, bytes: Uint8Array): unknown {
  return type.toObject(type.decode(bytes), CONVERSION);
}

// ---- types -------------------------------------------------------------------------------------------

function typesOf(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.flatMap((n) => [
    ...(n instanceof protobuf.Type ? [n] : []),
    ...(n instanceof protobuf.Namespace || n instanceof protobuf.Type ? typesOf(n) : []),
  ]);
}

// Every message type of the ABI, as codec.ts resolves it.
const abiTypes = typesOf(protobuf.Root.fromJSON(abi as protobuf.INamespace)).map((t) => lookupType(t.fullName.slice(1)));

// What the ABI does not use (yet): every scalar type, packed and unpacked repeated scalars, repeated enums,
// maps with other keys and with enum, bytes and 64-bit values.
const testRoot = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    test: {
      nested: {
        Color: { values: { RED: 0, GREEN: 1, BLUE: 2, CYAN: 1 } },
        // Not proto3 (the first value is not 0), but protobufjs takes it: fromObject falls back to DARK.
        Shade: { values: { DARK: 5, LIGHT: 0 } },
        Everything: {
          fields: {
            d: { type: 'double', id: 1 },
            f: { type: 'float', id: 2 },
            i32: { type: 'int32', id: 3 },
            u32: { type: 'uint32', id: 4 },
            s32: { type: 'sint32', id: 5 },
            fx32: { type: 'fixed32', id: 6 },
            sfx32: { type: 'sfixed32', id: 7 },
            i64: { type: 'int64', id: 8 },
            u64: { type: 'uint64', id: 9 },
            s64: { type: 'sint64', id: 10 },
            fx64: { type: 'fixed64', id: 11 },
            sfx64: { type: 'sfixed64', id: 12 },
            b: { type: 'bool', id: 13 },
            s: { type: 'string', id: 14 },
            by: { type: 'bytes', id: 15 },
            color: { type: 'Color', id: 16 },
            self: { type: 'Everything', id: 17 },
            packedI32: { rule: 'repeated', type: 'int32', id: 20 },
            packedU64: { rule: 'repeated', type: 'uint64', id: 21 },
            packedS64: { rule: 'repeated', type: 'sint64', id: 22 },
            packedD: { rule: 'repeated', type: 'double', id: 23 },
            packedFx32: { rule: 'repeated', type: 'fixed32', id: 24 },
            packedB: { rule: 'repeated', type: 'bool', id: 25 },
            colors: { rule: 'repeated', type: 'Color', id: 26 },
            unpackedI32: { rule: 'repeated', type: 'int32', id: 27, options: { packed: false } },
            unpackedColors: { rule: 'repeated', type: 'Color', id: 28, options: { packed: false } },
            bys: { rule: 'repeated', type: 'bytes', id: 29 },
            byInt: { keyType: 'int32', type: 'string', id: 30 },
            byBool: { keyType: 'bool', type: 'int64', id: 31 },
            colorsByName: { keyType: 'string', type: 'Color', id: 32 },
            bytesByName: { keyType: 'string', type: 'bytes', id: 33 },
            emptyByName: { keyType: 'uint32', type: 'Empty', id: 34 },
            empty: { type: 'Empty', id: 35 },
            opt: { type: 'double', id: 36, options: { proto3_optional: true } },
            shade: { type: 'Shade', id: 37 },
            shades: { rule: 'repeated', type: 'Shade', id: 38 },
            shadesByName: { keyType: 'string', type: 'Shade', id: 39 },
          },
          oneofs: { _opt: { oneof: ['opt'] } },
        },
        Empty: { fields: {} },
      },
    },
  },
});
const Everything = testRoot.lookupType('test.Everything');
const testTypes = [Everything, testRoot.lookupType('test.Empty')];

// ---- random values -----------------------------------------------------------------------------------

/** A seeded generator (mulberry32), so that a failure can be replayed. */
class Random {
  constructor(private seed: number) {}
  next(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

const STRINGS = ['', 'a', 'cpus', '*', 'ünïcødé', '🙂 emoji', '漢字', 'x'.repeat(39), 'y'.repeat(40), 'long ünïcødé text '.repeat(8), 'lone \ud800 surrogate', 'lone \udc00 surrogate of forty-or-more characters ....'];

const NUMBERS: Record<string, readonly number[]> = {
  double: [0, -0, 1.5, -2.25, 1e300, -1e-300, Number.MAX_VALUE, Infinity, -Infinity, NaN],
  float: [0, 1.5, -2.25, Math.fround(3.3), 3.4e38],
  int32: [0, 1, -1, 127, 128, -2147483648, 2147483647],
  uint32: [0, 1, 127, 128, 16384, 268435456, 4294967295],
  int64: [0, 1, -1, 2 ** 28 - 1, 2 ** 28, 2 ** 32, -(2 ** 40), 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53],
  uint64: [0, 1, 127, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 3, 2 ** 53 - 1, 2 ** 53],
};
NUMBERS.sint32 = NUMBERS.sfixed32 = NUMBERS.int32;
NUMBERS.fixed32 = NUMBERS.uint32;
NUMBERS.sint64 = NUMBERS.sfixed64 = NUMBERS.int64;
NUMBERS.fixed64 = NUMBERS.uint64;

function randomNumber(type: string, rnd: Random): number {
  if (rnd.chance(0.6)) return rnd.pick(NUMBERS[type]);
  const x = rnd.next();
  switch (type) {
    case 'double':
      return (x - 0.5) * 10 ** rnd.int(12);
    case 'float':
      return Math.fround((x - 0.5) * 1000);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Math.floor((x - 0.5) * 2 ** 32);
    case 'uint32':
    case 'fixed32':
      return Math.floor(x * 2 ** 32);
    case 'uint64':
    case 'fixed64':
      return Math.floor(x * 2 ** rnd.int(54));
    default:
      return Math.floor((x - 0.5) * 2 ** rnd.int(54));
  }
}

function randomScalar(field: protobuf.Field, type: string, rnd: Random): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = field.resolvedType.values;
    // Names mostly; sometimes a number, known or not (toObject keeps an unknown number as a number).
    return rnd.chance(0.85) ? rnd.pick(Object.keys(values)) : rnd.pick([...Object.values(values), 7, 99, -3]);
  }
  if (type === 'string') return rnd.pick(STRINGS);
  if (type === 'bool') return rnd.chance(0.5);
  if (type === 'bytes') return Buffer.from(Array.from({ length: rnd.int(6) }, () => rnd.int(256)));
  return randomNumber(type, rnd);
}

function randomMessage(type: protobuf.Type, rnd: Random, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    if (!rnd.chance(0.6)) continue;
    const item = (): unknown =>
      field.resolvedType instanceof protobuf.Type ? (depth < 4 ? randomMessage(field.resolvedType, rnd, depth + 1) : {}) : randomScalar(field, field.type, rnd);
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (let i = rnd.int(4); i > 0; i--) {
        const key = (field as unknown as protobuf.MapField).keyType === 'string' ? rnd.pick(['', 'k', 'ключ', '__proto__', `k${rnd.int(5)}`]) : String(rnd.int(5));
        // An own "__proto__" key, as JSON.parse makes it.
        Object.defineProperty(map, key, { value: item(), enumerable: true, writable: true, configurable: true });
      }
      out[field.name] = map;
    } else if (field.repeated) {
      out[field.name] = Array.from({ length: rnd.int(4) }, item);
    } else {
      out[field.name] = item();
    }
  }
  return out;
}

// The encoding with its top-level fields shuffled: order on the wire is free, and a later singular field wins.
function shuffleFields(bytes: Buffer, rnd: Random): Buffer {
  const reader = protobuf.Reader.create(bytes);
  const spans: Buffer[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    reader.skipType(reader.uint32() & 7);
    spans.push(bytes.subarray(start, reader.pos));
  }
  for (let i = spans.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [spans[i], spans[j]] = [spans[j], spans[i]];
  }
  return Buffer.concat(rnd.chance(0.3) ? [...spans, ...spans] : spans);
}

// Both decodes agree: the same object with keys in the same order, or both throw.
function expectSameDecode(type: protobuf.Type, bytes: Buffer): void {
  const ours = (b: Buffer): unknown => decode(type, b);
  let expected: unknown;
  try {
    expected = oracleDecode(type, bytes);
  } catch {
    expect(() => ours(bytes)).toThrow();
    return;
  }
  const actual = ours(bytes);
  expect(actual).toStrictEqual(expected);
  const show = (x: unknown): string => inspect(x, { depth: null, maxArrayLength: null, maxStringLength: null });
  expect(show(actual)).toBe(show(expected));
}

function roundTrip(type: protobuf.Type, seed: number, count: number): void {
  const rnd = new Random(seed);
  for (let i = 0; i < count; i++) {
    const value = randomMessage(type, rnd);
    const expected = oracleEncode(type, value);
    const actual = encode(type, value);
    if (!actual.equals(expected)) throw new Error(`${type.fullName} seed ${seed} #${i}: ${inspect(value, { depth: null })}\n  ours   ${actual.toString('hex')}\n  oracle ${expected.toString('hex')}`);
    expectSameDecode(type, expected);
    expectSameDecode(type, shuffleFields(expected, rnd));
  }
}

// ---- tests -------------------------------------------------------------------------------------------

describe('generated codec, every ABI message type', () => {
  it('covers the whole ABI', () => {
    expect(abiTypes.length).toBeGreaterThan(100);
    expect(abiTypes.map((t) => t.fullName)).toContain('.tessera.modules.v1.AllocatorOutput');
  });

  it.each(abiTypes.map((t, i) => [t.fullName.slice(1), t, i] as const))('%s: same bytes and same objects as protobufjs', (_, type, i) => {
    roundTrip(type, 1000 + i, 30);
  });
});

describe('generated codec, what the ABI does not use yet', () => {
  it.each(testTypes.map((t) => [t.fullName.slice(1), t] as const))('%s: same bytes and same objects as protobufjs', (_, type) => {
    roundTrip(type, 7, 400);
  });

  it('keeps a proto3 optional field set to its default, and leaves absent what was not set', () => {
    const Filters = lookupType('tessera.modules.v1.Filters');
    expect(decode(Filters, encode(Filters, { refuseSeconds: 0 }))).toStrictEqual({ refuseSeconds: 0 });
    expect(decode(Filters, encode(Filters, {}))).toStrictEqual({});
  });
});

describe('generated codec, values fromObject converts', () => {
  const Resource = lookupType('tessera.modules.v1.Resource');
  const TaskInfo = lookupType('tessera.modules.v1.TaskInfo');
  const Input = lookupType('tessera.modules.v1.AllocatorInput');
  const cases: [protobuf.Type, string, unknown][] = [
    [Resource, 'enum as a known number', { name: 'ports', type: 1 }],
    [Resource, 'enum as an unknown number', { type: 99 }],
    [Resource, 'enum as an unknown name (dropped)', { name: 'x', type: 'scalar' }],
    [Resource, 'null and undefined fields', { name: null, type: undefined, scalar: null, reservations: null }],
    [Resource, 'falsy non-arrays for a repeated field (ignored)', { reservations: 0 }],
    [Resource, 'an array for a message', { scalar: [] }],
    [Resource, 'truthy non-booleans', { shared: 'yes', revocable: 0 }],
    [Resource, 'a number and a symbol for strings', { name: 5, providerId: Symbol('x') }],
    [Resource, 'a Message instance at the top', Resource.fromObject({ name: 'cpus', scalar: { value: 1 } })],
    [Resource, 'a Message instance inside', { name: 'cpus', scalar: lookupType('tessera.modules.v1.Value.Scalar').fromObject({ value: 2 }) }],
    [Input, 'a uint64 as text', { seq: '12345678901234' }],
    [Input, 'a Long for a uint64', { seq: { low: 5, high: 7, unsigned: true } }],
    [Input, 'a number beyond 2^64 for a uint64', { seq: 2 ** 70 }],
    [Input, 'a negative number for a uint64', { seq: -5 }],
    [Input, 'a fractional number for a uint64', { seq: 3.75 }],
    [Input, 'a bigint for a uint64', { seq: BigInt(5) }],
    [TaskInfo, 'bytes as base64 text', { data: 'AQID', name: 'x' }],
    [TaskInfo, 'bytes as plain numbers', { data: [1, 2, 300] }],
    [TaskInfo, 'bytes neither text nor array-like (dropped)', { data: {} }],
    [TaskInfo, 'an unknown key and an empty map', { limits: {}, frameworkID: 'f' }],
    [lookupType('tessera.modules.v1.CommandInfo'), 'null in repeated strings', { arguments: ['a', null, undefined] }],
    [lookupType('tessera.modules.v1.Volume.Source.DockerVolume'), 'null and a number in a string map', { driverOptions: { a: null, b: 5 } }],
    [Everything, 'uint32 and int32 out of range, text numbers', { u32: -1, i32: 2 ** 33 + 5, fx32: '7', d: '1.5', f: '2.5', s32: -3.7 }],
    [Everything, 'repeated enums with unknown names and numbers', { colors: ['BLUE', 'NOPE', 7, null], unpackedColors: ['CYAN', 'x'], shades: ['x', 'LIGHT', {}] }],
    [Everything, 'packed 64-bit values as text and Longs', { packedU64: ['5', { low: 1, high: 1 }, -1, 2 ** 53], packedS64: [-1, '-7'] }],
    [Everything, 'map values that fromObject drops or converts', { colorsByName: { a: 'NOPE', b: 'GREEN', c: 2 }, bytesByName: { a: 'AQID', b: 5 }, byBool: { true: '5', false: 1 } }],
    [Everything, 'maps with non-string keys', { byInt: { 1: 'one', '-2': 'minus two', x: 'x' }, emptyByName: { 3: {} } }],
    [Everything, 'a null map value for strings', { byInt: { 1: null } }],
  ];

  it.each(cases.map(([type, what, value]) => [type.name, what, type, value] as const))('%s, %s: same bytes as fromObject + encode', (_, __, type, value) => {
    const expected = oracleEncode(type, value);
    const actual = encode(type, value as object);
    expect(actual.toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('generated codec, errors', () => {
  const Prepare = lookupType('tessera.modules.v1.PrepareRequest');
  const Resource = lookupType('tessera.modules.v1.Resource');
  const TaskInfo = lookupType('tessera.modules.v1.TaskInfo');
  const ContainerID = lookupType('tessera.modules.v1.ContainerID');
  let deep: Record<string, unknown> = { value: 'c' };
  for (let i = 0; i < 150; i++) deep = { value: `c${i}`, parent: deep };
  const cases: [protobuf.Type, string, unknown][] = [
    [Prepare, 'a string for a message', { containerId: 'c1' }],
    [Resource, 'an object for a repeated field', { reservations: {} }],
    [Resource, 'null in a repeated message field', { reservations: [null] }],
    [TaskInfo, 'a string for a map', { limits: 'x' }],
    [TaskInfo, 'a number for a map message value', { limits: { cpus: 3 } }],
    [Resource, 'a string for the message', 'cpus'],
    [Resource, 'nothing for the message', undefined],
    [ContainerID, 'nesting deeper than protobufjs allows', deep],
    [Everything, 'a bigint for a uint32', { u32: BigInt(1) }],
    [Everything, 'bad base64', { by: '@@@' }],
    [Everything, 'null in repeated bytes', { bys: [null] }],
  ];

  it.each(cases.map(([type, what, value]) => [type.name, what, type, value] as const))('%s, %s: the same error as before', (_, __, type, value) => {
    let expected: unknown;
    try {
      oracleEncode(type, value);
    } catch (err) {
      expected = err;
    }
    expect(expected).toBeInstanceOf(Error);
    const ours = (): unknown => encode(type, value as object);
    if (expected instanceof TesseraError) {
      expect(ours).toThrow(TesseraError);
      expect(ours).toThrow((expected as Error).message);
    } else {
      expect(ours).toThrow();
    }
  });

  it('an empty message type takes anything, as fromObject does', () => {
    const Empty = testRoot.lookupType('test.Empty');
    expect(encode(Empty, undefined as unknown as object)).toHaveLength(0);
    expect(encode(Empty, 'x' as unknown as object)).toHaveLength(0);
  });
});

describe('generated codec, malformed bytes', () => {
  const types = [...abiTypes, ...testTypes];
  const samples = types.map((type, i) => oracleEncode(type, randomMessage(type, new Random(i))));

  it('2,000 garbage and mutated buffers: throws where protobufjs throws, else decodes the same', () => {
    const rnd = new Random(42);
    for (let n = 0; n < 2000; n++) {
      const i = rnd.int(types.length);
      let bytes: Buffer;
      if (n % 2 === 0) {
        bytes = Buffer.from(Array.from({ length: rnd.int(48) }, () => rnd.int(256)));
      } else {
        const b = [...samples[i]];
        for (let k = 1 + rnd.int(3); k > 0; k--) {
          const at = rnd.int(b.length + 1);
          const what = rnd.int(4);
          if (what === 0) b[at] = rnd.int(256);
          else if (what === 1) b.splice(at, 0, rnd.pick([0x80, 0xff, 0x00, 0x0a, 0x12, 0x1a, 0x0b, 0x0c, 0x0f, 0x7f]));
          else if (what === 2) b.splice(at, 1);
          else b.length = at;
        }
        bytes = Buffer.from(b);
      }
      expectSameDecode(types[i], bytes);
    }
  });

  it('nesting deeper than protobufjs allows throws', () => {
    const ContainerID = lookupType('tessera.modules.v1.ContainerID');
    let bytes = Buffer.from([0x0a, 0x01, 0x63]);
    for (let i = 0; i < 150; i++) bytes = Buffer.concat([Buffer.from([0x12]), encodeLength(bytes.length), bytes]);
    expect(() => oracleDecode(ContainerID, bytes)).toThrow('maximum nesting depth exceeded');
    expect(() => decode(ContainerID, bytes)).toThrow('maximum nesting depth exceeded');
  });

  it('a map entry without its message value throws, as toObject does', () => {
    // limits { key: "cpus" } with no value
    const bytes = Buffer.from([0x7a, 0x06, 0x0a, 0x04, ...Buffer.from('cpus')]);
    const TaskInfo = lookupType('tessera.modules.v1.TaskInfo');
    expect(() => oracleDecode(TaskInfo, bytes)).toThrow();
    expect(() => decode(TaskInfo, bytes)).toThrow();
  });

  it('a map entry without its key or value gets the defaults, as toObject gives them', () => {
    // emptyByName { key: 3 }, shadesByName { key: "s" }, byBool { value: 7 }
    const bytes = Buffer.from([0x92, 0x02, 0x02, 0x08, 0x03, 0xba, 0x02, 0x03, 0x0a, 0x01, 0x73, 0xfa, 0x01, 0x02, 0x10, 0x07]);
    expect(decode(Everything, bytes)).toStrictEqual(oracleDecode(Everything, bytes));
    expect(decode(Everything, bytes)).toMatchObject({ emptyByName: { 3: {} }, shadesByName: { s: 'LIGHT' }, byBool: { false: 7 } });
  });
});

function encodeLength(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

it('messageSource shows the generated functions', () => {
  const source = messageSource(lookupType('tessera.modules.v1.Value.Range'));
  expect(source).toContain('function Range$encode(m, w, q)');
  expect(source).toContain('function Range$decode(r, l, n)');
});
