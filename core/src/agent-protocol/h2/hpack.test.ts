// HPACK: the RFC 7541 Appendix C examples, the errors a decoder must catch, and interop with Node's own
// HTTP/2 (nghttp2) in both directions over real sockets.
import crypto from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { CLIENT_PREFACE as PREFACE, Flag, FrameType, frame } from './frames';
import { encodeHeaders, HpackDecoder, HpackError } from './hpack';
import { HUFFMAN_EOS, HUFFMAN_TABLE } from './huffman-table';

type Field = [string, string];

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** dynamicTable reads a decoder's dynamic table, newest first, through indexed fields only (which change nothing). */
function dynamicTable(decoder: HpackDecoder): Array<[string, string, number]> {
  const entries: Array<[string, string, number]> = [];
  for (let index = 62; ; index++) {
    let field: Field;
    try {
      field = decoder.decode(indexed(index)).headers[0];
    } catch (e) {
      if (e instanceof HpackError) return entries;
      throw e;
    }
    entries.push([field[0], field[1], field[0].length + field[1].length + 32]);
  }
}

/** indexed encodes one indexed header field (RFC 7541 §6.1). */
function indexed(index: number): Buffer {
  if (index < 127) return Buffer.from([0x80 | index]);
  const bytes = [0xff];
  for (let rest = index - 127; ; rest >>>= 7) {
    if (rest < 128) {
      bytes.push(rest);
      break;
    }
    bytes.push((rest & 0x7f) | 0x80);
  }
  return Buffer.from(bytes);
}

/** huffmanEncode is the test's reference encoder, bit by bit from the RFC table, padded with ones. */
function huffmanEncode(octets: Buffer): Buffer {
  const bits: number[] = [];
  for (const octet of octets) {
    const code = HUFFMAN_TABLE[2 * octet];
    for (let b = HUFFMAN_TABLE[2 * octet + 1] - 1; b >= 0; b--) bits.push((code >>> b) & 1);
  }
  while (bits.length % 8) bits.push(1);
  const out = Buffer.alloc(bits.length / 8);
  bits.forEach((bit, i) => (out[i >> 3] |= bit << (7 - (i & 7))));
  return out;
}

/** literalHuffman is a literal without indexing, new name raw, value Huffman-coded. */
function literalHuffman(name: string, huffmanValue: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00]), stringLiteral(Buffer.from(name, 'latin1'), 0), stringLiteral(huffmanValue, 0x80)]);
}

/** stringLiteral encodes a string literal: its length with a 7-bit prefix under flags (0x80: Huffman), then the octets. */
function stringLiteral(octets: Buffer, flags: number): Buffer {
  const length = octets.length < 127 ? [flags | octets.length] : [flags | 127, ...intContinuation(octets.length - 127)];
  return Buffer.concat([Buffer.from(length), octets]);
}

function intContinuation(rest: number): number[] {
  const out: number[] = [];
  for (; rest >= 128; rest = Math.floor(rest / 128)) out.push((rest % 128) | 0x80);
  out.push(rest);
  return out;
}

describe('the Huffman table', () => {
  test('is a complete canonical code, as RFC 7541 Appendix B is, with EOS as 30 one bits', () => {
    expect(HUFFMAN_TABLE.length).toBe(2 * 257);
    const symbols = Array.from({ length: 257 }, (_, s) => s);
    symbols.sort((a, b) => HUFFMAN_TABLE[2 * a + 1] - HUFFMAN_TABLE[2 * b + 1] || a - b);
    let code = 0;
    let length = HUFFMAN_TABLE[2 * symbols[0] + 1];
    let kraft = 0;
    for (const s of symbols) {
      for (; length < HUFFMAN_TABLE[2 * s + 1]; length++) code *= 2;
      expect([s, HUFFMAN_TABLE[2 * s]]).toEqual([s, code]);
      code++;
      kraft += 2 ** -length;
    }
    expect(kraft).toBe(1);
    expect([HUFFMAN_TABLE[2 * HUFFMAN_EOS], HUFFMAN_TABLE[2 * HUFFMAN_EOS + 1]]).toEqual([0x3fffffff, 30]);
    // Spot checks against the RFC's rows.
    expect(HUFFMAN_TABLE.slice(2 * 48, 2 * 48 + 2)).toEqual([0x0, 5]); // '0'
    expect(HUFFMAN_TABLE.slice(2 * 97, 2 * 97 + 2)).toEqual([0x3, 5]); // 'a'
    expect(HUFFMAN_TABLE.slice(2 * 10, 2 * 10 + 2)).toEqual([0x3ffffffc, 30]); // LF
    expect(HUFFMAN_TABLE.slice(2 * 255, 2 * 255 + 2)).toEqual([0x3ffffee, 26]);
  });

  test('decodes every octet, alone and in random strings', () => {
    const decoder = new HpackDecoder();
    for (let octet = 0; octet < 256; octet++) {
      const value = String.fromCharCode(octet);
      const block = literalHuffman('x', huffmanEncode(Buffer.from([octet])));
      expect(decoder.decode(block).headers).toEqual([['x', value]]);
    }
    for (let i = 0; i < 200; i++) {
      const octets = crypto.randomBytes(i % 90);
      expect(decoder.decode(literalHuffman('x', huffmanEncode(octets))).headers).toEqual([['x', octets.toString('latin1')]]);
    }
  });

  test('decodes a long string, past the reusable scratch buffer', () => {
    const value = crypto.randomBytes(100_000).toString('base64');
    const coded = huffmanEncode(Buffer.from(value, 'latin1'));
    expect(new HpackDecoder().decode(literalHuffman('x', coded)).headers).toEqual([['x', value]]);
  });
});

describe('RFC 7541 Appendix C', () => {
  test('C.1: integers with a prefix, read through size updates (5-bit prefix)', () => {
    expect(() => new HpackDecoder({ maxTableSize: 10 }).decode(hex('2a'))).not.toThrow(); // C.1.1: 10
    expect(() => new HpackDecoder({ maxTableSize: 1337 }).decode(hex('3f9a0a'))).not.toThrow(); // C.1.2: 1337
    expect(() => new HpackDecoder({ maxTableSize: 1336 }).decode(hex('3f9a0a'))).toThrow(HpackError);
  });

  test.each([
    ['C.2.1 literal with indexing', '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', ['custom-key', 'custom-header'], [['custom-key', 'custom-header', 55]]],
    ['C.2.2 literal without indexing', '040c 2f73 616d 706c 652f 7061 7468', [':path', '/sample/path'], []],
    ['C.2.3 literal never indexed', '1008 7061 7373 776f 7264 0673 6563 7265 74', ['password', 'secret'], []],
    ['C.2.4 indexed', '82', [':method', 'GET'], []],
  ])('%s', (_, block, field, table) => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex(block as string))).toEqual({ headers: [field], oversized: false, size: (field as Field)[0].length + (field as Field)[1].length + 32 });
    expect(dynamicTable(decoder)).toEqual(table);
  });

  const request1: Field[] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
  const request2: Field[] = [...request1, ['cache-control', 'no-cache']];
  const request3: Field[] = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
  const requestTables = [
    [[':authority', 'www.example.com', 57]],
    [['cache-control', 'no-cache', 53], [':authority', 'www.example.com', 57]],
    [['custom-key', 'custom-value', 54], ['cache-control', 'no-cache', 53], [':authority', 'www.example.com', 57]],
  ];
  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const response1: Field[] = [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']];
  const response2: Field[] = [[':status', '307'], ...response1.slice(1)];
  const response3: Field[] = [[':status', '200'], ['cache-control', 'private'], ['date', date2], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', cookie]];
  const responseTables = [
    [['location', 'https://www.example.com', 63], ['date', date1, 65], ['cache-control', 'private', 52], [':status', '302', 42]],
    [[':status', '307', 42], ['location', 'https://www.example.com', 63], ['date', date1, 65], ['cache-control', 'private', 52]],
    [['set-cookie', cookie, 98], ['content-encoding', 'gzip', 52], ['date', date2, 65]],
  ];
  const sequences: Array<[string, number, string[], Field[][], unknown[][]]> = [
    ['C.3 requests without Huffman', 4096, [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ], [request1, request2, request3], requestTables],
    ['C.4 requests with Huffman', 4096, [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ], [request1, request2, request3], requestTables],
    ['C.5 responses without Huffman, evicting from a 256-octet table', 256, [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ], [response1, response2, response3], responseTables],
    ['C.6 responses with Huffman, evicting from a 256-octet table', 256, [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ], [response1, response2, response3], responseTables],
  ];
  test.each(sequences)('%s, with the dynamic table after each block', (_, tableSize, blocks, lists, tables) => {
    const decoder = new HpackDecoder({ maxTableSize: tableSize });
    blocks.forEach((block, i) => {
      const { headers, oversized } = decoder.decode(hex(block));
      expect(headers).toEqual(lists[i]);
      expect(oversized).toBe(false);
      expect(dynamicTable(decoder)).toEqual(tables[i]);
    });
  });

  test('a Uint8Array that is not a Buffer decodes alike, at an offset into its ArrayBuffer', () => {
    const bytes = hex('ffff 8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 2, bytes.length - 2);
    expect(new HpackDecoder().decode(view).headers).toEqual(request1);
  });
});

describe('dynamic table size updates', () => {
  test('an update to 0 empties the table, and later entries are not kept', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    expect(dynamicTable(decoder)).toHaveLength(1);
    expect(decoder.decode(hex('20 82')).headers).toEqual([[':method', 'GET']]);
    expect(dynamicTable(decoder)).toEqual([]);
    expect(decoder.decode(hex('4001 6101 62')).headers).toEqual([['a', 'b']]); // too big for a 0-octet table
    expect(dynamicTable(decoder)).toEqual([]);
  });

  test('two updates may open a block; the table shrinks and grows back to at most the advertised size', () => {
    const decoder = new HpackDecoder({ maxTableSize: 100 });
    decoder.decode(hex('4001 6101 62')); // a: b, 34 octets
    decoder.decode(hex('4001 6301 64')); // c: d
    expect(dynamicTable(decoder).map((e) => e[0])).toEqual(['c', 'a']);
    expect(decoder.decode(hex('3f0b 3f45')).headers).toEqual([]); // 42, then 100: keeps only the newest
    expect(dynamicTable(decoder).map((e) => e[0])).toEqual(['c']);
    decoder.decode(hex('4001 6501 66'));
    expect(dynamicTable(decoder).map((e) => e[0])).toEqual(['e', 'c']);
  });

  test('an entry that just fits evicts everything else; one octet more empties the table', () => {
    const decoder = new HpackDecoder({ maxTableSize: 64 });
    decoder.decode(hex('4001 6101 62'));
    decoder.decode(Buffer.concat([hex('4001 78 1f'), Buffer.from('y'.repeat(31))])); // 1 + 31 + 32 = 64
    expect(dynamicTable(decoder).map((e) => e[2])).toEqual([64]);
    decoder.decode(Buffer.concat([hex('4001 78 20'), Buffer.from('y'.repeat(32))]));
    expect(dynamicTable(decoder)).toEqual([]);
  });

  test('many entries wrap the ring and are evicted oldest first', () => {
    const decoder = new HpackDecoder();
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `n${i}`.padEnd(8, '-');
      names.unshift(name);
      decoder.decode(Buffer.concat([hex('4008'), Buffer.from(name), hex('08'), Buffer.from('v'.repeat(8))])); // 48 octets
      const table = dynamicTable(decoder);
      expect(table.map((e) => e[0])).toEqual(names.slice(0, Math.min(names.length, Math.floor(4096 / 48))));
    }
  });
});

describe('HpackError', () => {
  const cases: Array<[string, string, number]> = [
    ['indexed field with index 0', '80', 4096],
    ['index beyond the static table with an empty dynamic table', 'be', 4096],
    ['literal name index beyond the tables', '7e 0161', 4096],
    ['index beyond static + dynamic', '4001 6101 62 bf', 4096],
    ['integer above 2^31 - 1', '3f ffff ffff 0f', 4096],
    ['integer with more than 5 continuation octets', '3f 8080 8080 8080 00', 4096],
    ['integer cut off by the end of the block', '3f ff', 4096],
    ['integer cut off before its first continuation octet', 'ff', 4096],
    ['a name string running past the block', '400a 6375 7374', 4096],
    ['a value string running past the block', '4001 61 05 6263', 4096],
    ['a missing value string', '4001 61', 4096],
    ['a missing name string', '40', 4096],
    ['string length overflowing 2^31', '0001 61 7f ffff ffff 0f', 4096],
    ['Huffman string containing EOS', '0001 61 84 ffff ffff', 4096],
    ['Huffman padding longer than 7 bits', '0001 61 82 1fff', 4096], // 'a' + 11 one bits
    ['Huffman padding that is not all ones', '0001 61 81 18', 4096], // 'a' + 000
    ['Huffman padding of 8 one bits after whole symbols', '0001 61 86 18c6 318c 63ff', 4096], // 'aaaaaaaa' is 40 bits
    ['size update above the advertised table size', '3fe2 1f', 4096], // 4097
    ['size update above a smaller advertised size', '3f02', 32],
    ['size update after a field', '82 20', 4096],
    ['size update at the end of the block, after a field', '4001 6101 62 3f01', 4096],
  ];
  test.each(cases)('%s', (_, block, maxTableSize) => {
    // Every row has the table size: jest passes a done callback to a test that takes more arguments than its row.
    expect(() => new HpackDecoder({ maxTableSize }).decode(hex(block))).toThrow(HpackError);
  });

  test('is an Error named HpackError', () => {
    const e = new HpackError('bad');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.message]).toEqual(['HpackError', 'bad']);
  });

  test('the largest integer allowed and the boundary Huffman paddings decode', () => {
    // 2^31 - 1 as a name index fails only for the index, not as an integer.
    expect(() => new HpackDecoder().decode(hex('0f f0ff ffff 07'))).toThrow(/index 2147483647/);
    expect(new HpackDecoder().decode(hex('0001 61 81 1f')).headers).toEqual([['a', 'a']]); // 3 bits of padding
    expect(new HpackDecoder().decode(hex('0001 61 81 07')).headers).toEqual([['a', '0']]); // '0' + 3 ones
    expect(new HpackDecoder().decode(hex('0001 61 80')).headers).toEqual([['a', '']]); // empty Huffman string
    expect(new HpackDecoder().decode(Buffer.alloc(0))).toEqual({ headers: [], oversized: false, size: 0 });
  });
});

describe('oversized header lists', () => {
  test('stop collecting past maxListSize, keep counting, and keep the dynamic table in sync', () => {
    const decoder = new HpackDecoder();
    const block = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d 4001 6101 62');
    // :method GET 42, :scheme http 43, :path / 38, :authority www.example.com 57, a b 34: 214 in all
    expect(decoder.decode(block, 123)).toEqual({ headers: [[':method', 'GET'], [':scheme', 'http'], [':path', '/']], oversized: true, size: 214 });
    expect(dynamicTable(decoder).map((e) => e[0])).toEqual(['a', ':authority']);
    expect(decoder.decode(hex('bf be'), 1000).headers).toEqual([[':authority', 'www.example.com'], ['a', 'b']]);
  });

  test('a list of exactly maxListSize is not oversized', () => {
    expect(new HpackDecoder().decode(hex('82 86'), 85)).toEqual({ headers: [[':method', 'GET'], [':scheme', 'http']], oversized: false, size: 85 });
    expect(new HpackDecoder().decode(hex('82 86'), 84).oversized).toBe(true);
  });
});

describe('encodeHeaders', () => {
  test('uses static indices, static names, or literal names, never the dynamic table or Huffman', () => {
    expect(encodeHeaders([[':status', '200']])).toEqual(Buffer.from([0x88]));
    expect(encodeHeaders([[':status', '500'], [':method', 'POST'], [':authority', '']])).toEqual(Buffer.from([0x8e, 0x83, 0x81]));
    expect(encodeHeaders([[':status', '302']])).toEqual(hex('08 03 333032'));
    expect(encodeHeaders([['content-type', 'application/grpc']])).toEqual(Buffer.concat([hex('0f10 10'), Buffer.from('application/grpc')]));
    expect(encodeHeaders([['grpc-status', '0']])).toEqual(Buffer.concat([hex('00 0b'), Buffer.from('grpc-status'), hex('01 30')]));
    expect(encodeHeaders([])).toEqual(Buffer.alloc(0));
  });

  test('round-trips through HpackDecoder, leaving its dynamic table empty', () => {
    const everyOctet = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const headers: Field[] = [
      [':status', '200'],
      [':status', '201'],
      ['content-type', 'application/grpc+proto'],
      ['www-authenticate', ''],
      ['accept-encoding', 'gzip, deflate'],
      ['accept-encoding', 'identity'],
      ['grpc-status', '0'],
      ['grpc-message', 'x'.repeat(126)],
      ['x-127', 'y'.repeat(127)],
      ['x-long', 'z'.repeat(70_000)],
      ['n'.repeat(200), everyOctet],
      ['Upper-Case', 'kept as sent'],
      ['x-empty', ''],
    ];
    const decoder = new HpackDecoder({ maxTableSize: 0 });
    const { headers: decoded, size } = decoder.decode(encodeHeaders(headers));
    expect(decoded).toEqual(headers);
    expect(size).toBe(headers.reduce((n, [name, value]) => n + name.length + value.length + 32, 0));
    expect(dynamicTable(decoder)).toEqual([]);
  });
});

// ---- Interop with Node's HTTP/2 (nghttp2), over real sockets. ----

const { HEADERS, SETTINGS, CONTINUATION } = FrameType;
const { END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY } = Flag;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** FrameReader splits a byte stream into frames, skipping the client preface when told to expect one. */
class FrameReader {
  private pending = Buffer.alloc(0);
  constructor(private prefaceLeft: number) {}

  push(chunk: Buffer): Frame[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const skip = Math.min(this.prefaceLeft, this.pending.length);
    this.pending = this.pending.subarray(skip);
    this.prefaceLeft -= skip;
    const frames: Frame[] = [];
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      frames.push({ type: this.pending[3], flags: this.pending[4], streamId: this.pending.readUInt32BE(5) & 0x7fffffff, payload: this.pending.subarray(9, 9 + length) });
      this.pending = this.pending.subarray(9 + length);
    }
    return frames;
  }
}

/** HeaderBlocks joins HEADERS and CONTINUATION fragments into header blocks, padding and priority removed. */
class HeaderBlocks {
  readonly blocks: Buffer[] = [];
  continuations = 0;
  private fragments: Buffer[] = [];

  /** add takes a HEADERS or CONTINUATION frame and returns true when it ends a block. */
  add(f: Frame): boolean {
    let fragment = f.payload;
    if (f.type === HEADERS) {
      let start = 0;
      let padding = 0;
      if (f.flags & PADDED) padding = fragment[start++];
      if (f.flags & PRIORITY) start += 5;
      fragment = fragment.subarray(start, fragment.length - padding);
    }
    if (f.type === CONTINUATION) this.continuations++;
    this.fragments.push(fragment);
    if (!(f.flags & END_HEADERS)) return false;
    this.blocks.push(Buffer.concat(this.fragments));
    this.fragments = [];
    return true;
  }
}

async function listen(server: net.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function grpcRequest(i: number, port: number): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':scheme': 'http',
    ':authority': `127.0.0.1:${port}`,
    ':path': '/tessera.agent.v1.AgentLink/Connect',
    'content-type': 'application/grpc+proto',
    te: 'trailers',
    'user-agent': 'grpc-node-js/1.12.6',
    'grpc-accept-encoding': 'identity,deflate,gzip',
    'accept-encoding': 'identity',
    'tessera-agent-protocol': '1.0.0',
    'grpc-timeout': `${i + 1}999m`,
    'x-request-id': crypto.randomBytes(300 + 40 * i).toString('base64url'), // fills the 4 KiB table: evictions
    'tessera-agent-token': crypto.randomBytes(48).toString('base64'),
  };
}

/** expectedFields lists an outgoing header object as Node sends it: pseudo-headers first, then the rest, in order. */
function expectedFields(headers: http2.OutgoingHttpHeaders): Field[] {
  const fields = Object.entries(headers).map(([name, value]) => [name, String(value)] as Field);
  return [...fields.filter(([n]) => n.startsWith(':')), ...fields.filter(([n]) => !n.startsWith(':'))];
}

describe('interop with Node http2', () => {
  let cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const f of cleanup) f();
    cleanup = [];
  });

  test("decodes the header blocks of Node's http2 client, Huffman and dynamic table included, and Node decodes encodeHeaders responses", async () => {
    const requests = 12;
    const reader = new FrameReader(PREFACE.length);
    const received = new HeaderBlocks();
    let sent: http2.OutgoingHttpHeaders[] = [];
    let responses: Array<Promise<[http2.IncomingHttpHeaders, http2.IncomingHttpHeaders]>> = [];
    const allBlocks = new Promise<void>((resolve, reject) => {
      const server = net.createServer((socket) => {
        cleanup.push(() => socket.destroy());
        socket.write(frame(SETTINGS, 0, 0));
        socket.on('data', (chunk: Buffer) => {
          for (const f of reader.push(chunk)) {
            if (f.type === SETTINGS && !(f.flags & ACK)) socket.write(frame(SETTINGS, ACK, 0));
            if (f.type !== HEADERS && f.type !== CONTINUATION) continue;
            if (!received.add(f)) continue;
            // Answer as the lean server will: response headers, then trailers ending the stream.
            socket.write(frame(HEADERS, END_HEADERS, f.streamId, encodeHeaders([[':status', '200'], ['content-type', 'application/grpc+proto']])));
            socket.write(frame(HEADERS, END_HEADERS | END_STREAM, f.streamId, encodeHeaders([['grpc-status', '0'], ['grpc-message', 'OK']])));
            if (received.blocks.length === requests) resolve();
          }
        });
        socket.on('error', reject);
      });
      cleanup.push(() => server.close());
      listen(server).then((port) => {
        const client = http2.connect(`http://127.0.0.1:${port}`);
        cleanup.push(() => client.destroy());
        client.on('error', reject);
        sent = Array.from({ length: requests }, (_, i) => grpcRequest(i, port));
        sent[5]['x-latin1'] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(0x80 + i) + 'aaaaaaaa').join('');
        sent[6]['x-ascii'] = Array.from({ length: 95 }, (_, i) => '\t' + String.fromCharCode(0x20 + i)).join('');
        sent[7]['x-big'] = crypto.randomBytes(18_000).toString('base64'); // over 16 KiB: HEADERS + CONTINUATION
        responses = sent.map((headers) => exchange(client, headers));
      }, reject);
    });
    await allBlocks;

    const decoder = new HpackDecoder();
    const decoded = received.blocks.map((block) => decoder.decode(block).headers);
    expect(decoded).toEqual(sent.map(expectedFields));
    expect(received.continuations).toBeGreaterThan(0);
    // Node really did compress: Huffman (no raw user-agent in the first block) and the dynamic table (a short second block).
    expect(received.blocks[0].includes(Buffer.from('grpc-node-js'))).toBe(false);
    // The second request changes x-request-id, the token and grpc-timeout; the fields it repeats, all but :path (which
    // nghttp2 never indexes), take an octet each from the dynamic table. A changed field costs its Huffman value and up to 5 octets of name index and length.
    const changed = ['x-request-id', 'tessera-agent-token', 'grpc-timeout', ':path'].map((name) => String(sent[1][name]));
    const changedOctets = changed.reduce((n, value) => n + 5 + Math.min(value.length, huffmanEncode(Buffer.from(value)).length), 0);
    expect(received.blocks[1].length).toBeLessThanOrEqual(changedOctets + Object.keys(sent[1]).length - changed.length);

    for (const [headers, trailers] of await Promise.all(responses)) {
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('application/grpc+proto');
      expect([trailers['grpc-status'], trailers['grpc-message']]).toEqual(['0', 'OK']);
    }
  });

  test("Node's http2 server decodes a request block made by encodeHeaders", async () => {
    const server = http2.createServer();
    cleanup.push(() => server.close());
    const stream = new Promise<http2.IncomingHttpHeaders>((resolve) => {
      server.on('stream', (s, headers) => {
        s.respond({ ':status': 200 });
        s.end();
        resolve(headers);
      });
    });
    const port = await listen(server);
    const longValue = crypto.randomBytes(400).toString('base64');
    const block = encodeHeaders([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', `127.0.0.1:${port}`],
      [':path', '/tessera.agent.v1.AgentLink/Connect'],
      ['content-type', 'application/grpc+proto'],
      ['te', 'trailers'],
      ['user-agent', 'grpc-node-js/1.12.6'],
      ['tessera-agent-protocol', '1.0.0'],
      ['grpc-timeout', '19999m'],
      ['x-long', longValue],
      ['accept-encoding', 'gzip, deflate'],
      ['x-empty', ''],
    ]);
    const socket = net.connect(port, '127.0.0.1');
    cleanup.push(() => socket.destroy());
    socket.on('error', () => {});
    // Split the block so that CONTINUATION is exercised on Node's side too.
    const cut = Math.floor(block.length / 2);
    socket.write(Buffer.concat([
      PREFACE,
      frame(SETTINGS, 0, 0),
      frame(HEADERS, END_STREAM, 1, block.subarray(0, cut)),
      frame(CONTINUATION, END_HEADERS, 1, block.subarray(cut)),
    ]));
    const headers = await stream;
    expect(headers).toMatchObject({
      ':method': 'POST',
      ':scheme': 'http',
      ':authority': `127.0.0.1:${port}`,
      ':path': '/tessera.agent.v1.AgentLink/Connect',
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'user-agent': 'grpc-node-js/1.12.6',
      'tessera-agent-protocol': '1.0.0',
      'grpc-timeout': '19999m',
      'x-long': longValue,
      'accept-encoding': 'gzip, deflate',
      'x-empty': '',
    });
  });
});

/** exchange sends one request on the client and resolves with its response headers and trailers. */
function exchange(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<[http2.IncomingHttpHeaders, http2.IncomingHttpHeaders]> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: false });
    let response: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (response = h));
    req.on('trailers', (t) => resolve([response, t]));
    req.on('error', reject);
    req.resume();
  });
}
