/**
 * The agent's resources and attributes: parsed from `--resources` / `--attributes` (Mesos's text form or
 * a JSON array), detected where not given (as Mesos's agent does), and merged with what isolator
 * modules provide through WatchResources.
 *
 * ```ts
 * const given = parseResources('cpus:4;mem(ops):1024;ports:[31000-32000]');
 * const total = mergeResources(given, detectResources({ workDir: '/var/lib/tessera' }), moduleResources);
 * log.info(`resources: ${formatResources(total)}`);
 * ```
 *
 * Errors name the flag (TSR_FLAG_INVALID): the operator fixes the text the message quotes.
 */
import fs from 'node:fs';
import os from 'node:os';
import { TesseraError } from '../errors';
import type { Attribute, Range, Resource } from '../master/model/mesos';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** DEFAULT_PORTS is the port range an agent offers when --resources names none (Mesos: [31000-32000]). */
export const DEFAULT_PORTS: Range = { begin: 31000, end: 32000 };

/** bad names where the text came from: `flag --resources`, or the environment variable that gave it. */
function bad(source: string, what: string): TesseraError {
  return new TesseraError('TSR_FLAG_INVALID', `${source}: ${what}`);
}

function parseRanges(flag: string, part: string, value: string): Range[] {
  return value
    .replace(/^\[|\]$/g, '')
    .split(',')
    .filter((r) => r.trim() !== '')
    .map((r) => {
      const [begin, end = begin] = r.split('-').map((x) => Number(x.trim()));
      if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin) {
        throw bad(flag, `"${part}": bad range "${r.trim()}" (write [31000-32000] or [80-80,443-443])`);
      }
      return { begin, end };
    });
}

function parseSet(value: string): string[] {
  return value
    .replace(/^\{|\}$/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * parseResources reads `--resources`: Mesos's text `name[(role)]:value;...` where a value is a number
 * (scalar), `[a-b,c-d]` (ranges) or `{x,y}` (set); or a JSON array of mesos.v1.Resource objects.
 * Throws TSR_FLAG_INVALID naming the part that is wrong.
 */
export function parseResources(text: string, flag = 'flag --resources'): Resource[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return parseJsonResources(trimmed, flag);
  return trimmed
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const m = /^([^:()]+)(?:\(([^)]*)\))?:(.+)$/.exec(part);
      if (!m) throw bad(flag, `"${part}" is not name:value (e.g. cpus:4, mem(ops):1024, ports:[31000-32000] or zones:{a,b})`);
      const name = m[1].trim();
      const role = m[2]?.trim();
      const value = m[3].trim();
      const base: Resource = { name, type: 'SCALAR' };
      if (role && role !== '*') base.reservations = [{ type: 'STATIC', role }];
      if (value.startsWith('[')) return { ...base, type: 'RANGES', ranges: { range: parseRanges(flag, part, value) } };
      if (value.startsWith('{')) return { ...base, type: 'SET', set: { item: parseSet(value) } };
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw bad(flag, `"${part}": "${value}" is not a number >= 0, [ranges] or {set}`);
      return { ...base, scalar: { value: n } };
    });
}

function parseJsonResources(text: string, flag: string): Resource[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad(flag, `not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw bad(flag, 'JSON form must be an array of resources');
  return parsed.map((r: Record<string, unknown>, i) => {
    if (typeof r?.name !== 'string' || r.name === '') throw bad(flag, `JSON resource ${i} has no "name"`);
    const type = (r.type ?? (r.ranges ? 'RANGES' : r.set ? 'SET' : 'SCALAR')) as Resource['type'];
    if (!['SCALAR', 'RANGES', 'SET'].includes(type)) throw bad(flag, `JSON resource ${i} (${r.name}): type must be SCALAR, RANGES or SET`);
    const out: Resource = { name: r.name, type };
    if (type === 'SCALAR') {
      const v = (r.scalar as { value?: unknown } | undefined)?.value;
      if (typeof v !== 'number' || !(v >= 0)) throw bad(flag, `JSON resource ${i} (${r.name}): scalar.value must be a number >= 0`);
      out.scalar = { value: v };
    } else if (type === 'RANGES') {
      const given = (r.ranges as { range?: unknown } | undefined)?.range ?? [];
      const ok = Array.isArray(given) && given.every((x) => x !== null && typeof x === 'object' && Number.isInteger((x as Range).begin) && Number.isInteger((x as Range).end) && (x as Range).end >= (x as Range).begin);
      if (!ok) throw bad(flag, `JSON resource ${i} (${r.name}): ranges.range must be a list of {"begin": N, "end": M} with whole numbers, begin <= end`);
      out.ranges = { range: (given as Range[]).map((x) => ({ begin: x.begin, end: x.end })) };
    } else {
      const items = (r.set as { item?: unknown } | undefined)?.item ?? [];
      if (!Array.isArray(items) || !items.every((x) => typeof x === 'string')) throw bad(flag, `JSON resource ${i} (${r.name}): set.item must be a list of strings`);
      out.set = { item: [...items] };
    }
    const role = typeof r.role === 'string' ? r.role : undefined;
    if (r.reservations !== undefined && !(Array.isArray(r.reservations) && r.reservations.every((x) => x !== null && typeof x === 'object' && typeof (x as { role?: unknown }).role === 'string'))) {
      throw bad(flag, `JSON resource ${i} (${r.name}): reservations must be a list of objects with a "role"`);
    }
    if (Array.isArray(r.reservations) && r.reservations.length) out.reservations = r.reservations as Resource['reservations'];
    else if (role && role !== '*') out.reservations = [{ type: 'STATIC', role }];
    return out;
  });
}

/**
 * parseAttributes reads `--attributes`: `name:value;...`, where a value is a number (SCALAR),
 * `[a-b]` (RANGES), `{x,y}` (SET) or anything else (TEXT), as Mesos's agent reads them.
 */
export function parseAttributes(text: string, source = 'flag --attributes'): Attribute[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const colon = part.indexOf(':');
      if (colon <= 0) throw bad(source, `"${part}" is not name:value (e.g. rack:r1;zone:z2)`);
      const name = part.slice(0, colon).trim();
      const value = part.slice(colon + 1).trim();
      if (value.startsWith('[')) return { name, type: 'RANGES', ranges: { range: parseRanges('attributes', part, value) } };
      if (value.startsWith('{')) return { name, type: 'SET', set: { item: parseSet(value) } };
      if (value !== '' && Number.isFinite(Number(value))) return { name, type: 'SCALAR', scalar: { value: Number(value) } };
      return { name, type: 'TEXT', text: { value } };
    });
}

/** DetectOptions say where to look when detecting resources. */
export interface DetectOptions {
  /** workDir: disk is the free space of the file system holding it. */
  workDir: string;
}

/**
 * detectResources finds this machine's resources as Mesos's agent does: cpus = the CPUs the OS shows;
 * mem = total minus a reserve of min(1 GiB, half); disk = free space of the work_dir's file system minus
 * min(5 GiB, half); ports = [31000-32000]. Values in MiB.
 */
export function detectResources(opts: DetectOptions): Resource[] {
  const cpus = os.cpus().length || 1;
  const total = os.totalmem();
  const mem = Math.floor((total - Math.min(GiB, total / 2)) / MiB);
  let disk = 0;
  try {
    const st = fs.statfsSync(opts.workDir);
    const free = st.bavail * st.bsize;
    disk = Math.floor((free - Math.min(5 * GiB, free / 2)) / MiB);
  } catch {
    disk = 0; // work_dir not there yet or statfs unsupported: offer no disk rather than guess
  }
  return [
    { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
    { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
    { name: 'disk', type: 'SCALAR', scalar: { value: Math.max(0, disk) } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ ...DEFAULT_PORTS }] } },
  ];
}

/**
 * mergeResources makes the agent's total: every resource named in `given` (--resources) as given; each
 * detected resource whose name `given` does not mention; then what modules provide, except names the
 * operator gave (the flag wins, as Mesos's --resources overrides isolator detection).
 */
export function mergeResources(given: readonly Resource[], detected: readonly Resource[], provided: readonly Resource[] = []): Resource[] {
  const named = new Set(given.map((r) => r.name));
  const out = [...given, ...detected.filter((r) => !named.has(r.name))];
  for (const r of provided) if (!named.has(r.name)) out.push(r);
  return out;
}

/** formatResources writes resources in Mesos's text form, for logs and messages. */
export function formatResources(resources: readonly Resource[]): string {
  return resources
    .map((r) => {
      const role = r.reservations?.length ? `(${r.reservations[r.reservations.length - 1].role})` : '';
      const value =
        r.type === 'SCALAR'
          ? String(r.scalar?.value ?? 0)
          : r.type === 'RANGES'
            ? `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(',')}]`
            : `{${(r.set?.item ?? []).join(',')}}`;
      return `${r.name}${role}:${value}`;
    })
    .join(';');
}

/** scalarOf sums a scalar resource over roles (e.g. every cpus). */
export function scalarOf(resources: readonly Resource[], name: string): number {
  let sum = 0;
  for (const r of resources) if (r.name === name && r.type === 'SCALAR') sum += r.scalar?.value ?? 0;
  return sum;
}
