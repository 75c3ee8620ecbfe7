/**
 * `tessera run`: runs one command as a task on the cluster and exits with how it ended, as Mesos's
 * `mesos-execute`. The framework logic is core/src/run/one-task-framework.ts; this is flags and exit
 * statuses. Ctrl-C kills the task (a second Ctrl-C leaves at once; the master then kills it).
 *
 * ```sh
 * tessera run --master=127.0.0.1:5050 --cpus=0.5 --mem=64 -- echo hello
 * ```
 */
import { TesseraError } from '@tessera/modules-api';
import { runOneTask } from '../run/one-task-framework';
import { flagsHelp, parseFlags, type FlagSpec } from './flags';

/** RUN_FLAGS are the flags of `tessera run` (`--env` is apart: it may be repeated). */
export const RUN_FLAGS: Record<string, FlagSpec> = {
  master: { type: 'string', default: '127.0.0.1:5050', help: 'the master, HOST:PORT' },
  cpus: { type: 'number', default: '0.1', help: 'CPUs for the task' },
  mem: { type: 'number', default: '32', help: 'memory for the task, MB' },
  gpus: { type: 'int', default: '0', help: 'whole GPUs for the task (> 0 subscribes with GPU_RESOURCES)' },
  disk: { type: 'number', default: '0', help: 'disk for the task, MB' },
  name: { type: 'string', default: 'tessera-run', help: 'task name; the task id is <name>-<8 hex digits>' },
  role: { type: 'string', default: '*', help: 'role to subscribe with and take resources of' },
  framework_name: { type: 'string', default: 'tessera-run', help: 'name of the framework' },
  timeout: { type: 'duration', default: '1mins', help: 'how long to wait for an offer that fits' },
  framework_capabilities: { type: 'string', default: '', help: 'more FrameworkInfo capabilities, comma-separated, as mesos-execute (e.g. GPU_RESOURCES to run a GPU-less task on a GPU agent)' },
};

/** FRAMEWORK_CAPABILITIES are the FrameworkInfo.Capability types --framework_capabilities accepts (MULTI_ROLE is always on). */
export const FRAMEWORK_CAPABILITIES = ['REVOCABLE_RESOURCES', 'TASK_KILLING_STATE', 'GPU_RESOURCES', 'SHARED_RESOURCES', 'PARTITION_AWARE', 'MULTI_ROLE', 'RESERVATION_REFINEMENT', 'REGION_AWARE'];

/** RUN_USAGE is `tessera run --help`. */
export const RUN_USAGE = `usage: tessera run [--master=HOST:PORT] [flags] -- CMD [ARG...]

Runs CMD as one task and prints each state it goes through. One CMD argument runs through the shell
(sh -c "echo $HOME"); several run as argv, without a shell.

flags (also TESSERA_<FLAG> environment variables):
${flagsHelp(RUN_FLAGS)}
  --env=NAME=VALUE                      environment variable for the command (repeat for more)

exit status: 0 the task finished (TASK_FINISHED); 1 it ended in another state (failed, killed, lost...);
2 bad arguments; 3 it could not run (master unreachable, no offer fit within --timeout, interrupted).
`;

/** CommandIO is where a command writes: `out` for results, `err` for errors. */
export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** runCommand runs `tessera run ...` and resolves with the exit status. */
export async function runCommand(argv: string[], io: CommandIO, opts: { handleSignals?: boolean } = {}): Promise<number> {
  const dash = argv.indexOf('--');
  const before = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  if (before.includes('--help') || before.includes('-h')) {
    io.out(RUN_USAGE);
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(before, command);
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    io.err(`error ${err.code}: ${err.message}\nsee tessera run --help\n`);
    return 2;
  }
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    io.err(`received ${signal}: stopping (again to leave at once)\n`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    abort.abort();
  };
  if (opts.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    const result = await runOneTask({ ...parsed, print: (line) => io.out(`${line}\n`), signal: abort.signal });
    if (result.exitCode !== 0) {
      const s = result.status;
      io.err(`task ${result.taskId} ended in ${s.state}${s.reason ? `, reason ${s.reason}` : ''}${s.message ? `: ${s.message}` : ''}\n`);
    }
    return result.exitCode;
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    io.err(`error ${err.code}: ${err.message}\n`);
    return err.code === 'TSR_FLAG_INVALID' ? 2 : 3;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function bad(message: string): TesseraError {
  return new TesseraError('TSR_FLAG_INVALID', message);
}

// Flags and the command into runOneTask's options; throws TSR_FLAG_INVALID naming the flag.
function parseArgs(before: string[], command: string[]) {
  const env: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const arg = before[i];
    if (arg !== '--env' && !arg.startsWith('--env=')) {
      rest.push(arg);
      continue;
    }
    const text = arg === '--env' ? before[++i] : arg.slice('--env='.length);
    const eq = text?.indexOf('=') ?? -1;
    if (text === undefined || eq <= 0) throw bad(`flag --env '${text ?? ''}': must be NAME=VALUE, e.g. --env=GREETING=hello`);
    env[text.slice(0, eq)] = text.slice(eq + 1);
  }
  const { values: v, positional } = parseFlags(rest, RUN_FLAGS);
  if (positional.length) throw bad(`put the command after \`--\`: got '${positional.join(' ')}' among the flags; e.g. tessera run --master=HOST:PORT -- ${positional.join(' ')}`);
  if (command.length === 0 || command[0] === '') throw bad('no command to run: give it after `--`, e.g. tessera run --master=HOST:PORT -- echo hello');
  const master = String(v.master).replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const port = /^(?:\[[^\]]+\]|[^:/\s]+):(\d+)$/.exec(master)?.[1];
  if (port === undefined || !(Number(port) >= 1 && Number(port) <= 65535)) throw bad(`flag --master '${String(v.master)}': must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:5050`);
  const needs = { cpus: v.cpus as number, mem: v.mem as number, disk: v.disk as number, gpus: v.gpus as number };
  for (const name of ['cpus', 'mem', 'disk', 'gpus'] as const) {
    if (needs[name] < 0) throw bad(`flag --${name} '${needs[name]}': must be 0 or more`);
  }
  if (needs.cpus === 0 && needs.mem === 0) throw bad('flags --cpus and --mem are both 0: a task needs some cpus or mem');
  const timeoutMs = v.timeout as number;
  if (!(timeoutMs > 0)) throw bad(`flag --timeout '${timeoutMs}ms': must be more than 0, e.g. 30secs`);
  const capabilities = String(v.framework_capabilities)
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of capabilities) {
    if (!FRAMEWORK_CAPABILITIES.includes(c)) throw bad(`flag --framework_capabilities: unknown capability '${c}'; known: ${FRAMEWORK_CAPABILITIES.join(', ')}`);
  }
  return {
    capabilities,
    master,
    command,
    needs,
    env,
    name: v.name as string,
    role: v.role as string,
    frameworkName: v.framework_name as string,
    timeoutMs,
  };
}
