/**
 * The HTTP side of `tessera-volume-local`: Docker's volume plugin protocol on a unix socket. Every call
 * is a POST of JSON; errors are answered as HTTP 500 with `{"Err": "<CODE>: <message>"}`, as Docker's
 * own plugin helpers do, so Docker and the dvdi isolator both show the text.
 *
 * ```ts
 * const store = await VolumeStore.open('/var/lib/tessera-volumes');
 * const server = await listenPlugin(store, '/run/docker/plugins/tessera-local.sock');
 * // docker volume create -d tessera-local -o size=64M data
 * await server.close();
 * ```
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { RESPONSE_MEDIA_TYPE, VOLUME_DRIVER } from '../docker/protocol';
import { PluginError } from './plugin-errors';
import type { StoreLog, VolumeStore } from './store';

type Body = Record<string, unknown>;
type Handler = (body: Body) => Promise<object>;

/** routes maps each protocol call to the store. */
function routes(store: VolumeStore): Record<string, Handler> {
  return {
    '/Plugin.Activate': async () => ({ Implements: [VOLUME_DRIVER] }),
    '/VolumeDriver.Create': async (b) => (await store.create(b.Name, b.Opts as Body | undefined), { Err: '' }),
    '/VolumeDriver.Remove': async (b) => (await store.remove(b.Name), { Err: '' }),
    '/VolumeDriver.Mount': async (b) => ({ Mountpoint: await store.mount(b.Name, b.ID), Err: '' }),
    '/VolumeDriver.Unmount': async (b) => (await store.unmount(b.Name, b.ID), { Err: '' }),
    '/VolumeDriver.Path': async (b) => ({ Mountpoint: await store.path(b.Name), Err: '' }),
    '/VolumeDriver.Get': async (b) => ({ Volume: await store.get(b.Name), Err: '' }),
    '/VolumeDriver.List': async () => ({ Volumes: await store.list(), Err: '' }),
    '/VolumeDriver.Capabilities': async () => ({ Capabilities: { Scope: 'local' } }),
  };
}

/** PluginServer is a listening plugin. */
export interface PluginServer {
  readonly socket: string;
  /** close stops listening and removes the socket file (volumes stay as they are). */
  close(): Promise<void>;
}

/**
 * listenPlugin serves the store on a unix socket. A stale socket file (nobody answers) is replaced;
 * a live one is refused with DVDI_LOCAL_LISTEN_FAILED.
 */
export async function listenPlugin(store: VolumeStore, socket: string, log: StoreLog = () => undefined): Promise<PluginServer> {
  const table = routes(store);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const answer = (status: number, body: object) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': RESPONSE_MEDIA_TYPE, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      const url = (req.url ?? '').split('?')[0];
      const handler = table[url];
      if (!handler || req.method !== 'POST') return answer(404, { Err: `${url} is not a call of the Docker volume plugin protocol (POST /Plugin.Activate, /VolumeDriver.*)` });
      if (size > 1024 * 1024) return answer(413, { Err: 'DVDI_LOCAL_INVALID_REQUEST: request body larger than 1 MiB' });
      let body: Body = {};
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text) {
        try {
          const parsed = JSON.parse(text);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed;
        } catch (err) {
          return answer(400, { Err: `DVDI_LOCAL_INVALID_REQUEST: the body of ${url} is not a JSON object (${(err as Error).message})` });
        }
      }
      handler(body).then(
        (out) => answer(200, out),
        (err: unknown) => {
          const message = err instanceof PluginError ? err.message : `DVDI_LOCAL_STATE_WRITE_FAILED: ${(err as Error).message}`;
          log(err instanceof PluginError ? 'warn' : 'error', `${url.slice(1)} refused`, { volume: body.Name, error: message });
          answer(500, { Err: message });
        },
      );
    });
  });
  await prepareSocket(socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new PluginError('DVDI_LOCAL_LISTEN_FAILED', `cannot listen on ${socket}: ${err.message}`)));
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o660);
  return {
    socket,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fs.rmSync(socket, { force: true });
      }),
  };
}

// prepareSocket makes the socket's directory and removes a stale socket file; a live one is an error.
async function prepareSocket(socket: string): Promise<void> {
  try {
    fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new PluginError('DVDI_LOCAL_LISTEN_FAILED', `cannot create ${path.dirname(socket)}: ${(err as Error).message}`);
  }
  if (!fs.existsSync(socket)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new PluginError('DVDI_LOCAL_LISTEN_FAILED', `another process answers on ${socket}: stop it, or pass another --socket`);
  fs.rmSync(socket, { force: true });
}
