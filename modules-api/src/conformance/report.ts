// The conformance report and its renderings: text for people, JSON for programs (`--json`), and JUnit
// XML for CI systems (`--junit`), which show each check as a test case.
import { ABI_VERSION } from '../version';
import type { CheckResult } from './runner';

/** Report is the outcome of one conformance run. */
export interface Report {
  /** kind is the kind checked, e.g. "isolator". */
  kind: string;
  /** kitAbi is the ABI version of the kit (the @tessera/modules-api it comes with). */
  kitAbi: string;
  /** module is what was started and, once it answered GetInfo, what it said it is. */
  module: {
    command: string;
    args: string[];
    name?: string;
    version?: string;
    negotiatedAbi?: string;
    capabilities?: string[];
  };
  /**
   * kindChecks says whether the kit has checks of this kind's calls ('covered') or ran only the checks
   * every module gets, start, get-info and token ('not-covered'; `ok` then speaks of those alone).
   */
  kindChecks: 'covered' | 'not-covered';
  /** ok is true when no check failed (skips allowed). */
  ok: boolean;
  summary: { passed: number; failed: number; skipped: number; total: number };
  durationMs: number;
  results: CheckResult[];
}

/** buildReport totals the results of a run. */
export function buildReport(
  kind: string,
  module: Report['module'],
  results: CheckResult[],
  durationMs: number,
  kindChecks: Report['kindChecks'] = 'covered',
): Report {
  const count = (s: CheckResult['status']): number => results.filter((r) => r.status === s).length;
  const summary = { passed: count('pass'), failed: count('fail'), skipped: count('skip'), total: results.length };
  return { kind, kitAbi: ABI_VERSION, module, kindChecks, ok: summary.failed === 0, summary, durationMs, results };
}

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/** renderResult is one check as text lines, as the CLI prints it while the suite runs. */
export function renderResult(r: CheckResult): string {
  const lines = [`${MARK[r.status]}  ${r.id}: ${r.title} (${r.durationMs} ms)`];
  // A message of several lines (e.g. one per refused parameter) stays indented under its check.
  if (r.message) lines.push(`      ${r.message.replace(/\n\s*/g, '\n        ')}`);
  if (r.log?.length) lines.push('      module log during this check:', ...r.log.map((l) => `        ${l}`));
  return lines.join('\n');
}

/** renderHeader is the text line before the results. */
export function renderHeader(kind: string, module: Report['module']): string {
  return `tessera-conformance (ABI ${ABI_VERSION}) --kind ${kind}: ${[module.command, ...module.args].join(' ')}`;
}

/** renderSummary is the text line after the results. */
export function renderSummary(report: Report): string {
  const { passed, failed, skipped, total } = report.summary;
  const who = report.module.name ? `${report.module.name} ${report.module.version ?? ''}`.trim() : 'the module';
  const verdict =
    report.kindChecks === 'not-covered'
      ? report.ok
        ? `${who} passes the common checks; its ${report.kind}-specific behaviour is not checked by this kit yet`
        : `${who} does NOT pass the common checks: fix the failed checks above`
      : report.ok
        ? `${who} conforms to the ${report.kind} ABI`
        : `${who} does NOT conform: fix the failed checks above`;
  return `${total} checks: ${passed} passed, ${failed} failed, ${skipped} skipped in ${report.durationMs} ms — ${verdict}`;
}

/** renderText is the whole report as text. */
export function renderText(report: Report): string {
  return [renderHeader(report.kind, report.module), ...report.results.map(renderResult), renderSummary(report)].join('\n') + '\n';
}

/** renderJunit is the report as JUnit XML: one test suite, one test case per check. */
export function renderJunit(report: Report): string {
  const name = report.module.name ?? [report.module.command, ...report.module.args].join(' ');
  const secs = (ms: number): string => (ms / 1000).toFixed(3);
  const cases = report.results.map((r) => {
    const open = `    <testcase classname="tessera-conformance.${attr(report.kind)}" name="${attr(`${r.id}: ${r.title}`)}" time="${secs(r.durationMs)}"`;
    const body: string[] = [];
    if (r.status === 'fail') body.push(`      <failure message="${attr(r.message)}">${xml(r.message)}</failure>`);
    if (r.status === 'skip') body.push(`      <skipped message="${attr(r.message)}"/>`);
    if (r.status === 'pass' && r.message) body.push(`      <system-out>${xml(r.message)}</system-out>`);
    if (r.log?.length) body.push(`      <system-err>${xml(r.log.join('\n'))}</system-err>`);
    return body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`;
  });
  const { total, failed, skipped } = report.summary;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${total}" failures="${failed}" skipped="${skipped}" time="${secs(report.durationMs)}">`,
    `  <testsuite name="${attr(`${report.kind} conformance: ${name}`)}" tests="${total}" failures="${failed}" errors="0" skipped="${skipped}" time="${secs(report.durationMs)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

// attr escapes an attribute value; newlines are kept as character references, which parsers preserve.
function attr(s: string): string {
  return xml(s).replace(/\r/g, '&#13;').replace(/\n/g, '&#10;');
}

// xml escapes text for element content and attribute values; control characters XML 1.0 forbids are dropped.
function xml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
