/**
 * The cgroups a COMMAND check joins so that it runs inside its task's container, as Mesos's checks do
 * (they are children of the command executor, which lives in the container's cgroups): its CPU and
 * memory count against the task's limits, and the cgroups isolator kills it with the container.
 *
 * The agent does not know which isolator made which cgroup, so it compares: every cgroup of the
 * container's init (`/proc/<pid>/cgroup`) that differs from the agent's own is one an isolator put the
 * container in, and the check joins it (its `cgroup.procs`, under the hierarchy's mount point from
 * /proc/self/mountinfo). Without a cgroup isolator nothing differs and nothing is joined. Named v1
 * hierarchies without controllers (name=systemd) are left alone.
 *
 * ```ts
 * const files = containerCgroupProcs(containerPid);   // ["/sys/fs/cgroup/memory/tessera/<id>/cgroup.procs", ...]
 * for (const f of files) fs.writeFileSync(f, String(checkPid));
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';

/** A cgroup mount: v1 with its controllers, or the v2 (unified) hierarchy. */
interface Mount {
  mountPoint: string;
  root: string;
  v2: boolean;
  controllers: string[];
}

let mountsCache: Mount[] | undefined;

// mountinfo escapes space, tab, newline and backslash as \040, \011, \012, \134.
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

// Super options of a v1 cgroup mount that are not controller names.
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'relatime', 'nosuid', 'nodev', 'noexec']);

/** parseCgroupMounts reads the cgroup mounts of a mountinfo text. */
export function parseCgroupMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || f.length < dash + 4) continue;
    const type = f[dash + 1];
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    const controllers = type === 'cgroup' ? f[dash + 3].split(',').filter((o) => /^[a-z_]+$/.test(o) && !NOT_CONTROLLERS.has(o)) : [];
    out.push({ mountPoint: unescape(f[4]), root: unescape(f[3]), v2: type === 'cgroup2', controllers });
  }
  return out;
}

/** parseProcCgroup reads /proc/<pid>/cgroup lines into hierarchy key (the controller list, or "" for v2) -> path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[2], m[3]);
  }
  return out;
}

/**
 * cgroupProcsToJoin lists the `cgroup.procs` files of the cgroups `container` (parsed /proc/<pid>/cgroup)
 * has and `agent` (the agent's own) does not, found under `mounts`.
 */
export function cgroupProcsToJoin(container: Map<string, string>, agent: Map<string, string>, mounts: Mount[]): string[] {
  const out: string[] = [];
  for (const [key, cgroup] of container) {
    if (agent.get(key) === cgroup) continue;
    const controllers = key.split(',').filter((c) => c && !c.startsWith('name='));
    if (key !== '' && controllers.length === 0) continue; // a named hierarchy: no resources to share
    const mount =
      key === ''
        ? mounts.find((m) => m.v2)
        : mounts.find((m) => !m.v2 && controllers.every((c) => m.controllers.includes(c)) && m.controllers.every((c) => controllers.includes(c)));
    if (!mount) continue;
    const rel = path.posix.relative(mount.root, cgroup);
    if (rel.startsWith('..')) continue; // outside what this mount shows
    out.push(path.join(mount.mountPoint, rel, 'cgroup.procs'));
  }
  return out;
}

/** containerCgroupProcs lists the cgroup.procs files a check of the container whose init is `pid` joins (empty when none, or the process is gone). */
export function containerCgroupProcs(pid: number): string[] {
  let container: Map<string, string>;
  let agent: Map<string, string>;
  try {
    container = parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    agent = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return [];
  }
  // The mounts do not change while the agent runs (the cgroups module reads them once too).
  if (!mountsCache) {
    try {
      mountsCache = parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    } catch {
      mountsCache = [];
    }
  }
  return cgroupProcsToJoin(container, agent, mountsCache);
}
