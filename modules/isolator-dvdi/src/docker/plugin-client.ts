/**
 * VolumePluginClient speaks the Docker volume plugin protocol to one plugin: HTTP/1.1 POSTs of JSON
 * over its unix socket (Node's http `socketPath`) or TCP, with a timeout per call and errors that name
 * the driver, its address, the call and what the plugin said.
 *
 * ```ts
 * const client = new VolumePluginClient(discover('tessera-local', { socketDirs: ['/run/docker/plugins'], specDirs: [] }), { timeoutMs: 5000 });
 * await client.activate();                       // must list VolumeDriver
 * await client.create('data', { size: '64M' });
 * const mountpoint = await client.mount('data', 'agent-1');
 * await client.unmount('data', 'agent-1');
 * ```
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dvdiError } from '../errors';
import type { PluginEndpoint } from './discovery';
import {
  MEDIA_TYPE,
  VOLUME_DRIVER,
  type ActivateResponse,
  type CapabilitiesResponse,
  type ErrResponse,
  type GetResponse,
  type ListResponse,
  type MountpointResponse,
  type PluginCall,
  type VolumeInfo,
} from './protocol';

/** PluginClientOptions tune a client. */
export interface PluginClientOptions {
  /** timeoutMs bounds each call, from connecting to the last byte of the answer. */
  timeoutMs: number;
  /** maxResponseBytes bounds an answer's size (default 4 MiB). */
  maxResponseBytes?: number;
}

/** Scope is a driver's capability: local (one host) or global (the same volume on every host). */
export type Scope = 'local' | 'global';

interface RawAnswer {
  status: number;
  body: string;
}

/** VolumePluginClient calls one Docker volume plugin. */
export class VolumePluginClient {
  constructor(
    readonly endpoint: PluginEndpoint,
    private readonly opts: PluginClientOptions,
  ) {}

  /** activate calls /Plugin.Activate and checks that the plugin implements VolumeDriver; it returns what it implements. */
  async activate(signal?: AbortSignal): Promise<string[]> {
    const res = await this.call<ActivateResponse>('Plugin.Activate', {}, '', signal);
    const implemented = Array.isArray(res.Implements) ? res.Implements.filter((s): s is string => typeof s === 'string') : [];
    if (!implemented.includes(VOLUME_DRIVER)) {
      throw dvdiError(
        'DVDI_PLUGIN_NOT_VOLUME_DRIVER',
        `${this.who()}: /Plugin.Activate lists ${implemented.length ? implemented.join(', ') : 'nothing'}, not ${VOLUME_DRIVER}: ` +
          `this plugin is not a volume driver; the framework asked for the wrong driver, or the operator installed another plugin under this name (${this.endpoint.source})`,
      );
    }
    return implemented;
  }

  /** create asks for a volume with driver options; drivers treat an existing volume as created. */
  async create(name: string, options: Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.call<ErrResponse>('VolumeDriver.Create', { Name: name, Opts: options }, ` of volume "${name}"`, signal);
  }

  /** remove deletes a volume (drivers refuse while it is mounted). */
  async remove(name: string, signal?: AbortSignal): Promise<void> {
    await this.call<ErrResponse>('VolumeDriver.Remove', { Name: name }, ` of volume "${name}"`, signal);
  }

  /** mount mounts a volume for the caller `id` and returns its mountpoint on this host. */
  async mount(name: string, id: string, signal?: AbortSignal): Promise<string> {
    const res = await this.call<MountpointResponse>('VolumeDriver.Mount', { Name: name, ID: id }, ` of volume "${name}"`, signal);
    return this.mountpoint('VolumeDriver.Mount', name, res.Mountpoint, true);
  }

  /** unmount releases the caller `id`'s mount of a volume. */
  async unmount(name: string, id: string, signal?: AbortSignal): Promise<void> {
    await this.call<ErrResponse>('VolumeDriver.Unmount', { Name: name, ID: id }, ` of volume "${name}"`, signal);
  }

  /** path returns where the volume is mounted on this host ("" when it is not mounted). */
  async path(name: string, signal?: AbortSignal): Promise<string> {
    const res = await this.call<MountpointResponse>('VolumeDriver.Path', { Name: name }, ` of volume "${name}"`, signal);
    return this.mountpoint('VolumeDriver.Path', name, res.Mountpoint, false);
  }

  /** get describes one volume; it throws DVDI_PLUGIN_ERROR when the driver does not know it. */
  async get(name: string, signal?: AbortSignal): Promise<VolumeInfo> {
    const res = await this.call<GetResponse>('VolumeDriver.Get', { Name: name }, ` of volume "${name}"`, signal);
    if (!res.Volume || typeof res.Volume.Name !== 'string') throw this.badAnswer('VolumeDriver.Get', ` of volume "${name}"`, 'an answer without "Volume"');
    return res.Volume;
  }

  /** list describes every volume of the driver. */
  async list(signal?: AbortSignal): Promise<VolumeInfo[]> {
    const res = await this.call<ListResponse>('VolumeDriver.List', {}, '', signal);
    if (res.Volumes !== undefined && res.Volumes !== null && !Array.isArray(res.Volumes)) throw this.badAnswer('VolumeDriver.List', '', '"Volumes" that is not a list');
    return res.Volumes ?? [];
  }

  /** capabilities answers the driver's scope; a driver without the call is local, as Docker assumes. */
  async capabilities(signal?: AbortSignal): Promise<{ scope: Scope }> {
    const raw = await this.request('VolumeDriver.Capabilities', {}, '', signal);
    if (raw.status === 404) return { scope: 'local' };
    const res = this.decode<CapabilitiesResponse>('VolumeDriver.Capabilities', '', raw);
    const scope = res.Capabilities?.Scope ?? 'local';
    if (scope !== 'local' && scope !== 'global') throw this.badAnswer('VolumeDriver.Capabilities', '', `the unknown scope "${String(scope)}"`);
    return { scope };
  }

  /** call makes one protocol call and returns its decoded answer, or throws the coded error. */
  async call<T extends ErrResponse>(call: PluginCall, body: object, subject: string, signal?: AbortSignal): Promise<T> {
    return this.decode<T>(call, subject, await this.request(call, body, subject, signal));
  }

  private who(): string {
    return `volume driver "${this.endpoint.name}" (${this.endpoint.url})`;
  }

  private mountpoint(call: PluginCall, name: string, value: unknown, required: boolean): string {
    if ((value === undefined || value === '') && !required) return '';
    if (typeof value !== 'string' || !value.startsWith('/')) {
      throw this.badAnswer(call, ` of volume "${name}"`, `the mountpoint ${JSON.stringify(value)}, which is not an absolute path`);
    }
    return value;
  }

  private badAnswer(call: PluginCall, subject: string, what: string): Error {
    return dvdiError('DVDI_PLUGIN_BAD_RESPONSE', `${this.who()}: ${call}${subject} answered ${what}: the plugin does not follow the Docker volume plugin protocol; report it to its author`);
  }

  private decode<T extends ErrResponse>(call: PluginCall, subject: string, raw: RawAnswer): T {
    let parsed: unknown = {};
    if (raw.body.trim() !== '') {
      try {
        parsed = JSON.parse(raw.body);
      } catch {
        parsed = undefined;
      }
    }
    const err = typeof (parsed as ErrResponse | undefined)?.Err === 'string' ? (parsed as ErrResponse).Err! : '';
    if (err !== '') throw dvdiError('DVDI_PLUGIN_ERROR', `${this.who()}: ${call}${subject} failed: ${err}`);
    if (raw.status !== 200) {
      const snippet = raw.body.trim().slice(0, 300) || '(empty body)';
      throw this.badAnswer(call, subject, `HTTP ${raw.status} without an "Err": ${snippet}`);
    }
    if (parsed === undefined || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw this.badAnswer(call, subject, `something that is not a JSON object: ${raw.body.trim().slice(0, 300)}`);
    }
    return parsed as T;
  }

  private request(call: PluginCall, body: object, subject: string, signal?: AbortSignal): Promise<RawAnswer> {
    const payload = Buffer.from(JSON.stringify(body));
    const { address } = this.endpoint;
    const headers = { Accept: MEDIA_TYPE, 'Content-Type': MEDIA_TYPE, 'Content-Length': String(payload.length) };
    const limit = this.opts.maxResponseBytes ?? 4 * 1024 * 1024;
    return new Promise<RawAnswer>((resolve, reject) => {
      if (signal?.aborted) return reject(this.cancelled(call, subject));
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let req: http.ClientRequest | undefined;
      const finish = (err: Error | undefined, answer?: RawAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          req?.destroy();
          reject(err);
        } else {
          resolve(answer!);
        }
      };
      const onAbort = () => finish(this.cancelled(call, subject));
      try {
        const common = { method: 'POST', path: `/${call}`, headers, agent: false as const };
        if (address.kind === 'unix') {
          req = http.request({ ...common, socketPath: address.socketPath });
        } else if (address.protocol === 'https:') {
          const tls = address.tls ?? {};
          const read = (f?: string) => (f ? fs.readFileSync(f) : undefined);
          req = https.request({ ...common, host: address.host, port: address.port, ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key), rejectUnauthorized: !tls.insecureSkipVerify });
        } else {
          req = http.request({ ...common, host: address.host, port: address.port });
        }
      } catch (err) {
        return finish(this.unavailable(call, subject, err as Error));
      }
      timer = setTimeout(() => {
        finish(
          dvdiError(
            'DVDI_PLUGIN_TIMEOUT',
            `${this.who()} did not answer ${call}${subject} within ${this.opts.timeoutMs} ms: the plugin hangs or is overloaded; ` +
              "the operator must check it, or raise the module's plugin_timeout (and its timeouts.call in modules.json) for a slow driver",
          ),
        );
      }, this.opts.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(this.unavailable(call, subject, err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) return finish(this.badAnswer(call, subject, `more than ${limit} bytes`));
          chunks.push(c);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => finish(this.unavailable(call, subject, err)));
      });
      req.end(payload);
    });
  }

  private unavailable(call: PluginCall, subject: string, err: Error): Error {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its socket is gone' : code === 'ECONNREFUSED' ? 'nothing listens there' : err.message;
    return dvdiError(
      'DVDI_PLUGIN_UNAVAILABLE',
      `${this.who()} is not answering: ${call}${subject} failed (${why}${code && !why.includes(code) ? `, ${code}` : ''}): ` +
        `the operator must start the plugin or fix its address (found in ${this.endpoint.source})`,
      err,
    );
  }

  private cancelled(call: PluginCall, subject: string): Error {
    return dvdiError(
      'DVDI_PLUGIN_TIMEOUT',
      `${this.who()}: ${call}${subject} was cancelled because the core's deadline for the isolator call passed first: ` +
        "the operator must raise the module's timeouts.call in modules.json above its plugin_timeout",
    );
  }
}
