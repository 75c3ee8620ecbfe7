/**
 * Device nodes: reading a node's major:minor, the character majors of /proc/devices, and the control
 * devices every GPU container needs (/dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools), as
 * Mesos's GPU isolator grants them.
 *
 * ```ts
 * nodeNumbers('/dev/nvidia0');                       // { major: 195, minor: 0 }, or undefined
 * controlDevices('/dev', fs.readFileSync('/proc/devices', 'utf8'));
 * // [{ path: '/dev/nvidiactl', major: 195, minor: 255 }, { path: '/dev/nvidia-uvm', major: 510, minor: 0 }, ...]
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { NVIDIA_MAJOR, NVIDIACTL_MINOR } from './gpu';

/** DeviceNumbers are a character device's major and minor. */
export interface DeviceNumbers {
  major: number;
  minor: number;
}

/** ControlDevice is a node every GPU container may open. */
export interface ControlDevice extends DeviceNumbers {
  path: string;
}

/** nodeNumbers reads a character device node's numbers; undefined when it is missing or not a character device. */
export function nodeNumbers(file: string): DeviceNumbers | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isCharacterDevice()) return undefined;
  // Linux's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31 (glibc's major()/minor()).
  const rdev = st.rdev;
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

/** parseProcDevices reads the "Character devices:" part of /proc/devices: driver name -> major. */
export function parseProcDevices(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let character = false;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) character = true;
    else if (/^Block devices:/.test(line)) character = false;
    else if (character) {
      const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
      if (m && !out.has(m[2])) out.set(m[2], Number(m[1]));
    }
  }
  return out;
}

/** readProcDevices reads /proc/devices (or a test's stand-in); empty when it cannot be read. */
export function readProcDevices(file: string): Map<string, number> {
  try {
    return parseProcDevices(fs.readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
}

/**
 * controlDevices lists the control nodes to grant: nvidiactl (its node's numbers, or 195:255), and
 * nvidia-uvm (minor 0) / nvidia-uvm-tools (minor 1) when the nvidia-uvm driver is loaded — their major is
 * dynamic, so it comes from the node when there is one, else from /proc/devices.
 */
export function controlDevices(devRoot: string, procDevices: Map<string, number>): ControlDevice[] {
  const out: ControlDevice[] = [];
  const ctl = path.join(devRoot, 'nvidiactl');
  out.push({ path: ctl, ...(nodeNumbers(ctl) ?? { major: NVIDIA_MAJOR, minor: NVIDIACTL_MINOR }) });
  const uvmMajor = procDevices.get('nvidia-uvm');
  for (const [name, minor] of [['nvidia-uvm', 0], ['nvidia-uvm-tools', 1]] as const) {
    const file = path.join(devRoot, name);
    const numbers = nodeNumbers(file) ?? (uvmMajor !== undefined ? { major: uvmMajor, minor } : undefined);
    if (numbers) out.push({ path: file, ...numbers });
  }
  return out;
}

/** gpuNode is the path of a GPU's node under the device root. */
export const gpuNode = (devRoot: string, minor: number): string => path.join(devRoot, `nvidia${minor}`);
