// A protobuf writer over one growing buffer, for the encoders of fast-codec.ts.
//
// protobufjs's Writer queues an operation object per value and copies everything in finish(); for an
// allocator cycle of 10,000 offers that is about a million short-lived objects. ByteWriter writes the bytes
// at once. A sub-message gets a one-byte length slot when it starts (fork); when it ends (ldelim) a length
// of 128 bytes or more moves the content up to make room, which only large messages pay. It has the
// Writer methods encoders call and writes exactly the bytes protobufjs's BufferWriter writes for the same
// calls, so protobufjs's own encoders can write into it too (fast-codec.ts hands Message instances to them).
import protobuf from 'protobufjs';

const { util } = protobuf;

type Long = protobuf.Long | number | string;

// The buffers kept between encodes are dropped when a message made them larger than this.
const KEEP_AT_MOST = 4 << 20;
let spare: ByteWriter | null = null;

/** withWriter runs an encode with a reusable writer and gives a copy of what was written. */
export function withWriter(encode: (writer: ByteWriter) => void): Buffer {
  // A writer in use is never handed out twice (an encode inside a value's toString gets a new one).
  const writer = spare ?? new ByteWriter();
  spare = null;
  writer.pos = 0;
  writer.starts.length = 0;
  try {
    encode(writer);
    return Buffer.from(writer.buf.subarray(0, writer.pos));
  } finally {
    if (writer.buf.length <= KEEP_AT_MOST) spare = writer;
  }
}

/** ByteWriter writes protobuf wire data; its methods are those of protobufjs's Writer that encoders use. */
export class ByteWriter {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;
  /** Where the length slot of each open sub-message is. */
  readonly starts: number[] = [];

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private varint32(value: number): void {
    const buf = this.buf;
    while (value > 127) {
      buf[this.pos++] = (value & 127) | 128;
      value >>>= 7;
    }
    buf[this.pos++] = value;
  }

  private varint64(lo: number, hi: number): this {
    this.room(10);
    const buf = this.buf;
    while (hi) {
      buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[this.pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[this.pos++] = lo;
    return this;
  }

  private fixed(value: number): void {
    this.room(4);
    const buf = this.buf;
    buf[this.pos] = value & 255;
    buf[this.pos + 1] = (value >>> 8) & 255;
    buf[this.pos + 2] = (value >>> 16) & 255;
    buf[this.pos + 3] = value >>> 24;
    this.pos += 4;
  }

  uint32(value: number): this {
    this.room(5);
    this.varint32(value >>> 0);
    return this;
  }

  int32(value: number): this {
    value |= 0;
    // A negative int32 is sign-extended to ten bytes.
    return value < 0 ? this.varint64(value >>> 0, 0xffffffff) : this.uint32(value);
  }

  sint32(value: number): this {
    return this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  uint64(value: Long): this {
    if (typeof value === 'number') {
      if (value >= 0 && value <= 0xffffffff) return this.uint32(value);
      // LongBits.fromNumber, without the object.
      if (value === 0) return this.varint64(0, 0);
      const negative = value < 0;
      if (negative) value = -value;
      let lo = value >>> 0;
      let hi = ((value - lo) / 4294967296) >>> 0;
      if (negative) {
        hi = ~hi >>> 0;
        lo = ~lo >>> 0;
        if (++lo > 4294967295) {
          lo = 0;
          if (++hi > 4294967295) hi = 0;
        }
      }
      return this.varint64(lo, hi);
    }
    const bits = util.LongBits.from(value);
    return this.varint64(bits.lo, bits.hi);
  }

  int64(value: Long): this {
    return this.uint64(value);
  }

  sint64(value: Long): this {
    const bits = util.LongBits.from(value).zzEncode();
    return this.varint64(bits.lo, bits.hi);
  }

  bool(value: unknown): this {
    this.room(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  fixed32(value: number): this {
    this.fixed(value >>> 0);
    return this;
  }

  sfixed32(value: number): this {
    return this.fixed32(value);
  }

  fixed64(value: Long): this {
    const bits = util.LongBits.from(value);
    this.fixed(bits.lo);
    this.fixed(bits.hi);
    return this;
  }

  sfixed64(value: Long): this {
    return this.fixed64(value);
  }

  float(value: number): this {
    this.room(4);
    util.float.writeFloatLE(value, this.buf, this.pos);
    this.pos += 4;
    return this;
  }

  double(value: number): this {
    this.room(8);
    util.float.writeDoubleLE(value, this.buf, this.pos);
    this.pos += 8;
    return this;
  }

  bytes(value: Uint8Array | string): this {
    const data: ArrayLike<number> = util.isString(value) ? Buffer.from(String(value), 'base64') : (value as Uint8Array);
    const length = data.length >>> 0;
    this.uint32(length);
    if (length) {
      this.room(length);
      this.buf.set(data, this.pos);
      this.pos += length;
    }
    return this;
  }

  string(value: string): this {
    const units = value.length;
    if (units < 40) {
      // At most 120 bytes, so a one-byte length; protobufjs writes short strings with this same utf8.write.
      this.room(1 + 3 * units);
      const start = this.pos + 1;
      const length = units ? util.utf8.write(value, this.buf, start) : 0;
      this.buf[this.pos] = length;
      this.pos = start + length;
      return this;
    }
    const length = Buffer.byteLength(value);
    this.uint32(length);
    this.room(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
    return this;
  }

  /** fork starts a length-delimited sub-message. */
  fork(): this {
    this.room(1);
    this.starts.push(this.pos++);
    return this;
  }

  /** ldelim ends the sub-message fork started and writes its length in front of it. */
  ldelim(): this {
    const start = this.starts.pop()!;
    const length = this.pos - start - 1;
    if (length < 128) {
      this.buf[start] = length;
      return this;
    }
    const extra = (length < 16384 ? 2 : length < 2097152 ? 3 : length < 268435456 ? 4 : 5) - 1;
    this.room(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = start;
    this.varint32(length);
    this.pos = end;
    return this;
  }
}
