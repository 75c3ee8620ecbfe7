/**
 * Reading /proc/self/mountinfo: which paths are mount points. Used by the plugin to reconcile its sized
 * volumes after a restart, and by tests to prove that nothing is left mounted.
 */
import fs from 'node:fs';

/** MountEntry is one line of mountinfo, the fields that matter here. */
export interface MountEntry {
  mountPoint: string;
  root: string;
  fsType: string;
  source: string;
  options: string;
}

// mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** readMountinfo parses a mountinfo file (default this process's). */
export function readMountinfo(file = '/proc/self/mountinfo'): MountEntry[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right = ''] = line.split(' - ');
      const f = left.split(' ');
      const r = right.split(' ');
      return { root: unescape(f[3]), mountPoint: unescape(f[4]), options: f[5], fsType: r[0], source: unescape(r[1] ?? '') };
    });
}

/** mountsAt lists the mounts stacked on a path. */
export function mountsAt(path: string, file?: string): MountEntry[] {
  return readMountinfo(file).filter((m) => m.mountPoint === path);
}

/** mountsUnder lists the mounts on a path or below it. */
export function mountsUnder(path: string, file?: string): MountEntry[] {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return readMountinfo(file).filter((m) => m.mountPoint === path || m.mountPoint.startsWith(prefix));
}
