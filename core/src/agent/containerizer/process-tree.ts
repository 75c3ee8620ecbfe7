/**
 * Killing a container's whole process tree, as Mesos does (os::killtree with the POSIX launcher; the
 * Linux launcher destroys the container's cgroup). Without a cgroup the members of a container are
 * found from /proc:
 *
 * - the shim and its descendants, while the shim lives (whatever process group or session they moved to:
 *   `setsid sleep 100 &` is still a child of the command);
 * - its process group: the shim leads one, and a background job of a shell command stays in it after
 *   its parent ended and it was reparented to init (`sleep 779 & echo started`);
 * - its session, where the shim led one (the agent spawns its shims in a session of their own; the fork
 *   server's share the server's, so there the process group is what is left). A group or session id
 *   cannot be reused as a pid while a member lives, so once the shim is gone its group and session are
 *   still the container's;
 * - the members found by earlier walks of the same container (a kill's SIGTERM walk is remembered for its
 *   SIGKILL and for the end), each still the same process (same start time).
 *
 * A process started before the shim is never a member (its pid or group id may have been reused). The
 * limit: a process that left both the group and the session (setsid, a daemon's double fork) and whose
 * parent ended before a walk saw it (reparented to init) cannot be told from any other process: without a
 * cgroup isolator it outlives its container. The cgroups isolator module kills everything in the
 * container's cgroup.
 *
 * ```ts
 * const seen = new Map<number, number>();
 * await killTree(pid, startTime, 'SIGTERM', seen);   // the group at once, the rest after one shared /proc scan
 * await killTree(pid, startTime, 'SIGKILL', seen);   // and whatever the first walk found, even if it left the tree
 * ```
 */
import { ProcTable, readStat, type ProcSnapshot, type ProcStat } from './proc';

/**
 * How long kills wait to share one /proc scan: a scan reads every process's stat (tens of milliseconds
 * with thousands of processes), so the kills of many containers at once (a framework's teardown) take
 * one scan, not one each. The wait grows with the last scan's cost (four times it, at most
 * {@link MAX_BATCH_MS}), so scans never take more than about a fifth of the agent's main thread.
 */
const BATCH_MS = 5;
const MAX_BATCH_MS = 250;
let lastScanMs = 0;

/**
 * treeMembers lists the live processes of the container whose shim is `pid` (started at `startTime`;
 * 0 when unknown).
 */
export function treeMembers(snap: ProcSnapshot, pid: number, startTime: number): ProcStat[] {
  const shim = snap.byPid.get(pid);
  const shimIsOurs = shim !== undefined && (startTime === 0 || shim.startTime === startTime);
  // A group or session named `pid` whose leader is another process is not the container's (the pid was reused).
  const idsAreOurs = shim === undefined || shimIsOurs;
  const out = new Map<number, ProcStat>();
  if (shimIsOurs) {
    const stack = [pid];
    while (stack.length) {
      const p = stack.pop()!;
      const s = snap.byPid.get(p);
      if (!s || out.has(p)) continue;
      out.set(p, s);
      stack.push(...snap.childrenOf(p));
    }
  }
  if (idsAreOurs) {
    for (const s of snap.byPid.values()) {
      if (s.pgrp === pid || s.session === pid) out.set(s.pid, s);
    }
  }
  return [...out.values()].filter((s) => s.state !== 'Z' && s.state !== 'X' && s.pid !== process.pid && s.pid > 1 && (startTime === 0 || s.startTime >= startTime));
}

interface Pending {
  pid: number;
  startTime: number;
  signal: NodeJS.Signals;
  seen: Map<number, number>;
  done: () => void;
}

const pending: Pending[] = [];
let timer: NodeJS.Timeout | undefined;

// signalKnown signals the remembered members (still the same processes) and the group, if it is the container's.
function signalKnown(pid: number, startTime: number, signal: NodeJS.Signals, seen: Map<number, number>): void {
  for (const [p, start] of seen) {
    const now = readStat(p);
    if (!now || now.startTime !== start || now.state === 'Z') {
      seen.delete(p);
      continue;
    }
    try {
      process.kill(p, signal);
    } catch {
      seen.delete(p);
    }
  }
  const leader = readStat(pid);
  if (!leader || startTime === 0 || leader.startTime === startTime) {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is empty
    }
  }
}

function flush(): void {
  timer = undefined;
  const batch = pending.splice(0);
  // The scan comes first: once the command is signalled, its children are reparented and the tree is lost.
  const started = Date.now();
  const snap = ProcTable.shared().snapshot(0);
  lastScanMs = Date.now() - started;
  for (const k of batch) {
    signalKnown(k.pid, k.startTime, k.signal, k.seen);
    for (const s of treeMembers(snap, k.pid, k.startTime)) {
      if (k.seen.has(s.pid)) continue;
      k.seen.set(s.pid, s.startTime);
      const now = readStat(s.pid);
      if (!now || now.startTime !== s.startTime) continue;
      try {
        process.kill(s.pid, k.signal);
      } catch {
        // gone meanwhile
      }
    }
    k.done();
  }
}

/**
 * killTree signals every member of a container (see the module comment) and its process group, after
 * a short wait ({@link BATCH_MS} or more) and one fresh /proc scan shared by every kill meanwhile, and records the
 * members in `seen` (pid -> start time) so that later calls reach them even once they left the tree.
 * It resolves when all were signalled.
 */
export function killTree(pid: number, startTime: number, signal: NodeJS.Signals, seen: Map<number, number>): Promise<void> {
  return new Promise((done) => {
    pending.push({ pid, startTime, signal, seen, done });
    timer ??= setTimeout(flush, Math.min(MAX_BATCH_MS, Math.max(BATCH_MS, 4 * lastScanMs)));
  });
}
