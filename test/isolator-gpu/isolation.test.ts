// The GPU isolator served in-process (real gRPC, IsolatorClient) on this host's real v1 devices
// hierarchy, with GPU nodes made by mknod and a fake nvidia-smi listing four GPUs: held processes are
// isolated, then open the nodes. No driver here, so a node the cgroup lets through answers ENXIO and
// one it denies EPERM. Also: allow-list cgroups made by the cgroups module (both orders), health
// changes on the WatchResources stream, update, usage, and fractional requests.
import fs from 'node:fs';
import path from 'node:path';
import { cgroupsModule } from '@tessera/isolator-cgroups';
import { gpuModule, type GpuIsolator } from '@tessera/isolator-gpu';
import { IsolatorClient, serveInProcess, type ContainerLaunchInfo, type InProcessModule, type Resource, type ResourceList } from '@tessera/modules-api';
import { held } from '../isolator-cgroups/helpers';
import { tempDir, waitFor } from '../modules/helpers';
import { describeIf, failure, DEVICES, expected, fakeDriverLibs, fakeNvidiaSmi, FOUR_UUIDS, gpuFacilityMissing, makeDevRoot, probeCommand, removeDevicesRoot, writeProbe, type FakeSmi } from './helpers';

const root = `tessera-test-${process.pid}-gpu`;
const gpus = (n: number): Resource[] => [{ name: 'gpus', type: 'SCALAR', scalar: { value: n } }, { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }];
const env = (info: ContainerLaunchInfo | undefined, name: string) => info?.environment?.variables?.find((v) => v.name === name)?.value;
const cgDir = (id: string) => path.join(DEVICES, root, id);

let devRoot: string;
let smi: FakeSmi;
let probe: string;
let mod: InProcessModule;
let client: IsolatorClient;
let iso: GpuIsolator;
const lines: string[] = [];
const dirs: string[] = [];
const streams = new AbortController();

/** runIsolated starts a held probe, isolates it as container `id`, releases it and returns what it could open. */
async function runIsolated(c: IsolatorClient, id: string, ...more: IsolatorClient[]): Promise<Record<string, string>> {
  const p = await held(probeCommand(probe, devRoot));
  await c.isolate({ value: id }, p.pid);
  for (const m of more) await m.isolate({ value: id }, p.pid);
  p.release();
  await p.exited;
  return JSON.parse(p.output().trim());
}

/** probeIn runs a probe inside a container's existing devices cgroup. */
async function probeIn(id: string): Promise<Record<string, string>> {
  const p = await held(probeCommand(probe, devRoot));
  fs.writeFileSync(path.join(cgDir(id), 'cgroup.procs'), String(p.pid));
  p.release();
  await p.exited;
  return JSON.parse(p.output().trim());
}

describeIf(gpuFacilityMissing())('isolator-gpu on the v1 devices cgroup', () => {
  beforeAll(async () => {
    devRoot = makeDevRoot(4);
    smi = fakeNvidiaSmi(devRoot);
    probe = writeProbe();
    const libs = fakeDriverLibs();
    const stateDir = tempDir();
    const procDevices = path.join(tempDir(), 'devices');
    fs.writeFileSync(procDevices, 'Character devices:\n  1 mem\n195 nvidia-frontend\n508 nvidia-uvm\n\nBlock devices:\n  7 loop\n');
    dirs.push(devRoot, smi.dir, path.dirname(probe), libs, stateDir, path.dirname(procDevices));
    const log = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
    mod = await serveInProcess(gpuModule({ onConfigured: (i) => (iso = i) }), {
      parameters: { nvidia_smi: smi.path, dev_root: devRoot, root, health_poll_interval_ms: 0, library_dirs: [libs], proc_devices: procDevices, proc_driver_nvidia: smi.proc, driver_volume: 'env' },
      stateDir,
      log,
    });
    client = new IsolatorClient(mod);
  });

  afterAll(async () => {
    streams.abort();
    await mod?.stop();
    await removeDevicesRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('says at Configure what it manages (minor numbers from the driver\'s proc files), and advertises the four GPUs with their devices', async () => {
    expect(smi.qRuns()).toBe(0);
    expect(lines.join('\n')).toMatch(/managing 4 GPU\(s\) \(nvidia-smi\): GPU 0 \(minor 0, GPU-8f6e2b1c-[^)]*\) Tesla V100-SXM2-16GB HEALTHY/);
    expect(lines.join('\n')).toMatch(/driver volume at .*nvidia-volume/);
    const first = await firstList();
    expect(first.resources).toEqual([expect.objectContaining({ name: 'gpus', type: 'SCALAR', scalar: { value: 4 } })]);
    expect(first.devices?.map((d) => [d.id, d.path, d.major, d.minor, d.health])).toEqual(FOUR_UUIDS.map((u, i) => [u, path.join(devRoot, `nvidia${i}`), 195, i, 'HEALTHY']));
  });

  it('a container given GPU 1 opens minor 1 (ENXIO: the cgroup let it through) and gets EPERM on minors 0, 2 and 3', async () => {
    const a = await client.prepare({ value: 'a' }, { resources: gpus(1) });
    const b = await client.prepare({ value: 'b' }, { resources: gpus(1) });
    expect(env(a, 'NVIDIA_VISIBLE_DEVICES')).toBe(FOUR_UUIDS[0]);
    expect(env(b, 'NVIDIA_VISIBLE_DEVICES')).toBe(FOUR_UUIDS[1]);
    expect(env(b, 'CUDA_VISIBLE_DEVICES')).toBe(FOUR_UUIDS[1]);
    expect(env(b, 'PATH')).toMatch(/nvidia-volume\/bin:/);
    expect(env(b, 'LD_LIBRARY_PATH')).toMatch(/nvidia-volume\/lib64/);
    expect(fs.readlinkSync(path.join(env(b, 'PATH')!.split(':')[0], 'nvidia-smi'))).toBe(smi.path);
    expect(b?.devices?.map((d) => `${d.path} ${d.major}:${d.minor}`)).toEqual([`${devRoot}/nvidia1 195:1`, `${devRoot}/nvidiactl 195:255`, `${devRoot}/nvidia-uvm 508:0`, `${devRoot}/nvidia-uvm-tools 508:1`]);

    expect(await runIsolated(client, 'b')).toEqual(expected([1]));
    expect(await runIsolated(client, 'a')).toEqual(expected([0]));
    // This module alone made the cgroups: allow-all with per-minor denials.
    expect(fs.readFileSync(path.join(cgDir('b'), 'devices.list'), 'utf8').trim()).toBe('a *:* rwm');
    expect(await client.status({ value: 'b' })).toMatchObject({ cgroups: { devices: `/${root}/b` }, labels: { labels: [{ key: 'gpus', value: FOUR_UUIDS[1] }] } });

    await client.cleanup({ value: 'a' });
    await client.cleanup({ value: 'b' });
    expect(fs.existsSync(cgDir('a')) || fs.existsSync(cgDir('b'))).toBe(false);
    expect(iso.table.free()).toHaveLength(4);
  });

  it('never gives one GPU to two containers, also when prepared concurrently; the fifth GPU asked for is refused naming the holders', async () => {
    const ids = ['c1', 'c2', 'c3'];
    const infos = await Promise.all([client.prepare({ value: 'c1' }, { resources: gpus(2) }), client.prepare({ value: 'c2' }, { resources: gpus(1) }), client.prepare({ value: 'c3' }, { resources: gpus(1) })]);
    const visible = infos.map((i) => env(i, 'NVIDIA_VISIBLE_DEVICES')!.split(','));
    expect(visible.map((v) => v.length)).toEqual([2, 1, 1]);
    expect(new Set(visible.flat()).size).toBe(4);
    const err = await failure(client.prepare({ value: 'c4' }, { resources: gpus(1) }));
    expect(err).toMatchObject({ code: 'GPU_UNAVAILABLE', message: expect.stringMatching(/asks for 1 GPU\(s\), but 0 of this agent's 4 are free \(GPU 0 .* to container c1; .*to container c3\)/) });
    const seen = await Promise.all(ids.map((id) => runIsolated(client, id)));
    seen.forEach((s, i) => {
      const mine = visible[i].map((u) => FOUR_UUIDS.indexOf(u));
      expect(s).toEqual(expected(mine));
    });
    for (const id of ids) await client.cleanup({ value: id });
    await client.cleanup({ value: 'c4' }); // never prepared: fine
  });

  it('refuses 0.5 GPU as an invalid task (TSR_TASK_INVALID, TASK_ERROR at the agent) and holds nothing', async () => {
    const err = await failure(client.prepare({ value: 'half' }, { resources: gpus(0.5) }));
    expect(err).toMatchObject({ code: 'TSR_TASK_INVALID', message: expect.stringMatching(/asks for 0.5 GPUs: GPUs are allocated whole.*the framework must fix the task/) });
    expect(fs.existsSync(cgDir('half'))).toBe(false);
    expect(iso.table.free()).toHaveLength(4);
    const err2 = await failure(client.prepare({ value: 'neg' }, { resources: gpus(-1) }));
    expect(err2.code).toBe('TSR_TASK_INVALID');
  });

  it('a container without GPUs may open none of them (nvidiactl only) and is told so', async () => {
    const info = await client.prepare({ value: 'none' }, { resources: gpus(0) });
    expect(env(info, 'NVIDIA_VISIBLE_DEVICES')).toBe('void');
    expect(env(info, 'CUDA_VISIBLE_DEVICES')).toBe('');
    expect(await runIsolated(client, 'none')).toEqual(expected([]));
    expect(await client.usage({ value: 'none' })).toEqual({ timestamp: expect.any(Number) });
    await client.cleanup({ value: 'none' });
  });

  it('update grants more GPUs and revokes them in the running container; usage reports them by UUID', async () => {
    await client.prepare({ value: 'u' }, { resources: gpus(1) });
    expect(await runIsolated(client, 'u')).toEqual(expected([0]));
    await client.update({ value: 'u' }, gpus(2));
    expect(await probeIn('u')).toEqual(expected([0, 1]));
    const usage = await client.usage({ value: 'u' });
    expect(usage.gpusUtilization).toEqual({
      [FOUR_UUIDS[0]]: 0,
      [`${FOUR_UUIDS[0]}/memory_used_bytes`]: 0,
      [`${FOUR_UUIDS[0]}/memory_total_bytes`]: 16160 * 1024 * 1024,
      [FOUR_UUIDS[1]]: 87,
      [`${FOUR_UUIDS[1]}/memory_used_bytes`]: 10240 * 1024 * 1024,
      [`${FOUR_UUIDS[1]}/memory_total_bytes`]: 16160 * 1024 * 1024,
    });
    await client.update({ value: 'u' }, gpus(0));
    expect(await probeIn('u')).toEqual(expected([]));
    const err = await failure(client.update({ value: 'u' }, gpus(5)));
    expect(err.code).toBe('GPU_UNAVAILABLE');
    await client.cleanup({ value: 'u' });
  });

  it('health polls: unhealthy GPUs leave the advertised total and are not handed out; a held one leaves once freed', async () => {
    const lists = watch();
    await waitFor(() => lists.length >= 1, 5000, 'the first list');
    await client.prepare({ value: 'h' }, { resources: gpus(3) }); // GPUs 0, 1, 2
    smi.use('unhealthy-v100.csv'); // GPU 2 (held by h) and GPU 3 (free) turn unhealthy
    expect(await iso.pollHealth()).toBe(true);
    await waitFor(() => gpuCount(lists.at(-1)) === 3, 5000, 'gpus 3 (two healthy + one unhealthy still held)');
    expect(lists.at(-1)!.devices!.map((d) => d.health)).toEqual(['HEALTHY', 'HEALTHY', 'UNHEALTHY', 'UNHEALTHY']);
    expect(lines.join('\n')).toMatch(/GPU 3 \(minor 3, GPU-5e6f7a8b[^)]*\) is now UNHEALTHY \(2 uncorrectable ECC error/);
    const err = await failure(client.prepare({ value: 'h2' }, { resources: gpus(1) }));
    expect(err.message).toMatch(/GPU 3 .*unhealthy \(2 uncorrectable ECC/);
    await client.cleanup({ value: 'h' });
    await waitFor(() => gpuCount(lists.at(-1)) === 2, 5000, 'gpus 2 once the unhealthy GPU is freed');
    smi.use('four-gpus-v100.csv');
    expect(await iso.pollHealth()).toBe(true);
    await waitFor(() => gpuCount(lists.at(-1)) === 4, 5000, 'gpus 4 once healthy again');
    // Polls reuse the minor numbers Configure found: no nvidia-smi -q, even without the proc files.
    smi.minorsAt('nowhere');
    expect(await iso.pollHealth()).toBe(false);
    expect(iso.table.all.map((g) => g.health)).toEqual(['HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY']);
    expect(smi.qRuns()).toBe(0);
    smi.minorsAt('proc');
  });

  describe('with the cgroups module isolating devices (allow-list cgroups)', () => {
    let cgMod: InProcessModule;
    let cg: IsolatorClient;
    beforeAll(async () => {
      cgMod = await serveInProcess(cgroupsModule(), { parameters: { subsystems: ['devices'], root } });
      cg = new IsolatorClient(cgMod);
    });
    afterAll(async () => {
      await cgMod?.stop();
    });

    it('grants the container its GPU, nvidiactl and nvidia-uvm on top of the allow-list, whichever module prepares first', async () => {
      // --isolation=cgroups,gpu
      await cg.prepare({ value: 'l1' }, { resources: gpus(1) });
      await client.prepare({ value: 'l1' }, { resources: gpus(1) });
      // --isolation=gpu,cgroups: the cgroups module resets the rules at its prepare; the grants come at isolate.
      await client.prepare({ value: 'l2' }, { resources: gpus(1) });
      await cg.prepare({ value: 'l2' }, { resources: gpus(1) });
      expect(await runIsolated(cg, 'l1', client)).toEqual(expected([0]));
      expect(await runIsolated(client, 'l2', cg)).toEqual(expected([1]));
      const list = fs.readFileSync(path.join(cgDir('l2'), 'devices.list'), 'utf8');
      expect(list).not.toMatch(/^a /m);
      expect(list).toMatch(/^c 195:1 rwm$/m);
      expect(list).toMatch(/^c 195:255 rwm$/m);
      expect(list).toMatch(/^c 508:0 rwm$/m);
      expect(list).toMatch(/^c 508:1 rwm$/m);
      expect(list).not.toMatch(/^c 195:0 /m);
      // Cleanup in reverse --isolation order; whoever made the cgroup removes it.
      await client.cleanup({ value: 'l1' });
      expect(fs.existsSync(cgDir('l1'))).toBe(true); // the cgroups module's
      await cg.cleanup({ value: 'l1' });
      await cg.cleanup({ value: 'l2' });
      await client.cleanup({ value: 'l2' });
      expect(fs.existsSync(cgDir('l1')) || fs.existsSync(cgDir('l2'))).toBe(false);
    });

    it('refuses to isolate when the allow-list grants every NVIDIA device (c 195:* rwm)', async () => {
      const loose = await serveInProcess(cgroupsModule(), { parameters: { subsystems: ['devices'], root, allowed_devices: ['c 195:* rwm'] } });
      try {
        const looseClient = new IsolatorClient(loose);
        await looseClient.prepare({ value: 'loose' }, {});
        await client.prepare({ value: 'loose' }, { resources: gpus(1) });
        const p = await held('true');
        const err = await failure(client.isolate({ value: 'loose' }, p.pid));
        expect(err).toMatchObject({ code: 'GPU_DEVICES_CONFLICT', message: expect.stringMatching(/allows "c 195:\* rwm", every NVIDIA device/) });
        p.child.kill('SIGKILL');
        await client.cleanup({ value: 'loose' });
        await looseClient.cleanup({ value: 'loose' });
      } finally {
        await loose.stop();
      }
    });
  });
});

function gpuCount(list: ResourceList | undefined): number {
  return list?.resources?.find((r) => r.name === 'gpus')?.scalar?.value ?? 0;
}

/** watch collects the lists of one WatchResources stream until the tests end. */
function watch(): ResourceList[] {
  const lists: ResourceList[] = [];
  void (async () => {
    try {
      for await (const l of client.watchResources({}, streams.signal)) lists.push(l);
    } catch {
      // cancelled at the end
    }
  })();
  return lists;
}

async function firstList(): Promise<ResourceList> {
  const ac = new AbortController();
  for await (const l of client.watchResources({}, ac.signal)) {
    ac.abort();
    return l;
  }
  throw new Error('no list');
}
