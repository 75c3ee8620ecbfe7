import { requestFormat, responseFormat } from './content-type';

describe('requestFormat', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['Application/JSON;charset="UTF-8"', 'json'],
    ['application/x-protobuf', 'protobuf'],
  ])('%s is %s', (contentType, format) => {
    expect(requestFormat(contentType)).toEqual({ ok: true, format });
  });

  it.each([
    ['text/plain', 415],
    ['application/xml', 415],
    ['application/*', 415],
    ['application/recordio', 415],
    ['application/x-protobuf; charset=utf-8', 415],
    ['application/json; charset=iso-8859-1', 415],
    ['', 400],
    [undefined, 400],
  ])('%s is refused with %d', (contentType, status) => {
    const result = requestFormat(contentType);
    expect(result).toMatchObject({ ok: false, status });
    if (!result.ok) expect(result.message).toMatch(/^Expecting /);
  });
});

describe('responseFormat', () => {
  const json = { ok: true, format: 'json', contentType: 'application/json', streamContentType: 'application/json' };
  const protobuf = { ok: true, format: 'protobuf', contentType: 'application/x-protobuf', streamContentType: 'application/x-protobuf' };
  const recordio = (format: string, contentType: string) => ({ ok: true, format, contentType, streamContentType: 'application/recordio' });

  it.each([
    [undefined, undefined, json],
    ['', undefined, json],
    ['*/*', undefined, json],
    ['application/*', undefined, json],
    ['application/json', undefined, json],
    ['application/x-protobuf', undefined, protobuf],
    ['application/x-protobuf, application/json;q=0.5', undefined, json],
    ['application/json;q=0, application/x-protobuf', undefined, protobuf],
    ['application/*;q=0, application/x-protobuf', undefined, protobuf],
    ['*/*;q=0.1, application/json;q=0', undefined, protobuf],
    ['text/html, */*;q=0.8', undefined, json],
    ['application/recordio', undefined, recordio('json', 'application/json')],
    ['application/recordio', 'application/json', recordio('json', 'application/json')],
    ['application/recordio', 'application/x-protobuf', recordio('protobuf', 'application/x-protobuf')],
    ['application/recordio', 'application/x-protobuf, application/json', recordio('json', 'application/json')],
    ['application/recordio', '*/*', recordio('json', 'application/json')],
    ['application/recordio, application/x-protobuf', 'application/json', protobuf],
  ])('a stream with Accept %s and Message-Accept %s', (accept, messageAccept, expected) => {
    expect(responseFormat({ accept, messageAccept }, { stream: true })).toEqual(expected);
  });

  it.each([
    ['text/html', undefined, true, /^Expecting 'Accept' to allow application\/json, application\/x-protobuf or application\/recordio, got 'text\/html'$/],
    ['application/json;q=0', undefined, true, /Expecting 'Accept'/],
    ['application/recordio', 'text/plain', true, /^Expecting 'Message-Accept' to allow application\/json or application\/x-protobuf, got 'text\/plain'$/],
    ['application/recordio', undefined, false, /^Expecting 'Accept' to allow application\/json or application\/x-protobuf, got 'application\/recordio'$/],
    ['text/plain', undefined, false, /Expecting 'Accept'/],
  ])('Accept %s, Message-Accept %s (stream: %s) is refused with 406', (accept, messageAccept, stream, message) => {
    const result = responseFormat({ accept, messageAccept }, { stream });
    expect(result).toMatchObject({ ok: false, status: 406 });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('answers a plain response as JSON or protobuf', () => {
    expect(responseFormat({ accept: 'application/x-protobuf' }, { stream: false })).toEqual(protobuf);
    expect(responseFormat({}, { stream: false })).toEqual(json);
  });
});
