/**
 * DriverRegistry hands out activated clients by driver name: it discovers the plugin, calls
 * /Plugin.Activate once (checking VolumeDriver), and keeps the client. A plugin that stops answering
 * is forgotten, so the next call finds it again (a restarted plugin, a moved socket) and re-activates.
 */
import { TesseraError } from '@tessera/modules-api';
import { discover, type DiscoveryOptions } from './discovery';
import { VolumePluginClient } from './plugin-client';

/** RegistryOptions say where drivers are found and how long a call may take. */
export interface RegistryOptions extends DiscoveryOptions {
  /** timeoutMs bounds each plugin call. */
  timeoutMs: number;
}

/** DriverRegistry resolves driver names to activated plugin clients. */
export class DriverRegistry {
  private readonly clients = new Map<string, VolumePluginClient>();

  constructor(private readonly opts: RegistryOptions) {}

  /** client returns the activated client of a driver, discovering and activating it on first use. */
  async client(driver: string, signal?: AbortSignal): Promise<VolumePluginClient> {
    const known = this.clients.get(driver);
    if (known) return known;
    const client = new VolumePluginClient(discover(driver, this.opts), { timeoutMs: this.opts.timeoutMs });
    await client.activate(signal);
    this.clients.set(driver, client);
    return client;
  }

  /** use runs `fn` with a driver's client; when the plugin does not answer, it is found again next time. */
  async use<T>(driver: string, signal: AbortSignal | undefined, fn: (client: VolumePluginClient) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.client(driver, signal));
    } catch (err) {
      const code = err instanceof TesseraError ? err.code : '';
      if (code === 'DVDI_PLUGIN_UNAVAILABLE' || code === 'DVDI_PLUGIN_TIMEOUT') this.clients.delete(driver);
      throw err;
    }
  }
}
