// The isolator conformance suite against real module processes: a correct isolator (with some and with
// all optional calls), a sloppy one, one that gets every optional call wrong, and one that never starts.
import fs from 'node:fs';
import { ABI_VERSION } from '../version';
import os from 'node:os';
import path from 'node:path';
import { runConformance, type Report } from './index';
import { bundleFixture } from './fixtures/bundle';

let dir: string;
let good: string;
let sloppy: string;
let broken: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-conformance-test-'));
  good = bundleFixture('good-isolator', dir);
  sloppy = bundleFixture('sloppy-isolator', dir);
  broken = bundleFixture('broken-isolator', dir);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (file: string, ...args: string[]) => ({ command: process.execPath, args: [file, ...args] });
const ids = (report: Report, status: 'pass' | 'fail' | 'skip'): string[] => report.results.filter((r) => r.status === status).map((r) => r.id);
const result = (report: Report, id: string) => {
  const r = report.results.find((x) => x.id === id);
  if (!r) throw new Error(`no result "${id}" in ${report.results.map((x) => x.id).join(', ')}`);
  return r;
};
const pidIn = (text: string, pattern: RegExp): number => {
  const m = pattern.exec(text);
  if (!m) throw new Error(`no pid matching ${pattern} in "${text}"`);
  return Number(m[1]);
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('isolator conformance', () => {
  it('passes a correct isolator and skips exactly the checks of the capabilities it lacks', async () => {
    const seen: string[] = [];
    const report = await runConformance({ kind: 'isolator', module: node(good), onResult: (r) => seen.push(r.id) });

    expect(ids(report, 'fail')).toEqual([]);
    expect(ids(report, 'skip')).toEqual(['update', 'watch', 'recover', 'watch-resources']);
    for (const id of ids(report, 'skip')) expect(result(report, id).message).toMatch(/^capability "(update|watch|recover|provides_resources)" not advertised$/);
    expect(report.ok).toBe(true);
    expect(report.summary).toEqual({ passed: 10, failed: 0, skipped: 4, total: 14 });
    expect(report.module).toMatchObject({ name: 'good-isolator', version: '1.0.0', negotiatedAbi: ABI_VERSION, capabilities: ['isolate', 'usage', 'status'] });
    expect(seen).toEqual(report.results.map((r) => r.id));

    expect(result(report, 'lifecycle').message).toMatch(/^prepare → isolate \(pid \d+\) → cleanup; prepare returned launch changes: environment$/);
    expect(result(report, 'prepare-twice').message).toMatch(/refused with GOOD_ALREADY_PREPARED/);
    expect(result(report, 'errors-coded').message).toMatch(/^refused with TSR_INVALID_ARGUMENT: /);
    expect(result(report, 'usage').message).toBe('figures: cpusLimit, memLimitBytes, processes');

    // The module is stopped and the process handed to isolate is killed once the run is over.
    expect(alive(pidIn(result(report, 'start').message, /^pid (\d+)/))).toBe(false);
    expect(alive(pidIn(result(report, 'lifecycle').message, /isolate \(pid (\d+)\)/))).toBe(false);
  });

  it('runs and passes every optional check of an isolator that implements them all', async () => {
    const report = await runConformance({ kind: 'isolator', module: node(good, '--all') });

    expect(ids(report, 'fail')).toEqual([]);
    expect(ids(report, 'skip')).toEqual([]);
    expect(report.summary.passed).toBe(14);
    expect(result(report, 'watch').message).toBe('no limitation within 500 ms; the stream ended when cancelled');
    expect(result(report, 'watch').durationMs).toBeGreaterThanOrEqual(500);
    expect(result(report, 'watch-resources').message).toBe('first list: good-slots:4; 0 device(s)');
  });

  it('fails a sloppy isolator on cleanup of an unknown container and on uncoded errors, saying what to fix', async () => {
    const report = await runConformance({ kind: 'isolator', module: node(sloppy) });

    // cleanup-idempotent fails for the same mistake: its second cleanup is of a container it forgot.
    expect(ids(report, 'fail')).toEqual(['cleanup-unknown', 'cleanup-idempotent', 'errors-coded']);
    expect(report.ok).toBe(false);
    const cleanup = result(report, 'cleanup-unknown').message;
    expect(cleanup).toMatch(/^cleanup of container conformance-never-prepared-\w+, which was never prepared, failed with TSR_HANDLER_FAILED: /);
    expect(cleanup).toContain('Return without error when the container is unknown.');
    expect(result(report, 'cleanup-idempotent').message).toContain('cleanup must succeed when the container is already gone');
    expect(result(report, 'errors-coded').message).toBe(
      'prepare without container_id must be refused with a coded error, but it succeeded: ' +
        "validate the request and throw new TesseraError('TSR_INVALID_ARGUMENT', 'prepare: container_id is required')",
    );
    expect(result(report, 'prepare-twice').message).toBe('the second prepare succeeded (idempotent)');
    expect(result(report, 'lifecycle').message).toContain('isolate not called: capability "isolate" not advertised');
  });

  it('fails each optional call an isolator gets wrong, and blames an exit on the check it happened in', async () => {
    const report = await runConformance({ kind: 'isolator', module: node(broken), timeoutMs: 1500 });

    expect(Object.fromEntries(report.results.map((r) => [r.id, r.status]))).toEqual({
      start: 'pass',
      'get-info': 'pass',
      'cleanup-unknown': 'pass',
      lifecycle: 'fail',
      'cleanup-idempotent': 'pass',
      'prepare-twice': 'fail',
      'errors-coded': 'fail',
      usage: 'fail',
      status: 'fail',
      update: 'fail',
      watch: 'fail',
      recover: 'fail',
      'watch-resources': 'fail',
      token: 'skip',
    });
    expect(result(report, 'lifecycle').message).toMatch(/its process \d+ is gone: isolate must place the process, not end it/);
    expect(result(report, 'prepare-twice').message).toMatch(
      /^a second prepare of container \S+, already prepared, failed with TSR_HANDLER_FAILED: .*Refuse it with a coded TesseraError .* or treat it as idempotent\.$/,
    );
    expect(result(report, 'errors-coded').message).toMatch(
      /^prepare without container_id must be refused with a coded error, but it failed with TSR_HANDLER_FAILED: .*Cannot read properties of undefined.*: validate the request and throw new TesseraError\('TSR_INVALID_ARGUMENT'/,
    );
    expect(result(report, 'usage').message).toMatch(/answered impossible figures: cpusUserTimeSecs=-1/);
    expect(result(report, 'status').message).toMatch(/answered the status of container someone-else/);
    expect(result(report, 'update').message).toMatch(/failed with TSR_HANDLER_FAILED: .*update exploded \(the handler threw an error without a code/);
    expect(result(report, 'watch').message).toMatch(/^watch fired within 500 ms for an idle container .*always over the limit/);
    expect(result(report, 'recover').message).toMatch(/failed with TSR_CALL_TIMEOUT: .*no answer within 1500 ms/);
    const exit = result(report, 'watch-resources');
    expect(exit.message).toMatch(/the module exited \(code 3\) during this check; .*broken-isolator: giving up/);
    expect(exit.log).toContain('stderr: broken-isolator: giving up');
    expect(result(report, 'token').message).toBe('not run: the module exited during check "watch-resources"');
  });

  it('reports a module that does not start as a failed start, and runs nothing else', async () => {
    const garbage = path.join(dir, 'garbage.js');
    fs.writeFileSync(garbage, "console.log('hello from a module'); setTimeout(() => {}, 60000);\n");
    const report = await runConformance({ kind: 'isolator', module: node(garbage), timeoutMs: 3000 });

    expect(report.ok).toBe(false);
    expect(result(report, 'start').status).toBe('fail');
    expect(result(report, 'start').message).toMatch(/^TSR_HANDSHAKE_GARBAGE: .*hello from a module/);
    expect(report.results.slice(1).map((r) => [r.status, r.message])).toEqual(
      report.results.slice(1).map(() => ['skip', 'not run: the module did not start']),
    );
    expect(report.module).toEqual({ command: process.execPath, args: [garbage] });
  });

});
