import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Gpu } from '../discovery/gpu';
import { CheckpointStore } from './checkpoint';

const gpus: Gpu[] = [
  { index: 0, minor: 2, uuid: 'GPU-a', health: 'HEALTHY' },
  { index: 1, minor: 3, uuid: 'GPU-b', health: 'HEALTHY' },
];

describe('CheckpointStore', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-checkpoint-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the assignments and reads them back by UUID (minors may change across reboots)', () => {
    const store = new CheckpointStore(dir);
    store.save([{ containerId: 'c1', minors: [3], ownsCgroup: true }, { containerId: 'c2', minors: [], ownsCgroup: false }], gpus);
    expect(fs.readdirSync(dir)).toEqual(['assignments.json']);
    const renumbered: Gpu[] = [{ ...gpus[0], minor: 5 }, { ...gpus[1], minor: 4 }];
    expect(store.load(renumbered)).toEqual({
      assignments: [{ containerId: 'c1', minors: [4], ownsCgroup: true }, { containerId: 'c2', minors: [], ownsCgroup: false }],
      problems: [],
    });
    expect(store.load([gpus[0]]).problems).toEqual(['container c1 holds GPU GPU-b, which this module no longer manages']);
  });

  it('moves an unreadable checkpoint aside and says so; a missing one is empty', () => {
    const store = new CheckpointStore(dir);
    expect(store.load(gpus)).toEqual({ assignments: [], problems: [] });
    fs.writeFileSync(store.file, '{"version": 1, "containers": [');
    const { assignments, problems } = store.load(gpus);
    expect(assignments).toEqual([]);
    expect(problems[0]).toMatch(/does not read back .*moved to .*assignments\.json\.unreadable-\d+: assignments are rebuilt from the containers' devices cgroups/);
    expect(fs.existsSync(store.file)).toBe(false);
  });

  it('fails with GPU_CHECKPOINT_FAILED naming the file when it cannot write', () => {
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    expect(() => new CheckpointStore(path.join(blocker, 'sub')).save([], gpus)).toThrow(/cannot write the GPU assignments to .*file\/sub\/assignments.json: ENOTDIR/);
  });
});
