/**
 * Device rules of the devices subsystem (cgroup v1 devices.allow / devices.deny lines). A container
 * starts with everything denied ("a"), then gets Mesos's default allow-list plus the operator's
 * `allowed_devices`.
 */

/** DeviceRule is one devices.allow line: type, major, minor (undefined = "*") and access. */
export interface DeviceRule {
  type: 'a' | 'b' | 'c';
  major: number | undefined;
  minor: number | undefined;
  access: string;
  /** What the rule is for, for logs and docs. */
  note?: string;
}

/**
 * DEFAULT_ALLOWED_DEVICES is Mesos's default allow-list (cgroups/devices): mknod of any device, then
 * /dev/null, zero, full, random, urandom, tty, console, tty0/tty1, ptmx, /dev/pts/*, and /dev/net/tun.
 */
export const DEFAULT_ALLOWED_DEVICES: readonly DeviceRule[] = [
  { type: 'c', major: undefined, minor: undefined, access: 'm', note: 'mknod of any character device' },
  { type: 'b', major: undefined, minor: undefined, access: 'm', note: 'mknod of any block device' },
  { type: 'c', major: 1, minor: 3, access: 'rwm', note: '/dev/null' },
  { type: 'c', major: 1, minor: 5, access: 'rwm', note: '/dev/zero' },
  { type: 'c', major: 1, minor: 7, access: 'rwm', note: '/dev/full' },
  { type: 'c', major: 1, minor: 8, access: 'rwm', note: '/dev/random' },
  { type: 'c', major: 1, minor: 9, access: 'rwm', note: '/dev/urandom' },
  { type: 'c', major: 5, minor: 0, access: 'rwm', note: '/dev/tty' },
  { type: 'c', major: 5, minor: 1, access: 'rwm', note: '/dev/console' },
  { type: 'c', major: 4, minor: 0, access: 'rwm', note: '/dev/tty0' },
  { type: 'c', major: 4, minor: 1, access: 'rwm', note: '/dev/tty1' },
  { type: 'c', major: 5, minor: 2, access: 'rwm', note: '/dev/ptmx' },
  { type: 'c', major: 136, minor: undefined, access: 'rwm', note: '/dev/pts/*' },
  { type: 'c', major: 10, minor: 200, access: 'rwm', note: '/dev/net/tun' },
];

/** parseDeviceRule reads "c 195:* rwm"; throws an Error saying what is wrong. */
export function parseDeviceRule(text: string): DeviceRule {
  const m = /^\s*([abc])\s+(\*|\d+):(\*|\d+)\s+([rwm]{1,3})\s*$/.exec(String(text));
  if (!m || new Set(m[4]).size !== m[4].length) {
    throw new Error(`"${text}" is not a device rule: write "<type> <major>:<minor> <access>", type c or b, numbers or *, access of r, w, m (e.g. "c 195:* rwm")`);
  }
  const num = (s: string) => (s === '*' ? undefined : Number(s));
  return { type: m[1] as DeviceRule['type'], major: num(m[2]), minor: num(m[3]), access: m[4] };
}

/** formatDeviceRule writes a rule as the kernel takes it: "c 1:3 rwm", "c 136:* rwm". */
export function formatDeviceRule(r: DeviceRule): string {
  const n = (v: number | undefined) => (v === undefined ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}
