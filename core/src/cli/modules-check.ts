/**
 * `tessera modules check <modules.json>`: validates the file, starts, negotiates and stops every module,
 * and prints one row per module and kind. Exit 0 only if every module is usable.
 */
import { TesseraError, describeVersions } from '@tessera/modules-api';
import { CORE_ABI, CORE_VERSION } from '../version';
import type { Log } from '../log';
import { loadModulesJson, type ModulesConfig } from '../modules/modules-json';
import { ModuleHost } from '../modules/module-host';

/** CheckRow is one line of the table. */
export interface CheckRow {
  module: string;
  kind: string;
  version: string;
  builtAgainst: string;
  negotiated: string;
  capabilities: string;
  status: string;
}

/** checkModules runs the check and returns the rows and the errors, per module. */
export async function checkModules(config: ModulesConfig, log: Log): Promise<{ rows: CheckRow[]; errors: string[] }> {
  const rows: CheckRow[] = [];
  const errors: string[] = [];
  const host = new ModuleHost({ config, log, healthIntervalMs: 60_000, logLevel: log.level });
  // One module at a time through its own supervisor, so one bad module does not hide the others.
  await Promise.all(
    config.modules.map(async (entry) => {
      try {
        const m = host.create({ name: entry.name });
        await m.start();
        try {
          for (const [kind, n] of m.negotiated) {
            rows.push({
              module: entry.name,
              kind,
              version: m.info?.version ?? '?',
              builtAgainst: n.builtAgainst,
              negotiated: n.version,
              capabilities: n.capabilities.join(',') || '-',
              status: 'ok',
            });
          }
          for (const w of m.warnings) errors.push(`${entry.name}: warning: ${w}`);
        } finally {
          await m.stop();
        }
      } catch (err) {
        const e = TesseraError.wrap(err);
        rows.push({ module: entry.name, kind: '-', version: '-', builtAgainst: '-', negotiated: '-', capabilities: '-', status: `FAILED ${e.code}` });
        errors.push(`${entry.name}: ${e.code}: ${e.message}`);
      }
    }),
  );
  await host.stop();
  const order = config.modules.map((m) => m.name);
  rows.sort((a, b) => order.indexOf(a.module) - order.indexOf(b.module) || a.kind.localeCompare(b.kind));
  return { rows, errors };
}

/** renderTable prints rows as an aligned table. */
export function renderTable(rows: CheckRow[]): string {
  const header: CheckRow = {
    module: 'MODULE',
    kind: 'KIND',
    version: 'VERSION',
    builtAgainst: 'BUILT AGAINST',
    negotiated: 'NEGOTIATED',
    capabilities: 'CAPABILITIES',
    status: 'STATUS',
  };
  const keys = Object.keys(header) as (keyof CheckRow)[];
  const all = [header, ...rows];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  return all.map((r) => keys.map((k, i) => r[k].padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

/** modulesCheck is the CLI command; it returns the exit status. */
export async function modulesCheck(args: string[], out: (s: string) => void, log: Log): Promise<number> {
  const json = args.includes('--json');
  const files = args.filter((a) => !a.startsWith('--'));
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--json');
  if (files.length !== 1 || unknown.length) {
    out(`${unknown.length ? `error TSR_FLAG_INVALID: unknown option ${unknown[0]}\n` : ''}usage: tessera modules check <modules.json> [--json]\n`);
    return 2;
  }
  let config: ModulesConfig;
  try {
    config = loadModulesJson(files[0]);
  } catch (err) {
    const e = TesseraError.wrap(err);
    out(`error ${e.code}: ${e.message}\n`);
    return 1;
  }
  // With --json, stdout is one JSON document: the notes are in it.
  if (!json) for (const note of config.notes) out(`note: ${note}\n`);
  const { rows, errors } = await checkModules(config, log);
  if (json) {
    out(JSON.stringify({ core: CORE_VERSION, rows, errors, notes: config.notes }, null, 2) + '\n');
  } else {
    const abi = describeVersions(CORE_ABI.abi.isolator);
    out(`tessera ${CORE_VERSION} (module ABI ${abi}) — ${config.source}\n`);
    out(renderTable(rows));
    for (const e of errors) out(`\n${e}\n`);
  }
  const ok = rows.length > 0 && rows.every((r) => r.status === 'ok');
  if (!json) out(ok ? `\nall ${config.modules.length} module(s) usable\n` : `\n${rows.filter((r) => r.status !== 'ok').length} module(s) not usable\n`);
  return ok ? 0 : 1;
}
