/**
 * Request bodies with a size limit (413 beyond it; chunked bodies without Content-Length are
 * accepted, as some Mesos clients send them) and plain-text answers.
 */
import type http from 'node:http';

/** DEFAULT_MAX_BODY_BYTES bounds a request body (scheduler calls with many tasks stay far below it). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** reply answers with a status and a plain-text message (empty for 2xx without a message). */
export function reply(res: http.ServerResponse, status: number, message = ''): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = Buffer.from(message);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(body);
}

/** readBody reads the whole body, or answers 413 (or gives up on a broken request) and resolves undefined. */
export function readBody(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    reply(res, 413, `Request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Buffer | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        reply(res, 413, `Request body exceeds the limit of ${maxBytes} bytes`);
        req.resume();
        finish(undefined);
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => finish(Buffer.concat(chunks)));
    req.once('error', () => finish(undefined));
    req.once('aborted', () => finish(undefined));
  });
}
