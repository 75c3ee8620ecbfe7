import { RecordIODecoder, encodeRecord } from './recordio';
import { WireError } from './wire-error';

const texts = (records: Buffer[]) => records.map((r) => r.toString('utf8'));

describe('encodeRecord', () => {
  it('prefixes the payload with its decimal byte length and a newline', () => {
    expect(encodeRecord('{"type":"HEARTBEAT"}').toString()).toBe('20\n{"type":"HEARTBEAT"}');
    expect(encodeRecord(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([0x33, 0x0a, 1, 2, 3]));
    expect(encodeRecord('').toString()).toBe('0\n');
  });

  it('counts bytes, not characters', () => {
    expect(encodeRecord('é').toString()).toBe('2\né');
  });
});

describe('RecordIODecoder', () => {
  const stream = Buffer.concat([encodeRecord('{"a":1}'), encodeRecord(''), encodeRecord('{"type":"HEARTBEAT"}'), encodeRecord('x'.repeat(300))]);
  const expected = ['{"a":1}', '', '{"type":"HEARTBEAT"}', 'x'.repeat(300)];

  it('returns several records pushed in one chunk', () => {
    const decoder = new RecordIODecoder();
    expect(texts(decoder.push(stream))).toEqual(expected);
    decoder.end();
  });

  it('reassembles records split at every possible byte', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new RecordIODecoder();
      const records = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(texts(records)).toEqual(expected);
    }
  });

  it('reads a stream fed one byte at a time, or as strings', () => {
    const decoder = new RecordIODecoder();
    const records: Buffer[] = [];
    for (const byte of stream) records.push(...decoder.push(Buffer.from([byte])));
    expect(texts(records)).toEqual(expected);
    expect(texts(new RecordIODecoder().push('3\nabc2\nde'))).toEqual(['abc', 'de']);
  });

  it('refuses a length that is not a decimal number, and stays failed', () => {
    const decoder = new RecordIODecoder();
    expect(() => decoder.push('3\nabcx\n')).toThrow(new WireError('RecordIO: expected a decimal record length, got the byte 0x78'));
    expect(() => decoder.push('3\nabc')).toThrow(WireError);
    expect(() => new RecordIODecoder().push('\nabc')).toThrow(/empty length line/);
    expect(() => new RecordIODecoder().push('-1\n')).toThrow(/got the byte 0x2d/);
  });

  it('refuses a record above the limit before its payload arrives', () => {
    const decoder = new RecordIODecoder({ maxRecordBytes: 1000 });
    expect(texts(decoder.push('1000\n'))).toEqual([]);
    expect(() => new RecordIODecoder({ maxRecordBytes: 1000 }).push('1001')).toThrow(/longer than the limit of 1000 bytes/);
    expect(() => new RecordIODecoder().push('99999999999999999999')).toThrow(WireError);
  });

  it('end() refuses a stream that stops inside a record', () => {
    const inPayload = new RecordIODecoder();
    inPayload.push('5\nab');
    expect(() => inPayload.end()).toThrow('RecordIO: the stream ended inside a record (2 of 5 bytes)');
    const inLength = new RecordIODecoder();
    inLength.push('12');
    expect(() => inLength.end()).toThrow(/ended inside a record/);
  });
});
