// `tessera run` against a real master (with its allocator module) and simulated agents over the real
// agent protocol: in-process through main() and runOneTask(), and once as the real binary.
import { spawn } from 'node:child_process';
import { main } from '../../core/src/cli';
import { createLog, type LogLevel } from '../../core/src/log';
import type { TaskInfo } from '../../core/src/master/model/mesos';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { runOneTask } from '../../core/src/run/one-task-framework';
import { CLI, waitFor } from '../modules/helpers';
import { SimAgent, type SimTaskBehaviour } from '../support/sim-agent';

const log = () => createLog({ level: (process.env.E2E_LOG ?? 'error') as LogLevel });
let running: RunningMaster;
const agents: SimAgent[] = [];
/** What the agents were asked to run, by task name. */
const launched = new Map<string, TaskInfo>();

// Task names say how the simulated task behaves.
function behaviour(task: TaskInfo): SimTaskBehaviour {
  launched.set(task.name, task);
  if (task.name === 'fails') return { runMs: 100, exitState: 'TASK_FAILED' };
  if (task.name === 'forever') return { runMs: null };
  return { runMs: 100 };
}

async function startAgent(hostname: string, resources: string, master = running.address): Promise<SimAgent> {
  const a = new SimAgent({ master, hostname, resources, statusRetryMs: 300, taskBehaviour: behaviour });
  agents.push(a);
  await a.start();
  return a;
}

beforeAll(async () => {
  running = await runMaster({ ip: '127.0.0.1', port: 0, log: log(), allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
  await startAgent('runner', 'cpus:2;mem:1024');
  await startAgent('gpu-node', 'cpus:1;mem:512;gpus:1');
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await running.stop();
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['run', ...args], (s) => void (out += s), (s) => void (err += s));
  return { code, out, err };
}

/** The state lines of a run's output. */
const states = (out: string) => out.split('\n').filter((l) => l.startsWith('TASK_'));

describe('tessera run', () => {
  it('runs a task to TASK_FINISHED and exits 0, printing each state once; acknowledges every update and tears down', async () => {
    const r = await run([`--master=${running.address}`, '--cpus=0.5', '--mem=64', '--name=hello', '--env=GREETING=hi there', '--env', 'EMPTY=', '--', 'echo', 'hello', 'world']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(new RegExp(`^subscribed to master ${running.master.opts.info.id} at ${running.address} as framework \\S+-\\d{4}\n`));
    expect(r.out).toContain('waiting up to 60 s for an offer with cpus:0.5;mem:64 for role *\n');
    expect(r.out).toMatch(/\nlaunching task hello-[0-9a-f]{8} on agent \S+-S\d+ \(runner\) with cpus:0.5;mem:64\n/);
    expect(states(r.out)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED: Command exited with status 0']);
    expect(r.code).toBe(0);
    // Several arguments: argv without a shell; --env became the command's environment.
    expect(launched.get('hello')?.command).toEqual({
      shell: false,
      value: 'echo',
      arguments: ['echo', 'hello', 'world'],
      environment: { variables: [{ name: 'GREETING', type: 'VALUE', value: 'hi there' }, { name: 'EMPTY', type: 'VALUE', value: '' }] },
    });
    // Every update was acknowledged (the agent forgets a task once its last update is), and the framework is gone.
    await waitFor(() => agents.every((a) => a.unacknowledged() === 0 && a.tasks().length === 0), 5000, 'the agents to have every update acknowledged');
    expect(running.master.frameworks.size).toBe(0);
  }, 30_000);

  it('exits 1 when the task fails, with the state, reason and message', async () => {
    const r = await run([`--master=${running.address}`, '--name=fails', '--', 'false']);
    expect(states(r.out)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED: Command exited with status 1']);
    expect(r.err).toMatch(/^task fails-[0-9a-f]{8} ended in TASK_FAILED: Command exited with status 1\n$/);
    expect(r.code).toBe(1);
  }, 30_000);

  it('makes a task id of a name with whitespace or slashes', async () => {
    const r = await run([`--master=${running.address}`, '--name=two words/here', '--', 'true']);
    expect(r.out).toMatch(/launching task two_words_here-[0-9a-f]{8} /);
    expect(r.code).toBe(0);
  }, 30_000);

  it('asks for GPUs with the GPU_RESOURCES capability and lands on the GPU agent', async () => {
    const r = await run([`--master=${running.address}`, '--gpus=1', '--cpus=0.5', '--name=gpu', '--', 'nvidia-smi']);
    expect(r.out).toMatch(/launching task gpu-[0-9a-f]{8} on agent \S+ \(gpu-node\) with cpus:0.5;mem:32;gpus:1\n/);
    expect(r.code).toBe(0);
    // One argument: a shell command.
    expect(launched.get('gpu')?.command).toEqual({ shell: true, value: 'nvidia-smi' });
    expect(launched.get('gpu')?.resources?.find((x) => x.name === 'gpus')?.scalar?.value).toBe(1);
  }, 30_000);

  it('exits 3 naming what it asked for and what the offers had when nothing fits within --timeout', async () => {
    const r = await run([`--master=${running.address}`, '--cpus=64', '--gpus=1', '--timeout=1secs', '--', 'true']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^error TSR_RUN_NO_OFFER: no offer fit the task within 1 s: it asks for cpus:64;mem:32;gpus:1 for role \*, but the latest offers were /);
    expect(r.err).toMatch(/runner \(agent \S+-S\d+\) with cpus:2;mem:1024;disk:0;gpus:0/);
    expect(r.err).toMatch(/gpu-node \(agent \S+-S\d+\) with cpus:1;mem:512;disk:0;gpus:1/);
    expect(r.err).toContain(' — ask for less (--cpus, --mem, --gpus, --disk), add agents, or wait longer (--timeout)');
    expect(states(r.out)).toEqual([]);
    await waitFor(() => running.master.frameworks.size === 0, 5000, 'the framework to be torn down');
  }, 30_000);

  it('gets the GPU agent\'s offers without GPUs only with --framework_capabilities=GPU_RESOURCES (mesos-execute\'s flag)', async () => {
    const without = await run([`--master=${running.address}`, '--cpus=64', '--timeout=1secs', '--', 'true']);
    expect(without.code).toBe(3);
    expect(without.err).toMatch(/runner \(agent \S+-S\d+\) with cpus:2;mem:1024/);
    expect(without.err).not.toContain('gpu-node');
    const withCap = await run([`--master=${running.address}`, '--cpus=64', '--timeout=1secs', '--framework_capabilities=GPU_RESOURCES,TASK_KILLING_STATE', '--', 'true']);
    expect(withCap.code).toBe(3);
    expect(withCap.err).toMatch(/gpu-node \(agent \S+-S\d+\) with cpus:1;mem:512;disk:0;gpus:1/);
    await waitFor(() => running.master.frameworks.size === 0, 5000, 'the frameworks to be torn down');
  }, 30_000);

  it('takes reserved resources of its role with the unreserved ones', async () => {
    const a = await startAgent('reserved', 'cpus(ops):1;mem(ops):256;cpus:8;mem:4096');
    try {
      // 3 cpus: only this agent has them (runner has 2).
      const r = await run([`--master=${running.address}`, '--role=ops', '--cpus=3', '--mem=256', '--name=ops-task', '--', 'true']);
      expect(r.out).toContain('(reserved) with cpus:3;mem:256');
      expect(r.code).toBe(0);
      const resources = launched.get('ops-task')!.resources!.map((x) => `${x.name}${x.reservations?.length ? `(${x.reservations[0].role})` : ''}:${x.scalar?.value}`);
      expect(resources).toEqual(['cpus(ops):1', 'cpus:2', 'mem(ops):256']);
    } finally {
      await a.stop();
    }
  }, 30_000);

  it('says how to fix an unreachable master, exit 3', async () => {
    const r = await run(['--master=127.0.0.1:1', '--', 'true']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^error TSR_RUN_MASTER_UNREACHABLE: cannot reach the master at 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1 — is `tessera master` running\? pass --master=HOST:PORT\n$/);
  });

  it('exits 2 for bad arguments, naming them', async () => {
    const bad = async (args: string[], message: string | RegExp) => {
      const r = await run(args);
      expect(r).toMatchObject({ code: 2, out: '' });
      expect(r.err).toMatch(message);
      expect(r.err).toContain('see tessera run --help');
    };
    await bad([`--master=${running.address}`], 'error TSR_FLAG_INVALID: no command to run: give it after `--`');
    await bad([`--master=${running.address}`, '--'], 'no command to run');
    await bad([`--master=${running.address}`, 'echo', 'hi'], "put the command after `--`: got 'echo hi' among the flags");
    await bad(['--master=nohostport', '--', 'true'], "flag --master 'nohostport': must be HOST:PORT");
    await bad(['--master=host:99999', '--', 'true'], "flag --master 'host:99999': must be HOST:PORT with a port from 1 to 65535");
    await bad(['--cpu=1', '--', 'true'], 'unknown flag --cpu; did you mean --cpus?');
    await bad(['--cpus=lots', '--', 'true'], "flag --cpus 'lots': must be a number");
    await bad(['--mem=-1', '--', 'true'], "flag --mem '-1': must be 0 or more");
    await bad(['--cpus=0', '--mem=0', '--', 'true'], 'flags --cpus and --mem are both 0');
    await bad(['--timeout=soon', '--', 'true'], 'flag --timeout');
    await bad(['--env=NOVALUE', '--', 'true'], "flag --env 'NOVALUE': must be NAME=VALUE");
    await bad(['--framework_capabilities=GPU_RESOURCES,GPUS', '--', 'true'], "flag --framework_capabilities: unknown capability 'GPUS'; known: REVOCABLE_RESOURCES, TASK_KILLING_STATE, GPU_RESOURCES,");
  });

  it('prints its usage for --help, but passes --help after `--` to the command', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: tessera run [--master=HOST:PORT] [flags] -- CMD [ARG...]');
    expect(help.out).toContain('--env=NAME=VALUE');
    const r = await run([`--master=${running.address}`, '--name=helpful', '--', 'ls', '--help', '--log_level=debug']);
    expect(r.code).toBe(0);
    expect(launched.get('helpful')?.command).toMatchObject({ value: 'ls', arguments: ['ls', '--help', '--log_level=debug'] });
  }, 30_000);

  it('kills the launched task when aborted: the run ends with TASK_KILLED', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    const result = await runOneTask({
      master: running.address,
      command: ['sleep 1000'],
      name: 'forever',
      needs: { cpus: 0.1, mem: 32, disk: 0, gpus: 0 },
      signal: abort.signal,
      print: (line) => {
        lines.push(line);
        if (line === 'TASK_RUNNING') abort.abort();
      },
    });
    expect(result).toMatchObject({ exitCode: 1, states: ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED'], status: { state: 'TASK_KILLED' } });
    expect(lines).toContain(`killing task ${result.taskId}`);
    await waitFor(() => running.master.frameworks.size === 0, 5000, 'the framework to be torn down');
  }, 30_000);

  it('fails with TSR_RUN_FAILED when the master goes away during the run', async () => {
    const other = await runMaster({ ip: '127.0.0.1', port: 0, log: log(), allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
    const a = await startAgent('short-lived', 'cpus:1;mem:256', other.address);
    let stopping: Promise<void> | undefined;
    try {
      const print = (line: string) => {
        if (line === 'TASK_RUNNING') stopping = other.stop();
      };
      const r = runOneTask({ master: other.address, command: ['sleep 1000'], name: 'forever', needs: { cpus: 0.1, mem: 32, disk: 0, gpus: 0 }, print });
      await expect(r).rejects.toMatchObject({ code: 'TSR_RUN_FAILED', message: expect.stringContaining(`the master at ${other.address} ended the event stream`) });
    } finally {
      await a.stop();
      await (stopping ?? other.stop());
    }
  }, 30_000);

  it('works as the real binary (after node test/tools/bundle.mjs)', async () => {
    // Asynchronously: this process serves the master while the binary runs.
    const child = spawn(process.execPath, [CLI, 'run', `--master=${running.address}`, '--name=binary', '--', 'echo hi'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(err).toBe('');
    expect(states(out)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED: Command exited with status 0']);
    expect(code).toBe(0);
    expect(launched.get('binary')?.command).toEqual({ shell: true, value: 'echo hi' });
  }, 30_000);
});
