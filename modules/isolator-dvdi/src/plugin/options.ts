/**
 * The options `tessera-volume-local` accepts at Create (`docker volume create -o size=64M ...`):
 *
 * - `size`: a cap on the volume's size (e.g. `64M`, `1G`, `1.5GiB`, bytes): the volume becomes an ext4
 *   image file, loop-mounted while in use, so writes past the cap fail with ENOSPC (min 8 MiB);
 * - `mode`: octal permissions of the volume's root directory (default 0755);
 * - `uid`, `gid`: owner of the volume's root directory (default 0).
 */
import { PluginError } from './plugin-errors';

/** VolumeOptions are the options of a volume, parsed. */
export interface VolumeOptions {
  /** sizeBytes caps the volume (ext4 image); absent: a plain directory. */
  sizeBytes?: number;
  mode: number;
  uid: number;
  gid: number;
}

/** KNOWN_OPTIONS are the option keys Create accepts. */
export const KNOWN_OPTIONS = ['size', 'mode', 'uid', 'gid'] as const;

/** MIN_SIZE_BYTES is the smallest size accepted: smaller ext4 file systems leave too little room. */
export const MIN_SIZE_BYTES = 8 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** parseSize reads "64M", "1G", "1.5GiB", "512k", "1048576" as bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** parseOptions checks and reads Create's options; it throws DVDI_LOCAL_OPTION_INVALID naming the option. */
export function parseOptions(opts: Record<string, unknown> | undefined | null): VolumeOptions {
  const out: VolumeOptions = { mode: 0o755, uid: 0, gid: 0 };
  for (const [key, raw] of Object.entries(opts ?? {})) {
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : undefined;
    const bad = (why: string) => new PluginError('DVDI_LOCAL_OPTION_INVALID', `option ${key}=${JSON.stringify(raw)}: ${why}`);
    if (value === undefined) throw bad('must be a string');
    switch (key) {
      case 'size': {
        const bytes = parseSize(value);
        if (bytes === undefined) throw bad('not a size such as 64M, 1G or 1048576');
        if (bytes < MIN_SIZE_BYTES) throw bad(`at least ${MIN_SIZE_BYTES / 1024 / 1024}M is needed for an ext4 file system`);
        out.sizeBytes = bytes;
        break;
      }
      case 'mode':
        if (!/^0?[0-7]{3,4}$/.test(value)) throw bad('not octal permissions such as 0755 or 1777');
        out.mode = parseInt(value, 8);
        break;
      case 'uid':
      case 'gid': {
        if (!/^\d{1,10}$/.test(value) || Number(value) > 2 ** 31 - 1) throw bad('not a numeric id');
        out[key] = Number(value);
        break;
      }
      default:
        throw new PluginError('DVDI_LOCAL_OPTION_INVALID', `unknown option "${key}": tessera-volume-local accepts ${KNOWN_OPTIONS.join(', ')}`);
    }
  }
  return out;
}

/** sameOptions tells whether two parsed option sets describe the same volume. */
export function sameOptions(a: VolumeOptions, b: VolumeOptions): boolean {
  return a.sizeBytes === b.sizeBytes && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}
