/**
 * The containers' cgroups in the v1 devices hierarchy, at the path the cgroups module uses
 * (`<devices mount>/<root>/<containerId>`, found with its `findLayout`), so both modules work on one
 * cgroup when both are in --isolation.
 *
 * A v1 devices cgroup is in one of two modes, and the kernel's rules differ:
 * - allow-all (devices.list reads "a *:* rwm": nobody restricted it; this module alone made it). Denials
 *   are exceptions, and a later allow only removes an exception that matches exactly: after
 *   "deny c 195:* rwm", "allow c 195:1 rwm" changes nothing. So every NVIDIA GPU minor (0..254) but the
 *   container's is denied one by one; nvidiactl (255) and nvidia-uvm stay allowed.
 * - allow-list (the cgroups module's devices subsystem wrote "a" to devices.deny and its default list):
 *   NVIDIA devices are denied already; the container's GPUs, nvidiactl and nvidia-uvm are allowed one
 *   by one. A rule that allows every NVIDIA device ("c 195:* rwm") cannot be narrowed: refused.
 * Revoking a GPU is "deny c 195:<minor> rwm" in both modes.
 *
 * ```ts
 * const cg = DevicesCgroup.locate('tessera', undefined);   // throws GPU_CGROUP_UNSUPPORTED on cgroup v2
 * cg.setup();
 * const created = cg.create('c1');
 * cg.apply('c1', [1], controls);   // only /dev/nvidia1 of the GPUs
 * cg.place('c1', pid);
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { findLayout, formatDeviceRule, parseDeviceRule, type DeviceRule } from '@tessera/isolator-cgroups';
import { errnoText, gpuError } from '../errors';
import type { ControlDevice } from '../discovery/device-nodes';
import { HIGHEST_GPU_MINOR, NVIDIA_MAJOR, NVIDIACTL_MINOR } from '../discovery/gpu';

/** DevicesMode is how a devices cgroup decides (see the module comment). */
export type DevicesMode = 'allow-all' | 'allow-list';

/** How long remove() keeps killing leftovers and retrying rmdir (EBUSY right after the last exit). */
const REMOVE_TIMEOUT_MS = 4000;

const gpuRule = (minor: number): string => `c ${NVIDIA_MAJOR}:${minor} rwm`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** DevicesCgroup works on the containers' cgroups under one root of the devices hierarchy. */
export class DevicesCgroup {
  constructor(
    /** mount is the devices hierarchy's mount point, e.g. /sys/fs/cgroup/devices. */
    readonly mount: string,
    /** root is the cgroup holding the containers' cgroups (the cgroups module's `root`). */
    readonly root: string,
  ) {}

  /**
   * locate finds the v1 devices hierarchy as the cgroups module does (mountinfo, or `cgroupRoot`);
   * throws GPU_CGROUP_UNSUPPORTED when there is none (a cgroup v2 host).
   */
  static locate(root: string, cgroupRoot: string | undefined): DevicesCgroup {
    let layout;
    try {
      layout = findLayout(cgroupRoot);
    } catch (err) {
      throw gpuError('GPU_CGROUP_UNSUPPORTED', `cannot find the cgroup hierarchies: ${(err as Error).message}`, err);
    }
    const devices = layout.v1.get('devices');
    if (!devices) {
      const why = layout.v2
        ? `this host has cgroup v2 (${layout.v2.path}) and no v1 devices hierarchy; device access on v2 needs an eBPF program, which this module cannot load from Node`
        : `no cgroup v1 devices hierarchy is mounted (${layout.source})`;
      throw gpuError('GPU_CGROUP_UNSUPPORTED', `${why}: ${devicesMountAdvice(layout.v2 !== undefined)}, or leave gpu out of --isolation`);
    }
    if (devices.readOnly) {
      throw gpuError('GPU_CGROUP_NOT_WRITABLE', `the devices hierarchy at ${devices.path} is mounted read-only: remount it read-write (mount -o remount,rw ${devices.path}); inside a container, run the agent privileged`);
    }
    return new DevicesCgroup(devices.path, root);
  }

  /** describe says where containers' cgroups go, for the Configure log. */
  describe(): string {
    return `${path.join(this.mount, this.root)}/<container>`;
  }

  /** setup creates the root cgroup, one level at a time, explaining permission problems. */
  setup(): void {
    let at = this.mount;
    try {
      for (const part of this.root.split('/')) {
        at = path.join(at, part);
        try {
          fs.mkdirSync(at);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      fs.accessSync(at, fs.constants.W_OK);
    } catch (err) {
      const uid = process.getuid?.();
      const who = uid !== undefined && uid !== 0 ? ` (this module runs as uid ${uid}, not root)` : '';
      throw gpuError('GPU_CGROUP_NOT_WRITABLE', `cannot create the devices cgroup ${at}: ${errnoText(err)}${who}: run the agent as root on a host with a writable cgroup file system, or leave gpu out of --isolation`, err);
    }
  }

  /** dir is a container's cgroup directory. */
  dir(id: string): string {
    return path.join(this.mount, this.root, id);
  }

  exists(id: string): boolean {
    return fs.existsSync(this.dir(id));
  }

  /** containers lists the cgroups under the root (containers of this module or of the cgroups module). */
  containers(): string[] {
    try {
      return fs.readdirSync(path.join(this.mount, this.root), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** create makes a container's cgroup; true when this call made it, false when it was there (the cgroups module's). */
  create(id: string): boolean {
    try {
      fs.mkdirSync(this.dir(id));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw gpuError('GPU_ISOLATION_FAILED', `container ${id}: cannot create the devices cgroup ${this.dir(id)}: ${errnoText(err)}`, err);
    }
  }

  /** rules reads a container's devices.list. */
  rules(id: string): DeviceRule[] {
    const file = path.join(this.dir(id), 'devices.list');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw gpuError('GPU_ISOLATION_FAILED', `container ${id}: cannot read ${file}: ${errnoText(err)}`, err);
    }
    return text.split('\n').filter((l) => l.trim()).map((l) => parseDeviceRule(l));
  }

  /** mode tells whether a container's cgroup allows everything but exceptions, or only its list. */
  mode(id: string): DevicesMode {
    const rules = this.rules(id);
    return rules.length === 1 && rules[0].type === 'a' && rules[0].major === undefined && rules[0].minor === undefined ? 'allow-all' : 'allow-list';
  }

  /**
   * apply lets a container open exactly the GPUs of `minors` among NVIDIA's, plus the control devices;
   * idempotent (Recover applies it again). Throws GPU_DEVICES_CONFLICT when an allow-list grants every
   * NVIDIA device.
   */
  apply(id: string, minors: readonly number[], controls: readonly ControlDevice[]): DevicesMode {
    const mine = new Set(minors);
    const mode = this.mode(id);
    if (mode === 'allow-all') {
      for (let m = 0; m <= HIGHEST_GPU_MINOR; m += 1) if (!mine.has(m)) this.write(id, 'devices.deny', gpuRule(m));
    } else {
      for (const r of this.rules(id)) {
        const coversNvidia = (r.type === 'a' || r.type === 'c') && (r.major === undefined || r.major === NVIDIA_MAJOR) && /[rw]/.test(r.access);
        if (!coversNvidia) continue;
        if (r.minor === undefined) {
          throw gpuError('GPU_DEVICES_CONFLICT', `container ${id}: its devices cgroup ${this.dir(id)} allows "${formatDeviceRule(r)}", every NVIDIA device, so its GPUs cannot be kept apart: remove that rule (the cgroups module's allowed_devices), the gpu isolator grants each container its own GPUs`);
        }
        if (r.minor !== NVIDIACTL_MINOR && !mine.has(r.minor)) this.write(id, 'devices.deny', gpuRule(r.minor));
      }
    }
    for (const m of mine) this.write(id, 'devices.allow', gpuRule(m));
    for (const c of controls) this.write(id, 'devices.allow', `c ${c.major}:${c.minor} rwm`);
    return mode;
  }

  /** revoke takes GPUs away from a container (in both modes, one exact deny each). */
  revoke(id: string, minors: readonly number[]): void {
    for (const m of minors) this.write(id, 'devices.deny', gpuRule(m));
  }

  /** grantedMinors reads the GPU minors an allow-list cgroup grants; undefined for allow-all (its exceptions cannot be read). */
  grantedMinors(id: string): number[] | undefined {
    if (this.mode(id) === 'allow-all') return undefined;
    return this.rules(id)
      .filter((r) => r.type === 'c' && r.major === NVIDIA_MAJOR && r.minor !== undefined && r.minor <= HIGHEST_GPU_MINOR && /[rw]/.test(r.access))
      .map((r) => r.minor!);
  }

  /** place moves a process into the container's cgroup. */
  place(id: string, pid: number): void {
    const file = path.join(this.dir(id), 'cgroup.procs');
    try {
      fs.writeFileSync(file, String(pid));
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ESRCH' ? `process ${pid} does not exist (it exited before isolate)` : errnoText(err);
      throw gpuError('GPU_ISOLATION_FAILED', `cannot move process ${pid} of container ${id} into ${this.dir(id)}: ${why}`, err);
    }
  }

  /** pids lists the processes in a container's cgroup. */
  pids(id: string): number[] {
    try {
      return fs.readFileSync(path.join(this.dir(id), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /**
   * remove deletes a container's cgroup that this module made: processes still inside (the container
   * is being destroyed) are killed first, and rmdir is retried while the kernel still releases it.
   */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    const until = Date.now() + REMOVE_TIMEOUT_MS;
    for (let wait = 5; fs.existsSync(dir); wait = Math.min(wait * 2, 100)) {
      for (const pid of this.pids(id)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      try {
        fs.rmdirSync(dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || Date.now() > until) {
          const left = this.pids(id);
          throw gpuError('GPU_ISOLATION_FAILED', `cannot remove the devices cgroup ${dir} of container ${id}: ${errnoText(err)}${left.length ? ` (processes ${left.join(', ')} are still in it, e.g. in uninterruptible sleep)` : ''}; the agent retries cleanup`, err);
        }
      }
      await sleep(wait);
    }
  }

  private write(id: string, file: string, rule: string): void {
    const target = path.join(this.dir(id), file);
    try {
      fs.writeFileSync(target, rule);
    } catch (err) {
      throw gpuError('GPU_ISOLATION_FAILED', `container ${id}: cannot write "${rule}" to ${target}: ${errnoText(err)}`, err);
    }
  }
}

/**
 * devicesMountAdvice says how to give this host a v1 devices hierarchy. cgroup v2 has no devices
 * controller, so the kernel lets the v1 one be mounted beside a v2-only /sys/fs/cgroup (where no
 * directory can be made: the mount goes elsewhere, and the module finds it in /proc/self/mountinfo),
 * unless the kernel was built without it or booted with cgroup_no_v1 (/proc/cgroups then lacks it or
 * shows it disabled).
 */
export function devicesMountAdvice(v2: boolean, procCgroups = '/proc/cgroups'): string {
  let line: string | undefined;
  try {
    line = fs.readFileSync(procCgroups, 'utf8').split('\n').find((l) => l.split(/\s+/)[0] === 'devices');
  } catch {
    line = undefined;
  }
  const fields = line?.split(/\s+/);
  if (fields && fields[3] === '0') return `the kernel has the devices controller but it is disabled (${procCgroups}; cgroup_no_v1 or cgroup_disable on the kernel command line?): enable it and mount it`;
  if (!fields && fs.existsSync(procCgroups)) return `this kernel has no devices controller (${procCgroups} does not list it): run GPU agents on a kernel with CONFIG_CGROUP_DEVICE`;
  const at = v2 ? '/run/tessera/cgroup/devices' : '/sys/fs/cgroup/devices';
  return `mount the v1 devices controller (mkdir -p ${at} && mount -t cgroup -o devices devices ${at}; the module finds it wherever it is mounted)`;
}
