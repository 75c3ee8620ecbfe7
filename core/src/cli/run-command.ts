/**
 * `tessera run --master=HOST:PORT [--cpus --mem --gpus --name] -- CMD...`: runs one command task on a
 * cluster and follows it, like `mesos-execute`. Exit 0 only on TASK_FINISHED.
 */
import { TesseraError } from '@tessera/modules-api';
import { runTask } from '../framework/run-task';
import { flagsHelp, parseFlags, type FlagSpec } from './flags';

/** RUN_FLAGS are the flags of `tessera run`. */
export const RUN_FLAGS: Record<string, FlagSpec> = {
  master: { type: 'string', default: '127.0.0.1:5050', help: 'the master, host:port' },
  cpus: { type: 'number', default: '0.1', help: 'CPUs for the task' },
  mem: { type: 'number', default: '32', help: 'memory for the task, MB' },
  gpus: { type: 'int', default: '0', help: 'whole GPUs for the task' },
  disk: { type: 'number', help: 'disk for the task, MB' },
  name: { type: 'string', default: 'tessera-run', help: 'task name (its id adds a random suffix)' },
  role: { type: 'string', default: '*', help: 'role to run the framework in' },
  framework_name: { type: 'string', default: 'tessera-run', help: 'framework name' },
  timeout: { type: 'duration', default: '1mins', help: 'give up when no offer fits within this time' },
};

/** runCommand runs `tessera run`; resolves with the exit status. */
export async function runCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  if (own.includes('--help') || own.includes('-h')) {
    out(`usage: tessera run [flags] -- CMD [ARGS...]\n\n${flagsHelp(RUN_FLAGS)}\n\nExit status: 0 on TASK_FINISHED, 1 on any other end, 2 for bad arguments.\n`);
    return 0;
  }
  const { values: v, positional } = parseFlags(own, RUN_FLAGS);
  const command = dash === -1 ? positional : [...positional, ...argv.slice(dash + 1)];
  if (command.length === 0) throw new TesseraError('TSR_FLAG_INVALID', 'tessera run needs a command: tessera run --master=HOST:PORT -- echo hello');
  if (!/^[^:]+:\d+$/.test(v.master as string)) throw new TesseraError('TSR_FLAG_INVALID', `flag --master '${v.master}': must be HOST:PORT, e.g. 127.0.0.1:5050`);
  if (!((v.cpus as number) > 0) || !((v.mem as number) > 0)) throw new TesseraError('TSR_FLAG_INVALID', 'flags --cpus and --mem must be greater than 0');
  const result = await runTask({
    master: v.master as string,
    command,
    cpus: v.cpus as number,
    mem: v.mem as number,
    gpus: v.gpus as number,
    disk: v.disk as number | undefined,
    name: v.name as string,
    role: v.role as string,
    frameworkName: v.framework_name as string,
    timeoutMs: v.timeout as number,
    out: (line) => out(`${line}\n`),
  });
  return result.state === 'TASK_FINISHED' ? 0 : 1;
}
