/**
 * The `tessera` command line: `master`, `agent`, `local`, `run`, `modules check`, `modules run`, `version`.
 */
import { TesseraError } from '@tessera/modules-api';
import { createLog, isLogLevel } from './log';
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
  const quiet = own.includes('--quiet') || process.env.TESSERA_QUIET === 'true';
  const levelArg = own.find((a) => a.startsWith('--log_level='))?.split('=')[1] ?? process.env.TESSERA_LOG_LEVEL ?? (quiet ? 'warn' : 'info');
  if (!isLogLevel(levelArg)) {
    out(`error TSR_FLAG_INVALID: --log_level=${levelArg}: must be one of debug, info, warn, error\n`);
    return 2;
  }
  const log = createLog({ level: levelArg });
  const args = [...own.filter((a) => !a.startsWith('--log_level=')), ...(dash === -1 ? [] : argv.slice(dash))];
  const [cmd, sub, ...rest] = args;
  if (cmd === 'run') return runCommand(args.slice(1), { out, err });
  if (cmd === 'master' || cmd === 'agent' || cmd === 'local') {
    try {
      return await (cmd === 'master' ? masterCommand : cmd === 'agent' ? agentCommand : localCommand)(args.slice(1), out, log);
    } catch (e) {
      // Bad flags are usage errors (exit 2); everything else propagates to run() (exit 1).
      if (!(e instanceof TesseraError) || e.code !== 'TSR_FLAG_INVALID') throw e;
      out(`error ${e.code}: ${e.message}\n`);
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
    out(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  out(`tessera: unknown command "${args.join(' ')}"\n\n${USAGE}`);
  return 2;
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
