// `tessera local` as a user runs it: the real binary (core/bin/tessera.js, built by `npm run bundle`) in
// its own process, `tessera run` against it, the task's stdout read back through the agent's
// /files/read, and a SIGTERM that kills the running containers and leaves no process behind. Where the
// host allows it (root, writable cgroups) the cluster isolates with the cgroups module and says so; its
// tasks run in cgroups under a root of its own, and nothing of that root is left after the stop.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { probeCgroupsHost } from '../../core/src/local/cgroups-host';
import { CLI, tempDir, waitFor } from '../modules/helpers';

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

const procs: Proc[] = [];

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p = { child, out: () => out, err: () => err, exit };
  procs.push(p);
  return p;
}

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

/** Processes whose working directory or command line is inside `dir` (containers run in their sandbox). */
function processesIn(dir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${name}/cwd`);
      } catch {
        // a kernel thread or a process of another user: no cwd to read
      }
      if (cwd === dir || cwd.startsWith(dir + '/') || cmd.includes(dir)) found.push({ pid: Number(name), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

interface StateExecutor {
  id: string;
  directory: string;
  tasks: { id: string; state: string }[];
}
interface StateFramework {
  executors: StateExecutor[];
  completed_executors: StateExecutor[];
}

function executors(state: { frameworks: StateFramework[]; completed_frameworks: StateFramework[] }): StateExecutor[] {
  return [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [...f.executors, ...f.completed_executors]);
}

describe('tessera local', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(path.dirname(CLI), '..', 'dist', 'cli.js'))) throw new Error('core/dist/cli.js is missing: run `npm run bundle` first');
  });

  it('runs a cluster that `tessera run -- echo hello` uses; hello is read back through /files/read; SIGTERM stops it all', async () => {
    const workDir = fs.realpathSync(tempDir());
    const local = start(['local', '--port=0', '--agent_port=0', `--work_dir=${workDir}`, '--log_level=warn']);
    await waitFor(() => local.out().includes('Ctrl-C stops the cluster.') || local.child.exitCode !== null, 60_000, 'tessera local to be up');
    expect(local.err()).not.toMatch(/ERROR/);
    const out = local.out();
    expect(out).toMatch(/^tessera local: a development cluster on this machine/);
    const master = /\n {2}master: {4}http:\/\/(127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const agent = /\n {2}agent: {5}http:\/\/(127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(master).toBeDefined();
    expect(agent).toBeDefined();
    expect(out).toContain(`\n  web UI:    http://${master}/\n`);
    expect(out).toContain(`\n  work dir:  ${workDir}   (sandboxes under ${workDir}/agent/slaves)\n`);
    const cgroups = probeCgroupsHost();
    const isolationLine = /\n {2}isolation: (.*)\n/.exec(out)?.[1];
    let root: string | undefined;
    if (cgroups.ok) {
      root = /^cgroups {3}\(cgroups isolator: cgroup v\d, cpu, memory, pids under root "(tessera-local-[0-9a-f]{10})"\)$/.exec(isolationLine ?? '')?.[1];
      expect({ isolationLine, root }).toEqual({ isolationLine: expect.any(String), root: expect.any(String) });
    } else {
      expect(isolationLine).toBe(`posix/cpu,posix/mem   (cgroups isolation is off: ${cgroups.problem})`);
    }
    expect(out).toContain(`\nrun a task:  tessera run --master=${master} -- echo hello\n`);

    // A second cluster on the same work_dir is refused (its registry and checkpoint are this one's).
    const second = start(['local', '--port=0', '--agent_port=0', `--work_dir=${workDir}`, '--log_level=warn']);
    expect(await second.exit).toBe(1);
    expect(second.err()).toMatch(new RegExp(`error TSR_WORK_DIR_LOCKED: the master registry ${workDir}/\\S+ is in use by another master \\(pid ${local.child.pid}, since `));

    // A task that finishes: exit 0, and its stdout through the agent's /files/read.
    const hello = start(['run', `--master=${master}`, '--', 'echo hello']);
    expect(await hello.exit).toBe(0);
    expect(hello.out()).toContain('TASK_FINISHED');
    const taskId = /launching task (\S+)/.exec(hello.out())?.[1];
    expect(taskId).toBeDefined();
    const state = (await getJson(`http://${agent}/state`)) as Parameters<typeof executors>[0];
    const executor = executors(state).find((e) => e.id === taskId);
    expect(executor?.directory.startsWith(`${workDir}/agent/slaves/`)).toBe(true);
    const read = (await getJson(`http://${agent}/files/read?path=${encodeURIComponent(executor!.directory + '/stdout')}&offset=0`)) as { data: string; offset: number };
    expect(read).toEqual({ data: 'hello\n', offset: 0 });

    // A task that runs until the cluster stops.
    const sleeper = start(['run', `--master=${master}`, '--', 'sleep', '1000']);
    await waitFor(
      async () => executors((await getJson(`http://${agent}/state`)) as Parameters<typeof executors>[0]).some((e) => e.tasks.some((t) => t.state === 'TASK_RUNNING')),
      60_000,
      'the sleep task to run',
    );
    await waitFor(() => processesIn(workDir).some((p) => p.cmd === 'sleep 1000'), 10_000, 'the sleep process');
    if (root) {
      // The task runs in its container's memory cgroup under the cluster's root.
      const sleep = processesIn(workDir).find((p) => p.cmd === 'sleep 1000')!;
      expect(fs.readFileSync(`/proc/${sleep.pid}/cgroup`, 'utf8')).toMatch(new RegExp(`:memory:/${root}/[^/\n]+\n`));
    }

    local.child.kill('SIGTERM');
    expect(await local.exit).toBe(0);
    expect(local.out()).toMatch(/tessera local: stopped\n$/);
    // The framework heard that its task was killed, and nothing of the cluster is left running.
    expect(await sleeper.exit).toBe(1);
    expect(sleeper.out()).toContain('TASK_KILLED');
    expect(processesIn(workDir)).toEqual([]);
    if (root) {
      const left = fs.readdirSync('/sys/fs/cgroup').filter((h) => fs.existsSync(path.join('/sys/fs/cgroup', h, root!)));
      expect(left).toEqual([]);
    }
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 180_000);

  it.each([
    ['master', '--port'],
    ['agent', '--agent_port'],
  ])("says which flag to change when the %s's port is taken, and exits 1", async (which, flag) => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as net.AddressInfo).port;
    const workDir = tempDir();
    try {
      const ports = which === 'master' ? [`--port=${port}`, '--agent_port=0'] : ['--port=0', `--agent_port=${port}`];
      const local = start(['local', ...ports, `--work_dir=${workDir}`, '--log_level=error']);
      expect(await local.exit).toBe(1);
      expect(local.err()).toContain(`error TSR_PORT_IN_USE: tessera local: the ${which} port 127.0.0.1:${port} is taken by another process`);
      expect(local.err()).toContain(`pass ${flag}=<a free port>`);
      expect(processesIn(workDir)).toEqual([]);
    } finally {
      holder.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses bad flags with exit 2', async () => {
    const local = start(['local', '--port=5050', '--agent_port=5050']);
    expect(await local.exit).toBe(2);
    expect(local.err()).toContain('error TSR_FLAG_INVALID: flags --port and --agent_port are both 5050');
  }, 30_000);
});
