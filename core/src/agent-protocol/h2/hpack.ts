/**
 * HPACK (RFC 7541), HTTP/2's header compression, for the lean HTTP/2 server of the master's agent link.
 *
 * Node's http2 server costs about 0.2 ms of CPU per connection, too much when 10,000 agents connect at once,
 * so the agent link speaks HTTP/2 itself, and that needs its own codec. The two halves are deliberately unequal:
 * - {@link HpackDecoder} must decode anything a client may send: indexed fields, the three literal forms,
 *   Huffman strings and the per-connection dynamic table.
 * - {@link encodeHeaders} never uses the dynamic table (or Huffman), so the server keeps no encoder state per
 *   connection and never has to track the peer's SETTINGS_HEADER_TABLE_SIZE. Responses and trailers are a
 *   handful of short fields, so little is lost.
 *
 * ```ts
 * const hpack = new HpackDecoder(); // one per connection: it holds the dynamic table
 * const { headers, oversized } = hpack.decode(headerBlock, 16384); // HpackError: GOAWAY(COMPRESSION_ERROR)
 * const block = encodeHeaders([[':status', '200'], ['content-type', 'application/grpc']]);
 * socket.write(headerFrames(streamId, block, false, peerMaxFrameSize));
 * ```
 * Names and values are latin1 strings, one char per octet, so `string.length` is the octet count HPACK sizes use.
 */
import { HUFFMAN_EOS, HUFFMAN_TABLE } from './huffman-table';

/** HpackError is a COMPRESSION_ERROR (RFC 9113 §4.3): the connection must end with GOAWAY. */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}

/** HpackDecoderOptions configure an {@link HpackDecoder}. */
export interface HpackDecoderOptions {
  /** maxTableSize: the SETTINGS_HEADER_TABLE_SIZE this endpoint advertised (default 4096). A dynamic table size update above it is an HpackError. */
  maxTableSize?: number;
}

/** The static table (RFC 7541 Appendix A); index 0 is unused so that HPACK indices index it directly. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length - 1;
// Separate arrays keep the decoder's hot lookups monomorphic string loads.
const STATIC_NAMES: readonly string[] = STATIC_TABLE.map((e) => e[0]);
const STATIC_VALUES: readonly string[] = STATIC_TABLE.map((e) => e[1]);
/** The first static index of each name; entries with the same name are adjacent, which staticMatch relies on. */
const STATIC_NAME_INDEX: ReadonlyMap<string, number> = firstIndexByName();

function firstIndexByName(): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = STATIC_COUNT; i >= 1; i--) index.set(STATIC_NAMES[i], i);
  return index;
}

/** An entry's size counts 32 octets of overhead besides its name and value (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
const DEFAULT_TABLE_SIZE = 4096;
/** Integers above this are refused: no real header block needs them, and they would lose precision later. */
const MAX_INT = 0x7fffffff;
/** Five continuation octets carry 35 bits, enough for MAX_INT whatever the prefix; more is only padding or attack. */
const MAX_INT_CONTINUATIONS = 5;

/**
 * DynamicTable is one connection's HPACK dynamic table: a ring of entries, newest first, evicted from the oldest
 * end. A ring keeps insertion O(1) without shifting, and strings are kept as they were decoded, never copied.
 */
class DynamicTable {
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private mask = 15;
  private first = 0;
  /** count is the number of entries. */
  count = 0;
  /** size is the RFC size of the entries (octets plus 32 each). */
  size = 0;

  constructor(private maxSize: number) {}

  /** name returns the name of entry i, 0 being the newest; i must be below count. */
  name(i: number): string {
    return this.names[(this.first + i) & this.mask];
  }

  /** value returns the value of entry i, 0 being the newest; i must be below count. */
  value(i: number): string {
    return this.values[(this.first + i) & this.mask];
  }

  /** add inserts an entry, evicting old ones to make room; one larger than the table just empties it (§4.4). */
  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.count === this.names.length) this.grow();
    this.first = (this.first - 1) & this.mask;
    this.names[this.first] = name;
    this.values[this.first] = value;
    this.count++;
    this.size += entrySize;
  }

  /** resize applies a dynamic table size update (§6.3), evicting what no longer fits. */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  private evictTo(limit: number): void {
    while (this.size > limit) {
      const i = (this.first + this.count - 1) & this.mask;
      this.size -= this.names[i].length + this.values[i].length + ENTRY_OVERHEAD;
      // Drop the references so that evicted strings can be collected.
      this.names[i] = '';
      this.values[i] = '';
      this.count--;
    }
  }

  private grow(): void {
    const capacity = this.names.length * 2;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    for (let i = 0; i < this.count; i++) {
      names[i] = this.name(i);
      values[i] = this.value(i);
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.first = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** HpackDecoder decodes the header blocks of one connection, in order (it holds the dynamic table). */
export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly table: DynamicTable;
  // The block being decoded and the read position: fields rather than closures, so decode allocates nothing extra.
  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = opts.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.table = new DynamicTable(this.maxTableSize);
  }

  /**
   * decode decodes one complete header block (HEADERS + CONTINUATION payloads joined, padding and priority removed)
   * into [name, value] pairs in order, names and values as latin1 strings exactly as sent (no lowercasing, no validation
   * of header semantics: the caller checks pseudo-headers, uppercase names etc.). It stops adding pairs to the result
   * (but keeps decoding, so the dynamic table stays in sync) once the RFC header-list size (sum of name.length + value.length + 32)
   * exceeds maxListSize, and reports that in `oversized`.
   * Throws HpackError for any malformed block: bad index (0 or beyond static+dynamic), integer overflow (above 2^31 - 1, or more than 5 continuation octets),
   * string running past the block, invalid Huffman (EOS symbol decoded, padding longer than 7 bits or not all 1s),
   * a dynamic table size update above maxTableSize or one not at the start of the block.
   *
   * maxListSize defaults to no limit. A Buffer block is read in place; any other Uint8Array costs one Buffer view.
   * After an HpackError the dynamic table may be half updated, so the decoder must not be used again.
   */
  decode(block: Uint8Array, maxListSize = Infinity): { headers: Array<[string, string]>; oversized: boolean; size: number } {
    this.buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.pos = 0;
    this.end = this.buf.length;
    const headers: Array<[string, string]> = [];
    let size = 0;
    let oversized = false;
    try {
      this.sizeUpdates();
      while (this.pos < this.end) {
        const field = this.field();
        size += field[0].length + field[1].length + ENTRY_OVERHEAD;
        if (size > maxListSize) oversized = true;
        else headers.push(field);
      }
    } finally {
      this.buf = EMPTY; // not to keep the caller's block alive
    }
    return { headers, oversized, size };
  }

  /** sizeUpdates applies the dynamic table size updates, which may only open a block (RFC 7541 §4.2). */
  private sizeUpdates(): void {
    while (this.pos < this.end && (this.buf[this.pos] & 0xe0) === 0x20) {
      const maxSize = this.readInt(5);
      if (maxSize > this.maxTableSize) {
        throw new HpackError(`dynamic table size update to ${maxSize} exceeds the advertised ${this.maxTableSize}`);
      }
      this.table.resize(maxSize);
    }
  }

  /** field decodes one field representation (RFC 7541 §6) at pos. */
  private field(): [string, string] {
    const first = this.buf[this.pos];
    if (first & 0x80) {
      const index = this.readInt(7);
      if (index === 0) throw new HpackError('indexed header field with index 0');
      return [this.nameAt(index), this.valueAt(index)];
    }
    if (first & 0x40) {
      const name = this.readName(6);
      const value = this.readString();
      this.table.add(name, value);
      return [name, value];
    }
    if (first & 0x20) throw new HpackError('dynamic table size update after the start of the header block');
    // 0000xxxx without indexing and 0001xxxx never indexed decode alike; "never" binds only intermediaries.
    const name = this.readName(4);
    return [name, this.readString()];
  }

  /** readName reads a literal field's name: an index with the given prefix, or 0 and a string literal. */
  private readName(prefixBits: number): string {
    const index = this.readInt(prefixBits);
    return index === 0 ? this.readString() : this.nameAt(index);
  }

  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_NAMES[index];
    return this.table.name(this.dynamicOffset(index));
  }

  private valueAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_VALUES[index];
    return this.table.value(this.dynamicOffset(index));
  }

  private dynamicOffset(index: number): number {
    const offset = index - STATIC_COUNT - 1;
    if (offset >= this.table.count) {
      throw new HpackError(`header index ${index} is beyond the static and dynamic tables (${STATIC_COUNT + this.table.count} entries)`);
    }
    return offset;
  }

  /** readInt reads an integer whose first octet, at pos and known to be in the block, holds a prefix (RFC 7541 §5.1). */
  private readInt(prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    const prefix = this.buf[this.pos++] & max;
    if (prefix < max) return prefix;
    let value = max;
    let scale = 1;
    for (let i = 0; i < MAX_INT_CONTINUATIONS; i++) {
      if (this.pos >= this.end) throw new HpackError('integer runs past the end of the header block');
      const octet = this.buf[this.pos++];
      value += (octet & 0x7f) * scale; // multiplication, as shifts would wrap at 32 bits
      if ((octet & 0x80) === 0) {
        if (value > MAX_INT) throw new HpackError(`integer ${value} exceeds 2^31 - 1`);
        return value;
      }
      scale *= 128;
    }
    throw new HpackError(`integer has more than ${MAX_INT_CONTINUATIONS} continuation octets`);
  }

  /** readString reads a string literal (RFC 7541 §5.2), Huffman-coded or raw. */
  private readString(): string {
    if (this.pos >= this.end) throw new HpackError('string literal missing at the end of the header block');
    const huffman = (this.buf[this.pos] & 0x80) !== 0;
    const length = this.readInt(7);
    const start = this.pos;
    if (length > this.end - start) {
      throw new HpackError(`string literal of ${length} octets runs past the end of the header block`);
    }
    this.pos = start + length;
    return huffman ? decodeHuffman(this.buf, start, this.pos) : this.buf.toString('latin1', start, this.pos);
  }
}

// Huffman decoding is table driven, four bits at a time, as nghttp2 does. A state is an internal node of the code
// tree (256 of them; 0 is the root); DECODE_TABLE[state * 16 + nibble] holds the state reached, and the symbol
// completed on the way if any. No code is shorter than 5 bits, so a nibble completes at most one symbol.
const NEXT_STATE_MASK = 0xff;
const EMITS = 0x100;
const FAILS = 0x200; // the nibble completes EOS
const SYMBOL_SHIFT = 16;

const { DECODE_TABLE, ACCEPTING } = buildHuffmanDecoder();

/** buildHuffmanDecoder builds the nibble state table from HUFFMAN_TABLE, and which states may end a string. */
function buildHuffmanDecoder(): { DECODE_TABLE: Int32Array; ACCEPTING: Uint8Array } {
  // children[2n + bit] of internal node n: another internal node (>= 0) or a leaf, ~symbol (< 0).
  const UNSET = 0x7fffffff;
  const children = new Int32Array(512).fill(UNSET);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256).fill(1);
  let nodes = 1;
  for (let symbol = 0; symbol <= HUFFMAN_EOS; symbol++) {
    const code = HUFFMAN_TABLE[2 * symbol];
    const length = HUFFMAN_TABLE[2 * symbol + 1];
    let node = 0;
    for (let b = length - 1; b > 0; b--) {
      const slot = 2 * node + ((code >>> b) & 1);
      if (children[slot] === UNSET) {
        children[slot] = nodes;
        depth[nodes] = depth[node] + 1;
        allOnes[nodes] = allOnes[node] & ((code >>> b) & 1);
        nodes++;
      }
      node = children[slot];
    }
    children[2 * node + (code & 1)] = ~symbol;
  }
  // 257 leaves of a complete prefix code hang from exactly 256 internal nodes; anything else is a typo in the table.
  if (nodes !== 256 || children.includes(UNSET)) throw new Error('HUFFMAN_TABLE is not a complete prefix code');
  const table = new Int32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let b = 3; b >= 0; b--) {
        const child = children[2 * node + ((nibble >>> b) & 1)];
        if (child >= 0) {
          node = child;
          continue;
        }
        const symbol = ~child;
        entry = symbol === HUFFMAN_EOS ? FAILS : EMITS | (symbol << SYMBOL_SHIFT);
        node = 0;
        if (entry === FAILS) break;
      }
      table[state * 16 + nibble] = entry | node;
    }
  }
  // A string may end at the root, or within a code on a prefix of at most 7 one bits (the EOS prefix, §5.2).
  const accepting = new Uint8Array(256);
  for (let state = 0; state < 256; state++) accepting[state] = state === 0 || (allOnes[state] && depth[state] <= 7) ? 1 : 0;
  return { DECODE_TABLE: table, ACCEPTING: accepting };
}

/** Huffman output goes here first: one reusable buffer, as decoding is synchronous. */
let huffmanScratch = Buffer.allocUnsafeSlow(4096);
/** Larger scratch buffers are not kept, so that one huge header does not pin memory for the process's life. */
const MAX_KEPT_SCRATCH = 64 * 1024;

/** scratchFor returns a buffer of at least n octets for Huffman output. */
function scratchFor(n: number): Buffer {
  if (n <= huffmanScratch.length) return huffmanScratch;
  if (n > MAX_KEPT_SCRATCH) return Buffer.allocUnsafeSlow(n);
  huffmanScratch = Buffer.allocUnsafeSlow(MAX_KEPT_SCRATCH);
  return huffmanScratch;
}

/** decodeHuffman decodes src[start, stop) as a Huffman-coded string (RFC 7541 §5.2). */
function decodeHuffman(src: Buffer, start: number, stop: number): string {
  const out = scratchFor(Math.floor(((stop - start) * 8) / 5)); // 5 bits is the shortest code
  let n = 0;
  let state = 0;
  for (let i = start; i < stop; i++) {
    const octet = src[i];
    let entry = DECODE_TABLE[(state << 4) | (octet >>> 4)];
    if (entry & (EMITS | FAILS)) {
      if (entry & FAILS) throw new HpackError('Huffman string contains EOS');
      out[n++] = entry >>> SYMBOL_SHIFT;
    }
    state = entry & NEXT_STATE_MASK;
    entry = DECODE_TABLE[(state << 4) | (octet & 0xf)];
    if (entry & (EMITS | FAILS)) {
      if (entry & FAILS) throw new HpackError('Huffman string contains EOS');
      out[n++] = entry >>> SYMBOL_SHIFT;
    }
    state = entry & NEXT_STATE_MASK;
  }
  if (!ACCEPTING[state]) throw new HpackError('Huffman string ends in padding that is not a prefix of EOS of at most 7 bits');
  return out.toString('latin1', 0, n);
}

/**
 * encodeHeaders encodes a header list statelessly (never touches a dynamic table, so it needs no encoder state and is valid whatever
 * SETTINGS_HEADER_TABLE_SIZE the peer set): an exact static-table match as an indexed field (e.g. ':status: 200' -> 0x88),
 * otherwise "literal without indexing" with the static table's name index when the name is there, else a literal name; no Huffman.
 *
 * Names go out as given, so they must already be lowercase (RFC 9113 §8.2.1). Strings are written as latin1: a
 * char above U+00FF would lose its high byte, so callers must not pass one.
 */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  let length = 0;
  for (let i = 0; i < headers.length; i++) length += fieldLength(headers[i][0], headers[i][1]);
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  for (let i = 0; i < headers.length; i++) pos = writeField(out, pos, headers[i][0], headers[i][1]);
  return out;
}

/** staticMatch returns i for an exact match at static index i, -i when only the name is there (first at i), else 0. */
function staticMatch(name: string, value: string): number {
  const first = STATIC_NAME_INDEX.get(name);
  if (first === undefined) return 0;
  for (let i = first; i <= STATIC_COUNT && STATIC_NAMES[i] === name; i++) {
    if (STATIC_VALUES[i] === value) return i;
  }
  return -first;
}

function fieldLength(name: string, value: string): number {
  const match = staticMatch(name, value);
  if (match > 0) return intLength(match, 7);
  const nameLength = match < 0 ? intLength(-match, 4) : 1 + intLength(name.length, 7) + name.length;
  return nameLength + intLength(value.length, 7) + value.length;
}

function writeField(out: Buffer, pos: number, name: string, value: string): number {
  const match = staticMatch(name, value);
  if (match > 0) return writeInt(out, pos, 0x80, match, 7);
  if (match < 0) {
    pos = writeInt(out, pos, 0x00, -match, 4);
  } else {
    out[pos++] = 0x00; // literal without indexing, new name
    pos = writeString(out, pos, name);
  }
  return writeString(out, pos, value);
}

function writeString(out: Buffer, pos: number, s: string): number {
  pos = writeInt(out, pos, 0x00, s.length, 7); // H = 0: raw octets
  return pos + out.write(s, pos, 'latin1');
}

/** intLength returns the octets an integer takes with an N-bit prefix (RFC 7541 §5.1). */
function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** writeInt writes an integer with an N-bit prefix, the first octet's high bits being flags, and returns the new pos. */
function writeInt(out: Buffer, pos: number, flags: number, value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[pos++] = rest;
  return pos;
}
