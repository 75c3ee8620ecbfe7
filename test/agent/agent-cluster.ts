/**
 * A real cluster for agent end-to-end tests: a master in the test process (runMaster, with the
 * allocator-drf module process), agents as real `tessera agent` processes started from the bundle
 * (core/bin/tessera.js, so they can be `kill -9`ed and restarted on the same work_dir), and frameworks
 * through the independent scheduler client.
 *
 * ```ts
 * const master = await startMaster();
 * const agent = new AgentProcess({ master: master.address, workDir: tempDir() });
 * const agentId = await agent.start();
 * const fw = await Framework.subscribe(master.address);
 * await fw.launch(agentId, [{ id: 't1', cmd: 'echo hello' }]);
 * await fw.sched.update('t1', 'TASK_FINISHED');
 * agent.kill9(); await agent.start();   // recovery
 * await cleanupAll();                   // afterAll: agents, leftover containers, frameworks, master
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { containersDir, readMeta } from '../../core/src/agent/containerizer/launcher';
import { createLog, type LogLevel } from '../../core/src/log';
import { runMaster, type RunningMaster } from '../../core/src/master/run-master';
import { CLI, waitFor } from '../modules/helpers';
import { SchedulerClient, type Event } from '../support/scheduler-client';

const LOG_LEVEL = (process.env.E2E_LOG ?? 'warn') as LogLevel;
const agents: AgentProcess[] = [];
const frameworks: Framework[] = [];
const masters: RunningMaster[] = [];

/** startMaster runs a master on 127.0.0.1 (a free port unless given) with quick allocation and heartbeats. */
export async function startMaster(opts: { port?: number; workDir?: string } = {}): Promise<RunningMaster> {
  const m = await runMaster({ ip: '127.0.0.1', port: opts.port ?? 0, workDir: opts.workDir, log: createLog({ level: LOG_LEVEL }), allocationIntervalMs: 100, heartbeatIntervalSeconds: 1 });
  masters.push(m);
  return m;
}

/** stopMaster stops a master started by {@link startMaster} (e.g. to restart it on the same port and work_dir). */
export async function stopMaster(m: RunningMaster): Promise<void> {
  masters.splice(masters.indexOf(m), 1);
  await m.stop();
}

/** getJson GETs a path of `host:port` and parses the JSON body. */
export function getJson(address: string, pathAndQuery: string): Promise<{ status: number; body: any }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: Number(port), path: pathAndQuery }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the text itself
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      })
      .on('error', reject);
  });
}

/** AgentProcessOptions say how to start a `tessera agent`. */
export interface AgentProcessOptions {
  master: string;
  workDir: string;
  resources?: string;
  /** extra flags, e.g. --isolation=..., --modules=..., --recover=cleanup */
  flags?: string[];
  env?: Record<string, string>;
}

/** AgentProcess is one `tessera agent` process (started again on the same work_dir by start()). */
export class AgentProcess {
  proc: ChildProcess | undefined;
  address = '';
  output = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly opts: AgentProcessOptions) {
    agents.push(this);
  }

  /** start spawns the agent and resolves with its id once the master (re-)registered it. */
  async start(extraFlags: string[] = []): Promise<string> {
    const args = [
      CLI,
      'agent',
      `--master=${this.opts.master}`,
      '--ip=127.0.0.1',
      '--port=0',
      `--work_dir=${this.opts.workDir}`,
      `--resources=${this.opts.resources ?? 'cpus:8;mem:8192;disk:1000;ports:[31000-32000]'}`,
      '--executor_shutdown_grace_period=2secs',
      `--log_level=${process.env.E2E_LOG ?? 'info'}`,
      ...(this.opts.flags ?? []),
      ...extraFlags,
    ];
    this.output = '';
    const proc = spawn(process.execPath, args, { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.stdout!.on('data', (c) => (this.output += c));
    proc.stderr!.on('data', (c) => {
      this.output += c;
      if (process.env.E2E_LOG) process.stderr.write(c);
    });
    await waitFor(() => /listening on (\S+) /.test(this.output) || proc.exitCode !== null, 30_000, 'the agent to listen');
    const m = /listening on (\S+) /.exec(this.output);
    if (!m) throw new Error(`tessera agent exited (${proc.exitCode}) before listening:\n${this.output}`);
    this.address = m[1];
    const state = await waitFor(async () => {
      const s = await this.state().catch(() => undefined);
      return s?.registered && s.id ? s : undefined;
    }, 30_000, `agent ${this.address} to register:\n${this.output}`);
    return state.id as string;
  }

  /** state is the agent's /state. */
  async state(): Promise<any> {
    return (await getJson(this.address, '/state')).body;
  }

  /** kill9 kills the agent process at once (its containers and modules are left to themselves). */
  async kill9(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** stop sends SIGTERM and waits for the exit. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc?.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  /** containerPids are the pids of the containers the runtime dir records. */
  containerPids(): number[] {
    const dir = containersDir(path.join(this.opts.workDir, 'run'));
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).flatMap((id) => {
      const meta = readMeta(path.join(dir, id));
      return meta ? [meta.pid] : [];
    });
  }

  /** killContainers SIGKILLs the process group of every container this agent started. */
  killContainers(): void {
    for (const pid of this.containerPids()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** TaskSpec is a command task to launch. */
export interface TaskSpec {
  id: string;
  cmd: string;
  cpus?: number;
  mem?: number;
  killGraceSeconds?: number;
  /** extra TaskInfo fields (e.g. executor, to make an invalid task). */
  extra?: Record<string, unknown>;
}

/** Framework is a subscribed scheduler that launches tasks on offers. */
export class Framework {
  private readonly used = new Set<string>();

  private constructor(readonly sched: SchedulerClient) {
    frameworks.push(this);
  }

  /** subscribe makes a framework (auto-acknowledging unless `autoAck` is false); with `frameworkId`, re-subscribes. */
  static async subscribe(master: string, opts: { autoAck?: boolean; capabilities?: string[]; frameworkId?: string; user?: string } = {}): Promise<Framework> {
    const sched = new SchedulerClient(master, opts.autoAck ?? true);
    const caps = ['MULTI_ROLE', ...(opts.capabilities ?? [])].map((type) => ({ type }));
    await sched.subscribe({ user: opts.user ?? 'root', name: 'agent-e2e', roles: ['*'], capabilities: caps, failover_timeout: 600 }, opts.frameworkId);
    return new Framework(sched);
  }

  /** launch waits for an unused offer of the agent and launches the tasks on it. */
  async launch(agentId: string, tasks: TaskSpec[]): Promise<void> {
    const offer = await this.offerOf(agentId);
    this.used.add(offer.id.value);
    const task_infos = tasks.map((t) => ({
      name: t.id,
      task_id: { value: t.id },
      agent_id: { value: agentId },
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: t.cpus ?? 0.01 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: t.mem ?? 8 } },
      ],
      command: { value: t.cmd },
      ...(t.killGraceSeconds !== undefined ? { kill_policy: { grace_period: { nanoseconds: t.killGraceSeconds * 1e9 } } } : {}),
      ...t.extra,
    }));
    const res = await this.sched.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos } }], filters: { refuse_seconds: 0 } } });
    if (res.status !== 202) throw new Error(`ACCEPT answered ${res.status}: ${res.body}`);
  }

  /** kill asks the master to kill a task. */
  async kill(taskId: string, agentId: string, graceSeconds?: number): Promise<void> {
    const res = await this.sched.call({ type: 'KILL', kill: { task_id: { value: taskId }, agent_id: { value: agentId }, ...(graceSeconds !== undefined ? { kill_policy: { grace_period: { nanoseconds: graceSeconds * 1e9 } } } : {}) } });
    if (res.status !== 202) throw new Error(`KILL answered ${res.status}: ${res.body}`);
  }

  /** reconcile asks for the state of the tasks; resolves with the UPDATE events it answered, one per task. */
  async reconcile(agentId: string, taskIds: string[]): Promise<Event[]> {
    const from = this.sched.events.length;
    const res = await this.sched.call({ type: 'RECONCILE', reconcile: { tasks: taskIds.map((id) => ({ task_id: { value: id }, agent_id: { value: agentId } })) } });
    if (res.status !== 202) throw new Error(`RECONCILE answered ${res.status}: ${res.body}`);
    const answers = new Map<string, Event>();
    await waitFor(() => {
      for (const e of this.sched.events.slice(from)) {
        const s = e.update?.status;
        if (e.type === 'UPDATE' && s?.reason === 'REASON_RECONCILIATION' && taskIds.includes(s.task_id.value)) answers.set(s.task_id.value, e);
      }
      return answers.size === taskIds.length;
    }, 15_000, 'reconciliation answers');
    return [...answers.values()];
  }

  /** updates lists the states the framework got for a task, in order. */
  states(taskId: string): string[] {
    return this.sched.events.filter((e) => e.type === 'UPDATE' && e.update.status.task_id.value === taskId && e.update.status.reason !== 'REASON_RECONCILIATION').map((e) => e.update.status.state);
  }

  /** teardown removes the framework (the master kills its tasks). */
  async teardown(): Promise<void> {
    await this.sched.call({ type: 'TEARDOWN' }).catch(() => undefined);
    this.sched.close();
  }

  private async offerOf(agentId: string): Promise<any> {
    let found: any;
    await waitFor(() => {
      for (const e of this.sched.events) {
        if (e.type !== 'OFFERS') continue;
        for (const o of e.offers.offers ?? []) if (o.agent_id.value === agentId && !this.used.has(o.id.value) && !this.rescinded(o.id.value)) found = o;
      }
      return found;
    }, 20_000, `an offer from agent ${agentId}`);
    return found;
  }

  private rescinded(offerId: string): boolean {
    return this.sched.events.some((e) => e.type === 'RESCIND' && e.rescind.offer_id.value === offerId);
  }
}

/** cleanupAll tears frameworks down, kills agents and their leftover containers, stops the masters. */
export async function cleanupAll(): Promise<void> {
  await Promise.all(frameworks.splice(0).map((f) => f.teardown()));
  for (const a of agents.splice(0)) {
    await a.kill9();
    a.killContainers();
  }
  await Promise.all(masters.splice(0).map((m) => m.stop()));
}
