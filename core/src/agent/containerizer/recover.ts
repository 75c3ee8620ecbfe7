/**
 * Recovery after an agent restart: from what --runtime_dir holds for each container the agent's
 * checkpoint names (container.json: pid and start time; status: how the command ended), decide per
 * container: still running (re-attached: polled for exit, watched again), ended while the agent was
 * down (termination from the status file, isolators cleaned up), or never started (the agent died
 * during the launch: a shim still held is killed, and the task fails with REASON_CONTAINER_LAUNCH_FAILED).
 * A checkpointed container without any runtime dir gets no result: the agent died before starting it,
 * or after its cleanup, and only the agent (from the task's state) can tell which. Runtime dirs of
 * containers the checkpoint does not name are orphans: their processes are killed, isolators get them
 * as orphans and clean them up, the dirs are removed.
 * Every isolator gets Recover (in order) before any cleanup.
 *
 * ```ts
 * const { live, results } = await recoverContainers(ctx, checkpointed, { cleanup: false });
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '@tessera/modules-api';
import type { Log } from '../../log';
import type { CleanupRetries } from './cleanup-retry';
import { Container } from './container';
import type { Isolator } from './isolators';
import { containersDir, readMeta, readStatus, removeContainerDir, wasReleased, type ContainerMeta } from './launcher';
import { isAlive, readStat, waitGone } from './proc';
import { killTree } from './process-tree';
import { exitFromStatus, terminationOf } from './termination';
import type { CheckpointedContainer, ContainerTermination, RecoveredContainer } from './types';

/** RecoverContext is what recovery needs of the containerizer. */
export interface RecoverContext {
  runtimeDir: string;
  isolators: Isolator[];
  log: Log;
  /** cleanups calls an isolator's Cleanup, retrying it in the background when it fails. */
  cleanups: Pick<CleanupRetries, 'cleanup'>;
  /** finished records a termination so a later wait() still answers it. */
  finished(containerId: string, t: ContainerTermination): void;
}

/** RecoverOutcome: the containers still running (to adopt) and the answer for the agent. */
export interface RecoverOutcome {
  live: Container[];
  results: RecoveredContainer[];
}

interface Ended {
  container: Container;
  termination: ContainerTermination;
}

/** LAUNCH_INTERRUPTED ends a container whose launch the agent's restart cut short (Mesos destroys those too). */
const LAUNCH_INTERRUPTED: ContainerTermination = {
  state: 'TASK_FAILED',
  reason: 'REASON_CONTAINER_LAUNCH_FAILED',
  message: 'The agent restarted while the container was being launched; it was destroyed before its command ran',
};

/**
 * launchIncomplete tells whether a live container was never released: no `released` marker (agents
 * that write one say so in container.json), or its shim is still stopped at the fork server's hold.
 */
function launchIncomplete(meta: ContainerMeta, dir: string): boolean {
  if (meta.releaseMarker && !wasReleased(dir)) return true;
  const state = readStat(meta.pid)?.state;
  return !meta.releaseMarker && (state === 'T' || state === 't');
}

function endedTermination(meta: ContainerMeta | undefined, dir: string): ContainerTermination {
  if (!meta) {
    return { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: 'The agent restarted while the container was being launched; it never ran' };
  }
  const status = readStatus(dir);
  if (status?.kind === 'exit') return terminationOf(exitFromStatus(status.code), {});
  if (status?.kind === 'aborted') {
    return { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: 'The agent went away before releasing the container; its command never ran' };
  }
  return {
    state: 'TASK_FAILED',
    reason: 'REASON_EXECUTOR_TERMINATED',
    message: 'The container exited while the agent was down and left no status (killed by a signal?)',
  };
}

function listDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** recoverContainers runs recovery; see the module comment. */
export async function recoverContainers(ctx: RecoverContext, known: CheckpointedContainer[], opts: { cleanup?: boolean }): Promise<RecoverOutcome> {
  const root = containersDir(ctx.runtimeDir);
  const byName = new Map(ctx.isolators.map((i) => [i.name, i]));
  const live: Container[] = [];
  const ended: Ended[] = [];
  const results: RecoveredContainer[] = [];
  const knownIds = new Set(known.map((k) => k.containerId));

  for (const k of known) {
    const dir = path.join(root, k.containerId);
    const meta = readMeta(dir);
    const c = new Container({ ...k, user: meta?.user ?? k.task.command?.user, runtimeDir: dir, phase: 'RUNNING', startedAt: meta?.startedAt });
    if (meta) {
      c.pid = meta.pid;
      c.startTime = meta.startTime;
      for (const name of meta.isolators) {
        const iso = byName.get(name);
        if (iso) c.prepared.push(iso);
        else ctx.log.warn(`container ${k.containerId} was prepared by isolator ${name}, which --isolation no longer names: it is not cleaned up there`);
      }
    } else if (fs.existsSync(dir)) {
      c.prepared.push(...ctx.isolators); // the launch died between prepare and start: cleanup is harmless for unknown containers
    }
    if (!meta && !fs.existsSync(dir)) continue;
    if (meta && isAlive(meta.pid, meta.startTime)) {
      if (!launchIncomplete(meta, dir)) {
        live.push(c);
        continue;
      }
      ctx.log.warn(`destroying container ${k.containerId} (pid ${meta.pid}): the agent restarted before its launch completed`);
      await killTree(meta.pid, meta.startTime, 'SIGKILL', new Map());
      await waitGone(meta.pid, meta.startTime);
      ended.push({ container: c, termination: LAUNCH_INTERRUPTED });
    } else {
      // Its command ended while the agent was down: what it left behind goes now.
      if (meta) await killTree(meta.pid, meta.startTime, 'SIGKILL', c.treeSeen);
      ended.push({ container: c, termination: endedTermination(meta, dir) });
    }
  }

  const orphans: { id: string; dir: string }[] = [];
  for (const id of listDirs(root)) {
    if (knownIds.has(id)) continue;
    const dir = path.join(root, id);
    const meta = readMeta(dir);
    if (meta && isAlive(meta.pid, meta.startTime)) {
      ctx.log.warn(`killing orphan container ${id} (pid ${meta.pid}): the agent's checkpoint does not know it`);
      await killTree(meta.pid, meta.startTime, 'SIGKILL', new Map());
      await waitGone(meta.pid, meta.startTime);
    }
    orphans.push({ id, dir });
  }

  const states = [...live, ...ended.map((e) => e.container)];
  for (const iso of ctx.isolators) {
    try {
      await iso.recover(
        states.filter((c) => c.prepared.includes(iso)).map((c) => c.state()),
        orphans.map((o) => o.id),
      );
    } catch (err) {
      ctx.log.error(`recover on isolator ${iso.name} failed: ${TesseraError.wrap(err).message}`);
    }
  }

  const cleanup = async (id: string, isolators: Isolator[], dir: string): Promise<void> => {
    for (const iso of [...isolators].reverse()) await ctx.cleanups.cleanup(iso, id);
    removeContainerDir(dir);
  };

  for (const o of orphans) await cleanup(o.id, ctx.isolators, o.dir);

  if (opts.cleanup) {
    for (const c of live.splice(0)) {
      await killTree(c.pid!, c.startTime!, 'SIGKILL', c.treeSeen);
      await waitGone(c.pid!, c.startTime!);
      ended.push({
        container: c,
        termination: { state: 'TASK_KILLED', reason: 'REASON_AGENT_RESTARTED', message: 'The agent restarted with --recover=cleanup: the container was killed' },
      });
    }
  }

  for (const e of ended) {
    await cleanup(e.container.id, e.container.prepared, e.container.runtimeDir);
    ctx.finished(e.container.id, e.termination);
    results.push({ containerId: e.container.id, outcome: 'terminated', termination: e.termination });
  }
  for (const c of live) results.push({ containerId: c.id, outcome: 'running', view: c.view() });
  ctx.log.info(`recovered containers: ${live.length} running, ${ended.length} ended, ${orphans.length} orphan(s) removed`);
  return { live, results };
}
