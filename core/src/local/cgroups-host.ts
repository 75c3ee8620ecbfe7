/**
 * Whether this host lets a local cluster isolate with the cgroups isolator module, found the way the
 * module itself will look (the cgroup mounts in /proc/self/mountinfo) and proven by making and removing
 * a probe cgroup in every hierarchy it needs; and the removal of a local cluster's cgroup root once its
 * agent stopped. The module makes its own checks again at Configure; this one only decides whether to
 * try it, and says why not in words a developer can act on.
 *
 * ```ts
 * const host = probeCgroupsHost();
 * if (host.ok) console.log(`cgroup v${host.version}: ${host.mounts.join(', ')}`);
 * else console.log(`cgroups isolation is off: ${host.problem}`);
 * removeCgroupsRoot('tessera-local-1a2b3c4d5e');   // after the agent stopped: [] when every directory went
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';

/** CGROUPS_LOCAL_SUBSYSTEMS are the controllers the module's default subsystems need. */
export const CGROUPS_LOCAL_SUBSYSTEMS = ['cpu', 'memory', 'pids'] as const;

/** CgroupsHost is the outcome of {@link probeCgroupsHost}. */
export type CgroupsHost = { ok: true; version: 1 | 2; mounts: string[] } | { ok: false; problem: string };

/** CgroupMountLine is one cgroup mount of mountinfo. */
interface CgroupMountLine {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  controllers: string[];
  readOnly: boolean;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** cgroupMounts reads the cgroup and cgroup2 mounts of a mountinfo text. */
export function cgroupMounts(mountinfo: string): CgroupMountLine[] {
  const out: CgroupMountLine[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || f.length < dash + 4) continue;
    const fsType = f[dash + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const superOptions = f[dash + 3].split(',');
    out.push({
      mountPoint: unescape(f[4]),
      fsType,
      controllers: fsType === 'cgroup' ? superOptions : [],
      readOnly: f[5].split(',').includes('ro') || superOptions.includes('ro'),
    });
  }
  return out;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

// Makes and removes a probe cgroup: what the module will do per container, without leaving anything.
function probe(mount: string): string | undefined {
  const dir = path.join(mount, `tessera-probe-${process.pid}`);
  try {
    fs.mkdirSync(dir);
    fs.rmdirSync(dir);
    return undefined;
  } catch (err) {
    return `cannot make a cgroup in ${mount} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/**
 * probeCgroupsHost tells whether the cgroups isolator can run here with its default subsystems (cpu,
 * memory, pids): root, the controllers mounted (one v1 hierarchy each, else a cgroup2 mount offering
 * them), and writable. `mountinfo` and `uid` are for tests.
 */
export function probeCgroupsHost(opts: { mountinfo?: string; uid?: number } = {}): CgroupsHost {
  const uid = opts.uid ?? process.getuid?.();
  if (uid !== 0) return { ok: false, problem: 'it needs root (the agent writes cgroups): run tessera local as root to isolate tasks with cgroups' };
  const mounts = cgroupMounts(opts.mountinfo ?? readOr('/proc/self/mountinfo', ''));
  if (!mounts.length) return { ok: false, problem: 'no cgroup hierarchy is mounted (/proc/self/mountinfo lists none)' };
  const v1 = CGROUPS_LOCAL_SUBSYSTEMS.map((c) => mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes(c)));
  if (v1.every(Boolean)) {
    const used = [...new Set(v1.map((m) => m!.mountPoint))];
    const ro = v1.find((m) => m!.readOnly);
    if (ro) return { ok: false, problem: `the cgroup v1 hierarchy at ${ro.mountPoint} is mounted read-only` };
    for (const m of used) {
      const problem = probe(m);
      if (problem) return { ok: false, problem };
    }
    return { ok: true, version: 1, mounts: used };
  }
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2) {
    const offered = readOr(path.join(v2.mountPoint, 'cgroup.controllers'), '').trim().split(/\s+/);
    const missing = CGROUPS_LOCAL_SUBSYSTEMS.filter((c) => !offered.includes(c));
    if (!missing.length) {
      if (v2.readOnly) return { ok: false, problem: `the cgroup v2 hierarchy at ${v2.mountPoint} is mounted read-only` };
      const problem = probe(v2.mountPoint);
      if (problem) return { ok: false, problem };
      return { ok: true, version: 2, mounts: [v2.mountPoint] };
    }
  }
  const absent = CGROUPS_LOCAL_SUBSYSTEMS.filter((_, i) => !v1[i]);
  return { ok: false, problem: `no cgroup hierarchy here offers ${CGROUPS_LOCAL_SUBSYSTEMS.join(', ')} (cgroup v1 lacks ${absent.join(', ')}${v2 ? `; cgroup v2 at ${v2.mountPoint} does not offer them all` : ''})` };
}

/**
 * removeCgroupsRoot removes a cgroup root from every hierarchy once nothing is in it (the module removed
 * the containers' cgroups at cleanup; the root itself stays until the cluster is done with it). It
 * returns the directories that could not be removed (still holding cgroups or processes).
 */
export function removeCgroupsRoot(root: string, opts: { mountinfo?: string } = {}): string[] {
  if (!root || root.includes('/') || root === '.' || root === '..') return [];
  const left: string[] = [];
  for (const m of cgroupMounts(opts.mountinfo ?? readOr('/proc/self/mountinfo', ''))) {
    const dir = path.join(m.mountPoint, root);
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
    }
  }
  return left;
}
