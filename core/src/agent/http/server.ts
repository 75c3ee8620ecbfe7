/**
 * The agent's HTTP endpoints (default port 5051), read from an {@link AgentView}: Mesos's `/state`,
 * the v1 operator API `/api/v1`, the sandboxes under `/files/*`, `/monitor/statistics`, `/containers`,
 * `/metrics/snapshot`, Prometheus `/metrics`, `/health`, `/version` and `/flags`. Each is also served
 * under Mesos's `/slave(1)/` prefix, which Mesos tools and UIs use. Every handler error becomes a 500
 * with a message; the server never crashes on a request.
 *
 * ```ts
 * const http = await startAgentHttp({ ip: '0.0.0.0', port: 5051, view: agent, log });
 * // curl localhost:5051/state ; curl 'localhost:5051/files/read?path=<sandbox>/stdout&offset=0'
 * await http.close();
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import http from 'node:http';
import type { Log } from '../../log';
import { CORE_VERSION } from '../../version';
import { DEFAULT_MAX_BODY_BYTES, reply } from '../../master/http/body';
import { PROMETHEUS_CONTENT_TYPE } from '../../master/http/prometheus';
import type { AgentView } from '../agent-view';
import { containersJson, gatherContainers, monitorStatistics } from './containers';
import { filesEndpoint, json } from './files';
import { agentOperatorEndpoint } from './operator';
import { agentPrometheus } from './prometheus';
import { legacyAgentState } from './state';

/** ENDPOINTS lists what the agent serves, for the 404 answer. */
const ENDPOINTS = ['/state', '/api/v1', '/files/browse', '/files/read', '/files/download', '/monitor/statistics', '/containers', '/metrics', '/metrics/snapshot', '/health', '/version', '/flags'];

/** AgentHttpOptions configure {@link startAgentHttp}. */
export interface AgentHttpOptions {
  /** ip to listen on (0.0.0.0: every interface). */
  ip: string;
  /** port to listen on; 0 picks a free one (the result says which). */
  port: number;
  view: AgentView;
  log: Log;
  /** Largest request body accepted (413 beyond); default 16 MiB. */
  maxBodyBytes?: number;
}

/** AgentHttp is a listening agent HTTP server. */
export interface AgentHttp {
  /** port actually bound. */
  port: number;
  /** close stops listening and ends open connections. */
  close(): Promise<void>;
}

/** createAgentHttpServer builds (does not listen) the agent's HTTP server. */
export function createAgentHttpServer(opts: Omit<AgentHttpOptions, 'ip' | 'port'>): http.Server {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { view, log } = opts;
  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      // Origin-form targets are taken as paths even when they start with '//' (not as a host name).
      const target = req.url ?? '/';
      url = target.startsWith('/') ? new URL(`http://agent${target}`) : new URL(target, 'http://agent');
    } catch {
      return reply(res, 400, `Malformed request target '${req.url}'`);
    }
    // Mesos serves the agent's endpoints under its process id too: /slave(1)/state.
    const route = url.pathname.replace(/^\/slave\(1\)(?=\/|$)/, '').replace(/\/+$/, '') || '/';
    Promise.resolve()
      .then(async () => {
        if (route.startsWith('/files/')) return filesEndpoint(view, route.slice('/files/'.length), url, req, res);
        if (route === '/api/v1') return agentOperatorEndpoint(view, req, res, max);
        if (req.method !== 'GET' && req.method !== 'HEAD' && ENDPOINTS.includes(route)) {
          res.setHeader('Allow', 'GET, HEAD');
          return reply(res, 405, `Expecting a 'GET' request, received '${req.method}'`);
        }
        switch (route) {
          case '/':
          case '/state':
          case '/state.json':
            return json(res, legacyAgentState(view));
          case '/health':
            return reply(res, 200);
          case '/version':
            return json(res, { version: CORE_VERSION, build_date: '', git_sha: '' });
          case '/flags':
            return json(res, { flags: view.flags() });
          case '/metrics/snapshot':
            return json(res, view.metrics());
          case '/metrics':
            return text(res, PROMETHEUS_CONTENT_TYPE, agentPrometheus(view));
          case '/monitor/statistics':
          case '/monitor/statistics.json':
            return json(res, monitorStatistics(await gatherContainers(view)));
          case '/containers':
            return json(res, containersJson(await gatherContainers(view)));
          default:
            return reply(res, 404, `no endpoint ${url.pathname} on this agent; see ${ENDPOINTS.join(', ')}`);
        }
      })
      .catch((err: unknown) => {
        log.error(`HTTP ${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
        reply(res, 500, `internal error: ${(err as Error).message}`);
      });
  });
  server.keepAliveTimeout = 75_000;
  return server;
}

/**
 * startAgentHttp starts the agent's HTTP server on ip:port and resolves once it listens; it rejects with
 * TSR_PORT_IN_USE when another process holds the port, or TSR_LISTEN_FAILED for another reason.
 */
export async function startAgentHttp(opts: AgentHttpOptions): Promise<AgentHttp> {
  const server = createAgentHttpServer(opts);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new TesseraError('TSR_PORT_IN_USE', `the agent cannot listen on ${opts.ip}:${opts.port}: another process uses the port; stop it or give the agent another --port`, { cause: err }));
      } else {
        reject(new TesseraError('TSR_LISTEN_FAILED', `the agent cannot listen on ${opts.ip}:${opts.port}: ${err.message}; check --ip and --port`, { cause: err }));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, opts.ip);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  opts.log.info(`agent endpoints listening on http://${opts.ip}:${port}`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function text(res: http.ServerResponse, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}
