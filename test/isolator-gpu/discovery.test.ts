// Discovery parsing on recorded nvidia-smi outputs (one GPU, several, unhealthy and lost ones, old
// drivers, no driver), and discovery through a fake nvidia-smi: the real process, exit statuses and
// the retry with basic fields included.
import fs from 'node:fs';
import path from 'node:path';
import { discover, DISCOVERY_FIELDS, queryUsage, readRun, refreshHealth, selectGpus, type Discovery, type Gpu } from '@tessera/isolator-gpu';
import { tempDir } from '../modules/helpers';
import { EXIT_STATUS, fakeNvidiaSmi, fixture, FOUR_UUIDS } from './helpers';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** read parses a recorded output as a run of nvidia-smi with its exit status. */
function read(name: string): Discovery {
  const d = readRun({ stdout: fixture(name), stderr: '', code: EXIT_STATUS[name] ?? 0 }, 'nvidia-smi', DISCOVERY_FIELDS);
  if (!d) throw new Error(`${name}: refused field`);
  return d;
}

function gpusOf(name: string): Gpu[] {
  const d = read(name);
  if (d.kind !== 'gpus') throw new Error(`${name}: ${d.reason}`);
  return d.gpus;
}

describe('nvidia-smi discovery output', () => {
  it('reads one H100: every figure, [N/A] page retirement is no health signal', () => {
    expect(gpusOf('one-gpu-h100.csv')).toEqual([
      { index: 0, minor: 0, uuid: 'GPU-1c9b7a5e-3f0d-8a42-6b91-2e7d5c0f4a18', name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, pciBusId: '00000000:18:00.0', health: 'HEALTHY' },
    ]);
  });

  it('reads four V100s in index order with their UUIDs', () => {
    const gpus = gpusOf('four-gpus-v100.csv');
    expect(gpus.map((g) => [g.index, g.minor, g.health])).toEqual([[0, 0, 'HEALTHY'], [1, 1, 'HEALTHY'], [2, 2, 'HEALTHY'], [3, 3, 'HEALTHY']]);
    expect(gpus.map((g) => g.uuid)).toEqual(FOUR_UUIDS);
    expect(gpus.every((g) => g.memoryMiB === 16160 && g.name === 'Tesla V100-SXM2-16GB')).toBe(true);
  });

  it('keeps minor numbers apart from indexes (DGX A100: index 0 is /dev/nvidia2)', () => {
    const gpus = gpusOf('eight-gpus-a100.csv');
    expect(gpus.map((g) => `${g.index}:${g.minor}`)).toEqual(['0:2', '1:3', '2:0', '3:1', '4:6', '5:7', '6:4', '7:5']);
    const inv = selectGpus(read('eight-gpus-a100.csv'), [2, 'gpu-0d5a3c7e-1b2f-4a6d-9e8c-7f6a5b4c3d21'], '/dev');
    expect(inv.gpus.map((g) => [g.index, g.minor])).toEqual([[0, 2], [2, 0]]);
  });

  it('marks retired pages pending and uncorrectable ECC errors unhealthy, saying why', () => {
    const gpus = gpusOf('unhealthy-v100.csv');
    expect(gpus.map((g) => g.health)).toEqual(['HEALTHY', 'HEALTHY', 'UNHEALTHY', 'UNHEALTHY']);
    expect(gpus[2].healthReason).toMatch(/retired pages are pending/);
    expect(gpus[3].healthReason).toMatch(/2 uncorrectable ECC error/);
  });

  it('marks a GPU needing a reset unhealthy and reports an unreachable one as lost (exit 15 with rows is still an answer)', () => {
    const d = read('lost-and-reset-v100.csv');
    if (d.kind !== 'gpus') throw new Error('no gpus');
    expect(d.gpus.map((g) => [g.index, g.health])).toEqual([[0, 'HEALTHY'], [1, 'UNHEALTHY'], [3, 'HEALTHY']]);
    expect(d.gpus[1].healthReason).toMatch(/name reads "GPU requires reset"/);
    expect(d.gpus[1].name).toBeUndefined();
    expect(d.lost).toEqual([{ pciBusId: '0000:88:00.0', reason: 'Unknown Error' }]);
    // A later poll finds the GPU at 00000000:88:00.0 lost: it turns unhealthy, naming the reason.
    const before = gpusOf('four-gpus-v100.csv');
    const after = refreshHealth(before, d, 'nvidia-smi', '/dev');
    expect(after.map((g) => g.health)).toEqual(['HEALTHY', 'UNHEALTHY', 'UNHEALTHY', 'HEALTHY']);
    expect(after[2].healthReason).toBe('nvidia-smi cannot reach it: Unknown Error');
    expect(selectGpus(d, undefined, '/dev').notes.join('\n')).toMatch(/cannot reach the GPU at 0000:88:00.0 \(Unknown Error\): it is not offered/);
  });

  it('reads consumer GPUs whose ECC and page retirement are [N/A] / [Not Supported] as healthy', () => {
    expect(gpusOf('geforce-two-gpus.csv').map((g) => [g.name, g.memoryMiB, g.health])).toEqual([
      ['NVIDIA GeForce RTX 3090', 24576, 'HEALTHY'],
      ['NVIDIA GeForce RTX 3090', 24576, 'HEALTHY'],
    ]);
  });

  it('says "no driver" for a missing driver, an NVML mismatch and a missing binary; "no GPUs" for no devices', () => {
    expect(read('driver-missing.txt')).toEqual({ kind: 'no-driver', reason: expect.stringMatching(/^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/) });
    expect(read('nvml-mismatch.txt')).toEqual({ kind: 'no-driver', reason: 'Failed to initialize NVML: Driver/library version mismatch' });
    expect(readRun({ stdout: '', stderr: '', code: null, error: { code: 'ENOENT', message: 'spawn nvidia-smi ENOENT' } }, 'nvidia-smi', DISCOVERY_FIELDS)).toEqual({
      kind: 'no-driver',
      reason: 'nvidia-smi is not installed (not found on PATH)',
    });
    expect(read('no-devices.txt')).toEqual({ kind: 'gpus', gpus: [], lost: [], warnings: [] });
    expect(selectGpus(read('driver-missing.txt'), undefined, '/dev')).toMatchObject({ gpus: [], source: 'none', notes: [expect.stringMatching(/no NVIDIA driver answers .*: no GPUs are offered/)] });
  });

  it('asks again with the basic fields when the driver refuses a health field', () => {
    expect(readRun({ stdout: fixture('field-refused.txt'), stderr: '', code: 2 }, 'nvidia-smi', DISCOVERY_FIELDS)).toBeUndefined();
  });

  it('refuses output that is not a GPU list, quoting it', () => {
    expect(() => readRun({ stdout: 'Segmentation fault', stderr: '', code: 139 }, 'nvidia-smi', DISCOVERY_FIELDS)).toThrow(/GPU line of 8 fields/);
    expect(() => readRun({ stdout: '', stderr: 'boom', code: 3 }, 'nvidia-smi', DISCOVERY_FIELDS)).toThrow(/exited with status 3 and listed no GPU: "boom"/);
  });
});

describe('discovery through a nvidia-smi process', () => {
  it('runs it, reads its answer whatever its exit status, and says when the driver is missing or the binary absent', async () => {
    const smi = fakeNvidiaSmi('/dev');
    dirs.push(smi.dir);
    const opts = { nvidiaSmi: smi.path, timeoutMs: 10_000 };
    expect(await discover(opts)).toMatchObject({ kind: 'gpus', gpus: FOUR_UUIDS.map((uuid) => ({ uuid })) });
    smi.use('lost-and-reset-v100.csv');
    expect(await discover(opts)).toMatchObject({ kind: 'gpus', lost: [{ pciBusId: '0000:88:00.0' }] });
    smi.use('driver-missing.txt');
    expect(await discover(opts)).toMatchObject({ kind: 'no-driver' });
    expect(await discover({ nvidiaSmi: '/nonexistent/nvidia-smi', timeoutMs: 1000 })).toEqual({ kind: 'no-driver', reason: '/nonexistent/nvidia-smi is not installed (not found)' });
  });

  it('falls back to the basic fields on an old driver, warning that health is limited', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const script = path.join(dir, 'nvidia-smi');
    fs.writeFileSync(script, `#!/bin/sh\ncase "$*" in *retired_pages*) cat '${path.join(__dirname, 'fixtures/field-refused.txt')}'; exit 2 ;; esac\ncat '${path.join(__dirname, 'fixtures/basic-two-k80.csv')}'\n`, { mode: 0o755 });
    const d = await discover({ nvidiaSmi: script, timeoutMs: 10_000 });
    expect(d).toMatchObject({ kind: 'gpus', gpus: [{ index: 0, name: 'Tesla K80', health: 'HEALTHY' }, { index: 1 }], warnings: [expect.stringMatching(/does not know retired_pages.pending/)] });
  });

  it('reads utilisation and memory by UUID; [N/A] figures are left out', async () => {
    const smi = fakeNvidiaSmi('/dev');
    dirs.push(smi.dir);
    const usage = await queryUsage({ nvidiaSmi: smi.path, timeoutMs: 10_000 });
    expect(usage.get(FOUR_UUIDS[1])).toEqual({ utilization: 87, memoryUsedMiB: 10240, memoryTotalMiB: 16160 });
    expect(usage.get(FOUR_UUIDS[3])).toEqual({ memoryTotalMiB: 16160 });
  });
});
