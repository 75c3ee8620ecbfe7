// Helpers for the GPU isolator tests: GPU device nodes made with mknod (major 195) under a temp /dev
// root, a fake nvidia-smi that prints the outputs of ./fixtures (answers `-q` with the H100's recorded
// text made over for the fixture's GPUs, and `-L` as NVML does, listing only the GPUs whose node the
// caller may open) beside a fake /proc/driver/nvidia giving their minor numbers, a probe that opens
// device nodes from inside a container, and removal of what a test root left in the devices hierarchy.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TesseraError } from '@tessera/modules-api';
import { tempDir } from '../modules/helpers';

/** FIXTURES is the directory of recorded nvidia-smi outputs. */
export const FIXTURES = path.join(__dirname, 'fixtures');
/** MODULE is the bundled module (npm run bundle). */
export const MODULE = path.join(__dirname, '../../modules/isolator-gpu/dist/module.js');
/** DEVICES is this host's v1 devices hierarchy. */
export const DEVICES = '/sys/fs/cgroup/devices';

/** fixture reads a recorded output. */
export const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** EXIT_STATUS is the status nvidia-smi exits with for each recorded output (0 when not listed). */
export const EXIT_STATUS: Record<string, number> = {
  'lost-and-reset-v100.csv': 15,
  'field-refused.txt': 2,
  'minor-number-refused.txt': 2,
  'driver-missing.txt': 12,
  'driver-unreachable.txt': 17,
  'driver-not-loaded.txt': 9,
  'nvml-mismatch.txt': 18,
  'no-devices.txt': 6,
};

/** FixtureGpu is one GPU row of a discovery output, with the minor number its bus id has in the fixtures. */
export interface FixtureGpu {
  index: string;
  uuid: string;
  name: string;
  pciBusId: string;
  /** From synthetic-minors.txt, or the H100's recorded information file; undefined for an unknown bus id. */
  minor: number | undefined;
}

/** FIXTURE_MINORS maps each fixture GPU's bus id (as nvidia-smi prints it, upper case) to its minor number. */
export const FIXTURE_MINORS: ReadonlyMap<string, number> = (() => {
  const out = new Map<string, number>();
  for (const line of fixture('synthetic-minors.txt').split('\n')) {
    const m = /^([0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7])\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  // The H100's own: "Bus Location: \t 0000:00:06.0" and "Device Minor: \t 0" of its information file.
  const info = fixture('proc-information-h100.txt');
  const bus = /^Bus Location:\s+([0-9a-f]{4}):(.*)$/m.exec(info)!;
  out.set(`0000${bus[1]}:${bus[2]}`.toUpperCase(), Number(/^Device Minor:\s+(\d+)$/m.exec(info)![1]));
  return out;
})();

/** fixtureGpus lists the GPU rows of a discovery output (new field order: index, uuid, name, memory, bus id, ...). */
export function fixtureGpus(text: string): FixtureGpu[] {
  return text
    .split('\n')
    .filter((l) => /^\d+, /.test(l))
    .map((l) => {
      const [index, uuid, name, , pciBusId] = l.split(', ');
      return { index, uuid, name, pciBusId, minor: FIXTURE_MINORS.get(pciBusId.toUpperCase()) };
    });
}

/** FOUR_UUIDS are the UUIDs of four-gpus-v100.csv, by index (= minor). */
export const FOUR_UUIDS = fixtureGpus(fixture('four-gpus-v100.csv')).map((g) => g.uuid);

/** driverBusId writes a bus id as the driver's proc files do: a 4-digit domain, lower case ("0000:1a:00.0"). */
export const driverBusId = (bus: string): string => bus.replace(/^0*([0-9A-Fa-f]{4}:)/, '$1').toLowerCase();

/**
 * driverInformation renders a GPU's /proc/driver/nvidia/gpus/<bus id>/information, the H100's recorded
 * file with this GPU's model, UUID, bus location and minor.
 */
export function driverInformation(g: Pick<FixtureGpu, 'name' | 'uuid' | 'pciBusId'> & { minor: number }): string {
  const set = (text: string, label: string, value: string) => text.replace(new RegExp(`^(${label}:\\s+).*$`, 'm'), (_, head: string) => `${head}${value}`);
  let text = fixture('proc-information-h100.txt');
  if (!g.name.startsWith('[')) text = set(text, 'Model', g.name);
  text = set(text, 'GPU UUID', g.uuid);
  text = set(text, 'Bus Location', driverBusId(g.pciBusId));
  return set(text, 'Device Minor', String(g.minor));
}

/** writeProcDriverNvidia fills a /proc/driver/nvidia stand-in: gpus/<bus id>/information for each GPU with a minor (others removed). */
export function writeProcDriverNvidia(dir: string, gpus: readonly FixtureGpu[]): void {
  fs.rmSync(path.join(dir, 'gpus'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'gpus'), { recursive: true });
  for (const g of gpus) {
    if (g.minor === undefined) continue;
    const d = path.join(dir, 'gpus', driverBusId(g.pciBusId));
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'information'), driverInformation({ ...g, minor: g.minor }));
  }
}

/**
 * smiQuery renders `nvidia-smi -q` for GPUs: the H100's recorded output, its GPU section repeated per
 * GPU with the GPU's bus id, name, UUID and minor ("N/A" when `minors` is false).
 */
export function smiQuery(gpus: readonly FixtureGpu[], minors = true): string {
  const recorded = fixture('smi-q-one-h100.txt');
  const at = recorded.search(/^GPU [0-9A-F]{8}:/m);
  const head = recorded.slice(0, at).replace(/^(Attached GPUs\s+: ).*$/m, (_, h: string) => `${h}${gpus.length}`);
  const section = recorded.slice(at).trimEnd();
  const set = (text: string, label: string, value: string) => text.replace(new RegExp(`^(\\s+${label}\\s+: ).*$`, 'm'), (_, h: string) => `${h}${value}`);
  const sections = gpus.map((g) => {
    let text = section.replace(/^GPU .*$/m, `GPU ${g.pciBusId}`);
    if (!g.name.startsWith('[')) text = set(text, 'Product Name', g.name);
    text = set(text, 'GPU UUID', g.uuid);
    text = set(text, 'Minor Number', minors && g.minor !== undefined ? String(g.minor) : 'N/A');
    return set(text, 'Bus Id', g.pciBusId);
  });
  return `${head}${sections.join('\n\n')}\n\n`;
}

/** gpuFacilityMissing says why real device-cgroup tests cannot run here, or undefined when they can. */
export function gpuFacilityMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (mknod and the devices cgroup need root)';
  if (!fs.existsSync(path.join(DEVICES, 'devices.allow'))) return `no cgroup v1 devices hierarchy at ${DEVICES}`;
  const dir = tempDir();
  try {
    const r = spawnSync('mknod', [path.join(dir, 'probe'), 'c', '195', '0']);
    if (r.status !== 0) return `mknod fails here: ${r.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

/** describeIf runs the tests of a describe only when `reason` is undefined, printing it otherwise. */
export function describeIf(reason: string | undefined): jest.Describe {
  if (reason) {
    // eslint-disable-next-line no-console
    console.warn(`skipping: ${reason}`);
    return describe.skip;
  }
  return describe;
}

/** makeDevRoot makes a /dev stand-in: nvidia0..nvidia<n-1> (c 195:i) and nvidiactl (c 195:255). */
export function makeDevRoot(n = 4): string {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const nodes: [string, number][] = [...Array.from({ length: n }, (_, i): [string, number] => [`nvidia${i}`, i]), ['nvidiactl', 255]];
  for (const [name, minor] of nodes) {
    const r = spawnSync('mknod', ['-m', '666', path.join(dir, name), 'c', '195', String(minor)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mknod ${name}: ${r.stderr}`);
  }
  return dir;
}

/** MinorsAt says where a fake host keeps its GPUs' minor numbers. */
export type MinorsAt = 'proc' | 'smi-q' | 'nowhere';

/** FakeSmi is a fake nvidia-smi whose answers a test switches, with a fake /proc/driver/nvidia. */
export interface FakeSmi {
  /** path of the executable script. */
  path: string;
  dir: string;
  /** The /proc/driver/nvidia stand-in to pass as proc_driver_nvidia: gpus/<bus id>/information of the current GPUs. */
  proc: string;
  /** use makes discovery print a recorded output (with its exit status). */
  use(name: string): void;
  /** useText makes discovery print `text` and exit with `status`. */
  useText(text: string, status?: number): void;
  /**
   * minorsAt says where the GPUs' minor numbers are from now on: "proc" (the default, as on a real host:
   * the proc files and `nvidia-smi -q`), "smi-q" (no proc files: /proc/driver/nvidia not visible) or
   * "nowhere" (no proc files, and `nvidia-smi -q` says "Minor Number : N/A").
   */
  minorsAt(where: MinorsAt): void;
  /** qRuns counts the `nvidia-smi -q` runs so far. */
  qRuns(): number;
}

/**
 * fakeNvidiaSmi writes a shell script standing in for nvidia-smi: `--query-gpu=uuid,utilization...`
 * prints the usage fixture, any other `--query-gpu` the current discovery output, `-q` the H100's
 * recorded `nvidia-smi -q` made over for the current GPUs, and `-L` lists the GPUs whose node under
 * `devRoot` the caller may open (EPERM hides a GPU, as NVML does in a container whose devices cgroup
 * denies it). Minor numbers come from FIXTURE_MINORS.
 */
export function fakeNvidiaSmi(devRoot: string, initial = 'four-gpus-v100.csv'): FakeSmi {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const proc = path.join(dir, 'proc-driver-nvidia');
  const script = path.join(dir, 'nvidia-smi');
  fs.writeFileSync(
    script,
    `#!/bin/sh
D='${dir}'
list=''
for a in "$@"; do
  case "$a" in
    --query-gpu=uuid,utilization*) cat "$D/usage"; exit 0 ;;
    -L|--list-gpus) list=1 ;;
    -q|--query) echo >>"$D/q-runs"; cat "$D/q"; exit $(cat "$D/q-status") ;;
  esac
done
code=$(cat "$D/status")
if [ -n "$list" ] && [ "$code" = 0 ]; then
  n=0
  while IFS='|' read -r minor uuid name; do
    err=$( (exec 3<'${devRoot}'/nvidia$minor) 2>&1 )
    case "$err" in *"not permitted"*) continue ;; esac
    echo "GPU $n: $name (UUID: $uuid)"
    n=$((n + 1))
  done < "$D/list"
  [ $n -gt 0 ] || { echo 'No devices were found'; exit 6; }
  exit 0
fi
cat "$D/discovery"
exit $code
`,
    { mode: 0o755 },
  );
  fs.copyFileSync(path.join(FIXTURES, 'usage-four-v100.csv'), path.join(dir, 'usage'));
  fs.writeFileSync(path.join(dir, 'q-runs'), '');
  let where: MinorsAt = 'proc';
  let current = { text: '', status: 0 };
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, `${name}.tmp`), text);
    fs.renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
  };
  const render = () => {
    const gpus = fixtureGpus(current.text);
    writeProcDriverNvidia(proc, where === 'proc' ? gpus : []);
    const noDriver = gpus.length === 0 && current.status !== 0;
    write('q', noDriver ? current.text : smiQuery(gpus, where !== 'nowhere'));
    write('q-status', String(noDriver ? current.status : 0));
    write('list', gpus.filter((g) => g.minor !== undefined).map((g) => `${g.minor}|${g.uuid}|${g.name}\n`).join(''));
  };
  const useText = (text: string, status = 0) => {
    current = { text, status };
    render();
    write('discovery', text);
    fs.writeFileSync(path.join(dir, 'status'), String(status));
  };
  const fake: FakeSmi = {
    path: script,
    dir,
    proc,
    use: (name) => useText(fixture(name), EXIT_STATUS[name] ?? 0),
    useText,
    minorsAt: (w) => {
      where = w;
      render();
    },
    qRuns: () => fs.readFileSync(path.join(dir, 'q-runs'), 'utf8').length,
  };
  fake.use(initial);
  return fake;
}

/** fakeDriverLibs makes a directory holding stand-ins for libnvidia-ml and libcuda (with soname links). */
export function fakeDriverLibs(): string {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  for (const lib of ['libnvidia-ml.so.535.104.05', 'libcuda.so.535.104.05']) fs.writeFileSync(path.join(dir, lib), 'not really ELF');
  fs.symlinkSync('libnvidia-ml.so.535.104.05', path.join(dir, 'libnvidia-ml.so.1'));
  fs.symlinkSync('libcuda.so.535.104.05', path.join(dir, 'libcuda.so.1'));
  return dir;
}

/** PROBE is a node script that opens device nodes and prints, per node, "OK" or the errno code (EPERM, ENXIO). */
export function writeProbe(): string {
  const file = path.join(tempDir(), 'probe.js');
  fs.writeFileSync(
    file,
    `const fs = require('fs');
const [root, ...names] = process.argv.slice(2);
const out = {};
for (const n of names) {
  try { fs.closeSync(fs.openSync(root + '/' + n, 'r')); out[n] = 'OK'; } catch (e) { out[n] = e.code; }
}
console.log(JSON.stringify(out));
`,
  );
  return file;
}

/** probeCommand is the command line a held process execs to probe the GPU nodes. */
export function probeCommand(probe: string, devRoot: string, n = 4): string {
  const names = [...Array.from({ length: n }, (_, i) => `nvidia${i}`), 'nvidiactl'];
  return `${process.execPath} ${probe} ${devRoot} ${names.join(' ')}`;
}

/** expected is the probe answer for a container holding `mine` among `n` GPUs: ENXIO (the cgroup let it through, no driver) or EPERM. */
export function expected(mine: number[], n = 4): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i += 1) out[`nvidia${i}`] = mine.includes(i) ? 'ENXIO' : 'EPERM';
  out.nvidiactl = 'ENXIO';
  return out;
}

/**
 * removeDevicesRoot kills what a test root still holds and removes it from the devices hierarchy and the
 * freezer hierarchy (the module's cgroups code freezes containers there to kill them).
 */
export async function removeDevicesRoot(root: string): Promise<void> {
  for (const hierarchy of [DEVICES, path.join(path.dirname(DEVICES), 'freezer')]) await removeCgroupTree(path.join(hierarchy, root));
}

async function removeCgroupTree(top: string): Promise<void> {
  if (!fs.existsSync(top)) return;
  const dirs: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    dirs.push(d);
  };
  walk(top);
  for (const d of dirs) {
    for (let i = 0; ; i += 1) {
      for (const pid of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        fs.rmdirSync(d);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** failure awaits a call that must fail and returns its error as a TesseraError. */
export async function failure(p: Promise<unknown>): Promise<TesseraError> {
  try {
    await p;
  } catch (err) {
    return TesseraError.wrap(err);
  }
  throw new Error('the call succeeded but was expected to fail');
}
