// `tessera run` against a real master with simulated agents.
import { spawn } from 'node:child_process';
import { main } from '../../core/src/cli';
import { createLog } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { CLI } from '../modules/helpers';
import { SimAgent } from '../support/sim-agent';

let running: RunningMaster;
let agent: SimAgent;

beforeAll(async () => {
  running = await runMaster({ ip: '127.0.0.1', port: 0, log: createLog({ level: 'warn' }), allocationIntervalMs: 100 });
  agent = new SimAgent({
    master: running.address,
    hostname: 'runner',
    resources: 'cpus:2;mem:1024',
    statusRetryMs: 300,
    taskBehaviour: (t) => ({ runMs: 100, exitState: t.name === 'fails' ? 'TASK_FAILED' : 'TASK_FINISHED' }),
  });
  await agent.start();
});
afterAll(async () => {
  await agent.stop();
  await running.stop();
});

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['run', ...args], (s) => void (out += s));
  return { code, out };
}

describe('tessera run', () => {
  it('runs a task to TASK_FINISHED and exits 0, printing each state', async () => {
    const r = await run([`--master=${running.address}`, '--cpus=0.5', '--mem=64', '--', 'echo', 'hello']);
    expect(r.out).toMatch(/subscribed as framework .*\nlaunching task tessera-run-\w+ on runner\nTASK_STARTING\nTASK_RUNNING\nTASK_FINISHED: Command exited with status 0\n/);
    expect(r.code).toBe(0);
  }, 20_000);

  it('exits 1 when the task fails', async () => {
    const r = await run([`--master=${running.address}`, '--name=fails', '--', 'false']);
    expect(r.out).toContain('TASK_FAILED');
    expect(r.code).toBe(1);
  }, 20_000);

  it('names what it asked for when no offer fits in time', async () => {
    await expect(run([`--master=${running.address}`, '--cpus=64', '--timeout=1secs', '--', 'true'])).rejects.toThrow(/no offer fits cpus:64;mem:32 in role \* within 1000 ms; offers had cpus:2;mem:1024/);
  }, 20_000);

  it('says how to fix an unreachable master', async () => {
    await expect(run(['--master=127.0.0.1:1', '--', 'true'])).rejects.toThrow(/cannot reach the master at 127.0.0.1:1: .* is `tessera master` running there\?/);
  });

  it('exits 2 for bad arguments, naming them', async () => {
    expect(await run([`--master=${running.address}`])).toMatchObject({ code: 2, out: expect.stringContaining('needs a command') });
    expect(await run(['--master=nohostport', '--', 'true'])).toMatchObject({ code: 2, out: expect.stringContaining("flag --master 'nohostport': must be HOST:PORT") });
    expect(await run(['--cpu=1', '--', 'true'])).toMatchObject({ code: 2, out: expect.stringContaining('did you mean --cpus?') });
  });

  it('works as the real binary', async () => {
    // Asynchronously: this process serves the master while the binary runs.
    const child = spawn(process.execPath, [CLI, 'run', `--master=${running.address}`, '--', 'echo hi'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(out).toContain('TASK_FINISHED');
    expect(code).toBe(0);
  }, 30_000);
});
