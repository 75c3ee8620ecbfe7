/**
 * Discovery: the GPUs nvidia-smi lists, with their health, each given the minor number of its
 * /dev/nvidia<minor> node from the driver's proc files or `nvidia-smi -q` (minor-numbers.ts). A GPU
 * without a minor number cannot be isolated: a warning names it and it is not offered.
 *
 * ```ts
 * const found = await discover({ nvidiaSmi: 'nvidia-smi', timeoutMs: 10_000, procDriverNvidia: '/proc/driver/nvidia' });
 * if (found.kind === 'no-driver') log.info(`no NVIDIA driver: ${found.reason}`);
 * else for (const g of found.gpus) console.log(g.index, g.minor, g.uuid, g.health);
 * ```
 */
import { gpuError } from '../errors';
import type { Gpu } from './gpu';
import { isBusId, minorOf, parseSmiQuery, readDriverMinors, type MinorEntry } from './minor-numbers';
import { BASIC_FIELDS, busIdOf, DISCOVERY_FIELDS, gpuOfRow, readRun, runNvidiaSmi, type LostGpu, type SmiAnswer, type SmiOptions } from './nvidia-smi';

/** Discovery is what discovery found: GPUs (with their minor numbers), or why there is no driver to ask. */
export type Discovery =
  | { kind: 'gpus'; gpus: Gpu[]; lost: LostGpu[]; warnings: string[] }
  | { kind: 'no-driver'; reason: string };

/** DiscoverOptions say how to run nvidia-smi and where the driver's proc files are. */
export interface DiscoverOptions extends SmiOptions {
  /** The driver's proc directory (`/proc/driver/nvidia`), holding gpus/<bus id>/information. */
  procDriverNvidia: string;
  /**
   * Minor numbers to use instead of searching: health polls pass the managed GPUs' (that set never
   * changes after Configure), so a poll reads no proc file and runs no `nvidia-smi -q`. A GPU not among
   * them is left out with a warning.
   */
  knownMinors?: readonly MinorEntry[];
}

/** MinorNumbers are the minor numbers found for bus ids, and where the search failed (for the warning of a GPU without one). */
export interface MinorNumbers {
  entries: MinorEntry[];
  /** Where each source was looked at and what it lacked, e.g. "not in /proc/driver/nvidia/gpus/*\/information". */
  searched: string[];
}

/**
 * discover asks nvidia-smi for the GPUs and their health (again with {@link BASIC_FIELDS} if it refuses
 * a health field), then finds their minor numbers ({@link findMinors}).
 */
export async function discover(opts: DiscoverOptions): Promise<Discovery> {
  const ask = async (fields: readonly string[]) => readRun(await runNvidiaSmi(opts.nvidiaSmi, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], opts.timeoutMs), opts.nvidiaSmi, fields);
  const warnings: string[] = [];
  let answer = await ask(DISCOVERY_FIELDS);
  if (answer.kind === 'refused') {
    const full = answer.line;
    answer = await ask(BASIC_FIELDS);
    if (answer.kind === 'refused') {
      throw gpuError(
        'GPU_DISCOVERY_FAILED',
        `${opts.nvidiaSmi} refuses even the basic query fields ${BASIC_FIELDS.join(',')} ("${answer.line}"): it is not an nvidia-smi this module can read; see the fields it knows with "${opts.nvidiaSmi} --help-query-gpu", and fix the nvidia_smi parameter or update the NVIDIA driver`,
      );
    }
    if (answer.kind === 'rows') warnings.push(`${opts.nvidiaSmi} does not know retired_pages.pending or ecc.errors.uncorrected.volatile.total ("${full}": an old driver): health is only what its error markers say`);
  }
  if (answer.kind === 'no-driver') return answer;
  const minors = await findMinors(answer.rows.map(busIdOf), opts);
  const found = gpusOfAnswer(answer, minors);
  return { ...found, warnings: [...found.warnings, ...warnings] };
}

/**
 * findMinors finds the minor numbers of the GPUs at `busIds`: the driver's proc files, then — only when
 * some GPU is still missing — one run of `nvidia-smi -q` (or only `knownMinors`, when given).
 */
export async function findMinors(busIds: readonly (string | undefined)[], opts: DiscoverOptions): Promise<MinorNumbers> {
  if (opts.knownMinors) return { entries: [...opts.knownMinors], searched: ['not one of the GPUs this module manages'] };
  const entries: MinorEntry[] = [];
  const searched: string[] = [];
  const missing = () => busIds.filter((b) => isBusId(b) && minorOf(entries, b) === undefined);
  if (missing().length === 0) return { entries, searched };
  const proc = readDriverMinors(opts.procDriverNvidia);
  entries.push(...proc.entries);
  searched.push(proc.problem ?? `not in ${opts.procDriverNvidia}/gpus/*/information`);
  if (missing().length === 0) return { entries, searched };
  const q = await runNvidiaSmi(opts.nvidiaSmi, ['-q'], opts.timeoutMs);
  const fromQ = parseSmiQuery(q.stdout);
  entries.push(...fromQ);
  if (q.error) searched.push(`${opts.nvidiaSmi} -q did not run: ${q.error.killed ? 'timed out' : `${q.error.code ?? ''} ${q.error.message}`.trim()}`);
  else if (fromQ.length === 0 && q.code !== 0) searched.push(`${opts.nvidiaSmi} -q exited with status ${q.code}: "${firstLine(`${q.stdout}\n${q.stderr}`)}"`);
  else searched.push(`not in ${opts.nvidiaSmi} -q`);
  return { entries, searched };
}

/**
 * gpusOfAnswer makes the GPUs of a query's rows with the minor numbers found for their bus ids; a row
 * without a minor, or with one another GPU already has, becomes a warning and is not offered.
 */
export function gpusOfAnswer(answer: Extract<SmiAnswer, { kind: 'rows' }>, minors: MinorNumbers): Extract<Discovery, { kind: 'gpus' }> {
  const gpus: Gpu[] = [];
  const warnings: string[] = [];
  const noMinor = minors.searched.length ? minors.searched.join('; ') : 'none was found for its PCI bus id';
  for (const row of answer.rows) {
    const bus = busIdOf(row);
    const g = gpuOfRow(row, minorOf(minors.entries, bus), bus ? noMinor : 'nvidia-smi gives no PCI bus id to find it by');
    if (typeof g === 'string') warnings.push(g);
    else {
      const twin = gpus.find((x) => x.minor === g.minor);
      if (twin) warnings.push(`GPU ${g.index}${bus ? ` at ${bus}` : ''} has minor number ${g.minor}, as GPU ${twin.index} has: one of them is misreported, so GPU ${g.index} is not offered`);
      else gpus.push(g);
    }
  }
  return { kind: 'gpus', gpus, lost: answer.lost, warnings };
}

const firstLine = (text: string): string => text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
