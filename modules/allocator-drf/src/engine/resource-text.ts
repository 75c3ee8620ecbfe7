/**
 * Mesos's resource text format, as accepted by the agent's `--resources` flag:
 * `cpus:24;mem:4096;disk:4096;ports:[31000-32000];gpus(ml):2;zones:{a,b}`.
 *
 * A role in parentheses is a static reservation for that role (`*` or none means unreserved).
 * Operators and tests write resources this way; the engine itself works on proto messages.
 */
import type { Resource } from './types';
import { ResourceError } from './values';

const ENTRY = /^([A-Za-z0-9_.\-/]+)(?:\(([^)]*)\))?:(.+)$/;

function parseValue(name: string, text: string): Pick<Resource, 'type' | 'scalar' | 'ranges' | 'set'> {
  const t = text.trim();
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new ResourceError(`unterminated ranges for '${name}': ${t}`);
    const body = t.slice(1, -1).trim();
    const range = body === ''
      ? []
      : body.split(',').map((part) => {
          const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
          if (!m) throw new ResourceError(`bad range '${part.trim()}' for '${name}'`);
          return { begin: Number(m[1]), end: Number(m[2]) };
        });
    return { type: 'RANGES', ranges: { range } };
  }
  if (t.startsWith('{')) {
    if (!t.endsWith('}')) throw new ResourceError(`unterminated set for '${name}': ${t}`);
    const body = t.slice(1, -1).trim();
    return { type: 'SET', set: { item: body === '' ? [] : body.split(',').map((s) => s.trim()) } };
  }
  const value = Number(t);
  if (t === '' || !Number.isFinite(value)) throw new ResourceError(`bad scalar '${t}' for '${name}'`);
  return { type: 'SCALAR', scalar: { value } };
}

/**
 * Parses Mesos resource text into proto resources. Entries are separated by `;`; each is
 * `name[(role)]:value` where value is a number, `[b-e, ...]` ranges or `{a, b}` a set.
 * Throws ResourceError on malformed text.
 */
export function parseResources(text: string): Resource[] {
  const out: Resource[] = [];
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = ENTRY.exec(part);
    if (!m) throw new ResourceError(`bad resource '${part}': expected name[(role)]:value`);
    const [, name, role, value] = m;
    const r: Resource = { name, ...parseValue(name, value) };
    const reservationRole = (role ?? '').trim();
    if (reservationRole !== '' && reservationRole !== '*') r.reservations = [{ type: 'STATIC', role: reservationRole }];
    out.push(r);
  }
  return out;
}
