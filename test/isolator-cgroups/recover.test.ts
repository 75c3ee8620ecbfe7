// The module killed with SIGKILL under its ModuleHost and started again: Recover with the live
// container brings it back (limits still apply, OOM is watched again, usage reads, cleanup removes
// everything), and the cgroups of orphans and of containers nobody knows are removed.
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, type ContainerLimitation } from '@tessera/modules-api';
import { tempDir, waitFor } from '../modules/helpers';
import { CGROUP, cgroupTree, describeIf, held, hostModule, readCg, removeRoot, resources, running, v1Unusable, type Held, type Hosted } from './helpers';

const root = `tessera-test-${process.pid}-recover`;
const MB = 1024 * 1024;
const sandbox = tempDir();
let hosted: Hosted;
const processes: Held[] = [];

describeIf(v1Unusable())('isolator-cgroups after a module restart', () => {
  beforeAll(async () => {
    hosted = await hostModule({ root, subsystems: ['cpu', 'memory', 'pids'], cpu_quota: true, oom_poll_interval_ms: 50 });
  });

  afterAll(async () => {
    await hosted?.stop();
    for (const p of processes) if (running(p.pid)) p.child.kill('SIGKILL');
    await removeRoot(root);
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  it('recovers the live container, removes orphans and unknown cgroups, and still enforces, reads and cleans up', async () => {
    const { client } = hosted;
    const start = async (id: string, command: string, mem: number): Promise<Held> => {
      await client.prepare({ value: id }, { resources: resources(0.5, mem), directory: sandbox });
      const p = await held(command);
      processes.push(p);
      await client.isolate({ value: id }, p.pid);
      return p;
    };
    // keep: held until after the restart, then allocates 200 MB under a 64 MB limit.
    const keep = await start('keep', `sh -c 'head -c 200M /dev/zero | tail'`, 64);
    const orphan = await start('orphan', 'sleep 1000', 32);
    orphan.release();
    const unknown = await start('unknown', 'sleep 1000', 32);
    unknown.release();

    const module = hosted.host.get('cgroups');
    const recovered: string[] = [];
    module.onRecover(async (caller) => {
      await new IsolatorClient(caller).recover({
        states: [{ containerId: { value: 'keep' }, pid: keep.pid, directory: sandbox, config: { resources: resources(0.5, 64), directory: sandbox } }],
        orphans: [{ value: 'orphan' }],
      });
      recovered.push('done');
    });
    const before = module.pid!;
    process.kill(before, 'SIGKILL');
    await waitFor(() => module.restartCount === 1 && module.status === 'ready' && recovered.length === 1, 20_000, 'restart and recover');
    expect(module.pid).not.toBe(before);

    // Orphan and unknown containers: killed, their cgroups gone. The kept one is untouched.
    await Promise.all([orphan.exited, unknown.exited]);
    expect(cgroupTree(root)).toEqual(['cpu/keep', 'cpuacct/keep', 'freezer/keep', 'memory/keep', 'pids/keep']);
    await waitFor(() => hosted.lines.some((l) => l.includes('recover: removing the cgroup of unknown container unknown')), 10_000, 'the log line about the unknown container');

    // Limits still apply and statistics still read.
    expect(readCg(path.join(CGROUP, 'cpu', root, 'keep', 'cpu.shares'))).toBe('512');
    expect(readCg(path.join(CGROUP, 'cpu', root, 'keep', 'cpu.cfs_quota_us'))).toBe('50000');
    const usage = await client.usage({ value: 'keep' });
    expect(usage).toMatchObject({ processes: 1, memLimitBytes: 64 * MB, cpusLimit: 0.5 });
    expect(await client.status({ value: 'keep' })).toMatchObject({ executorPid: keep.pid, cgroups: { memory: `/${root}/keep` } });

    // The OOM watch works again in the new process.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 30_000);
    const watching: Promise<ContainerLimitation | undefined> = client.watch({ value: 'keep' }, ac.signal);
    keep.release();
    const limitation = await watching.finally(() => clearTimeout(timer));
    expect(limitation?.reason).toBe('REASON_CONTAINER_LIMITATION_MEMORY');
    expect(limitation?.message).toContain('Requested: 64MB');

    await client.cleanup({ value: 'keep' });
    await keep.exited;
    expect(cgroupTree(root)).toEqual([]);
  }, 90_000);
});
