// `npm run bench -- agent`: 1,000 containers on one agent, in the shape of Mesos's containerizer
// benchmarks (issue "agent"). A master and an agent run as real processes (`tessera master`, `tessera agent
// --isolation=posix/cpu,posix/mem --resources=cpus:1000;mem:1000000`); a framework (the independent test
// scheduler client) takes the agent's offer and launches 1,000 `sleep 1000` tasks (cpus 0.01, mem 1) in
// one ACCEPT, then kills them all.
// - agent-launch-1000: from the ACCEPT sent to the last TASK_RUNNING received (target <= 10 s; Mesos 1.7 ~ 30 s);
// - agent-destroy-1000: from the first KILL sent to the last TASK_KILLED received (target <= 5 s; Mesos 1.7 ~ 22 s);
// - agent-rss-1000-tasks: VmRSS of the agent process plus its module processes with 1,000 tasks running
//   (target <= 300 MiB).
// Then the same with the cgroups isolator module (issue "isolator-cgroups"): `--modules` with
// modules/isolator-cgroups/dist/module.js (every subsystem: cpu with CFS quota, memory, pids, devices; a
// cgroup root of the bench's own, removed afterwards) and `--isolation=cgroups`:
// agent-launch-1000-cgroups (target <= 10 s; Mesos 1.7 ~ 30 s), agent-destroy-1000-cgroups (target <= 5 s;
// Mesos 1.7 ~ 22 s) and agent-rss-1000-tasks-cgroups. Skipped, saying why, where cgroups cannot be written.
// Needs the bundle (`npm run bundle`): it runs core/bin/tessera.js as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { probeCgroupsHost, removeCgroupsRoot } from '../../core/src/local/cgroups-host';
import { SchedulerClient, type Event } from '../support/scheduler-client';

// npm runs benchmarks from the repository root; the bundle itself lives in the temp dir.
const CLI = path.resolve('core/bin/tessera.js');
const N = Number(process.env.BENCH_TASKS ?? 1000);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function startCli(args: string[]): { child: ChildProcess; err: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  return { child, err: () => err };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// The agent's module processes: its descendants started with TESSERA_MODULE=1 (containers are not).
function modulePids(agentPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(/^\d+ \(.*\) \S (\d+)/s.exec(fs.readFileSync(`/proc/${name}/stat`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      try {
        if (fs.readFileSync(`/proc/${c}/environ`, 'utf8').split('\0').includes('TESSERA_MODULE=1')) out.push(c);
      } catch {
        // gone meanwhile
      }
      walk(c);
    }
  };
  walk(agentPid);
  return out;
}

// Processes left in the bench's work dir (containers run in their sandboxes): killed at the end.
function killLeftovers(dir: string): number {
  let n = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/cwd`).startsWith(dir)) {
        process.kill(Number(name), 'SIGKILL');
        n++;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return n;
}

function report(name: string, value: number, unit: string, target: number, baseline?: { label: string; value: number }): void {
  const vs = baseline ? `; ${baseline.label} ~ ${baseline.value} ${unit}: ${(baseline.value / value).toFixed(1)}x faster` : '';
  console.log(`BENCH ${name} ${value.toFixed(unit === 's' ? 2 : 0)} ${unit} (target <= ${target} ${unit}: ${(value / target).toFixed(2)} of target, ${value <= target ? 'met' : 'NOT met'}${vs})`);
}

/** Scenario is one agent configuration to measure: its figures are named `agent-<figure>-<N><suffix>`. */
interface Scenario {
  suffix: string;
  isolation: string;
  /** modules.json content for the agent, when it runs modules. */
  modules?: object;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.resolve('core/dist/cli.js'))) throw new Error('core/dist/cli.js is missing: run `npm run bundle` first');
  await measure({ suffix: '', isolation: 'posix/cpu,posix/mem' });
  const host = probeCgroupsHost();
  const module = path.resolve('modules/isolator-cgroups/dist/module.js');
  if (!host.ok) {
    console.log(`BENCH agent-launch-${N}-cgroups skipped: ${host.problem}`);
    return;
  }
  if (!fs.existsSync(module)) throw new Error(`${module} is missing: run \`npm run bundle\` first`);
  const root = `tessera-bench-${process.pid}`;
  try {
    await measure({
      suffix: '-cgroups',
      isolation: 'cgroups',
      modules: { modules: [{ name: 'cgroups', file: module, parameters: { root, subsystems: 'all', cpu_quota: true } }] },
    });
  } finally {
    const left = removeCgroupsRoot(root);
    if (left.length) console.log(`  cgroups left behind (not empty): ${left.join(', ')}: killing what they hold and removing them`);
    if (left.length) purgeCgroups(left);
  }
}

// After a failed run: kills what a container cgroup still holds and removes it, deepest first.
function purgeCgroups(dirs: string[]): void {
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    for (let i = 0; i < 100; i++) {
      for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        fs.rmdirSync(dir);
        return;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    console.log(`  could not remove ${dir}`);
  };
  for (const d of dirs) if (fs.existsSync(d)) walk(d);
}

async function measure(scenario: Scenario): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-agent-'));
  let modulesFlag: string[] = [];
  if (scenario.modules) {
    fs.writeFileSync(path.join(workDir, 'modules.json'), JSON.stringify(scenario.modules));
    modulesFlag = [`--modules=${path.join(workDir, 'modules.json')}`];
  }
  console.log(`-- isolation ${scenario.isolation}`);
  const masterPort = await freePort();
  const agentPort = await freePort();
  const master = startCli(['master', '--ip=127.0.0.1', `--port=${masterPort}`, `--work_dir=${workDir}/master`, '--allocation_interval=100ms', '--log_level=warn']);
  const agent = startCli([
    'agent',
    `--master=127.0.0.1:${masterPort}`,
    '--ip=127.0.0.1',
    `--port=${agentPort}`,
    `--work_dir=${workDir}/agent`,
    `--isolation=${scenario.isolation}`,
    ...modulesFlag,
    '--resources=cpus:1000;mem:1000000;disk:100000',
    '--log_level=warn',
  ]);
  const fw = new SchedulerClient(`127.0.0.1:${masterPort}`, true);
  try {
    await until(
      async () => {
        try {
          const s = (await (await fetch(`http://127.0.0.1:${agentPort}/state`)).json()) as { registered?: boolean };
          return s.registered === true;
        } catch {
          return false;
        }
      },
      60_000,
      'the agent to register',
    );
    await fw.subscribe({ user: 'root', name: 'bench-agent', roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' }] });
    const offers = await fw.next((e) => e.type === 'OFFERS', 30_000);
    const offer = offers.offers.offers[0];
    const tasks = Array.from({ length: N }, (_, i) => ({
      name: `sleep-${i}`,
      task_id: { value: `sleep-${i}` },
      agent_id: offer.agent_id,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.01 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 1 } },
      ],
      command: { shell: false, value: 'sleep', arguments: ['sleep', '1000'] },
    }));

    let t0 = 0;
    // Count states as events arrive (one pass over the new events each poll).
    const states = new Map<string, string>();
    let seen = 0;
    const failures: Event[] = [];
    // When each state was first and last reached (ms since the ACCEPT), to tell where the time goes.
    const firstAt = new Map<string, number>();
    const lastAt = new Map<string, number>();
    const scan = () => {
      for (; seen < fw.events.length; seen++) {
        const e = fw.events[seen];
        if (e.type !== 'UPDATE') continue;
        const s = e.update.status;
        states.set(s.task_id.value, s.state);
        const at = performance.now() - t0;
        if (!firstAt.has(s.state)) firstAt.set(s.state, at);
        lastAt.set(s.state, at);
        if (['TASK_FAILED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED'].includes(s.state)) failures.push(e);
      }
    };
    const count = (state: string) => [...states.values()].filter((s) => s === state).length;
    const check = (state: string) => () => {
      scan();
      if (failures.length) throw new Error(`${failures.length} task(s) failed, e.g. ${JSON.stringify(failures[0].update.status)}`);
      return count(state) === N;
    };

    t0 = performance.now();
    const accept = await fw.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }], filters: { refuse_seconds: 3600 } } });
    if (accept.status !== 202) throw new Error(`ACCEPT answered ${accept.status}: ${accept.body}`);
    await until(check('TASK_RUNNING'), 300_000, `${N} tasks to run`);
    const launch = (performance.now() - t0) / 1000;
    report(`agent-launch-${N}${scenario.suffix}`, launch, 's', 10, { label: 'Mesos 1.7', value: 30 });
    const sec = (m: Map<string, number>, k: string) => ((m.get(k) ?? NaN) / 1000).toFixed(2);
    console.log(`  TASK_STARTING first/last at ${sec(firstAt, 'TASK_STARTING')}/${sec(lastAt, 'TASK_STARTING')} s, TASK_RUNNING first/last at ${sec(firstAt, 'TASK_RUNNING')}/${sec(lastAt, 'TASK_RUNNING')} s after the ACCEPT`);

    const agentPid = agent.child.pid!;
    const modules = modulePids(agentPid);
    const rss = [agentPid, ...modules].reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024;
    report(`agent-rss-${N}-tasks${scenario.suffix}`, rss, 'MiB', 300);
    console.log(`  agent process ${(rssKiB(agentPid) / 1024).toFixed(0)} MiB, ${modules.length} module process(es)`);

    const t2 = performance.now();
    const ids = tasks.map((t) => t.task_id.value);
    // Many KILLs in flight at once, as a scheduler tearing down a job would send them.
    const inFlight = 64;
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < ids.length) {
          const id = ids[next++];
          const r = await fw.call({ type: 'KILL', kill: { task_id: { value: id }, agent_id: offer.agent_id } });
          if (r.status !== 202) throw new Error(`KILL ${id} answered ${r.status}: ${r.body}`);
        }
      }),
    );
    await until(check('TASK_KILLED'), 300_000, `${N} tasks to be killed`);
    const destroy = (performance.now() - t2) / 1000;
    report(`agent-destroy-${N}${scenario.suffix}`, destroy, 's', 5, { label: 'Mesos 1.7', value: 22 });
    await until(
      async () => ((await (await fetch(`http://127.0.0.1:${agentPort}/containers`)).json()) as unknown[]).length === 0,
      60_000,
      'the containers to be gone',
    );
  } catch (err) {
    console.error(`bench agent failed: ${(err as Error).message}\n--- master log (tail)\n${master.err().slice(-3000)}\n--- agent log (tail)\n${agent.err().slice(-3000)}`);
    process.exitCode = 1;
  } finally {
    fw.close();
    agent.child.kill('SIGTERM');
    master.child.kill('SIGTERM');
    await Promise.all([agent.child, master.child].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    const left = killLeftovers(workDir);
    if (left) console.log(`  killed ${left} leftover process(es) in ${workDir}`);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

void main();
