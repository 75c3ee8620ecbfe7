/**
 * Choosing the hierarchy at Configure: which cgroup version, where its controllers are, and which
 * subsystems "all" means on this host. Read once; containers never look at mounts again.
 */
import path from 'node:path';
import { cgroupsError } from '../errors';
import { SUBSYSTEMS, type CgroupsSettings, type Subsystem } from '../parameters';
import { exists, readOptional, subdirectories } from './cgroupfs';
import { DEFAULT_ALLOWED_DEVICES } from './devices';
import type { CgroupDriver } from './driver';
import { readCgroupMounts, type CgroupMount } from './mountinfo';
import { V1Driver, type V1Mount } from './v1';
import { V2Driver } from './v2';

/** Layout is what the host offers: v1 controllers by name, and the unified hierarchy if mounted. */
export interface Layout {
  /** Where the layout was read from, for messages. */
  source: string;
  v1: Map<string, V1Mount>;
  v2?: { path: string; readOnly: boolean; available: string[] };
}

/** findLayout reads the layout from mountinfo, or from a directory given as `cgroup_root`. */
export function findLayout(cgroupRoot: string | undefined, mounts: CgroupMount[] = readCgroupMounts()): Layout {
  const v1 = new Map<string, V1Mount>();
  if (cgroupRoot !== undefined) {
    if (!exists(cgroupRoot)) {
      throw cgroupsError('CGROUPS_NO_HIERARCHY', `cgroup_root ${cgroupRoot} does not exist: fix the cgroup_root parameter, or remove it to read the mounts from /proc/self/mountinfo`);
    }
    if (exists(path.join(cgroupRoot, 'cgroup.controllers'))) {
      return { source: `cgroup_root ${cgroupRoot}`, v1, v2: { path: cgroupRoot, readOnly: false, available: controllersOf(cgroupRoot) } };
    }
    for (const entry of subdirectories(cgroupRoot)) {
      for (const c of entry.split(',')) if (!v1.has(c)) v1.set(c, { path: path.join(cgroupRoot, entry), readOnly: false });
    }
    return { source: `cgroup_root ${cgroupRoot}`, v1 };
  }
  let v2: Layout['v2'];
  // Prefer a mount of the whole hierarchy ("/") over a bind mount of a part of it.
  const ordered = [...mounts].sort((a, b) => Number(b.root === '/') - Number(a.root === '/'));
  for (const m of ordered) {
    if (m.fsType === 'cgroup') {
      for (const c of m.controllers) if (!v1.has(c)) v1.set(c, { path: m.mountPoint, readOnly: m.readOnly });
    } else if (!v2) {
      v2 = { path: m.mountPoint, readOnly: m.readOnly, available: controllersOf(m.mountPoint) };
    }
  }
  return { source: '/proc/self/mountinfo', v1, v2 };
}

function controllersOf(dir: string): string[] {
  return (readOptional(path.join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
}

/** Chosen is the driver for this host and the subsystems it isolates. */
export interface Chosen {
  driver: CgroupDriver;
  subsystems: Subsystem[];
  warnings: string[];
}

/** chooseDriver picks v1 or v2 as `settings.hierarchy` says (or detects it) and builds its driver. */
export function chooseDriver(settings: CgroupsSettings, layout: Layout): Chosen {
  const warnings: string[] = [];
  const wanted: readonly Subsystem[] = settings.subsystems === 'all' ? SUBSYSTEMS : settings.subsystems;
  const v1Covers = layout.v1.size > 0 && wanted.every((s) => layout.v1.has(s));
  const v2Covers = layout.v2 !== undefined && wanted.every((s) => s !== 'devices' && layout.v2!.available.includes(s));
  let version: 1 | 2;
  if (settings.hierarchy === 'v1') version = 1;
  else if (settings.hierarchy === 'v2') version = 2;
  else if (v1Covers) version = 1;
  else if (v2Covers) version = 2;
  else version = layout.v1.size > 0 ? 1 : 2;

  if (version === 1 && layout.v1.size === 0) {
    throw cgroupsError('CGROUPS_NO_HIERARCHY', `no cgroup v1 hierarchy is mounted (${layout.source})${layout.v2 ? `; cgroup v2 is mounted at ${layout.v2.path}: use hierarchy "v2" or "auto"` : ': mount cgroups, or leave cgroups out of --isolation'}`);
  }
  if (version === 2 && !layout.v2) {
    throw cgroupsError('CGROUPS_NO_HIERARCHY', `no cgroup v2 hierarchy is mounted (${layout.source})${layout.v1.size ? ': use hierarchy "v1" or "auto" on this host' : ': mount cgroup2 (mount -t cgroup2 none /sys/fs/cgroup), or leave cgroups out of --isolation'}`);
  }

  let subsystems: Subsystem[];
  if (settings.subsystems === 'all') {
    const offered = (s: Subsystem) => (version === 1 ? layout.v1.has(s) : s !== 'devices' && layout.v2!.available.includes(s));
    subsystems = SUBSYSTEMS.filter(offered);
    const left = SUBSYSTEMS.filter((s) => !offered(s));
    if (left.length) warnings.push(`subsystems "all" on this cgroup v${version} host leaves out ${left.join(', ')}: not offered here${left.includes('devices') && version === 2 ? ' (devices on v2 needs eBPF, not supported yet)' : ''}`);
  } else {
    subsystems = [...settings.subsystems];
  }
  const options = {
    root: settings.root,
    subsystems,
    cpuQuota: settings.cpuQuota,
    memorySwap: settings.memorySwap,
    pidsMax: settings.pidsMax,
    devices: [...DEFAULT_ALLOWED_DEVICES, ...settings.allowedDevices],
  };
  const driver = version === 1 ? new V1Driver(layout.v1, options) : new V2Driver(layout.v2!.path, layout.v2!.readOnly, options);
  return { driver, subsystems, warnings };
}
