/**
 * The master's HTTP server: the scheduler API, the operator API, the web UI (`/`), and the small fixed
 * endpoints operators, scrapers and load balancers probe. Every handler error becomes a 500 with a
 * message; the server never crashes on a request.
 */
import http from 'node:http';
import type { Log } from '../../log';
import type { Master } from '../master';
import { DEFAULT_MAX_BODY_BYTES, reply } from './body';
import { legacyState, metricsSnapshot, versionInfo } from './legacy-endpoints';
import { operatorEndpoint } from './operator-endpoint';
import { masterPrometheus, PROMETHEUS_CONTENT_TYPE, type ModuleMetricsSource } from './prometheus';
import { quotaEndpoint, rolesEndpoint, weightsEndpoint } from './quota-endpoints';
import { schedulerEndpoint } from './scheduler-endpoint';
import { webUi } from './webui';

/** ENDPOINTS lists what the master serves, for the 404 answer. */
const ENDPOINTS = ['/ (web UI)', '/api/v1/scheduler', '/api/v1', '/state', '/roles', '/quota', '/weights', '/metrics', '/metrics/snapshot', '/health', '/version', '/flags', '/redirect'];

/** MasterHttpOptions configure the HTTP server. */
export interface MasterHttpOptions {
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** Flags as the operator gave them, for /state and GET_FLAGS. */
  flags?: Record<string, string>;
  /** The module host's metrics (ModuleHost.metrics), appended to /metrics. */
  moduleMetrics?: ModuleMetricsSource;
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
        // DELETE /quota/<role>: the role may hold slashes (a nested role).
        const quotaRole = /^(?:\/master)?\/quota\/(.+)$/.exec(route)?.[1];
        if (quotaRole !== undefined) return quotaEndpoint(master, req, res, max, quotaRole);
        switch (route) {
          case '/':
          case '/index.html':
            return webUi(req, res);
          case '/api/v1/scheduler':
          case '/master/api/v1/scheduler':
            return schedulerEndpoint(master, req, res, max);
          case '/api/v1':
          case '/master/api/v1':
            return operatorEndpoint(master, req, res, { maxBodyBytes: max, flags: opts.flags ?? {}, log: opts.log });
          case '/health':
          case '/master/health':
            return reply(res, 200);
          case '/version':
          case '/master/version':
            return json(res, versionInfo());
          case '/flags':
          case '/master/flags':
            return json(res, { flags: opts.flags ?? {} });
          case '/redirect':
          case '/master/redirect': {
            // Mesos answers with the leading master; this one always leads (no contender module yet).
            const info = master.opts.info;
            res.writeHead(307, { Location: `//${info.hostname ?? info.address?.ip}:${info.port}`, 'Content-Length': '0' });
            return res.end();
          }
          case '/state':
          case '/master/state':
          case '/state.json':
          case '/master/state.json':
            return json(res, legacyState(master, opts.flags ?? {}));
          case '/quota':
          case '/master/quota':
            return quotaEndpoint(master, req, res, max);
          case '/weights':
          case '/master/weights':
            return weightsEndpoint(master, req, res, max);
          case '/roles':
          case '/master/roles':
          case '/roles.json':
          case '/master/roles.json':
            return rolesEndpoint(master, res);
          case '/metrics/snapshot':
            return json(res, metricsSnapshot(master));
          case '/metrics':
            return text(res, PROMETHEUS_CONTENT_TYPE, masterPrometheus(master, opts.moduleMetrics));
          default:
            return reply(res, 404, `no endpoint ${url.pathname} on this master; see ${ENDPOINTS.join(', ')}`);
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
  text(res, 'application/json', JSON.stringify(body));
}

function text(res: http.ServerResponse, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}
