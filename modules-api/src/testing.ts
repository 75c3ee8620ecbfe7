/**
 * The in-process harness for module authors' tests: serve a module definition inside the test process,
 * over a real unix socket and the real gRPC stack, and get the same typed clients the core uses.
 *
 * ```ts
 * import { serveInProcess, IsolatorClient } from '@tessera/modules-api';
 * const mod = await serveInProcess(myModule, { parameters: { limit: 3 } });
 * const isolator = new IsolatorClient(mod);
 * await isolator.prepare({ value: 'c1' }, {});
 * await mod.stop();
 * ```
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ModuleServer } from './sdk/server';
import { jsonLineLogger } from './sdk/logger';
import type { Logger, ModuleDefinition } from './sdk/handlers';
import { ModuleConnection } from './client/connection';
import { makeRuntimeDir } from './client/launch';
import { ConfiguredModule, SUPPORTED_ABI, configureModule, type ConfigureOptions } from './client/start';

/** InProcessModule is a module served in the test process. */
export class InProcessModule extends ConfiguredModule {
  constructor(
    configured: ConfiguredModule,
    private readonly server: ModuleServer,
    private readonly dir: string,
  ) {
    super(configured.name, configured.connection, configured.info, configured.negotiated, configured.warnings);
  }

  /** stop closes the client and the server. */
  async stop(): Promise<void> {
    this.connection.close();
    await this.server.close(500);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** InProcessOptions configure {@link serveInProcess}. */
export interface InProcessOptions extends Partial<ConfigureOptions> {
  /** log receives the module's log; default discards it. */
  log?: Logger;
}

/** serveInProcess serves a module definition in this process and configures it as the core would. */
export async function serveInProcess<P>(def: ModuleDefinition<P>, opts: InProcessOptions = {}): Promise<InProcessModule> {
  const dir = makeRuntimeDir('tessera-inproc-');
  const token = randomBytes(16).toString('hex');
  const server = new ModuleServer(def as ModuleDefinition<never>, { token, log: opts.log ?? jsonLineLogger(() => undefined) });
  const socket = path.join(dir, 'module.sock');
  await server.listen(socket);
  const connection = new ModuleConnection(def.name, socket, token, opts.callTimeoutMs ?? 5000);
  const configured = await configureModule(def.name, connection, {
    ...opts,
    core: opts.core ?? { version: '0.0.0-test', abi: SUPPORTED_ABI },
  });
  return new InProcessModule(configured, server, dir);
}
