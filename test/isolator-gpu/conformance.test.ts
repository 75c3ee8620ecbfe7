// The isolator conformance kit against the bundled GPU module on this host's real devices cgroups,
// with a fake nvidia-smi listing four GPUs and their nodes made by mknod: every check passes, and
// nothing the kit prepared is left in the devices hierarchy.
import fs from 'node:fs';
import path from 'node:path';
import { runConformance } from '@tessera/modules-api';
import { describeIf, DEVICES, fakeNvidiaSmi, gpuFacilityMissing, makeDevRoot, MODULE, removeDevicesRoot } from './helpers';

const root = `tessera-test-${process.pid}-gpu-conformance`;
const dirs: string[] = [];

describeIf(gpuFacilityMissing())('isolator-gpu conformance', () => {
  afterAll(async () => {
    await removeDevicesRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('passes the isolator conformance kit, WatchResources included', async () => {
    const devRoot = makeDevRoot(4);
    const smi = fakeNvidiaSmi(devRoot);
    dirs.push(devRoot, smi.dir);
    const report = await runConformance({
      kind: 'isolator',
      module: { command: process.execPath, args: [MODULE] },
      parameters: { nvidia_smi: smi.path, proc_driver_nvidia: smi.proc, dev_root: devRoot, root, health_poll_interval_ms: 0, driver_volume: 'off' },
    });
    expect(report.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(report.results.find((r) => r.id === 'watch-resources')?.status).toBe('pass');
    const left = fs.existsSync(path.join(DEVICES, root)) ? fs.readdirSync(path.join(DEVICES, root)).filter((e) => fs.statSync(path.join(DEVICES, root, e)).isDirectory()) : [];
    expect(left).toEqual([]);
  }, 120_000);
});
