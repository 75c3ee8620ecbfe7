/**
 * serve() turns a handler object into a Tessera module process: it performs the handshake (docs/abi.md),
 * serves the Module, Health and kind services on the socket the core gave, checks the token on every
 * call, forwards logs, and exits when the core that started it goes away.
 */
import fs from 'node:fs';
import { ENV, handshakeLine } from '../version';
import { TesseraError } from '../errors';
import { ModuleServer, validateDefinition } from './server';
import { jsonLineLogger } from './logger';
import type { ModuleDefinition } from './handlers';

/** ServeOptions are for tests of serve() itself; modules pass nothing. */
export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** parentCheckMs is how often the parent pid is checked (default 500). */
  parentCheckMs?: number;
}

/**
 * serve runs a module. Call it once from the module's main file:
 *
 * ```ts
 * import { serve } from '@tessera/modules-api';
 * serve({
 *   name: 'isolator-hello', version: '1.0.0',
 *   isolator: { async prepare() { return { environment: { variables: [{ name: 'HELLO', value: '1' }] } }; }, async cleanup() {} },
 * });
 * ```
 * Run by hand (without TESSERA_MODULE in the environment) it explains what it is and exits 1.
 */
export function serve<P = Record<string, unknown>>(def: ModuleDefinition<P>, options: ServeOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  try {
    validateDefinition(def as ModuleDefinition<never>);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  if (env[ENV.MODULE] !== '1') {
    process.stderr.write(explain(def as ModuleDefinition<never>));
    process.exit(1);
  }
  const socket = env[ENV.SOCKET];
  const token = env[ENV.TOKEN];
  if (!socket || !token) {
    process.stderr.write(`${def.name}: ${ENV.SOCKET} and ${ENV.TOKEN} must be set by the core that starts this module\n`);
    process.exit(1);
  }
  const log = jsonLineLogger();
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.close(1000).catch(() => undefined);
    try {
      await server.runShutdown();
    } finally {
      process.exit(code);
    }
  };
  const server = new ModuleServer(def as ModuleDefinition<never>, { token, log, onShutdown: () => void stop(0) });
  watchParent(() => void stop(0), options.parentCheckMs ?? 500);
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  return server.listen(socket).then(
    () => {
      // The handshake line is the first and only thing written to stdout before serving.
      process.stdout.write(`${handshakeLine(socket)}\n`);
    },
    (err: TesseraError) => {
      process.stderr.write(`${def.name}: ${err.message}\n`);
      process.exit(1);
    },
  );
}

// A module must not outlive its core, even when the core is SIGKILLed: the core holds the write end of
// our stdin, which the kernel closes when the core dies; and our parent pid changes when it dies.
function watchParent(onGone: () => void, intervalMs: number): void {
  try {
    const st = fs.fstatSync(0);
    if (st.isFIFO() || st.isSocket()) {
      process.stdin.on('end', onGone);
      process.stdin.on('close', onGone);
      process.stdin.on('error', onGone);
      process.stdin.resume();
    }
  } catch {
    // no stdin at all: rely on the parent pid
  }
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, intervalMs).unref();
}

function explain(def: ModuleDefinition<never>): string {
  const kinds = ['isolator', 'containerizer', 'allocator', 'hook', 'contender', 'detector'].filter(
    (k) => (def as unknown as Record<string, unknown>)[k] !== undefined,
  );
  return [
    `${def.name} ${def.version} is a Tessera module (${kinds.join(', ')}), not a program to run by hand.`,
    def.description ? `  ${def.description}` : '',
    'The Tessera core starts it. Add it to your modules.json, for example:',
    `  {"modules": [{"name": "${def.name}", "file": "${process.argv[1] ?? '<path to this file>'}"}]}`,
    'then check it with:  tessera modules check modules.json',
    'Module authors: test it with  tessera-conformance --kind <kind> <this file>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n') + '\n';
}
