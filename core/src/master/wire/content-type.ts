/**
 * Content negotiation of the Mesos v1 HTTP APIs. A request body is JSON or protobuf by its Content-Type;
 * a response is JSON when the client accepts it, else protobuf; a stream may also be asked for as
 * `Accept: application/recordio` with the format of each record in `Message-Accept`, as newer Mesos
 * clients do. These functions only decide; the HTTP layer sets the status and headers.
 */

/** WireFormat is the encoding of one Mesos message. */
export type WireFormat = 'json' | 'protobuf';

/** MEDIA_TYPES are the media types of the Mesos v1 APIs. */
export const MEDIA_TYPES = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
  recordio: 'application/recordio',
} as const;

/** RequestFormat is the format of a request body, or the error status and message to answer with. */
export type RequestFormat = { ok: true; format: WireFormat } | { ok: false; status: 400 | 415; message: string };

/**
 * ResponseFormat is how to encode a response, or the error to answer with (406).
 *
 * `contentType` is the media type of one message: the Content-Type of a plain response, and the
 * Message-Content-Type of a `application/recordio` stream. `streamContentType` is the Content-Type of a
 * RecordIO stream (SUBSCRIBE): `application/recordio` when the client asked for it, otherwise
 * `contentType`, as Mesos answers older clients.
 */
export type ResponseFormat =
  | { ok: true; format: WireFormat; contentType: string; streamContentType: string }
  | { ok: false; status: 406; message: string };

const EXPECTED_CONTENT_TYPE = `Expecting 'Content-Type' of ${MEDIA_TYPES.json} or ${MEDIA_TYPES.protobuf}`;

/**
 * requestFormat reads a request's Content-Type. It must be `application/json` (parameters such as
 * `charset=utf-8` allowed; another charset is refused) or exactly `application/x-protobuf`. Like Mesos,
 * a missing Content-Type is a 400 and any other media type a 415.
 *
 * ```ts
 * const f = requestFormat(req.headers['content-type']);
 * if (!f.ok) return reply(f.status, f.message);
 * ```
 */
export function requestFormat(contentType: string | undefined): RequestFormat {
  if (contentType === undefined || contentType.trim() === '') {
    return { ok: false, status: 400, message: "Expecting 'Content-Type' to be present" };
  }
  const { type, params } = parseMediaType(contentType);
  if (type === MEDIA_TYPES.protobuf && params.length === 0) return { ok: true, format: 'protobuf' };
  if (type === MEDIA_TYPES.json) {
    const charset = params.find(([name]) => name === 'charset')?.[1].toLowerCase();
    if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return { ok: true, format: 'json' };
    return { ok: false, status: 415, message: `Expecting JSON bodies in UTF-8, got charset '${charset}'` };
  }
  return { ok: false, status: 415, message: `${EXPECTED_CONTENT_TYPE}, got '${contentType}'` };
}

/**
 * responseFormat chooses the encoding of a response from the request's Accept and Message-Accept headers:
 * JSON if acceptable (a missing Accept or `*` accepts it), else protobuf, else, for a stream, RecordIO with
 * the records' format from Message-Accept (JSON preferred, JSON when it is missing).
 *
 * ```ts
 * const f = responseFormat({ accept: req.headers.accept, messageAccept: req.headers['message-accept'] }, { stream: true });
 * if (!f.ok) return reply(f.status, f.message);
 * res.setHeader('Content-Type', f.streamContentType);
 * if (f.streamContentType === MEDIA_TYPES.recordio) res.setHeader('Message-Content-Type', f.contentType);
 * ```
 */
export function responseFormat(headers: { accept?: string; messageAccept?: string }, options: { stream: boolean }): ResponseFormat {
  const accept = parseAccept(headers.accept);
  const direct = messageFormat(accept);
  if (direct) return { ok: true, format: direct, contentType: MEDIA_TYPES[direct], streamContentType: MEDIA_TYPES[direct] };
  if (options.stream && quality(accept, MEDIA_TYPES.recordio) > 0) {
    const inner = messageFormat(parseAccept(headers.messageAccept));
    if (inner) return { ok: true, format: inner, contentType: MEDIA_TYPES[inner], streamContentType: MEDIA_TYPES.recordio };
    return {
      ok: false,
      status: 406,
      message: `Expecting 'Message-Accept' to allow ${MEDIA_TYPES.json} or ${MEDIA_TYPES.protobuf}, got '${headers.messageAccept}'`,
    };
  }
  const allowed = options.stream
    ? `${MEDIA_TYPES.json}, ${MEDIA_TYPES.protobuf} or ${MEDIA_TYPES.recordio}`
    : `${MEDIA_TYPES.json} or ${MEDIA_TYPES.protobuf}`;
  return { ok: false, status: 406, message: `Expecting 'Accept' to allow ${allowed}, got '${headers.accept}'` };
}

function messageFormat(accept: MediaRange[] | undefined): WireFormat | undefined {
  if (quality(accept, MEDIA_TYPES.json) > 0) return 'json';
  if (quality(accept, MEDIA_TYPES.protobuf) > 0) return 'protobuf';
  return undefined;
}

interface MediaRange {
  type: string;
  q: number;
}

// A missing or blank header accepts everything (undefined).
function parseAccept(header: string | undefined): MediaRange[] | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  return header.split(',').map((range) => {
    const { type, params } = parseMediaType(range);
    const q = params.find(([name]) => name === 'q')?.[1];
    return { type, q: q === undefined ? 1 : /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(q) ? Number(q) : 0 };
  });
}

// The quality of a media type: that of the most specific matching range (RFC 9110 12.5.1), 0 if none.
function quality(accept: MediaRange[] | undefined, mediaType: string): number {
  if (accept === undefined) return 1;
  const wildcard = `${mediaType.split('/')[0]}/*`;
  let best = -1;
  let q = 0;
  for (const range of accept) {
    const specificity = range.type === mediaType ? 2 : range.type === wildcard ? 1 : range.type === '*/*' ? 0 : -1;
    if (specificity < 0 || specificity < best) continue;
    q = specificity > best ? range.q : Math.max(q, range.q);
    best = specificity;
  }
  return q;
}

function parseMediaType(value: string): { type: string; params: [string, string][] } {
  const [type, ...rest] = value.split(';');
  const params = rest.map((p): [string, string] => {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const raw = eq < 0 ? '' : p.slice(eq + 1).trim();
    return [name, raw.replace(/^"(.*)"$/, '$1')];
  });
  return { type: type.trim().toLowerCase(), params: params.filter(([name]) => name !== '') };
}
