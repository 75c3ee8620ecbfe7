// The checks every kind gets (start, get-info, token), run alone for a kind without kind-specific checks,
// and the kit checking --parameters against the module's schema exactly as the core does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runConformance, type Report } from './index';
import { renderSummary } from './report';
import { tokenProbeRpc } from './common-suite';
import { bundleFixture } from './fixtures/bundle';

let dir: string;
let hook: string;
let isolator: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-conformance-common-'));
  hook = bundleFixture('good-hook', dir);
  isolator = bundleFixture('good-isolator', dir);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (file: string, ...args: string[]) => ({ command: process.execPath, args: [file, ...args] });
const statuses = (report: Report) => Object.fromEntries(report.results.map((r) => [r.id, r.status]));
const message = (report: Report, id: string): string => report.results.find((r) => r.id === id)?.message ?? `(no result "${id}")`;

describe('common checks for a kind without kind-specific checks', () => {
  it('runs start, get-info and token for a hook, and says the hook checks are not covered', async () => {
    const report = await runConformance({ kind: 'hook', module: node(hook) });

    expect(statuses(report)).toEqual({ start: 'pass', 'get-info': 'pass', token: 'pass', 'kind-checks': 'skip' });
    expect(report).toMatchObject({ kind: 'hook', kindChecks: 'not-covered', ok: true, summary: { passed: 3, failed: 0, skipped: 1, total: 4 } });
    expect(message(report, 'start')).toMatch(/hook ABI \S+ negotiated .*capabilities: master_launch_task_label_decorator/);
    expect(message(report, 'kind-checks')).toMatch(/^not covered: this kit \(covered: isolator, allocator\) has no hook-specific checks yet, so only start, get-info and token ran/);
    expect(renderSummary(report)).toMatch(/good-hook 1\.0\.0 passes the common checks; its hook-specific behaviour is not checked by this kit yet$/);
  });

  it('fails the start of a module used as a kind it does not implement', async () => {
    const report = await runConformance({ kind: 'detector', module: node(isolator) });

    expect(report.ok).toBe(false);
    expect(message(report, 'start')).toMatch(/^TSR_ABI_KIND_MISSING: .*is used as detector but implements isolator/);
    expect(statuses(report)).toEqual({ start: 'fail', 'get-info': 'skip', token: 'skip', 'kind-checks': 'skip' });
    expect(renderSummary(report)).toMatch(/does NOT pass the common checks/);
  });

  it('makes the wrong-token call a kind call the module serves that changes nothing', () => {
    expect(tokenProbeRpc('hook', ['agent_post_fetch_hook', 'master_launch_task_label_decorator'])).toBe('MasterLaunchTaskLabelDecorator');
    expect(tokenProbeRpc('containerizer', [])).toBe('Containers');
    expect(tokenProbeRpc('contender', ['withdraw'])).toBe('Withdraw');
    expect(tokenProbeRpc('contender', [])).toBeUndefined();
    expect(tokenProbeRpc('detector', [])).toBeUndefined();
  });

  it('refuses a kind that is not one of the ABI', async () => {
    await expect(runConformance({ kind: 'gpu', module: node(hook) })).rejects.toThrow(/^unknown kind "gpu": the kinds of ABI v1 are isolator, /);
  });
});

describe('parameters, checked as the core checks them', () => {
  it('fills in the schema defaults before Configure', async () => {
    // good-hook's Configure refuses a missing "label", whose schema default is "decorated".
    const report = await runConformance({ kind: 'hook', module: node(hook), parameters: { limit: 2 } });
    expect(statuses(report).start).toBe('pass');
  });

  it('fails the start naming each parameter and what is wrong with it', async () => {
    const report = await runConformance({ kind: 'hook', module: node(hook), parameters: { limit: 0, lable: 'x' } });

    expect(statuses(report)).toEqual({ start: 'fail', 'get-info': 'skip', token: 'skip', 'kind-checks': 'skip' });
    const start = message(report, 'start');
    expect(start).toContain("TSR_PARAMETERS_INVALID: module good-hook 1.0.0 refuses its parameters (checked against the module's own schema):");
    expect(start).toContain('--parameters/limit (parameter "limit"): must be >= 1');
    expect(start).toContain('--parameters/lable (parameter "lable"): unknown parameter "lable"');
    expect(start).toContain('The kit checks what --parameters or --parameters-file give');
  });

  it('fails the start of a module whose schema does not compile', async () => {
    const report = await runConformance({ kind: 'hook', module: node(hook, '--broken-schema') });

    expect(statuses(report).start).toBe('fail');
    expect(message(report, 'start')).toMatch(/^TSR_BAD_MODULE_INFO: module good-hook 1\.0\.0 declares a parameters schema that does not compile: schema is invalid: .*; fix the schema/);
  });
});
