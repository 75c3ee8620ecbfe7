// Configure of the GPU isolator: no driver (advertise none, say so), the operator's devices list
// (validated against discovery, or against device nodes without a driver, with node health polls),
// discovery turned off, minor numbers from nvidia-smi -q or nowhere, cgroup v2 hosts, the driver volume
// (built from found files, mounted or on PATH), and nvidia-smi output that is not a GPU list.
import fs from 'node:fs';
import path from 'node:path';
import { gpuModule, type GpuIsolator } from '@tessera/isolator-gpu';
import { IsolatorClient, serveInProcess, TesseraError, type ContainerLaunchInfo, type InProcessModule, type Resource, type ResourceList } from '@tessera/modules-api';
import { tempDir, waitFor } from '../modules/helpers';
import { describeIf, failure, DEVICES, fakeDriverLibs, fakeNvidiaSmi, FOUR_UUIDS, gpuFacilityMissing, makeDevRoot, removeDevicesRoot, type FakeSmi } from './helpers';

const root = `tessera-test-${process.pid}-gpu-configure`;
const gpus = (n: number): Resource[] => [{ name: 'gpus', type: 'SCALAR', scalar: { value: n } }];
const env = (info: ContainerLaunchInfo | undefined, name: string) => info?.environment?.variables?.find((v) => v.name === name)?.value;
const dirs: string[] = [];
const mods: InProcessModule[] = [];
const streams = new AbortController();
let devRoot: string;
let smi: FakeSmi;

interface Served {
  client: IsolatorClient;
  lines: string[];
  warnings: readonly string[];
  iso: GpuIsolator;
}

async function configure(parameters: Record<string, unknown>): Promise<Served> {
  const lines: string[] = [];
  const log = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
  let iso: GpuIsolator | undefined;
  const stateDir = tempDir();
  dirs.push(stateDir);
  const mod = await serveInProcess(gpuModule({ onConfigured: (i) => (iso = i) }), { parameters: { dev_root: devRoot, root, health_poll_interval_ms: 0, proc_driver_nvidia: smi.proc, ...parameters }, stateDir, log });
  mods.push(mod);
  return { client: new IsolatorClient(mod), lines, warnings: mod.warnings, iso: iso! };
}

// Configure called directly: a refused serveInProcess would leave its server listening.
async function refused(parameters: Record<string, unknown>): Promise<TesseraError> {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const def = gpuModule();
  try {
    await def.configure!({ parameters: { dev_root: devRoot, root, health_poll_interval_ms: 0, proc_driver_nvidia: smi.proc, ...parameters }, negotiated: { isolator: '1.0.0' }, instanceName: 'gpu', coreVersion: '0.0.0-test', stateDir: '', log: quiet });
    await def.shutdown?.();
  } catch (err) {
    return TesseraError.wrap(err);
  }
  throw new Error(`Configure accepted ${JSON.stringify(parameters)}`);
}

function watch(client: IsolatorClient): ResourceList[] {
  const lists: ResourceList[] = [];
  void (async () => {
    try {
      for await (const l of client.watchResources({}, streams.signal)) lists.push(l);
    } catch {
      // cancelled
    }
  })();
  return lists;
}
const count = (l: ResourceList | undefined) => l?.resources?.find((r) => r.name === 'gpus')?.scalar?.value ?? 0;

describeIf(gpuFacilityMissing())('isolator-gpu Configure', () => {
  beforeAll(() => {
    devRoot = makeDevRoot(4);
    smi = fakeNvidiaSmi(devRoot);
    dirs.push(devRoot, smi.dir);
  });
  afterAll(async () => {
    streams.abort();
    for (const m of mods) await m.stop();
    await removeDevicesRoot(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('without a driver: says so, advertises no gpus, refuses GPU containers, still isolates the others', async () => {
    smi.use('driver-missing.txt');
    const s = await configure({ nvidia_smi: smi.path });
    expect(s.lines.join('\n')).toMatch(/no NVIDIA driver answers \(NVIDIA-SMI couldn't find libnvidia-ml\.so library in your system\..*\): no GPUs are offered/);
    expect(s.lines.join('\n')).toMatch(/managing no GPUs: advertising none/);
    const lists = watch(s.client);
    await waitFor(() => lists.length === 1, 5000, 'the first list');
    expect(lists[0].resources ?? []).toEqual([]);
    const err = await failure(s.client.prepare({ value: 'want' }, { resources: gpus(1) }));
    expect(err).toMatchObject({ code: 'GPU_UNAVAILABLE', message: expect.stringMatching(/asks for 1 GPU\(s\), but this agent has none/) });
    expect(await s.client.prepare({ value: 'plain' }, {})).toBeUndefined();
    expect(fs.existsSync(path.join(DEVICES, root, 'plain'))).toBe(true);
    await s.client.cleanup({ value: 'plain' });
    expect(fs.existsSync(path.join(DEVICES, root, 'plain'))).toBe(false);

    const missing = await configure({ nvidia_smi: '/nonexistent/nvidia-smi' });
    expect(missing.lines.join('\n')).toMatch(/no NVIDIA driver answers \(\/nonexistent\/nvidia-smi is not installed \(not found\)\)/);
    smi.use('driver-unreachable.txt');
    const blocked = await configure({ nvidia_smi: smi.path });
    expect(blocked.lines.join('\n')).toMatch(/no NVIDIA driver answers \(Failed to initialize NVML: GPU access blocked by the operating system\): no GPUs are offered/);
    smi.use('four-gpus-v100.csv');
  });

  it('without a driver, takes the operator\'s devices as device nodes (index = minor), and polls the nodes for health', async () => {
    smi.use('driver-missing.txt');
    const s = await configure({ nvidia_smi: smi.path, devices: [2, 0], health_poll_interval_ms: 100 });
    expect(s.lines.join('\n')).toMatch(/using the devices parameter's GPUs as device nodes under/);
    const lists = watch(s.client);
    await waitFor(() => lists.length === 1, 5000, 'the first list');
    expect(count(lists[0])).toBe(2);
    expect(lists[0].devices?.map((d) => [d.id, d.minor, d.health])).toEqual([['nvidia0', 0, 'UNKNOWN'], ['nvidia2', 2, 'UNKNOWN']]);
    const info = await s.client.prepare({ value: 'n1' }, { resources: gpus(1) });
    expect(env(info, 'NVIDIA_VISIBLE_DEVICES')).toBe('0');
    await s.client.cleanup({ value: 'n1' });
    // The node of GPU 2 disappears: the next poll marks it unhealthy and the stream says gpus 1.
    const node = path.join(devRoot, 'nvidia2');
    fs.rmSync(node);
    try {
      await waitFor(() => count(lists.at(-1)) === 1, 10_000, 'gpus 1 after the node vanished');
      expect(lists.at(-1)!.devices![1]).toMatchObject({ health: 'UNHEALTHY', attributes: { health_reason: `${node} is gone` } });
    } finally {
      fs.rmSync(node, { force: true });
      require('node:child_process').spawnSync('mknod', ['-m', '666', node, 'c', '195', '2']);
    }
    smi.use('four-gpus-v100.csv');
  });

  it('checks the devices list: duplicates, GPUs discovery did not find, missing nodes', async () => {
    expect(await refused({ nvidia_smi: smi.path, devices: [1, 1] })).toMatchObject({ code: 'GPU_DEVICES_INVALID', message: expect.stringMatching(/lists 1 twice/) });
    expect(await refused({ nvidia_smi: smi.path, devices: [1, FOUR_UUIDS[1]] })).toMatchObject({ message: expect.stringMatching(/names GPU 1 \(minor 1, GPU-3b9d4c2e[^)]*\) twice \(by index and by UUID\)/) });
    expect(await refused({ nvidia_smi: smi.path, devices: [7] })).toMatchObject({ message: expect.stringMatching(/names GPU 7, which nvidia-smi does not list \(it lists: 0 \(GPU-8f6e2b1c/) });
    smi.use('driver-missing.txt');
    expect(await refused({ nvidia_smi: smi.path, devices: [5] })).toMatchObject({ message: expect.stringMatching(/nvidia5 is not a character device node: create it \(mknod .*nvidia5 c 195 5\)/) });
    expect(await refused({ nvidia_smi: smi.path, devices: [FOUR_UUIDS[0]] })).toMatchObject({ message: expect.stringMatching(/by UUID, but no NVIDIA driver answers/) });
    smi.use('four-gpus-v100.csv');
    const s = await configure({ nvidia_smi: smi.path, devices: [FOUR_UUIDS[3], 1] });
    expect(s.iso.table.all.map((g) => g.index)).toEqual([1, 3]);
    const off = await configure({ nvidia_smi: smi.path, devices: [] });
    expect(off.lines.join('\n')).toMatch(/the devices parameter is empty: GPU discovery is off/);
  });

  it('takes minor numbers from nvidia-smi -q without the proc files, and offers no GPU whose minor it cannot find', async () => {
    smi.minorsAt('smi-q');
    try {
      const q = await configure({ nvidia_smi: smi.path });
      expect(q.iso.table.all.map((g) => [g.index, g.minor])).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
      expect(q.warnings).toEqual([]);
      expect(smi.qRuns()).toBe(1);

      smi.minorsAt('nowhere');
      const none = await configure({ nvidia_smi: smi.path });
      expect(none.lines.join('\n')).toMatch(/managing no GPUs: advertising none/);
      expect(none.warnings).toHaveLength(4);
      expect(none.warnings[1]).toMatch(new RegExp(`^GPU 1 at 00000000:1C:00.0 \\(${FOUR_UUIDS[1]}\\) has no usable minor number \\(not in .*/gpus/\\*/information; not in .* -q\\): .*cannot be isolated and is not offered$`));
      const err = await failure(none.client.prepare({ value: 'nominor' }, { resources: gpus(1) }));
      expect(err.code).toBe('GPU_UNAVAILABLE');
      // Naming such a GPU in the devices list says why it was not found.
      expect(await refused({ nvidia_smi: smi.path, devices: [1] })).toMatchObject({
        code: 'GPU_DEVICES_INVALID',
        message: expect.stringMatching(/names GPU 1, which nvidia-smi does not list \(it lists: none\): fix the devices parameter \(discovery also said: GPU 0 at .* has no usable minor number/),
      });
    } finally {
      smi.minorsAt('proc');
    }
  });

  it('refuses a cgroup v2 host when there are GPUs to isolate, and only warns when there are none', async () => {
    const v2 = tempDir();
    dirs.push(v2);
    fs.writeFileSync(path.join(v2, 'cgroup.controllers'), 'cpu memory pids\n');
    expect(await refused({ nvidia_smi: smi.path, cgroup_root: v2 })).toMatchObject({ code: 'GPU_CGROUP_UNSUPPORTED', message: expect.stringMatching(/cgroup v2 .* needs an eBPF program/) });
    const none = await configure({ nvidia_smi: smi.path, cgroup_root: v2, devices: [] });
    expect(none.warnings.join('\n')).toMatch(/GPU_CGROUP_UNSUPPORTED|no GPUs here, so nothing needs isolating/);
    expect(await none.client.prepare({ value: 'x' }, {})).toBeUndefined();
    await none.client.cleanup({ value: 'x' });
  });

  it('builds the driver volume from the files it finds and mounts it read-only, or leaves it out without libnvidia-ml', async () => {
    const libs = fakeDriverLibs();
    const target = tempDir();
    dirs.push(libs, target);
    const s = await configure({ nvidia_smi: smi.path, library_dirs: [libs], driver_volume: 'auto', driver_volume_path: target });
    const info = await s.client.prepare({ value: 'v' }, { resources: gpus(1) });
    const source = info?.mounts?.[0]?.source;
    expect(info?.mounts).toEqual([{ source: expect.stringMatching(/nvidia-volume$/), target, flags: ['bind', 'ro'] }]);
    expect(env(info, 'PATH')).toMatch(new RegExp(`^${target}/bin:`));
    expect(env(info, 'LD_LIBRARY_PATH')).toMatch(new RegExp(`^${target}/lib64`));
    expect(fs.readdirSync(path.join(source!, 'lib64')).sort()).toEqual(['libcuda.so.1', 'libcuda.so.535.104.05', 'libnvidia-ml.so.1', 'libnvidia-ml.so.535.104.05']);
    expect(fs.readlinkSync(path.join(source!, 'lib64', 'libnvidia-ml.so.1'))).toBe(path.join(libs, 'libnvidia-ml.so.535.104.05'));
    expect(fs.readlinkSync(path.join(source!, 'bin', 'nvidia-smi'))).toBe(smi.path);
    // A container running as another user cannot have mounts yet: "auto" gives it PATH into the host directory.
    const other = await s.client.prepare({ value: 'v2' }, { resources: gpus(1), user: 'nobody' });
    expect(other?.mounts ?? []).toEqual([]);
    expect(env(other, 'PATH')).toBe(`${source}/bin:${process.env.PATH}`);
    await s.client.cleanup({ value: 'v' });
    await s.client.cleanup({ value: 'v2' });

    const empty = tempDir();
    dirs.push(empty);
    const without = await configure({ nvidia_smi: smi.path, library_dirs: [empty] });
    expect(without.lines.join('\n')).toMatch(/no driver volume: libnvidia-ml.so is not found \(in /);
    const bare = await without.client.prepare({ value: 'b' }, { resources: gpus(1) });
    expect(env(bare, 'PATH')).toBeUndefined();
    expect(env(bare, 'NVIDIA_VISIBLE_DEVICES')).toBe(FOUR_UUIDS[0]);
    await without.client.cleanup({ value: 'b' });
  });

  it('mounts nothing where the driver is installed at the volume path itself (as /usr/local/nvidia on GPU images): the links would point at themselves', async () => {
    const installed = fakeDriverLibs(); // the driver's libraries live under the target...
    dirs.push(installed);
    for (const mode of ['auto', 'mount'] as const) {
      const s = await configure({ nvidia_smi: smi.path, library_dirs: [installed], driver_volume: mode, driver_volume_path: path.dirname(installed) });
      expect(s.lines.join('\n')).toContain(`the driver is installed at ${path.dirname(installed)} itself, where containers see it`);
      const info = await s.client.prepare({ value: `in-place-${mode}` }, { resources: gpus(1) });
      expect(info?.mounts ?? []).toEqual([]);
      expect(env(info, 'PATH')).toMatch(new RegExp(`^${path.dirname(installed)}/bin:`));
      expect(env(info, 'LD_LIBRARY_PATH')).toMatch(new RegExp(`^${path.dirname(installed)}/lib64`));
      await s.client.cleanup({ value: `in-place-${mode}` });
    }
  });

  it('refuses nvidia-smi output that is not a GPU list', async () => {
    smi.useText('Segmentation fault (core dumped)\n', 139);
    expect(await refused({ nvidia_smi: smi.path })).toMatchObject({ code: 'GPU_DISCOVERY_FAILED', message: expect.stringMatching(/where a GPU line of 7 fields/) });
    smi.use('four-gpus-v100.csv');
  });
});
