/**
 * One TCP port for the master's HTTP APIs and the agent protocol (gRPC), as Mesos serves everything on
 * 5050: the first bytes of each connection decide. A connection that opens with the HTTP/2 client
 * preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, what every gRPC client sends first) goes to the agent
 * link (with the bytes read so far); anything else goes to the Node http.Server, with those bytes put back.
 *
 * ```ts
 * const listener = await listenShared({ host: '0.0.0.0', port: 5050, http: httpServer, agents: link });
 * log.info(`master listening on ${listener.address}`);
 * // ...
 * await listener.close();
 * ```
 * HTTP/1 requests are told apart at their first byte, so a short request never waits for 24 bytes.
 */
import type http from 'node:http';
import net from 'node:net';
import { TesseraError } from '../errors';
import { createLog, type Log } from '../log';
import { CLIENT_PREFACE } from './h2/frames';

/** HTTP2_PREFACE is what an HTTP/2 client sends first (RFC 9113 §3.4). */
export const HTTP2_PREFACE = CLIENT_PREFACE;

/** SharedListenOptions configure {@link listenShared}. */
export interface SharedListenOptions {
  /** host to bind, e.g. '0.0.0.0'. */
  host: string;
  /** port to bind; 0 picks a free one (tests). */
  port: number;
  /** http receives every connection that is not HTTP/2; it need not listen itself. */
  http: http.Server;
  /** agents receives the HTTP/2 connections (the agent protocol's gRPC), with the bytes already read from each. */
  agents: { acceptConnection(socket: net.Socket, head: Buffer): void };
  log?: Log;
  /** peekTimeoutMs drops a connection that sends nothing decisive for this long (default 30 s). */
  peekTimeoutMs?: number;
  /** backlog is the queue of connections not yet accepted (default {@link DEFAULT_BACKLOG}). */
  backlog?: number;
}

/**
 * DEFAULT_BACKLOG lets thousands of agents reconnect at once (a master restart): with Node's default
 * of 511 the kernel drops the SYNs beyond it and the agents wait 1 s, then 3 s, for their retransmits.
 * Linux caps it at net.core.somaxconn (4,096 on recent kernels): asking for the most lets an operator's
 * larger somaxconn take effect without a flag (docs/master.md, "Large clusters").
 */
export const DEFAULT_BACKLOG = 65535;

/** SharedListener is the bound port. */
export interface SharedListener {
  /** host as bound. */
  readonly host: string;
  /** port as bound (the chosen one when 0 was asked). */
  readonly port: number;
  /** address is `host:port`. */
  readonly address: string;
  /** close stops listening and destroys every connection, HTTP and gRPC alike. */
  close(): Promise<void>;
}

/**
 * listenShared binds one TCP port for both servers; see the module comment. It rejects with
 * TSR_PORT_IN_USE when another process has the port, naming host:port and what to do.
 */
export function listenShared(opts: SharedListenOptions): Promise<SharedListener> {
  const log = opts.log ?? createLog({ component: 'listener' });
  const peekTimeoutMs = opts.peekTimeoutMs ?? 30_000;
  const sockets = new Set<net.Socket>();
  // The connections that have not yet said what they are, with when each is dropped: one sweep for all
  // of them rather than a timer each, as thousands of agents connect at once after a master's restart.
  // Their deadlines come in the order they connected, so a sweep stops at the first one not due.
  const peeking = new Map<net.Socket, number>();
  const sweepMs = Math.max(10, Math.min(1000, Math.floor(peekTimeoutMs / 4)));
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = (): void => {
    const now = Date.now();
    for (const [socket, deadline] of peeking) {
      if (deadline > now) break;
      peeking.delete(socket);
      log.debug(`dropped a connection from ${socket.remoteAddress} that sent nothing for ${peekTimeoutMs} ms`);
      socket.destroy();
    }
    if (peeking.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  const route = (socket: net.Socket): void => {
    sockets.add(socket);
    peeking.set(socket, Date.now() + peekTimeoutMs);
    sweeper ??= setInterval(sweep, sweepMs).unref();
    socket.once('close', () => {
      sockets.delete(socket);
      peeking.delete(socket);
    });
    let seen: Buffer = Buffer.alloc(0);
    const stopPeeking = (): void => {
      peeking.delete(socket);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('error', onError);
    };
    const onGone = (): void => {
      // Closed before a decision (a port scanner, a health check that only connects): nothing to route.
      stopPeeking();
      socket.destroy();
    };
    const onError = (err: Error): void => {
      log.debug(`connection from ${socket.remoteAddress} failed before its first request: ${err.message}`);
      onGone();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, HTTP2_PREFACE.length);
      const isHttp2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (isHttp2 && n < HTTP2_PREFACE.length) return; // a prefix of the preface so far: wait for more
      stopPeeking();
      if (isHttp2) {
        opts.agents.acceptConnection(socket, seen);
      } else {
        socket.pause();
        socket.unshift(seen);
        opts.http.emit('connection', socket);
        socket.resume(); // the HTTP parser reads the socket's handle directly; the put-back bytes reach it as 'data'
      }
    };
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('error', onError);
  };

  const server = net.createServer({ pauseOnConnect: false }, route);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(listenError(err, opts.host, opts.port));
    });
    server.listen({ port: opts.port, host: opts.host, backlog: opts.backlog ?? DEFAULT_BACKLOG }, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.error(`listener on ${opts.host}:${opts.port} failed: ${err.message}`));
      const port = (server.address() as net.AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        host: opts.host,
        port,
        address: `${opts.host}:${port}`,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            clearInterval(sweeper);
            for (const socket of sockets) socket.destroy();
          })),
      });
    });
  });
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): TesseraError {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return new TesseraError('TSR_PORT_IN_USE', `another process listens on ${where}: stop it or pass --port`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new TesseraError('TSR_LISTEN_FAILED', `no permission to listen on ${where}: pass a --port above 1023 or run with the privilege to bind it`, { cause: err });
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new TesseraError('TSR_LISTEN_FAILED', `cannot listen on ${where}: ${host} is not an address of this machine; pass --ip (or --hostname) with one of its addresses`, { cause: err });
  }
  return new TesseraError('TSR_LISTEN_FAILED', `cannot listen on ${where}: ${err.message}`, { cause: err });
}
