/**
 * Finding the cgroup hierarchies: /proc/self/mountinfo is read once, at Configure (Mesos 1.7 read
 * /proc/mounts for every container, which made launching 1,000 containers take 30 s).
 */
import fs from 'node:fs';

/** CgroupMount is one cgroup or cgroup2 mount from mountinfo. */
export interface CgroupMount {
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** "cgroup" (v1) or "cgroup2" (v2). */
  fsType: 'cgroup' | 'cgroup2';
  /** v1: the controllers of this hierarchy, e.g. ["cpu", "cpuacct"]; v2: empty (see cgroup.controllers). */
  controllers: string[];
  /** Mounted read-only (mount or super options say "ro"). */
  readOnly: boolean;
  /** The root of the mount inside its hierarchy ("/" unless a cgroup namespace or bind mount). */
  root: string;
}

// mountinfo escapes space, tab, newline and backslash as \040, \011, \012, \134.
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** parseMountinfo reads the cgroup mounts of a /proc/<pid>/mountinfo text, in mount order. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    const fsType = fields[dash + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountOptions = fields[5].split(',');
    const superOptions = fields[dash + 3].split(',');
    const controllers =
      fsType === 'cgroup' ? superOptions.filter((o) => /^[a-z_]+$/.test(o) && !NOT_CONTROLLERS.has(o)) : [];
    out.push({
      mountPoint: unescape(fields[4]),
      fsType,
      controllers,
      readOnly: mountOptions.includes('ro') || superOptions.includes('ro'),
      root: unescape(fields[3]),
    });
  }
  return out;
}

// Super options of a v1 cgroup mount that are not controller names.
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'relatime', 'nosuid', 'nodev', 'noexec']);

/** readCgroupMounts reads this process's cgroup mounts; empty when /proc is not there. */
export function readCgroupMounts(file = '/proc/self/mountinfo'): CgroupMount[] {
  try {
    return parseMountinfo(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}
