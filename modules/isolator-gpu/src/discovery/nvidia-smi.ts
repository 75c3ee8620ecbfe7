/**
 * Running nvidia-smi and reading its `--query-gpu=... --format=csv,noheader,nounits` answers robustly
 * (discovery rows, health, usage). nvidia-smi prints one line per GPU, fields separated by ", ", with
 * bracketed markers instead of values: "[N/A]" and "[Not Supported]" mean "no such figure here";
 * anything else in brackets ("[GPU requires reset]", "[Unknown Error]") is an error of that GPU. A GPU
 * the driver cannot talk to at all is a line "Unable to determine the device handle for GPU <bus id>:
 * <reason>" instead of its row, and nvidia-smi then exits non-zero although the other rows are fine.
 *
 * Health (there is no NVML event stream from Node, so a poll of these figures is the signal):
 * - UNHEALTHY when `retired_pages.pending` is "Yes" (pages wait for retirement: the GPU needs a reset),
 *   when `ecc.errors.uncorrected.volatile.total` is above 0 (uncorrectable memory errors since the
 *   driver loaded: data on it may be corrupt, as DCGM treats a double-bit error), when any field reads
 *   an error marker, or when the GPU is listed as "Unable to determine the device handle" (lost, XID 79
 *   "fallen off the bus" and the like).
 * - HEALTHY otherwise; "[N/A]" (no ECC on a GeForce, no page retirement on a newer GPU) is no signal.
 *
 * The minor number of a GPU's /dev/nvidia<minor> node is not a --query-gpu field (nvidia-smi refuses
 * "minor_number": it only appears in `nvidia-smi -q`): {@link gpuOfRow} takes it from the caller, which
 * finds it by PCI bus id (minor-numbers.ts; discover.ts puts the two together).
 *
 * ```ts
 * const run = await runNvidiaSmi('nvidia-smi', [`--query-gpu=${DISCOVERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], 10_000);
 * const answer = readRun(run, 'nvidia-smi', DISCOVERY_FIELDS);
 * if (answer.kind === 'rows') for (const row of answer.rows) console.log(row.index, row.uuid, row['pci.bus_id']);
 * ```
 */
import { execFile } from 'node:child_process';
import { gpuError } from '../errors';
import { HIGHEST_GPU_MINOR, type Gpu } from './gpu';

/** DISCOVERY_FIELDS are the --query-gpu fields of discovery and health polls, in this order. */
export const DISCOVERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'pci.bus_id', 'retired_pages.pending', 'ecc.errors.uncorrected.volatile.total'] as const;
/** BASIC_FIELDS are asked for instead when an old nvidia-smi refuses a health field. */
export const BASIC_FIELDS = DISCOVERY_FIELDS.slice(0, 5);
/** USAGE_FIELDS are the --query-gpu fields of Usage. */
export const USAGE_FIELDS = ['uuid', 'utilization.gpu', 'memory.used', 'memory.total'] as const;

/** LostGpu is a GPU nvidia-smi could not reach ("Unable to determine the device handle ..."). */
export interface LostGpu {
  pciBusId: string;
  reason: string;
}

/**
 * SmiAnswer is one --query-gpu run read: its GPU rows and lost GPUs, why there is no driver to ask, or
 * the line in which nvidia-smi refused a field it does not know (the caller may ask for fewer).
 */
export type SmiAnswer =
  | { kind: 'rows'; rows: Row[]; lost: LostGpu[] }
  | { kind: 'no-driver'; reason: string }
  | { kind: 'refused'; line: string };

/** SmiRun is one run of nvidia-smi. */
export interface SmiRun {
  stdout: string;
  stderr: string;
  /** Exit status; null when it did not exit normally (killed, not started). */
  code: number | null;
  /** The spawn error (ENOENT: not installed) or the timeout. */
  error?: { code?: string | number; message: string; killed?: boolean };
}

/** runNvidiaSmi runs the binary with `args`, killing it after `timeoutMs`. */
export function runNvidiaSmi(binary: string, args: string[], timeoutMs: number): Promise<SmiRun> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: string | number; killed?: boolean }) | null;
      const out = { stdout: stdout ?? '', stderr: stderr ?? '' };
      if (!e) resolve({ ...out, code: 0 });
      else if (typeof e.code === 'number' && !e.killed) resolve({ ...out, code: e.code });
      else resolve({ ...out, code: null, error: e });
    });
  });
}

// Texts nvidia-smi prints when there is no usable driver (the GPUs, if any, cannot be used).
const NO_DRIVER = [
  /couldn't communicate with the NVIDIA driver/i,
  /Failed to initialize NVML/i,
  /NVIDIA driver is not loaded/i,
  /Driver\/library version mismatch/i,
  /NVML Shared Library Not Found/i,
  /couldn't find libnvidia-ml\.so/i,
  /libnvidia-ml\.so.*cannot open/i,
];
const NO_DEVICES = /No devices were found/i;
const FIELD_REFUSED = /is not a valid field to query/i;
const LOST = /^Unable to determine the device handle for(?: GPU)?\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-7])\s*:\s*(.*)$/;

/** firstLine is the first non-empty line of a text, trimmed, for messages. */
const firstLine = (text: string): string => text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';

/**
 * readRun reads one --query-gpu run; `fields` are the fields asked for. Throws GPU_DISCOVERY_FAILED for
 * output it cannot read; a refused field is an answer (`refused`: the caller asks again with
 * {@link BASIC_FIELDS}).
 */
export function readRun(run: SmiRun, binary: string, fields: readonly string[]): SmiAnswer {
  if (run.error?.code === 'ENOENT') return { kind: 'no-driver', reason: `${binary} is not installed (not found${binary.includes('/') ? '' : ' on PATH'})` };
  if (run.error?.killed) throw gpuError('GPU_DISCOVERY_FAILED', `${binary} did not answer within the timeout (a hung driver?): check the GPUs with nvidia-smi by hand, or raise command_timeout_ms`);
  if (run.error) throw gpuError('GPU_DISCOVERY_FAILED', `${binary} cannot be run: ${run.error.code ?? ''} ${run.error.message}: fix the nvidia_smi parameter or the file's permissions`);
  const text = `${run.stdout}\n${run.stderr}`;
  const noDriver = text.split('\n').find((l) => NO_DRIVER.some((re) => re.test(l)));
  if (noDriver) return { kind: 'no-driver', reason: noDriver.trim() };
  const refused = text.split('\n').find((l) => FIELD_REFUSED.test(l));
  if (refused) return { kind: 'refused', line: refused.trim() };
  if (NO_DEVICES.test(text)) return { kind: 'rows', rows: [], lost: [] };
  const parsed = parseQueryOutput(run.stdout, fields);
  if (parsed.rows.length === 0 && parsed.lost.length === 0 && run.code !== 0) {
    throw gpuError('GPU_DISCOVERY_FAILED', `${binary} exited with status ${run.code} and listed no GPU: "${firstLine(text)}": check the driver (nvidia-smi by hand); list the GPUs in the devices parameter to run without discovery`);
  }
  return { kind: 'rows', ...parsed };
}

/** Row is one GPU line of a query, by field name. */
export type Row = Record<string, string>;

/**
 * parseQueryOutput splits a `--format=csv,noheader[,nounits]` answer into rows by field name, and the
 * "Unable to determine the device handle" lines into lost GPUs. A name containing ", " is kept whole
 * (it is the only free-text field). Throws GPU_DISCOVERY_FAILED for a line with too few fields.
 */
export function parseQueryOutput(text: string, fields: readonly string[]): { rows: Row[]; lost: LostGpu[] } {
  const rows: Row[] = [];
  const lost: LostGpu[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const l = LOST.exec(line);
    if (l) {
      lost.push({ pciBusId: l[1], reason: l[2].replace(/\s+/g, ' ').trim() });
      continue;
    }
    let parts = line.split(',').map((p) => p.trim());
    if (parts.length < fields.length) {
      throw gpuError('GPU_DISCOVERY_FAILED', `nvidia-smi answered "${line}" where a GPU line of ${fields.length} fields (${fields.join(', ')}) was expected: report the nvidia-smi version (nvidia-smi --version) with this line`);
    }
    const nameAt = fields.indexOf('name');
    if (parts.length > fields.length && nameAt >= 0) {
      const extra = parts.length - fields.length;
      parts = [...parts.slice(0, nameAt), parts.slice(nameAt, nameAt + extra + 1).join(', '), ...parts.slice(nameAt + extra + 1)];
    }
    const row: Row = {};
    fields.forEach((f, i) => (row[f] = parts[i] ?? ''));
    rows.push(row);
  }
  return { rows, lost };
}

/** absent tells whether a value is nvidia-smi's "no such figure" marker (or empty). */
export function absent(v: string | undefined): boolean {
  return v === undefined || v === '' || /^\[?(N\/A|Not Supported)\]?$/i.test(v.trim());
}

/** errorMarker returns the text of an error marker ("[GPU requires reset]" -> "GPU requires reset"), else undefined. */
export function errorMarker(v: string | undefined): string | undefined {
  if (v === undefined || absent(v)) return undefined;
  const m = /^\[(.+)\]$/.exec(v.trim());
  return m ? m[1] : /^(ERR!|Unknown Error)$/i.test(v.trim()) ? v.trim() : undefined;
}

/** numberOf reads "40960", "40960 MiB" or "87 %"; undefined for markers and junk. */
export function numberOf(v: string | undefined): number | undefined {
  if (absent(v) || errorMarker(v)) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*(?:MiB|%|W|C))?$/.exec(v!.trim());
  return m ? Number(m[1]) : undefined;
}

/** busIdOf is a row's PCI bus id, undefined when it reads a marker ("[N/A]", "[GPU requires reset]"). */
export function busIdOf(row: Row): string | undefined {
  const bus = row['pci.bus_id'];
  return bus && !absent(bus) && !errorMarker(bus) ? bus : undefined;
}

/**
 * gpuOfRow makes a GPU of a discovery row and the minor number found for its bus id, or explains in a
 * warning why the row cannot be used; `noMinor` says where the minor number was looked for.
 *
 * ```ts
 * gpuOfRow({ index: '0', uuid: 'GPU-8856...', 'pci.bus_id': '00000000:00:06.0', ... }, 0);   // { index: 0, minor: 0, ... }
 * gpuOfRow(row, undefined, 'not in nvidia-smi -q');   // "GPU 0 at ... has no usable minor number (not in nvidia-smi -q): ..."
 * ```
 */
export function gpuOfRow(row: Row, minor: number | undefined, noMinor = 'none was found for its PCI bus id'): Gpu | string {
  const index = numberOf(row.index);
  const where = busIdOf(row) ? ` at ${busIdOf(row)}` : '';
  if (index === undefined || !Number.isInteger(index)) return `nvidia-smi lists a GPU${where} without an index ("${row.index}"): it is not offered`;
  if (minor === undefined || !Number.isInteger(minor) || minor < 0 || minor > HIGHEST_GPU_MINOR) {
    const why = minor === undefined ? noMinor : `${minor} is not a GPU minor (0-${HIGHEST_GPU_MINOR})`;
    const uuid = absent(row.uuid) || errorMarker(row.uuid) ? '' : ` (${row.uuid})`;
    return `GPU ${index}${where}${uuid} has no usable minor number (${why}): its /dev/nvidia<minor> node is unknown, so it cannot be isolated and is not offered`;
  }
  const problems: string[] = [];
  for (const [field, value] of Object.entries(row)) {
    const err = errorMarker(value);
    if (err) problems.push(`${field} reads "${err}"`);
  }
  if (/^yes$/i.test(row['retired_pages.pending'] ?? '')) problems.push('retired pages are pending (the GPU needs a reset)');
  const ecc = numberOf(row['ecc.errors.uncorrected.volatile.total']);
  if (ecc !== undefined && ecc > 0) problems.push(`${ecc} uncorrectable ECC error(s) since the driver loaded`);
  const text = (f: string): string | undefined => (absent(row[f]) || errorMarker(row[f]) ? undefined : row[f]);
  const memory = numberOf(row['memory.total']);
  return {
    index,
    minor,
    ...(text('uuid') && { uuid: text('uuid') }),
    ...(text('name') && { name: text('name') }),
    ...(memory !== undefined && { memoryMiB: memory }),
    ...(text('pci.bus_id') && { pciBusId: text('pci.bus_id') }),
    health: problems.length ? 'UNHEALTHY' : 'HEALTHY',
    ...(problems.length && { healthReason: problems.join('; ') }),
  };
}

/** sameBus tells whether two PCI bus ids name one device ("00000000:07:00.0" and "0000:07:00.0" do). */
export function sameBus(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const norm = (s: string) => {
    const [domain, bus, rest] = s.toLowerCase().split(':');
    return `${parseInt(domain, 16)}:${parseInt(bus, 16)}:${rest}`;
  };
  return norm(a) === norm(b);
}

/** SmiOptions say how to run nvidia-smi. */
export interface SmiOptions {
  nvidiaSmi: string;
  timeoutMs: number;
}

/** GpuUsage is one GPU's figures at one moment. */
export interface GpuUsage {
  /** Percent of time a kernel ran over the last sample period (0..100). */
  utilization?: number;
  memoryUsedMiB?: number;
  memoryTotalMiB?: number;
}

/** queryUsage asks nvidia-smi for utilisation and memory of every GPU, by UUID; empty when it cannot say. */
export async function queryUsage(opts: SmiOptions): Promise<Map<string, GpuUsage>> {
  const run = await runNvidiaSmi(opts.nvidiaSmi, [`--query-gpu=${USAGE_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], opts.timeoutMs);
  const out = new Map<string, GpuUsage>();
  if (run.error) return out;
  let rows: Row[];
  try {
    rows = parseQueryOutput(run.stdout, USAGE_FIELDS).rows;
  } catch {
    return out;
  }
  for (const row of rows) {
    if (absent(row.uuid) || errorMarker(row.uuid)) continue;
    const u: GpuUsage = {};
    const util = numberOf(row['utilization.gpu']);
    const used = numberOf(row['memory.used']);
    const total = numberOf(row['memory.total']);
    if (util !== undefined) u.utilization = util;
    if (used !== undefined) u.memoryUsedMiB = used;
    if (total !== undefined) u.memoryTotalMiB = total;
    out.set(row.uuid, u);
  }
  return out;
}
