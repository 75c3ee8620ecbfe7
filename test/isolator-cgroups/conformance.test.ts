// The isolator conformance kit against the bundled module, on this host's real cgroups: every check
// passes (watch-resources is skipped: the module provides no resources).
import { runConformance } from '@tessera/modules-api';
import { cgroupTree, describeIf, MODULE, removeRoot, v1Unusable } from './helpers';

const root = `tessera-test-${process.pid}-conformance`;

describeIf(v1Unusable())('isolator-cgroups conformance', () => {
  afterAll(() => removeRoot(root));

  it('passes the isolator conformance kit with every subsystem on', async () => {
    const report = await runConformance({
      kind: 'isolator',
      module: { command: process.execPath, args: [MODULE] },
      parameters: { root, subsystems: 'all', cpu_quota: true, pids_max: 256 },
    });
    expect(report.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(report.results.filter((r) => r.status === 'skip').map((r) => r.id)).toEqual(['watch-resources']);
    expect(report.results.find((r) => r.id === 'usage')?.message).toContain('memLimitBytes');
    // Everything the kit prepared was cleaned up: no container cgroup is left.
    expect(cgroupTree(root)).toEqual([]);
  }, 120_000);
});
