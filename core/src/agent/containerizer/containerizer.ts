/**
 * UniversalContainerizer: Mesos's universal (MESOS) containerizer for command tasks. It composes the
 * isolators of --isolation in order around a shim process that outlives the agent:
 * sandbox stdio + fetch -> prepare (serially) -> shim started held -> isolate(pid) on every isolator ->
 * release -> watch (the first limitation destroys the container) -> the process ends -> cleanup
 * (reverse order; the watches stay open until it returned, so a limitation that raced with the exit is
 * still how the container ended) -> wait() resolves. A module isolator that fails or is down fails the
 * launch closed with a message naming it; running containers never depend on a module being up. When a
 * module restarts, it gets Recover with the live containers and its watches are reopened.
 *
 * ```ts
 * const c = new UniversalContainerizer({ workDir, runtimeDir, isolators: ['posix/cpu', 'posix/mem', 'echo'], modules: host, log });
 * await c.recover([]);
 * await c.launch({ containerId, frameworkId, executorId: taskId, task, framework, sandbox });
 * const t = await c.wait(containerId);   // { state: 'TASK_FINISHED', message: 'Command exited with status 0' }
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError, type ContainerLimitation } from '@tessera/modules-api';
import type { Log } from '../../log';
import { MAX_TIMER_MS } from '../../long-timer';
import type { ModuleHost } from '../../modules/module-host';
import { agentUser, Container, wireLimitation } from './container';
import { CleanupRetries } from './cleanup-retry';
import { LaunchError, launchFailed, taskInvalid } from './errors';
import { ExitPoller } from './exit-poller';
import { fetchUris } from './fetcher';
import { resolveIsolators, mergeStatistics, ModuleIsolator, type Isolator } from './isolators';
import { ForkServer, forkServerCanRun } from './fork-server';
import { containersDir, installShim, readStatus, removeContainerDir, spawnHeld, writeMeta, writeReleased, writeStatusFileFor, type HeldProcess, type ShimExit } from './launcher';
import { onPath, planProcess, validateCommand, type IsolatorLaunchInfo } from './launch-info';
import { isAlive, waitGone } from './proc';
import { killTree } from './process-tree';
import { appendSandboxFile, createSandboxOutputs, openSandboxOutput } from './sandbox-files';
import { agentHome, blockedDirectory, lookupUser, taskGroups, userEnvironment, type TaskUser } from './task-user';
import { recoverContainers } from './recover';
import { exitFromStatus, terminationOf, type ExitInfo } from './termination';
import { Watches } from './watches';
import type {
  CheckpointedContainer,
  ContainerTermination,
  ContainerView,
  Containerizer,
  LaunchRequest,
  MesosStatistics,
  RecoveredContainer,
} from './types';

/** UniversalContainerizerOptions configure a {@link UniversalContainerizer}. */
export interface UniversalContainerizerOptions {
  /** workDir is the agent's --work_dir (sandboxes live below it; the agent makes them). */
  workDir: string;
  /** runtimeDir is --runtime_dir: the shim and per-container runtime state (pids, status files). */
  runtimeDir: string;
  /** isolators is --isolation, in order: built-ins (posix/cpu, posix/mem, filesystem/posix) and module names. */
  isolators: string[];
  /** modules runs the isolator modules --isolation names (started before the containerizer is used). */
  modules?: ModuleHost;
  log: Log;
  /** Milliseconds one URI download may take (default 60 s). */
  fetchTimeoutMs?: number;
  /** afterFetch runs once a container's URIs are in its sandbox, before prepare (the agent's post-fetch hooks); a throw fails the launch. */
  afterFetch?: (containerId: string, sandbox: string) => Promise<void>;
  /** How often recovered containers are checked for exit (default 500 ms). */
  pollIntervalMs?: number;
  /** PATH given to containers (default: the agent's PATH). */
  path?: string;
  /**
   * launcher: how container processes start. 'fork-server' (the default when bash is installed) starts
   * them from a small bash process (fast at any agent size); 'direct' spawns the POSIX sh shim from the
   * agent. Containers that switch users or carry environment names bash cannot export always go direct.
   */
  launcher?: 'auto' | 'fork-server' | 'direct';
}

/** How often containers started by the fork server are checked, in case a shim died without reporting. */
const SAFETY_POLL_MS = 2000;

/**
 * How long, after the isolators' cleanup returned, a container's watches may still deliver a limitation
 * before they are cancelled (modules that end their watch at cleanup, as the cgroups module does, end the
 * wait at once).
 */
const WATCH_DRAIN_MS = 50;

/** The longest delay a Node timer takes (a longer one fires at once). */

/** How many terminations wait() still answers for containers already forgotten. */
const FINISHED_KEPT = 4096;

/** UniversalContainerizer implements {@link Containerizer}; see the module comment. */
export class UniversalContainerizer implements Containerizer {
  private readonly isolators: Isolator[];
  private readonly byId = new Map<string, Container>();
  private readonly finished = new Map<string, ContainerTermination>();
  private readonly children = new Map<string, HeldProcess>();
  private readonly poller: ExitPoller;
  private readonly safetyPoller = new ExitPoller(SAFETY_POLL_MS);
  private forkServer: ForkServer | undefined;
  private readonly log: Log;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly watches: Watches;
  private readonly cleanups: CleanupRetries;
  private attached = false;
  private closed = false;
  private shim: string | undefined;

  constructor(private readonly opts: UniversalContainerizerOptions) {
    this.isolators = resolveIsolators(opts.isolators, opts.modules);
    this.poller = new ExitPoller(opts.pollIntervalMs ?? 500);
    this.log = opts.log;
    this.watches = new Watches(this.log, (c, iso, limitation) => this.limit(c, iso, limitation));
    this.cleanups = new CleanupRetries(this.log);
  }

  /** isolatorNames lists the pipeline in order. */
  get isolatorNames(): string[] {
    return this.isolators.map((i) => i.name);
  }

  /** attach installs the shim and hooks module restarts (once; modules must be started by now). */
  private attach(): void {
    if (this.attached) return;
    this.shim = installShim(this.opts.runtimeDir);
    fs.mkdirSync(containersDir(this.opts.runtimeDir), { recursive: true });
    const launcher = this.opts.launcher ?? 'auto';
    if (launcher === 'fork-server' || (launcher === 'auto' && onPath('bash', this.opts.path))) {
      this.forkServer = new ForkServer(this.opts.runtimeDir, this.log, (id) => this.exitReported(id));
    }
    for (const iso of this.isolators) {
      if (!(iso instanceof ModuleIsolator)) continue;
      this.unsubscribe.push(
        iso.onRestart(async (client) => {
          const states = [...this.byId.values()].filter((c) => c.prepared.includes(iso)).map((c) => c.state());
          this.log.info(`isolator module ${iso.name} restarted: recovering ${states.length} container(s)`);
          await client.recover({ states, orphans: [] });
          queueMicrotask(() => this.watches.restarted(iso.name));
        }),
      );
    }
    this.attached = true;
  }

  async recover(known: CheckpointedContainer[], opts: { cleanup?: boolean } = {}): Promise<RecoveredContainer[]> {
    this.attach();
    const outcome = await recoverContainers(
      {
        runtimeDir: this.opts.runtimeDir,
        isolators: this.isolators,
        log: this.log,
        cleanups: this.cleanups,
        finished: (id, t) => this.remember(id, t),
      },
      known,
      opts,
    );
    for (const c of outcome.live) {
      this.byId.set(c.id, c);
      this.poller.watch(c.pid!, c.startTime!, () => void this.processGone(c, undefined));
      this.watches.start(c);
    }
    return outcome.results;
  }

  async launch(req: LaunchRequest): Promise<ContainerView> {
    if (this.closed) throw launchFailed('the containerizer is closed (the agent is stopping)');
    this.attach();
    if (this.byId.has(req.containerId)) {
      throw new TesseraError('TSR_CONTAINER_EXISTS', `container ${req.containerId} already exists: the agent must use a new container id per launch`);
    }
    const c = new Container({
      ...req,
      user: req.user ?? req.task.command?.user,
      runtimeDir: path.join(containersDir(this.opts.runtimeDir), req.containerId),
      phase: 'PREPARING',
    });
    this.byId.set(c.id, c);
    this.finished.delete(c.id);
    try {
      await this.start(c);
      return c.view();
    } catch (err) {
      let e = err instanceof LaunchError ? err : launchFailed(`launching container ${c.id}: ${(err as Error).message}`, err);
      if (c.kill && e.failure.state !== 'TASK_KILLED') {
        try {
          this.checkLaunch(c);
        } catch (killed) {
          e = killed as LaunchError;
        }
      }
      await this.abortLaunch(c, e);
      throw e;
    }
  }

  private checkLaunch(c: Container): void {
    if (this.closed) throw launchFailed('the containerizer was closed during the launch (the agent is stopping)');
    if (c.kill) {
      // kill() came during the launch: whatever step was under way, the task ends TASK_KILLED
      throw new LaunchError({ state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH', message: 'The task was killed while its container was being launched' });
    }
  }

  private async start(c: Container): Promise<void> {
    // stdout and stderr exist (regular files, the agent's) before anything is fetched into the sandbox.
    createSandboxOutputs(c.sandbox);
    validateCommand(c.task);
    fs.mkdirSync(c.runtimeDir, { recursive: true });
    const user = this.taskUser(c);
    if (user) createSandboxOutputs(c.sandbox, user);
    await fetchUris(c.task.command?.uris, c.sandbox, { timeoutMs: this.opts.fetchTimeoutMs, path: this.opts.path, signal: c.launchAbort.signal, ...(user && { asUser: user }) });
    if (this.opts.afterFetch) {
      await this.opts.afterFetch(c.id, c.sandbox).catch((err) => {
        throw launchFailed(TesseraError.wrap(err).message, err);
      });
    }
    this.checkLaunch(c);
    const launchInfos: IsolatorLaunchInfo[] = [];
    for (const iso of this.isolators) {
      const info = await iso.prepare(c.id, c.config).catch((err) => {
        // An isolator that finds the task itself invalid (e.g. 0.5 GPU) makes it TASK_ERROR, as Mesos does.
        const e = TesseraError.wrap(err);
        throw e.code === 'TSR_TASK_INVALID' ? taskInvalid(e.message) : launchFailed(e.message, err);
      });
      c.prepared.push(iso);
      if (info) launchInfos.push({ isolator: iso.name, info });
      this.checkLaunch(c);
    }
    const plan = planProcess({
      containerId: c.id,
      frameworkId: c.frameworkId,
      executorId: c.executorId,
      task: c.task,
      sandbox: c.sandbox,
      launchInfos,
      path: this.opts.path,
      user: user ? c.user : undefined,
    });
    // The runtime dir stays the agent's: the task's user gets only the status file its shim writes.
    if (user) writeStatusFileFor(c.runtimeDir, user.uid, user.gid);
    c.move('ISOLATING');
    const spec = {
      shim: this.shim!,
      containerDir: c.runtimeDir,
      argv: plan.argv,
      // As Mesos: the user's USER, LOGNAME and HOME, under the task's own variables.
      env: { ...(user ? userEnvironment(user.name, user.home) : userEnvironment(agentUser(), agentHome())), ...plan.env },
      cwd: plan.cwd,
      stdout: path.join(c.sandbox, 'stdout'),
      stderr: path.join(c.sandbox, 'stderr'),
      ...(user ? { user } : {}),
    };
    const viaServer = this.forkServer && !user && forkServerCanRun(spec.env);
    // The fork server opens them by path in bash: check them the safe way first (nothing else runs in the sandbox now).
    if (viaServer) for (const file of [spec.stdout, spec.stderr]) fs.closeSync(openSandboxOutput(file));
    const held = viaServer ? await this.forkServer!.spawn({ ...spec, id: c.id }) : await spawnHeld(spec);
    this.children.set(c.id, held);
    c.pid = held.pid;
    c.startTime = held.startTime;
    let exitedEarly = false;
    void held.exited?.then((exit) => {
      exitedEarly = c.phase === 'ISOLATING';
      if (c.phase === 'RUNNING') void this.processGone(c, exit);
    });
    writeMeta(c.runtimeDir, { containerId: c.id, pid: held.pid, startTime: held.startTime, isolators: c.prepared.map((i) => i.name), startedAt: c.startedAt, releaseMarker: true, ...(c.user && { user: c.user }) });
    for (const iso of c.prepared) {
      await iso.isolate(c.id, held.pid).catch((err) => {
        throw launchFailed(TesseraError.wrap(err).message, err);
      });
      this.checkLaunch(c);
    }
    this.checkLaunch(c);
    if (exitedEarly || !isAlive(held.pid, held.startTime)) throw launchFailed('the container process exited before it was released (see the sandbox stderr)');
    await held.release();
    writeReleased(c.runtimeDir);
    c.move('RUNNING');
    if (!held.exited) this.safetyPoller.watch(held.pid, held.startTime, () => void this.processGone(c, undefined));
    this.watches.start(c);
    if (c.exitReported) void this.processGone(c, undefined);
  }

  /** taskUser resolves the user a container runs as, when it is not the agent's own. */
  private taskUser(c: Container): TaskUser | undefined {
    if (!c.user || c.user === agentUser()) return undefined;
    const ids = lookupUser(c.user);
    if (!ids) throw launchFailed(`user "${c.user}" does not exist on this agent: create it, or launch the task as an existing user`);
    if (process.getuid?.() !== 0) {
      throw launchFailed(`the agent runs as "${agentUser()}" and cannot start a task as "${c.user}": run the agent as root, or launch the task as ${agentUser()}`);
    }
    const groups = taskGroups(c.user, ids.gid);
    for (const target of [c.sandbox, c.runtimeDir]) {
      const blocked = blockedDirectory(target, { uid: ids.uid, groups });
      if (blocked) {
        throw launchFailed(
          `user "${c.user}" cannot reach ${target}: ${blocked.dir} (mode ${blocked.mode.toString(8).padStart(4, '0')}, owner ${blocked.uid}:${blocked.gid}) does not let it pass; ` +
            `make the agent's --work_dir (and --runtime_dir) and their parents traversable by task users (chmod o+x ${blocked.dir}), or run the task as the agent's user`,
        );
      }
    }
    return { ...ids, name: c.user, groups };
  }

  /** abortLaunch undoes a failed launch: the held process is killed, prepared isolators cleaned up. */
  private async abortLaunch(c: Container, err: LaunchError): Promise<void> {
    if (c.phase === 'PREPARING' || c.phase === 'ISOLATING') c.move('DESTROYING');
    const held = this.children.get(c.id);
    if (held) {
      await killTree(held.pid, held.startTime, 'SIGKILL', c.treeSeen);
      if (held.exited) await Promise.race([held.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      else await waitGone(held.pid, held.startTime, 5000);
    }
    await this.cleanup(c);
    const f = err.failure;
    // Not through a link or into a FIFO an archive left (the sandbox is gone, or holds no regular stderr: the status still says it).
    appendSandboxFile(path.join(c.sandbox, 'stderr'), `Failed to launch container: ${f.message}\n`);
    this.finish(c, { state: f.state === 'TASK_KILLED' ? 'TASK_KILLED' : 'TASK_FAILED', reason: f.reason, message: f.message });
    this.log.warn(`container ${c.id} (task ${c.task.task_id.value}) failed to launch: ${f.message}`);
  }

  private async cleanup(c: Container): Promise<void> {
    for (const iso of [...c.prepared].reverse()) await this.cleanups.cleanup(iso, c.id);
    removeContainerDir(c.runtimeDir);
  }

  private finish(c: Container, t: ContainerTermination): void {
    if (c.phase !== 'TERMINATED') c.move('TERMINATED');
    clearTimeout(c.killTimer);
    c.watchAbort.abort();
    this.byId.delete(c.id);
    this.children.delete(c.id);
    this.remember(c.id, t);
    c.done.resolve(t);
  }

  private remember(id: string, t: ContainerTermination): void {
    this.finished.set(id, t);
    if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.keys().next().value!);
  }

  /** exitReported: a fork-server shim said its command ended (the status file has how). */
  private exitReported(containerId: string): void {
    const c = this.byId.get(containerId);
    if (!c) return;
    if (c.phase === 'RUNNING') void this.processGone(c, undefined);
    else c.exitReported = true;
  }

  /**
   * processGone tears a running container down once its shim is gone (exit event, or the poller).
   * The isolators' watches stay open until every cleanup has returned (and briefly after, see
   * Watches.drain): a process the kernel OOM-killed exits before an isolator module notices (the cgroups
   * module polls, and checks once more at Cleanup), and a limitation that raced with the exit is what
   * ended the container, as in Mesos: the task is TASK_FAILED with the limitation's reason and message.
   */
  private async processGone(c: Container, exit: ShimExit | undefined): Promise<void> {
    if (c.ending || this.closed) return;
    c.ending = true;
    if (c.pid !== undefined) {
      this.poller.unwatch(c.pid);
      this.safetyPoller.unwatch(c.pid);
    }
    c.move('DESTROYING');
    clearTimeout(c.killTimer);
    // What the command left behind goes with it, as Mesos destroys a container whose executor ended.
    if (c.pid !== undefined) await killTree(c.pid, c.startTime ?? 0, 'SIGKILL', c.treeSeen);
    const status = readStatus(c.runtimeDir);
    let info: ExitInfo;
    if (status?.kind === 'exit') info = exitFromStatus(status.code);
    else {
      // a shim killed before it could record a status died of what the containerizer sent it
      const signal = exit?.signal ?? (c.sigkillSent ? 'SIGKILL' : c.kill && c.sigtermSent ? 'SIGTERM' : undefined);
      info = { noStatus: true, ...(signal ? { signal } : {}) };
    }
    await this.cleanup(c);
    await this.watches.drain(c, WATCH_DRAIN_MS);
    c.watchAbort.abort();
    const t = terminationOf(info, { killed: !!c.kill, killReason: c.kill?.reason, limitation: c.limitation });
    this.finish(c, t);
  }

  /**
   * limit destroys a container an isolator reported a limitation for (SIGKILL; wait() gives TASK_FAILED
   * with it). One that arrives while the container is being torn down after its exit is recorded only:
   * it becomes the container's termination.
   */
  private limit(c: Container, iso: Isolator, l: ContainerLimitation): void {
    if (c.phase === 'TERMINATED' || c.limitation) return;
    c.limitation = wireLimitation(l, iso.name);
    if (c.ending) {
      this.log.info(`container ${c.id} (task ${c.task.task_id.value}) hit a limitation from ${iso.name} as it ended: ${c.limitation.message}`);
      return;
    }
    c.kill ??= {};
    this.log.info(`container ${c.id} (task ${c.task.task_id.value}) hit a limitation from ${iso.name}: ${c.limitation.message}; destroying it`);
    this.signal(c, 'SIGKILL');
  }

  private signal(c: Container, sig: NodeJS.Signals): void {
    if (c.pid === undefined) return;
    if (!this.children.get(c.id)?.exited && !isAlive(c.pid, c.startTime)) return; // not our child: its pid may be reused
    if (sig === 'SIGTERM') c.sigtermSent = true;
    if (sig === 'SIGKILL') c.sigkillSent = true;
    // a shim killed before it recorded a status reports nothing: watch for its end closely (children of the agent have 'exit')
    if (c.phase === 'RUNNING' && !this.children.get(c.id)?.exited) this.poller.watch(c.pid, c.startTime ?? 0, () => void this.processGone(c, undefined));
    void killTree(c.pid, c.startTime ?? 0, sig, c.treeSeen);
  }

  async wait(containerId: string): Promise<ContainerTermination> {
    const c = this.byId.get(containerId);
    if (c) return c.done.promise;
    const t = this.finished.get(containerId);
    if (t) return t;
    throw new TesseraError('TSR_CONTAINER_UNKNOWN', `container ${containerId} is not known to the containerizer (never launched, or ended long ago)`);
  }

  /** kill resolves once the container is gone and cleaned up (wait() resolves TASK_KILLED). */
  async kill(containerId: string, opts: { gracePeriodMs: number }): Promise<void> {
    const c = this.byId.get(containerId);
    if (!c) {
      if (this.finished.has(containerId)) return;
      throw new TesseraError('TSR_CONTAINER_UNKNOWN', `cannot kill container ${containerId}: it is not known to the containerizer`);
    }
    const graceMs = Math.min(Math.max(0, opts.gracePeriodMs || 0), MAX_TIMER_MS);
    if (!c.kill) {
      c.kill = {};
      c.launchAbort.abort();
      if (c.phase === 'ISOLATING') this.signal(c, 'SIGKILL');
      else if (c.phase === 'RUNNING') {
        this.signal(c, 'SIGTERM');
        this.escalateAt(c, Date.now() + graceMs);
      }
    } else if (c.phase === 'RUNNING' && c.killDeadline !== undefined && !c.sigkillSent && Date.now() + graceMs < c.killDeadline) {
      // A kill while one is under way (Mesos's command executor): a shorter grace period, counted from
      // this kill, brings the SIGKILL forward; a longer one never puts it off (a scheduler's retries are no-ops).
      this.log.info(`container ${c.id} (task ${c.task.task_id.value}): a new kill with a grace period of ${graceMs} ms brings its SIGKILL forward`);
      this.escalateAt(c, Date.now() + graceMs);
    }
    await c.done.promise;
  }

  // escalateAt schedules the kill's SIGKILL (Node fires a timer longer than 2^31-1 ms at once: a long grace period is capped, ~24.8 days).
  private escalateAt(c: Container, deadline: number): void {
    clearTimeout(c.killTimer);
    c.killDeadline = deadline;
    c.killTimer = setTimeout(() => this.signal(c, 'SIGKILL'), Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS));
    c.killTimer.unref();
  }

  async usage(containerId: string): Promise<MesosStatistics | undefined> {
    const c = this.byId.get(containerId);
    if (!c) return undefined;
    const parts = await Promise.all(
      c.prepared.map((iso) =>
        iso.usage(c.id, c.pid).catch((err) => {
          this.log.debug(`usage of container ${c.id} from ${iso.name} failed: ${TesseraError.wrap(err).message}`);
          return {};
        }),
      ),
    );
    return mergeStatistics(parts, c.limits());
  }

  containers(): ContainerView[] {
    return [...this.byId.values()].map((c) => c.view());
  }

  /** close stops watching; running containers keep running and a later instance recovers them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.poller.stop();
    this.safetyPoller.stop();
    this.watches.close();
    this.cleanups.close();
    this.forkServer?.close();
    for (const u of this.unsubscribe.splice(0)) u();
    for (const c of this.byId.values()) {
      clearTimeout(c.killTimer);
      c.watchAbort.abort();
    }
    for (const held of this.children.values()) held.child?.unref();
  }
}
