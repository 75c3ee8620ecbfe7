// The bundled GPU module as the agent runs it (a process behind a ModuleHost, with a state directory),
// killed with SIGKILL and started again: Configure reads the checkpoint back, Recover keeps the GPUs of
// the live containers (one of them known only from its allow-list devices cgroup), frees the orphan's
// and the forgotten container's (killing what is left in cgroups it made), and the denials still hold.
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, type ContainerLaunchInfo, type Resource } from '@tessera/modules-api';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { ModuleHost } from '../../core/src/modules/module-host';
import { held, running, type Held } from '../isolator-cgroups/helpers';
import { captureLog, tempDir, waitFor, writeModulesJson } from '../modules/helpers';
import { describeIf, failure, DEVICES, expected, fakeNvidiaSmi, FOUR_UUIDS, gpuFacilityMissing, makeDevRoot, MODULE, probeCommand, removeDevicesRoot, writeProbe } from './helpers';

const root = `tessera-test-${process.pid}-gpu-recover`;
const gpus = (n: number): Resource[] => [{ name: 'gpus', type: 'SCALAR', scalar: { value: n } }];
const env = (info: ContainerLaunchInfo | undefined, name: string) => info?.environment?.variables?.find((v) => v.name === name)?.value;
const cgDir = (id: string) => path.join(DEVICES, root, id);
const dirs: string[] = [];
const processes: Held[] = [];
let host: ModuleHost | undefined;

describeIf(gpuFacilityMissing())('isolator-gpu after kill -9 of the module', () => {
  afterAll(async () => {
    await host?.stop();
    for (const p of processes) if (running(p.pid)) p.child.kill('SIGKILL');
    await removeDevicesRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('keeps assignments and denials, rebuilds one from its allow-list cgroup, frees the others', async () => {
    const devRoot = makeDevRoot(4);
    const smi = fakeNvidiaSmi(devRoot);
    const probe = writeProbe();
    const stateDir = tempDir();
    const modules = writeModulesJson({ modules: [{ name: 'gpu', file: MODULE, parameters: { nvidia_smi: smi.path, proc_driver_nvidia: smi.proc, dev_root: devRoot, root, health_poll_interval_ms: 0, driver_volume: 'off' }, timeouts: { call: '10s' } }] });
    dirs.push(devRoot, smi.dir, path.dirname(probe), stateDir, path.dirname(modules));
    const { log, lines } = captureLog();
    host = new ModuleHost({ config: loadModulesJson(modules), log, stateDir });
    await host.start();
    const client = host.isolator('gpu');

    /** start prepares a container with `n` GPUs and isolates a long-running process in it. */
    const start = async (id: string, n: number): Promise<{ info: ContainerLaunchInfo | undefined; p: Held }> => {
      const info = await client.prepare({ value: id }, { resources: gpus(n) });
      const p = await held('sleep 1000');
      processes.push(p);
      await client.isolate({ value: id }, p.pid);
      p.release();
      return { info, p };
    };
    const probeIn = async (id: string) => {
      const p = await held(probeCommand(probe, devRoot));
      fs.writeFileSync(path.join(cgDir(id), 'cgroup.procs'), String(p.pid));
      p.release();
      await p.exited;
      return JSON.parse(p.output().trim());
    };

    const keep = await start('keep', 1);
    const gone = await start('gone', 1);
    const orphan = await start('orphan', 1);
    expect([keep, gone, orphan].map((c) => env(c.info, 'NVIDIA_VISIBLE_DEVICES'))).toEqual(FOUR_UUIDS.slice(0, 3));
    // A container the checkpoint does not know, whose allow-list cgroup grants GPU 3 (as the cgroups module makes them).
    fs.mkdirSync(cgDir('manual'));
    fs.writeFileSync(path.join(cgDir('manual'), 'devices.deny'), 'a');
    fs.writeFileSync(path.join(cgDir('manual'), 'devices.allow'), 'c 195:3 rwm');
    fs.writeFileSync(path.join(cgDir('manual'), 'devices.allow'), 'c 195:255 rwm');
    const checkpoint = JSON.parse(fs.readFileSync(path.join(stateDir, 'gpu', 'assignments.json'), 'utf8'));
    expect(checkpoint.containers.map((c: any) => [c.containerId, c.gpus.map((g: any) => g.uuid), c.ownsCgroup])).toEqual([
      ['keep', [FOUR_UUIDS[0]], true],
      ['gone', [FOUR_UUIDS[1]], true],
      ['orphan', [FOUR_UUIDS[2]], true],
    ]);

    const module = host.get('gpu');
    let recovered = 0;
    module.onRecover(async (caller) => {
      await new IsolatorClient(caller).recover({
        states: [
          { containerId: { value: 'keep' }, pid: keep.p.pid, config: { resources: gpus(1) } },
          { containerId: { value: 'manual' }, config: { resources: gpus(1) } },
        ],
        orphans: [{ value: 'orphan' }],
      });
      recovered += 1;
    });
    const before = module.pid!;
    process.kill(before, 'SIGKILL');
    await waitFor(() => module.restartCount === 1 && module.status === 'ready' && recovered === 1, 20_000, 'restart and recover');
    expect(module.pid).not.toBe(before);

    // The orphan and the container nobody named are gone: processes killed, cgroups removed.
    await Promise.all([gone.p.exited, orphan.p.exited]);
    expect(fs.existsSync(cgDir('gone')) || fs.existsSync(cgDir('orphan'))).toBe(false);
    expect(running(keep.p.pid)).toBe(true);
    // The kept container's denials still hold, and its GPU and manual's are still taken.
    expect(await probeIn('keep')).toEqual(expected([0]));
    expect(await probeIn('manual')).toEqual(expected([3]));
    const next = await client.prepare({ value: 'next' }, { resources: gpus(1) });
    expect(env(next, 'NVIDIA_VISIBLE_DEVICES')).toBe(FOUR_UUIDS[1]);
    const err = await failure(client.prepare({ value: 'more' }, { resources: gpus(2) }));
    expect(err).toMatchObject({ code: 'GPU_UNAVAILABLE', message: expect.stringMatching(/to container keep.*to container next.*to container manual/) });
    expect(lines.join('\n')).toMatch(/recovered/);

    for (const id of ['keep', 'next', 'manual']) await client.cleanup({ value: id });
    await keep.p.exited; // its cgroup was this module's: what was left in it is killed
    expect(fs.existsSync(cgDir('keep'))).toBe(false);
    expect(fs.existsSync(cgDir('manual'))).toBe(true); // not this module's to remove
    fs.rmdirSync(cgDir('manual'));
    expect(JSON.parse(fs.readFileSync(path.join(stateDir, 'gpu', 'assignments.json'), 'utf8')).containers).toEqual([]);
  });
});
