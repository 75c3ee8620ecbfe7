/**
 * Where a GPU's minor number (its node /dev/nvidia<minor>, major 195, which the devices cgroup grants)
 * comes from. nvidia-smi's --query-gpu has no such field (it refuses "minor_number"), and the minor is
 * not the nvidia-smi index (on a DGX A100, index 0 is /dev/nvidia2), so GPUs are matched by PCI bus id
 * with, in this order:
 *
 * 1. the NVIDIA kernel driver's `/proc/driver/nvidia/gpus/<bus id>/information` files, which say
 *    "Bus Location: 0000:00:06.0" and "Device Minor: 0" (no process to run: cheap at every poll);
 * 2. `nvidia-smi -q`, whose per-GPU sections start with a line "GPU 00000000:00:06.0" and hold
 *    "Minor Number : 0" (for GPUs the proc files do not list: /proc/driver/nvidia not visible).
 *
 * Bus ids are compared with {@link sameBus}: the driver writes a 4-digit PCI domain, nvidia-smi 8.
 *
 * ```ts
 * const proc = readDriverMinors('/proc/driver/nvidia');   // { entries: [{ pciBusId: '0000:00:06.0', minor: 0 }], problem: undefined }
 * minorOf(proc.entries, '00000000:00:06.0');             // 0
 * parseSmiQuery(qText);                                  // [{ pciBusId: '00000000:00:06.0', minor: 0 }]
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoText } from '../errors';
import { sameBus } from './nvidia-smi';

/** MinorEntry is the minor number of the GPU at one PCI bus id. */
export interface MinorEntry {
  pciBusId: string;
  minor: number;
}

/** DriverMinors are the minor numbers the driver's proc files give, and why there are none when it cannot say. */
export interface DriverMinors {
  entries: MinorEntry[];
  /** Set when the gpus directory cannot be read, e.g. "cannot read /proc/driver/nvidia/gpus: ENOENT (no such file or directory)". */
  problem?: string;
}

// A PCI bus id with any domain width: "0000:00:06.0", "00000000:07:00.0".
const BUS_ID = /^[0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{1,2}:[0-9A-Fa-f]{1,2}\.[0-7]$/;

/** isBusId tells whether a text is a PCI bus id (any domain width). */
export const isBusId = (s: string | undefined): s is string => !!s && BUS_ID.test(s.trim());

/** minorOf finds the minor number of the GPU at `busId` among `entries`; undefined when none is listed. */
export function minorOf(entries: readonly MinorEntry[], busId: string | undefined): number | undefined {
  if (!isBusId(busId)) return undefined;
  return entries.find((e) => sameBus(e.pciBusId, busId))?.minor;
}

/**
 * parseDriverInformation reads one `/proc/driver/nvidia/gpus/<bus id>/information` file: its "Bus
 * Location" (else `fallbackBusId`, the directory's name) and "Device Minor"; undefined when it has no
 * usable minor.
 */
export function parseDriverInformation(text: string, fallbackBusId?: string): MinorEntry | undefined {
  const field = (label: string): string | undefined => new RegExp(`^${label}:[ \\t]*(\\S+)[ \\t]*$`, 'm').exec(text)?.[1];
  const bus = field('Bus Location') ?? fallbackBusId;
  const minor = field('Device Minor');
  if (!isBusId(bus) || minor === undefined || !/^\d+$/.test(minor)) return undefined;
  return { pciBusId: bus, minor: Number(minor) };
}

/** readDriverMinors reads every GPU's information file under `<procDriverNvidia>/gpus`. */
export function readDriverMinors(procDriverNvidia: string): DriverMinors {
  const dir = path.join(procDriverNvidia, 'gpus');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    return { entries: [], problem: `cannot read ${dir}: ${errnoText(err)}` };
  }
  const entries: MinorEntry[] = [];
  for (const name of names.sort()) {
    try {
      const e = parseDriverInformation(fs.readFileSync(path.join(dir, name, 'information'), 'utf8'), name);
      if (e) entries.push(e);
    } catch {
      // Not a GPU directory, or the GPU went away meanwhile: nothing to learn from it.
    }
  }
  return { entries };
}

// "GPU 00000000:00:06.0" opens a GPU's section of nvidia-smi -q; "    Minor Number : 0" is in it.
const Q_SECTION = /^GPU\s+([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-7])\s*$/;
const Q_MINOR = /^\s+Minor Number\s*:\s*(\S+)\s*$/;

/** parseSmiQuery reads the minor number of each GPU section of `nvidia-smi -q`; a section whose minor reads "N/A" is left out. */
export function parseSmiQuery(text: string): MinorEntry[] {
  const out: MinorEntry[] = [];
  let bus: string | undefined;
  for (const line of text.split('\n')) {
    const section = Q_SECTION.exec(line);
    if (section) {
      bus = section[1];
      continue;
    }
    // A top-level line that is not a section's ("Attached GPUs", an error) ends the section.
    if (/^\S/.test(line)) bus = undefined;
    const minor = bus === undefined ? null : Q_MINOR.exec(line);
    if (minor && bus !== undefined) {
      if (/^\d+$/.test(minor[1])) out.push({ pciBusId: bus, minor: Number(minor[1]) });
      bus = undefined; // the GPU's own line comes first; a later "Minor Number" would be a nested device's
    }
  }
  return out;
}
