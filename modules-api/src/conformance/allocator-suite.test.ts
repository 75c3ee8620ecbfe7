// The allocator conformance suite against real module processes: the naive fixture allocator, which is
// correct (and runs cycles of its own, which the checks must tolerate), and the same allocator with
// mistakes switched on, each of which must fail its check with a message saying what to fix.
import fs from 'node:fs';
import { ABI_VERSION } from '../version';
import os from 'node:os';
import path from 'node:path';
import { runConformance, type Report } from './index';
import { bundleFixture } from './fixtures/bundle';

let dir: string;
let good: string;
let broken: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-conformance-allocator-'));
  good = bundleFixture('good-allocator', dir);
  broken = bundleFixture('broken-allocator', dir);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (file: string, ...args: string[]) => ({ command: process.execPath, args: [file, ...args] });
const statuses = (report: Report): Record<string, string> => Object.fromEntries(report.results.map((r) => [r.id, r.status]));
const result = (report: Report, id: string) => {
  const r = report.results.find((x) => x.id === id);
  if (!r) throw new Error(`no result "${id}" in ${report.results.map((x) => x.id).join(', ')}`);
  return r;
};

const IDS = [
  'start',
  'get-info',
  'snapshot-first',
  'seq-rules',
  'offers-after-tick',
  'no-double-offer',
  'decline-refuse-zero',
  'decline-filter',
  'revive-clears-filter',
  'suppress-revive',
  'inactive-framework',
  'inactive-agent',
  'reservations-role-only',
  'gpu-filter',
  'quota-limit',
  'remove-agent-framework',
  'restart-snapshot-outstanding',
  'update-allocation-used',
  'invalid-input-coded-error',
  'token',
];

describe('allocator conformance', () => {
  it('passes a correct allocator that also runs cycles of its own after events', async () => {
    const seen: string[] = [];
    const report = await runConformance({ kind: 'allocator', module: node(good), onResult: (r) => seen.push(r.id) });

    expect(report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(report.results.map((r) => r.id)).toEqual(IDS);
    expect(seen).toEqual(IDS);
    expect(report).toMatchObject({ kind: 'allocator', ok: true, summary: { passed: 20, failed: 0, skipped: 0, total: 20 } });
    expect(report.module).toMatchObject({ name: 'good-allocator', version: '1.0.0', negotiatedAbi: ABI_VERSION, capabilities: [] });

    expect(result(report, 'snapshot-first').message).toMatch(/^refused with TSR_INVALID_ARGUMENT: .*the first input of a stream must be a snapshot/);
    expect(result(report, 'quota-limit').message).toBe('offered cpus:2 to role capped (limit cpus:3, used cpus:1)');
    expect(result(report, 'reservations-role-only').message).toBe('fw-1/analytics on a1: cpus:2;mem:2048 (seq 1), fw-3/ops/team on a1: cpus:2;mem:2048 (seq 1)');
    expect(result(report, 'invalid-input-coded-error').message).toMatch(/^refused: TSR_INVALID_ARGUMENT: .*weight > 0, got -1.*; TSR_INVALID_ARGUMENT: .*cpus:1000.*; TSR_INVALID_ARGUMENT: .*unknown agent 'no-such-agent'/);
  });

  it('passes the same allocator when it runs cycles on ticks only', async () => {
    const report = await runConformance({ kind: 'allocator', module: node(good, '--lazy') });
    expect(report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
  });

  it('fails an allocator that re-offers outstanding offers, ignores suppression and throws uncoded errors, saying what to fix', async () => {
    const report = await runConformance({ kind: 'allocator', module: node(broken) });

    const failed = Object.entries(statuses(report)).filter(([, s]) => s !== 'pass').map(([id]) => id);
    expect(failed).toEqual(['snapshot-first', 'suppress-revive', 'restart-snapshot-outstanding', 'invalid-input-coded-error']);
    expect(report.ok).toBe(false);

    expect(result(report, 'suppress-revive').message).toMatch(
      /^fw-1 suppressed offers in all its roles at seq \d+ \(suppress_offers without roles\), so it must get no offers until it revives, but the module offered fw-1\/analytics on a1: cpus:4;/,
    );
    const restart = result(report, 'restart-snapshot-outstanding').message;
    expect(restart).toMatch(/^on the restarted stream, the offer to fw-1 of agent a1 \(seq 1\) over-offers the agent: it has cpus:4;mem:4096;disk:10000;ports:1001 in total, but then cpus:8;/);
    expect(restart).toContain("a snapshot's outstanding_offers and agents' used are allocated too");
    expect(result(report, 'snapshot-first').message).toMatch(
      /^add_framework as the first input of a stream \(seq 1\): the stream failed with TSR_HANDLER_FAILED: .*\(the handler threw an error without a code: .*The first input of every stream must be a snapshot: fail the stream with a coded error/,
    );
    const invalid = result(report, 'invalid-input-coded-error').message;
    expect(invalid.match(/the stream failed with TSR_HANDLER_FAILED/g)).toHaveLength(3);
    expect(invalid).toMatch(/For each, fail the stream with a coded error naming the input, e.g. throw new TesseraError\('TSR_INVALID_ARGUMENT', /);
  });

  it('fails only the check of the one mistake switched on', async () => {
    const report = await runConformance({ kind: 'allocator', module: node(broken, '--bug=ignore-suppress') });
    expect(Object.entries(statuses(report)).filter(([, s]) => s !== 'pass')).toEqual([['suppress-revive', 'fail']]);
  });
});
