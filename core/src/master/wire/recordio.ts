/**
 * RecordIO, the framing of Mesos event streams: each record is `<decimal byte length>\n<payload>`, with
 * nothing between records. The master writes one record per HTTP chunk (some clients parse per chunk);
 * readers must not rely on that, so {@link RecordIODecoder} accepts records split over chunks and several
 * records in one chunk.
 */
import { WireError } from './wire-error';

/** DEFAULT_MAX_RECORD_BYTES is the largest record a {@link RecordIODecoder} accepts unless told otherwise. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * encodeRecord frames one payload (a string is taken as UTF-8) as a RecordIO record.
 *
 * ```ts
 * res.write(encodeRecord(encodeJson('mesos.v1.scheduler.Event', { type: 'HEARTBEAT' })));
 * // writes '20\n{"type":"HEARTBEAT"}'
 * ```
 */
export function encodeRecord(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'latin1'), body]);
}

/**
 * RecordIODecoder reads a RecordIO stream chunk by chunk. A record returned may share memory with the
 * chunks pushed. After an error (a length that is not a decimal number, or one above the limit) every
 * later call throws the same {@link WireError}.
 *
 * ```ts
 * const decoder = new RecordIODecoder();
 * for await (const chunk of res) {
 *   for (const record of decoder.push(chunk)) handle(decodeJson('mesos.v1.scheduler.Event', record));
 * }
 * decoder.end();
 * ```
 */
export class RecordIODecoder {
  private readonly maxRecordBytes: number;
  private failure: WireError | undefined;
  // The length being read, and how many digits it has so far.
  private length = 0;
  private digits = 0;
  // Whether the length line is complete and the payload is being read, and the payload so far.
  private inPayload = false;
  private parts: Buffer[] = [];
  private received = 0;

  constructor(options: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  /** push adds a chunk of the stream and returns the records it completes, in order. */
  push(chunk: Uint8Array | string): Buffer[] {
    if (this.failure) throw this.failure;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const records: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
      if (!this.inPayload) {
        const byte = buf[i++];
        if (byte === 0x0a) {
          if (this.digits === 0) this.fail('a record has an empty length line');
          this.inPayload = true;
        } else if (byte >= 0x30 && byte <= 0x39) {
          this.length = this.length * 10 + (byte - 0x30);
          this.digits++;
          if (this.length > this.maxRecordBytes) this.fail(`a record is longer than the limit of ${this.maxRecordBytes} bytes`);
          continue;
        } else {
          this.fail(`expected a decimal record length, got the byte 0x${byte.toString(16).padStart(2, '0')}`);
        }
      } else {
        const take = Math.min(this.length - this.received, buf.length - i);
        this.parts.push(buf.subarray(i, i + take));
        this.received += take;
        i += take;
      }
      if (this.inPayload && this.received === this.length) {
        records.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.length));
        this.length = this.digits = this.received = 0;
        this.inPayload = false;
        this.parts = [];
      }
    }
    return records;
  }

  /** end says the stream is over; it throws if the stream stopped inside a record. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.digits > 0) {
      throw new WireError(`RecordIO: the stream ended inside a record (${this.received} of ${this.inPayload ? this.length : 'an unknown number of'} bytes)`);
    }
  }

  private fail(problem: string): never {
    this.failure = new WireError(`RecordIO: ${problem}`);
    throw this.failure;
  }
}
