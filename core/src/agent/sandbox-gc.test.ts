import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLog } from '../log';
import { effectiveDelay, runDirectories, SandboxGc } from './sandbox-gc';

const HOUR = 3600_000;

describe('sandbox gc', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-gc-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const now = Date.now();
  // A run directory whose last output is `ageMs` old.
  const run = (fw: string, ex: string, id: string, ageMs: number): string => {
    const dir = path.join(root, 'A-S0', 'frameworks', fw, 'executors', ex, 'runs', id);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['stdout', 'stderr']) fs.writeFileSync(path.join(dir, f), 'x');
    const t = new Date(now - ageMs);
    for (const p of [path.join(dir, 'stdout'), path.join(dir, 'stderr'), dir]) fs.utimesSync(p, t, t);
    return dir;
  };

  it('shrinks the delay as the disk fills, to nothing at 1 - headroom, as Mesos', () => {
    expect(effectiveDelay(100, 0.1, 0)).toBeCloseTo(90);
    expect(effectiveDelay(100, 0.1, 0.5)).toBeCloseTo(40);
    expect(effectiveDelay(100, 0.1, 0.9)).toBe(0);
    expect(effectiveDelay(100, 0.1, 0.97)).toBe(0);
    expect(effectiveDelay(100, 0, 0)).toBe(100);
  });

  it('removes completed sandboxes idle past the delay with their emptied parents; keeps recent ones and those in use', async () => {
    const old = run('F1', 'done', 'c1', 10 * HOUR);
    const recent = run('F1', 'fresh', 'c2', 1 * HOUR);
    const live = run('F2', 'running', 'c3', 10 * HOUR); // a long-running task that printed nothing lately
    const lastOfFramework = run('F3', 'only', 'c4', 10 * HOUR);
    expect(runDirectories(root).sort()).toEqual([old, recent, live, lastOfFramework].sort());
    const gc = new SandboxGc({ root, delayMs: 5 * HOUR / 0.9, headroom: 0.1, diskUsage: () => 0, inUse: () => new Set([live]), log: createLog({ level: 'error' }), now: () => now });
    const r = await gc.sweep();
    expect(r.delayMs).toBeCloseTo(5 * HOUR);
    expect(r.removed.sort()).toEqual([old, lastOfFramework].sort());
    expect(fs.existsSync(recent) && fs.existsSync(live)).toBe(true);
    expect(fs.existsSync(path.join(root, 'A-S0', 'frameworks', 'F1', 'executors', 'done'))).toBe(false); // emptied executor dir
    expect(fs.existsSync(path.join(root, 'A-S0', 'frameworks', 'F3'))).toBe(false); // emptied framework dir
    expect(fs.existsSync(path.join(root, 'A-S0', 'frameworks', 'F1', 'executors', 'fresh'))).toBe(true);

    // A full disk: the recent one goes too, the one in use never.
    const full = new SandboxGc({ root, delayMs: 7 * 24 * HOUR, headroom: 0.1, diskUsage: () => 0.95, inUse: () => new Set([live]), log: createLog({ level: 'error' }), now: () => now });
    expect((await full.sweep()).removed).toEqual([recent]);
    expect(fs.existsSync(live)).toBe(true);
  });
});
