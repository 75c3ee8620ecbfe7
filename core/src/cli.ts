/**
 * The `tessera` command line: `master`, `agent`, `local`, `run`, `modules check`, `modules run`, `version`.
 */
import { TesseraError } from '@tessera/modules-api';
import { createLog, isLogLevel, type LogLevel } from './log';
import { CORE_ABI, CORE_VERSION } from './version';
import { modulesCheck } from './cli/modules-check';
import { modulesRun } from './cli/modules-run';
import { masterCommand } from './cli/master-command';
import { agentCommand } from './cli/agent-command';
import { localCommand } from './cli/local-command';
import { runCommand } from './cli/run-command';

const USAGE = `usage: tessera <command>

commands:
  master [flags]                          run a master (tessera master --help for its flags)
  agent --master=HOST:PORT --work_dir=DIR run an agent that runs tasks (tessera agent --help for its flags)
  local [flags]                           master + agent + default modules on this machine (tessera local --help)
  run [flags] -- CMD...                   run CMD as one task on the cluster, print its states (tessera run --help)
  modules check <modules.json> [--json]   validate, start, negotiate and stop every module; print a table
  modules run <modules.json> [name...]    run modules supervised until SIGTERM (debugging)
  version                                 print the core version and supported module ABI

flags: --log_level=debug|info|warn|error (env TESSERA_LOG_LEVEL)
`;

/**
 * main runs the CLI and returns the exit status. `out` gets results, `err` the errors of commands that
 * separate them (`run`).
 */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  // What follows `--` belongs to the command `tessera run` starts, not to tessera.
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const level = logLevelOf(own, process.env);
  if ('error' in level) {
    err(`error TSR_FLAG_INVALID: ${level.error}\n`);
    return 2;
  }
  const log = createLog({ level: level.level });
  const args = [...level.rest, ...(dash === -1 ? [] : argv.slice(dash))];
  const [cmd, sub, ...rest] = args;
  if (cmd === 'run') return runCommand(args.slice(1), { out, err });
  if (cmd === 'master' || cmd === 'agent' || cmd === 'local') {
    try {
      return await (cmd === 'master' ? masterCommand : cmd === 'agent' ? agentCommand : localCommand)(args.slice(1), out, log);
    } catch (e) {
      // Bad flags are usage errors (exit 2); everything else propagates to run() (exit 1).
      if (!(e instanceof TesseraError) || e.code !== 'TSR_FLAG_INVALID') throw e;
      err(`error ${e.code}: ${e.message}\n`);
      return 2;
    }
  }
  if (cmd === 'modules' && sub === 'check') return modulesCheck(rest, out, log);
  if (cmd === 'modules' && sub === 'run') return modulesRun(rest, out, log);
  if (cmd === 'version' || cmd === '--version') {
    out(JSON.stringify({ version: CORE_VERSION, module_abi: CORE_ABI.abi }, null, 2) + '\n');
    return 0;
  }
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    (cmd === undefined ? err : out)(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  err(`tessera: unknown command "${args.join(' ')}"\n\n${USAGE}`);
  return 2;
}

/**
 * logLevelOf takes the log level out of a command line, as every command shares it: `--log_level=L`,
 * `--log_level L` or TESSERA_LOG_LEVEL; else warn with `--quiet` (also `--quiet=true`, TESSERA_QUIET=true
 * or 1), else info. `--quiet` stays in `rest` (the commands list it among their flags).
 */
export function logLevelOf(args: readonly string[], env: NodeJS.ProcessEnv): { level: LogLevel; rest: string[] } | { error: string } {
  const rest: string[] = [];
  let given: { text: string; source: string } | undefined;
  let quiet = env.TESSERA_QUIET === 'true' || env.TESSERA_QUIET === '1';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--log_level' || a.startsWith('--log_level=')) {
      const text = a === '--log_level' ? args[++i] : a.slice('--log_level='.length);
      if (text === undefined) return { error: 'flag --log_level needs a value: debug, info, warn or error' };
      if (given) return { error: `flag --log_level is given twice ('${given.text}' and '${text}'): give it once` };
      given = { text, source: 'flag --log_level' };
      continue;
    }
    if (a === '--quiet' || a === '--quiet=true' || a === '--quiet=1') quiet = true;
    if (a === '--no-quiet' || a === '--quiet=false' || a === '--quiet=0') quiet = false;
    rest.push(a);
  }
  if (!given && env.TESSERA_LOG_LEVEL !== undefined) given = { text: env.TESSERA_LOG_LEVEL, source: 'environment variable TESSERA_LOG_LEVEL' };
  if (!given) return { level: quiet ? 'warn' : 'info', rest };
  if (!isLogLevel(given.text)) return { error: `${given.source} '${given.text}': must be one of debug, info, warn, error` };
  return { level: given.text, rest };
}

/** run is the process entry: `tessera` (bin/tessera.js) calls it; it sets the exit status. */
export function run(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = TesseraError.wrap(err);
      process.stderr.write(`error ${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) run();
