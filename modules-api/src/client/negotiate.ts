// ABI negotiation: per kind, the highest ABI version inside both the core's supported versions and the
// module's accepted range, never above what the module was built against.
import { satisfies, valid, validRange } from 'semver';
import { TesseraError } from '../errors';
import { compareAbi } from '../internal/codec';
import { isKind, type Kind } from '../kinds';
import type * as T from '../generated/types';

/** Negotiated is the outcome for one kind. */
export interface Negotiated {
  kind: Kind;
  /** version is the ABI version both sides speak, e.g. "1.0.0". */
  version: string;
  builtAgainst: string;
  accepts: string;
  capabilities: string[];
}

/** describeVersions prints a list of ABI versions as a range: "1.0–1.4". */
export function describeVersions(versions: readonly string[]): string {
  const sorted = [...versions].sort(compareAbi).map((v) => v.split('.').slice(0, 2).join('.'));
  return sorted.length <= 1 ? sorted[0] ?? 'none' : `${sorted[0]}–${sorted[sorted.length - 1]}`;
}

/**
 * negotiableVersions lists the ABI versions a build could ever negotiate for one kind: those a core can
 * support (X.Y.0) of the build's own major (a major is its own proto package), at or below what it was
 * built against, inside the range it accepts. Empty means no core can load the build.
 *
 * ```ts
 * negotiableVersions('^1.0.0', '1.1.0'); // ['1.0.0', '1.1.0']
 * negotiableVersions('^1.3.0', '1.1.0'); // []: negotiation never goes above 1.1
 * ```
 */
export function negotiableVersions(accepts: string, builtAgainst: string): string[] {
  const [major, minor] = builtAgainst.split('.').map(Number);
  if (!Number.isInteger(major) || !Number.isInteger(minor) || !validRange(accepts)) return [];
  return Array.from({ length: minor + 1 }, (_, i) => `${major}.${i}.0`).filter((v) => satisfies(v, accepts));
}

/** checkModuleInfo rejects a GetInfo answer the core cannot use, naming what is wrong. */
export function checkModuleInfo(moduleName: string, info: T.ModuleInfo): void {
  const problems: string[] = [];
  if (!info.name) problems.push('no name');
  if (!info.version || !valid(info.version)) problems.push(`version "${info.version ?? ''}" is not semver`);
  if (!info.kinds?.length) problems.push('no kinds');
  for (const k of info.kinds ?? []) {
    if (!k.kind || !isKind(k.kind)) problems.push(`unknown kind "${k.kind ?? ''}"`);
    if (!k.builtAgainst || !valid(k.builtAgainst)) problems.push(`${k.kind}: built_against "${k.builtAgainst ?? ''}" is not semver`);
    if (!k.accepts || !validRange(k.accepts)) problems.push(`${k.kind}: accepts "${k.accepts ?? ''}" is not a semver range`);
  }
  if (info.parametersSchema) {
    try {
      JSON.parse(info.parametersSchema);
    } catch (err) {
      problems.push(`parameters_schema is not JSON (${(err as Error).message})`);
    }
  }
  if (problems.length) {
    throw new TesseraError('TSR_BAD_MODULE_INFO', `module ${moduleName}: GetInfo answered an unusable ModuleInfo: ${problems.join('; ')}`);
  }
}

/**
 * negotiate picks the ABI version for one kind, or throws TSR_ABI_NO_OVERLAP with a message that names
 * the module, the kind, both ranges and what to upgrade.
 */
export function negotiate(
  moduleName: string,
  info: T.ModuleInfo,
  kind: Kind,
  core: { version: string; abi: readonly string[] },
): Negotiated {
  const k = info.kinds?.find((x) => x.kind === kind);
  if (!k) {
    const has = (info.kinds ?? []).map((x) => x.kind).join(', ') || 'none';
    throw new TesseraError(
      'TSR_ABI_KIND_MISSING',
      `module ${moduleName} (${info.name} ${info.version}) is used as ${kind} but implements ${has}: fix the flag that selects it or the modules.json entry`,
    );
  }
  const builtAgainst = k.builtAgainst!;
  const accepts = k.accepts!;
  const candidates = core.abi
    .filter((v) => satisfies(v, accepts) && compareAbi(v, builtAgainst) <= 0)
    .sort(compareAbi);
  const chosen = candidates[candidates.length - 1];
  if (chosen) return { kind, version: chosen, builtAgainst, accepts, capabilities: k.capabilities ?? [] };

  throw new TesseraError(
    'TSR_ABI_NO_OVERLAP',
    `module ${moduleName} (${info.name} ${info.version}) was built for ${kind} ABI ${builtAgainst} and accepts ${accepts}, ` +
      `but this core (${core.version}) supports ${kind} ABI ${describeVersions(core.abi)}: ${noOverlapAdvice(info.name ?? moduleName, kind, builtAgainst, accepts, core.abi)}`,
  );
}

// noOverlapAdvice says exactly which versions would work: the ABI versions this build can speak, a core
// that supports the lowest of them (a core supports every minor of its major up to its own, so that one
// is enough), or a module release built for what this core supports.
function noOverlapAdvice(name: string, kind: Kind, builtAgainst: string, accepts: string, coreAbi: readonly string[]): string {
  const wanted = negotiableVersions(accepts, builtAgainst);
  const moduleSide = `a release of ${name} built for ${kind} ABI ${describeVersions(coreAbi)}`;
  if (!wanted.length) {
    return (
      `this build accepts no ${kind} ABI version at or below the ${builtAgainst} it was built against, so no core can load it ` +
      `(negotiation never goes above built_against): use ${moduleSide}, whose accepted range includes the version it was built against`
    );
  }
  const [major, minor] = wanted[0].split('.');
  const coreSide = `a core release that supports ${kind} ABI ${major}.${minor}`;
  const sorted = [...coreAbi].sort(compareAbi);
  if (compareAbi(wanted[0], sorted[sorted.length - 1]) > 0) {
    return `upgrade to ${coreSide}, or use ${moduleSide} (this build needs ${kind} ABI ${major}.${minor} or a later ${major}.x)`;
  }
  if (compareAbi(wanted[wanted.length - 1], sorted[0]) < 0) {
    return `use ${moduleSide} (this build speaks ${kind} ABI ${describeVersions(wanted)} only, older than this core supports), or ${coreSide}`;
  }
  return `use ${moduleSide}, or ${coreSide}`;
}
