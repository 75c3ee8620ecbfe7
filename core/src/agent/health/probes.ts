/**
 * One run of a check, and what it found. HTTP and TCP probes run in the agent itself (Mesos's command
 * executor runs `curl` and `mesos-tcp-connect`; the task shares the agent's network namespace here, so
 * 127.0.0.1 is the same address either way). COMMAND probes are in command-probe.ts.
 *
 * - HTTP: GET `<scheme>://127.0.0.1:<port><path>` (`[::1]` for IPv6), following redirects and ignoring
 *   TLS certificate errors, as Mesos's `curl -s -S -L -k -g`; the result is the final status code.
 *   A transport error (refused, reset, timed out) is an error, as a curl exit status is in Mesos.
 * - TCP: connect to 127.0.0.1:<port>; `succeeded` tells whether the connection was accepted (Mesos
 *   counts every failure of mesos-tcp-connect as "not succeeded"); only a timeout is an error.
 *
 * ```ts
 * const r = await runNetworkProbe({ type: 'TCP', port: 8080, ipv6: false }, { timeoutMs: 20000, signal });
 * // { type: 'TCP', succeeded: false }
 * ```
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ProbeSpec } from './config';

/** ProbeResult is what one run found; `error` when it could not be performed to the end (Mesos's Failure). */
export type ProbeResult =
  | { type: 'COMMAND'; exitCode: number }
  | { type: 'HTTP'; statusCode: number }
  | { type: 'TCP'; succeeded: boolean }
  | { error: string };

/** ProbeOptions bound one run. */
export interface ProbeOptions {
  /** timeoutMs: 0 means no limit. */
  timeoutMs: number;
  /** signal aborts the run (the task ended); the result is then an error nobody reads. */
  signal?: AbortSignal;
}

/** MAX_REDIRECTS is how many redirects an HTTP probe follows (curl -L's own default limit is 50). */
export const MAX_REDIRECTS = 10;

/** timeoutText says a timeout the way results and logs spell it ("20 s", "1.5 s"). */
export const timeoutText = (timeoutMs: number): string => `${timeoutMs / 1000} s`;

/** runNetworkProbe runs an HTTP or TCP probe. */
export function runNetworkProbe(spec: Extract<ProbeSpec, { type: 'HTTP' | 'TCP' }>, opts: ProbeOptions): Promise<ProbeResult> {
  const host = spec.ipv6 ? '::1' : '127.0.0.1';
  return withDeadline(opts, (signal) => (spec.type === 'TCP' ? tcp(host, spec.port, signal) : httpGet(`${spec.scheme}://${spec.ipv6 ? '[::1]' : host}:${spec.port}${spec.path}`, signal)));
}

// withDeadline runs a probe under the timeout and the caller's signal, aborting it at whichever comes first.
async function withDeadline(opts: ProbeOptions, run: (signal: AbortSignal) => Promise<ProbeResult>): Promise<ProbeResult> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ProbeResult>((resolve) => {
    if (opts.timeoutMs <= 0) return;
    timer = setTimeout(() => {
      ctl.abort();
      resolve({ error: `timed out after ${timeoutText(opts.timeoutMs)}` });
    }, opts.timeoutMs);
  });
  try {
    return await Promise.race([run(ctl.signal), timedOut]);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    ctl.abort();
  }
}

function tcp(host: string, port: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (succeeded: boolean) => {
      socket.destroy();
      resolve({ type: 'TCP', succeeded });
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    signal.addEventListener('abort', () => socket.destroy(), { once: true });
  });
}

async function httpGet(url: string, signal: AbortSignal): Promise<ProbeResult> {
  let current = url;
  for (let hops = 0; ; hops++) {
    const answer = await getOnce(current, signal);
    if ('error' in answer) return { error: `GET ${current}: ${answer.error}` };
    if (answer.status >= 300 && answer.status < 400 && answer.location && hops < MAX_REDIRECTS) {
      current = new URL(answer.location, current).toString();
      continue;
    }
    return { type: 'HTTP', statusCode: answer.status };
  }
}

function getOnce(url: string, signal: AbortSignal): Promise<{ status: number; location?: string } | { error: string }> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      const opts = { signal, headers: { 'User-Agent': 'tessera-health-check' } };
      req = url.startsWith('https:') ? https.get(url, { ...opts, rejectUnauthorized: false }) : http.get(url, opts);
    } catch (err) {
      resolve({ error: (err as Error).message });
      return;
    }
    req.once('response', (res) => {
      res.resume(); // the body is not looked at (curl -o /dev/null)
      resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) });
    });
    req.once('error', (err) => resolve({ error: err.message }));
  });
}
