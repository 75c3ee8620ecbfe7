/**
 * Killing everything in a cgroup, including processes the agent never knew of (a daemon the task
 * started, a fork bomb's children). A process may fork between reading cgroup.procs and the kill, so
 * the cgroup is frozen first (v1 freezer, v2 cgroup.freeze), every pid gets SIGKILL, the cgroup is
 * thawed so the signals are delivered, and all that is repeated until the cgroup is empty. On v2 with
 * cgroup.kill (Linux 5.14+) one write kills the whole subtree atomically.
 */
import { sleep } from './cgroupfs';

/** KillTarget is one container's cgroups as the killer sees them. */
export interface KillTarget {
  /** What to call it in errors: "container c1 (/sys/fs/cgroup/freezer/tessera/c1)". */
  what: string;
  /** pids lists the processes still in the cgroups. */
  pids(): number[];
  /** killAll kills the whole subtree at once (v2 cgroup.kill); absent when the kernel lacks it. */
  killAll?(): void;
  /** freeze stops every process; absent without a freezer. */
  freeze?(): void;
  /** frozen tells whether freezing finished (v1 freezer.state FROZEN, v2 cgroup.events frozen 1). */
  frozen?(): boolean;
  /** thaw lets the processes run again (and die of their pending SIGKILL). */
  thaw?(): void;
}

/** KillResult says how many processes were killed and how many rounds it took. */
export interface KillResult {
  killed: number;
  rounds: number;
}

/** killEverything empties a cgroup; it rejects with the surviving pids once `timeoutMs` has passed. */
export async function killEverything(target: KillTarget, timeoutMs: number): Promise<KillResult> {
  const until = Date.now() + timeoutMs;
  const killed = new Set<number>();
  for (let round = 1; ; round += 1) {
    const first = target.pids();
    if (first.length === 0) return { killed: killed.size, rounds: round - 1 };
    if (Date.now() > until) {
      throw new Error(`${first.length} process(es) of ${target.what} survived SIGKILL for ${timeoutMs} ms: ${first.slice(0, 20).join(', ')}${first.length > 20 ? ', ...' : ''}`);
    }
    if (target.killAll) {
      target.killAll();
    } else {
      await freeze(target, until);
      try {
        for (const pid of target.pids()) {
          signal(pid);
          killed.add(pid);
        }
      } finally {
        target.thaw?.();
      }
    }
    for (const pid of first) killed.add(pid);
    // Dying takes a moment (the kernel unwinds and releases memory): wait for the cgroup to empty.
    for (let wait = 1; wait <= 64 && target.pids().length > 0; wait *= 2) await sleep(wait);
  }
}

async function freeze(target: KillTarget, until: number): Promise<void> {
  if (!target.freeze) return;
  target.freeze();
  // A task in uninterruptible sleep can hold FREEZING for long: kill anyway after a moment, then repeat.
  const giveUp = Math.min(until, Date.now() + 500);
  for (let wait = 1; !target.frozen?.() && Date.now() < giveUp; wait = Math.min(wait * 2, 50)) await sleep(wait);
}

function signal(pid: number): void {
  // Never this process nor init, whatever a cgroup.procs says (a misconfigured root could hold them).
  if (pid === process.pid || pid <= 1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
