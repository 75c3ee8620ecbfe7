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

  const coreRange = describeVersions(core.abi);
  const coreMajor = Number(core.abi[core.abi.length - 1]?.split('.')[0] ?? '0');
  const moduleMajor = Number(builtAgainst.split('.')[0]);
  const newest = [...core.abi].sort(compareAbi).pop()!;
  const action =
    moduleMajor > coreMajor || compareAbi(builtAgainst, newest) > 0
      ? `upgrade the core to a release that supports ${kind} ABI ${accepts}, or use a ${info.name} release built for ${kind} ABI ${coreMajor}.x`
      : `use a ${info.name} release built for ${kind} ABI ${coreMajor}.x (this build is older than the core supports), or a core release that supports ${kind} ABI ${accepts}`;
  throw new TesseraError(
    'TSR_ABI_NO_OVERLAP',
    `module ${moduleName} (${info.name} ${info.version}) was built for ${kind} ABI ${builtAgainst} and accepts ${accepts}, ` +
      `but this core (${core.version}) supports ${kind} ABI ${coreRange}: ${action}`,
  );
}
