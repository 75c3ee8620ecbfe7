/**
 * `tessera modules run <modules.json> [name...]`: starts modules as a master or agent would and keeps
 * them running, supervised, until SIGTERM/SIGINT — for operators debugging a module, and for tests.
 * With --print-pids it prints {"core": pid, "modules": {name: pid}} once all are ready.
 */
import { TesseraError } from '@tessera/modules-api';
import type { Log } from '../log';
import { loadModulesJson } from '../modules/modules-json';
import { ModuleHost } from '../modules/module-host';

/** modulesRun is the CLI command; it resolves with the exit status when stopped. */
export async function modulesRun(args: string[], out: (s: string) => void, log: Log): Promise<number> {
  const [file, ...names] = args.filter((a) => !a.startsWith('--'));
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--print-pids');
  if (!file || unknown.length) {
    out(`${unknown.length ? `error TSR_FLAG_INVALID: unknown option ${unknown[0]}\n` : ''}usage: tessera modules run <modules.json> [module name...] [--print-pids]\n`);
    return 2;
  }
  let host: ModuleHost;
  try {
    host = new ModuleHost({ config: loadModulesJson(file), log, logLevel: log.level });
    await host.start(names.length ? names.map((name) => ({ name })) : undefined);
  } catch (err) {
    const e = TesseraError.wrap(err);
    out(`error ${e.code}: ${e.message}\n`);
    return 1;
  }
  process.on('exit', () => host.killAll());
  if (args.includes('--print-pids')) {
    out(JSON.stringify({ core: process.pid, modules: Object.fromEntries(host.all().map((m) => [m.name, m.pid])) }) + '\n');
  }
  log.info(`running ${host.all().length} module(s); SIGTERM or Ctrl-C stops them`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void host.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
