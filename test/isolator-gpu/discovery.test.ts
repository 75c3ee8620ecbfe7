// Discovery parsing on nvidia-smi outputs — the H100's real recordings (query rows, `nvidia-smi -q`, the
// driver's proc information file, the refusals of unknown fields, no driver) and the synthetic multi-GPU
// ones (several, unhealthy and lost GPUs, old drivers) — and discovery through a fake nvidia-smi with a
// fake /proc/driver/nvidia: the real process, exit statuses, both sources of minor numbers and the
// retry with basic fields included.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BASIC_FIELDS,
  discover,
  DISCOVERY_FIELDS,
  gpusOfAnswer,
  parseSmiQuery,
  queryUsage,
  readDriverMinors,
  readRun,
  refreshHealth,
  selectGpus,
  type Discovery,
  type Gpu,
  type MinorNumbers,
  type SmiAnswer,
} from '@tessera/isolator-gpu';
import { tempDir } from '../modules/helpers';
import { EXIT_STATUS, fakeNvidiaSmi, FIXTURE_MINORS, fixture, fixtureGpus, FIXTURES, FOUR_UUIDS, smiQuery, writeProcDriverNvidia } from './helpers';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const H100_UUID = 'GPU-88566250-bf7a-b1df-a339-fab64a6b50a9';
/** The fixture GPUs' minors, as a proc tree or nvidia-smi -q would give them. */
const ALL_MINORS: MinorNumbers = { entries: [...FIXTURE_MINORS].map(([pciBusId, minor]) => ({ pciBusId, minor })), searched: [] };

/** answer reads a recorded output as a run of nvidia-smi with its exit status. */
function answer(name: string, fields: readonly string[] = DISCOVERY_FIELDS): SmiAnswer {
  return readRun({ stdout: fixture(name), stderr: '', code: EXIT_STATUS[name] ?? 0 }, 'nvidia-smi', fields);
}

/** read is a recorded output's discovery, minors found by bus id. */
function read(name: string, minors = ALL_MINORS, fields: readonly string[] = DISCOVERY_FIELDS): Discovery {
  const a = answer(name, fields);
  if (a.kind === 'refused') throw new Error(`${name}: refused field`);
  return a.kind === 'rows' ? gpusOfAnswer(a, minors) : a;
}

function gpusOf(name: string, minors = ALL_MINORS): Gpu[] {
  const d = read(name, minors);
  if (d.kind !== 'gpus') throw new Error(`${name}: ${d.reason}`);
  expect(d.warnings).toEqual([]);
  return d.gpus;
}

/** procTree makes a /proc/driver/nvidia stand-in. */
function procTree(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

const H100: Gpu = { index: 0, minor: 0, uuid: H100_UUID, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, pciBusId: '00000000:00:06.0', health: 'HEALTHY' };

describe('the H100 recordings (driver 580.159.04)', () => {
  it('reads its query row with the minor number of its real proc information file ([N/A] page retirement is no health signal)', () => {
    const proc = procTree();
    fs.mkdirSync(path.join(proc, 'gpus', '0000:00:06.0'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'proc-information-h100.txt'), path.join(proc, 'gpus', '0000:00:06.0', 'information'));
    const fromProc = readDriverMinors(proc);
    expect(fromProc).toEqual({ entries: [{ pciBusId: '0000:00:06.0', minor: 0 }] });
    expect(gpusOf('one-gpu-h100.csv', { entries: fromProc.entries, searched: [] })).toEqual([H100]);
  });

  it('reads the minor number of its real nvidia-smi -q, matched by bus id', () => {
    const fromQ = parseSmiQuery(fixture('smi-q-one-h100.txt'));
    expect(fromQ).toEqual([{ pciBusId: '00000000:00:06.0', minor: 0 }]);
    expect(gpusOf('one-gpu-h100.csv', { entries: fromQ, searched: [] })).toEqual([H100]);
  });

  it('reads the five basic fields', () => {
    expect(read('basic-one-h100.csv', ALL_MINORS, BASIC_FIELDS)).toEqual({ kind: 'gpus', gpus: [H100], lost: [], warnings: [] });
  });

  it('takes its refusals of an unknown field ("minor_number", the old query; a misspelt one) as "ask for fewer"', () => {
    expect(answer('minor-number-refused.txt')).toEqual({ kind: 'refused', line: 'Field "minor_number" is not a valid field to query.' });
    expect(answer('field-refused.txt')).toEqual({ kind: 'refused', line: 'Field "retired_pages.no_such_field" is not a valid field to query.' });
  });

  it('says "no driver" for a hidden libnvidia-ml (exit 12) and a blocked /dev/nvidiactl (exit 17)', () => {
    expect(answer('driver-missing.txt')).toEqual({ kind: 'no-driver', reason: expect.stringMatching(/^NVIDIA-SMI couldn't find libnvidia-ml\.so library in your system/) });
    expect(answer('driver-unreachable.txt')).toEqual({ kind: 'no-driver', reason: 'Failed to initialize NVML: GPU access blocked by the operating system' });
    expect(selectGpus(read('driver-unreachable.txt'), undefined, '/dev')).toMatchObject({ gpus: [], source: 'none', notes: [expect.stringMatching(/no NVIDIA driver answers \(Failed to initialize NVML: GPU access blocked by the operating system\): no GPUs are offered/)] });
  });

  it('the tests\' fake nvidia-smi lists the GPU with -L as the H100 did', () => {
    const devRoot = procTree();
    fs.writeFileSync(path.join(devRoot, 'nvidia0'), ''); // openable: -L lists the GPU
    const smi = fakeNvidiaSmi(devRoot, 'one-gpu-h100.csv');
    dirs.push(smi.dir);
    const r = spawnSync(smi.path, ['-L'], { encoding: 'utf8' });
    expect([r.status, r.stdout]).toEqual([0, fixture('list-one-h100.txt')]);
  });

  it('renders nvidia-smi -q and the proc files of other GPUs from the H100 ones as the module reads them (the tests\' fake hosts)', () => {
    const gpus = fixtureGpus(fixture('eight-gpus-a100.csv'));
    expect(parseSmiQuery(smiQuery(gpus)).map((e) => `${e.pciBusId} ${e.minor}`)).toEqual(gpus.map((g) => `${g.pciBusId} ${g.minor}`));
    expect(parseSmiQuery(smiQuery(gpus, false))).toEqual([]);
    const proc = procTree();
    writeProcDriverNvidia(proc, gpus);
    expect(readDriverMinors(proc).entries.map((e) => `${e.pciBusId} ${e.minor}`).sort()).toEqual(gpus.map((g) => `${g.pciBusId.toLowerCase().replace(/^0000/, '')} ${g.minor}`).sort());
  });
});

describe('nvidia-smi discovery output', () => {
  it('reads four V100s in index order with their UUIDs', () => {
    const gpus = gpusOf('four-gpus-v100.csv');
    expect(gpus.map((g) => [g.index, g.minor, g.health])).toEqual([[0, 0, 'HEALTHY'], [1, 1, 'HEALTHY'], [2, 2, 'HEALTHY'], [3, 3, 'HEALTHY']]);
    expect(gpus.map((g) => g.uuid)).toEqual(FOUR_UUIDS);
    expect(gpus.every((g) => g.memoryMiB === 16160 && g.name === 'Tesla V100-SXM2-16GB')).toBe(true);
  });

  it('keeps minor numbers apart from indexes (DGX A100: index 0 is /dev/nvidia2), the minors coming from the proc files', () => {
    const proc = procTree();
    writeProcDriverNvidia(proc, fixtureGpus(fixture('eight-gpus-a100.csv')));
    const minors = { entries: readDriverMinors(proc).entries, searched: [] };
    const gpus = gpusOf('eight-gpus-a100.csv', minors);
    expect(gpus.map((g) => `${g.index}:${g.minor}`)).toEqual(['0:2', '1:3', '2:0', '3:1', '4:6', '5:7', '6:4', '7:5']);
    const inv = selectGpus(read('eight-gpus-a100.csv', minors), [2, 'gpu-0d5a3c7e-1b2f-4a6d-9e8c-7f6a5b4c3d21'], '/dev');
    expect(inv.gpus.map((g) => [g.index, g.minor])).toEqual([[0, 2], [2, 0]]);
  });

  it('does not offer a GPU without a minor number, naming it and where the minor was looked for', () => {
    const some: MinorNumbers = { entries: [{ pciBusId: '0000:1a:00.0', minor: 0 }, { pciBusId: '0000:88:00.0', minor: 2 }], searched: ['not in /proc/driver/nvidia/gpus/*/information', 'not in nvidia-smi -q'] };
    const d = read('four-gpus-v100.csv', some);
    if (d.kind !== 'gpus') throw new Error('no gpus');
    expect(d.gpus.map((g) => [g.index, g.minor])).toEqual([[0, 0], [2, 2]]);
    expect(d.warnings).toEqual([
      `GPU 1 at 00000000:1C:00.0 (${FOUR_UUIDS[1]}) has no usable minor number (not in /proc/driver/nvidia/gpus/*/information; not in nvidia-smi -q): its /dev/nvidia<minor> node is unknown, so it cannot be isolated and is not offered`,
      `GPU 3 at 00000000:8A:00.0 (${FOUR_UUIDS[3]}) has no usable minor number (not in /proc/driver/nvidia/gpus/*/information; not in nvidia-smi -q): its /dev/nvidia<minor> node is unknown, so it cannot be isolated and is not offered`,
    ]);
    // Two GPUs claiming one minor: the second is not offered (its node would be another GPU's).
    const twins = read('four-gpus-v100.csv', { entries: [{ pciBusId: '00000000:1A:00.0', minor: 0 }, { pciBusId: '00000000:1C:00.0', minor: 0 }, { pciBusId: '00000000:88:00.0', minor: 2 }, { pciBusId: '00000000:8A:00.0', minor: 3 }], searched: [] });
    expect(twins).toMatchObject({ gpus: [{ index: 0 }, { index: 2 }, { index: 3 }], warnings: ['GPU 1 at 00000000:1C:00.0 has minor number 0, as GPU 0 has: one of them is misreported, so GPU 1 is not offered'] });
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
    expect(d.gpus.map((g) => [g.index, g.minor, g.health])).toEqual([[0, 0, 'HEALTHY'], [1, 1, 'UNHEALTHY'], [3, 3, 'HEALTHY']]);
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

  it('says "no driver" for an unloaded driver, an NVML mismatch and a missing binary; "no GPUs" for no devices', () => {
    expect(answer('driver-not-loaded.txt')).toEqual({ kind: 'no-driver', reason: expect.stringMatching(/^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/) });
    expect(answer('nvml-mismatch.txt')).toEqual({ kind: 'no-driver', reason: 'Failed to initialize NVML: Driver/library version mismatch' });
    expect(readRun({ stdout: '', stderr: '', code: null, error: { code: 'ENOENT', message: 'spawn nvidia-smi ENOENT' } }, 'nvidia-smi', DISCOVERY_FIELDS)).toEqual({
      kind: 'no-driver',
      reason: 'nvidia-smi is not installed (not found on PATH)',
    });
    expect(read('no-devices.txt')).toEqual({ kind: 'gpus', gpus: [], lost: [], warnings: [] });
  });

  it('refuses output that is not a GPU list, quoting it', () => {
    expect(() => readRun({ stdout: 'Segmentation fault', stderr: '', code: 139 }, 'nvidia-smi', DISCOVERY_FIELDS)).toThrow(/GPU line of 7 fields/);
    expect(() => readRun({ stdout: '', stderr: 'boom', code: 3 }, 'nvidia-smi', DISCOVERY_FIELDS)).toThrow(/exited with status 3 and listed no GPU: "boom"/);
  });
});

describe('discovery through a nvidia-smi process', () => {
  /** script writes a stand-in nvidia-smi of `body` (a shell case on "$*"). */
  function script(body: string): string {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'nvidia-smi');
    fs.writeFileSync(file, `#!/bin/sh\nF='${FIXTURES}'\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it('runs it, reads its answer whatever its exit status, and says when the driver is missing or the binary absent', async () => {
    const smi = fakeNvidiaSmi('/dev');
    dirs.push(smi.dir);
    const opts = { nvidiaSmi: smi.path, timeoutMs: 10_000, procDriverNvidia: smi.proc };
    expect(await discover(opts)).toMatchObject({ kind: 'gpus', gpus: FOUR_UUIDS.map((uuid, minor) => ({ uuid, minor })), warnings: [] });
    smi.use('lost-and-reset-v100.csv');
    expect(await discover(opts)).toMatchObject({ kind: 'gpus', lost: [{ pciBusId: '0000:88:00.0' }] });
    smi.use('driver-missing.txt');
    expect(await discover(opts)).toMatchObject({ kind: 'no-driver' });
    smi.use('driver-unreachable.txt');
    expect(await discover(opts)).toEqual({ kind: 'no-driver', reason: 'Failed to initialize NVML: GPU access blocked by the operating system' });
    expect(await discover({ ...opts, nvidiaSmi: '/nonexistent/nvidia-smi', timeoutMs: 1000 })).toEqual({ kind: 'no-driver', reason: '/nonexistent/nvidia-smi is not installed (not found)' });
    expect(smi.qRuns()).toBe(0);
  });

  it('takes minor numbers from the proc files, runs nvidia-smi -q only for GPUs they lack, and offers none without one', async () => {
    const smi = fakeNvidiaSmi('/dev', 'eight-gpus-a100.csv');
    dirs.push(smi.dir);
    const opts = { nvidiaSmi: smi.path, timeoutMs: 10_000, procDriverNvidia: smi.proc };
    const minors = (d: Discovery) => (d.kind === 'gpus' ? d.gpus.map((g) => `${g.index}:${g.minor}`) : d.reason);
    const a100 = ['0:2', '1:3', '2:0', '3:1', '4:6', '5:7', '6:4', '7:5'];
    expect(minors(await discover(opts))).toEqual(a100);
    expect(smi.qRuns()).toBe(0);
    // Without the proc files (/proc/driver/nvidia not visible): one nvidia-smi -q answers for all.
    smi.minorsAt('smi-q');
    expect(minors(await discover(opts))).toEqual(a100);
    expect(minors(await discover({ ...opts, procDriverNvidia: '/nonexistent' }))).toEqual(a100);
    expect(smi.qRuns()).toBe(2);
    // One GPU in the proc files, the others only in nvidia-smi -q.
    const first = path.join(smi.proc, 'gpus', '0000:07:00.0');
    smi.minorsAt('proc');
    for (const e of fs.readdirSync(path.join(smi.proc, 'gpus'))) if (path.join(smi.proc, 'gpus', e) !== first) fs.rmSync(path.join(smi.proc, 'gpus', e), { recursive: true });
    expect(minors(await discover(opts))).toEqual(a100);
    expect(smi.qRuns()).toBe(3);
    // Nowhere: not offered, each GPU named with where its minor was looked for.
    smi.minorsAt('nowhere');
    const none = await discover({ ...opts, procDriverNvidia: '/nonexistent' });
    expect(none).toMatchObject({ kind: 'gpus', gpus: [] });
    if (none.kind !== 'gpus') throw new Error('no gpus');
    expect(none.warnings).toHaveLength(8);
    expect(none.warnings[0]).toBe(
      `GPU 0 at 00000000:07:00.0 (GPU-0d5a3c7e-1b2f-4a6d-9e8c-7f6a5b4c3d21) has no usable minor number (cannot read /nonexistent/gpus: ENOENT (no such file or directory); not in ${smi.path} -q): its /dev/nvidia<minor> node is unknown, so it cannot be isolated and is not offered`,
    );
    expect(selectGpus(none, undefined, '/dev')).toMatchObject({ gpus: [], source: 'none' });
  });

  it('says why nvidia-smi -q gave no minor numbers when it failed', async () => {
    const smi = script(`case "$*" in -q) echo 'Unable to determine the device handle for GPU 0000:00:06.0: Unknown Error'; exit 15 ;; esac\ncat "$F/one-gpu-h100.csv"`);
    const d = await discover({ nvidiaSmi: smi, timeoutMs: 10_000, procDriverNvidia: '/nonexistent' });
    expect(d).toMatchObject({ kind: 'gpus', gpus: [], warnings: [expect.stringMatching(/has no usable minor number \(cannot read \/nonexistent\/gpus: ENOENT .*; .* -q exited with status 15: "Unable to determine the device handle for GPU 0000:00:06.0: Unknown Error"\)/)] });
  });

  it('health polls give the known minor numbers: no proc file read, no nvidia-smi -q', async () => {
    const smi = fakeNvidiaSmi('/dev');
    dirs.push(smi.dir);
    smi.minorsAt('nowhere');
    const knownMinors = [{ pciBusId: '00000000:1A:00.0', minor: 0 }, { pciBusId: '00000000:1C:00.0', minor: 1 }];
    const d = await discover({ nvidiaSmi: smi.path, timeoutMs: 10_000, procDriverNvidia: '/nonexistent', knownMinors });
    expect(d).toMatchObject({ kind: 'gpus', gpus: [{ index: 0, minor: 0 }, { index: 1, minor: 1 }] });
    expect(smi.qRuns()).toBe(0);
  });

  it('never asks for minor_number, which a real driver refuses (the H100 run)', async () => {
    // The H100's nvidia-smi: minor_number refused (exit 2), the fields discovery asks for answered, -q as recorded.
    const smi = script(`case "$*" in *minor_number*) cat "$F/minor-number-refused.txt"; exit 2 ;; -q) cat "$F/smi-q-one-h100.txt"; exit 0 ;; esac\ncat "$F/one-gpu-h100.csv"`);
    expect(await discover({ nvidiaSmi: smi, timeoutMs: 10_000, procDriverNvidia: '/nonexistent' })).toEqual({ kind: 'gpus', gpus: [H100], lost: [], warnings: [] });
  });

  it('falls back to the basic fields when the driver refuses a health field, warning that health is limited', async () => {
    const proc = procTree();
    writeProcDriverNvidia(proc, fixtureGpus(fixture('basic-two-k80.csv')));
    const smi = script(`case "$*" in *retired_pages*) cat "$F/field-refused.txt"; exit 2 ;; esac\ncat "$F/basic-two-k80.csv"`);
    const d = await discover({ nvidiaSmi: smi, timeoutMs: 10_000, procDriverNvidia: proc });
    expect(d).toMatchObject({
      kind: 'gpus',
      gpus: [{ index: 0, minor: 0, name: 'Tesla K80', health: 'HEALTHY' }, { index: 1, minor: 1 }],
      warnings: [`${smi} does not know retired_pages.pending or ecc.errors.uncorrected.volatile.total ("Field "retired_pages.no_such_field" is not a valid field to query.": an old driver): health is only what its error markers say`],
    });
  });

  it('fails when even the basic fields are refused, quoting the refusal and saying how to see the fields it knows', async () => {
    const smi = script(`cat "$F/minor-number-refused.txt"; exit 2`);
    const err = await discover({ nvidiaSmi: smi, timeoutMs: 10_000, procDriverNvidia: '/nonexistent' }).catch((e) => e);
    expect(err).toMatchObject({
      code: 'GPU_DISCOVERY_FAILED',
      message: `${smi} refuses even the basic query fields index,uuid,name,memory.total,pci.bus_id ("Field "minor_number" is not a valid field to query."): it is not an nvidia-smi this module can read; see the fields it knows with "${smi} --help-query-gpu", and fix the nvidia_smi parameter or update the NVIDIA driver`,
    });
  });

  it('reads utilisation and memory by UUID; [N/A] figures are left out', async () => {
    const smi = fakeNvidiaSmi('/dev');
    dirs.push(smi.dir);
    const usage = await queryUsage({ nvidiaSmi: smi.path, timeoutMs: 10_000 });
    expect(usage.get(FOUR_UUIDS[1])).toEqual({ utilization: 87, memoryUsedMiB: 10240, memoryTotalMiB: 16160 });
    expect(usage.get(FOUR_UUIDS[3])).toEqual({ memoryTotalMiB: 16160 });
    // The H100's recorded answer.
    fs.copyFileSync(path.join(FIXTURES, 'usage-one-h100.csv'), path.join(smi.dir, 'usage'));
    expect(await queryUsage({ nvidiaSmi: smi.path, timeoutMs: 10_000 })).toEqual(new Map([[H100_UUID, { utilization: 0, memoryUsedMiB: 0, memoryTotalMiB: 81559 }]]));
  });
});
