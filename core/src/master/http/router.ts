/**
 * The master's HTTP server: the scheduler API and the small fixed endpoints operators and load
 * balancers probe. Every handler error becomes a 500 with a message; the server never crashes on a
 * request.
 */
import http from 'node:http';
import type { Log } from '../../log';
import type { Master } from '../master';
import { DEFAULT_MAX_BODY_BYTES, reply } from './body';
import { legacyState, metricsSnapshot, versionInfo } from './legacy-endpoints';
import { schedulerEndpoint } from './scheduler-endpoint';

/** MasterHttpOptions configure the HTTP server. */
export interface MasterHttpOptions {
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** Flags as the operator gave them, for /state and GET_FLAGS. */
  flags?: Record<string, string>;
  log: Log;
}

/** createMasterHttpServer builds (does not listen) the master's HTTP server. */
export function createMasterHttpServer(master: Master, opts: MasterHttpOptions): http.Server {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://master');
    const route = url.pathname.replace(/\/+$/, '') || '/';
    Promise.resolve()
      .then(() => {
        switch (route) {
          case '/api/v1/scheduler':
            return schedulerEndpoint(master, req, res, max);
          case '/health':
          case '/master/health':
            return reply(res, 200);
          case '/version':
            return json(res, versionInfo());
          case '/state':
          case '/master/state':
          case '/state.json':
          case '/master/state.json':
            return json(res, legacyState(master, opts.flags ?? {}));
          case '/metrics/snapshot':
            return json(res, metricsSnapshot(master));
          default:
            return reply(res, 404, `no endpoint ${url.pathname} on this master; see /api/v1/scheduler, /state, /metrics/snapshot, /health, /version`);
        }
      })
      .catch((err: unknown) => {
        opts.log.error(`HTTP ${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
        reply(res, 500, `internal error: ${(err as Error).message}`);
      });
  });
  server.keepAliveTimeout = 75_000;
  return server;
}

function json(res: http.ServerResponse, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(text.length) });
  res.end(text);
}
