// Helpers for the GPU isolator tests: GPU device nodes made with mknod (major 195) under a temp /dev
// root, a fake nvidia-smi that prints the recorded outputs of ./fixtures (and answers `-L` as NVML
// does, listing only the GPUs whose node the caller may open), a probe that opens device nodes from
// inside a container, and removal of what a test root left in the devices hierarchy.
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
  'driver-missing.txt': 9,
  'nvml-mismatch.txt': 18,
  'no-devices.txt': 6,
};

/** FOUR_UUIDS are the UUIDs of four-gpus-v100.csv, by index (= minor). */
export const FOUR_UUIDS = fixture('four-gpus-v100.csv')
  .trim()
  .split('\n')
  .map((l) => l.split(', ')[2]);

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

/** FakeSmi is a fake nvidia-smi whose answers a test switches. */
export interface FakeSmi {
  /** path of the executable script. */
  path: string;
  dir: string;
  /** use makes discovery print a recorded output (with its exit status). */
  use(name: string): void;
  /** useText makes discovery print `text` and exit with `status`. */
  useText(text: string, status?: number): void;
}

/**
 * fakeNvidiaSmi writes a shell script standing in for nvidia-smi: `--query-gpu=uuid,utilization...`
 * prints the usage fixture, any other `--query-gpu` the current discovery output, and `-L` lists the
 * GPUs of that output whose node under `devRoot` the caller may open (EPERM hides a GPU, as NVML does
 * in a container whose devices cgroup denies it).
 */
export function fakeNvidiaSmi(devRoot: string, initial = 'four-gpus-v100.csv'): FakeSmi {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
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
  esac
done
code=$(cat "$D/status")
if [ -n "$list" ] && [ "$code" = 0 ]; then
  n=0
  while IFS=, read -r idx minor uuid name rest; do
    minor=$(echo $minor); uuid=$(echo $uuid); name=$(echo $name)
    err=$( (exec 3<'${devRoot}'/nvidia$minor) 2>&1 )
    case "$err" in *"not permitted"*) continue ;; esac
    echo "GPU $n: $name (UUID: $uuid)"
    n=$((n + 1))
  done < "$D/discovery"
  [ $n -gt 0 ] || { echo 'No devices were found'; exit 6; }
  exit 0
fi
cat "$D/discovery"
exit $code
`,
    { mode: 0o755 },
  );
  fs.copyFileSync(path.join(FIXTURES, 'usage-four-v100.csv'), path.join(dir, 'usage'));
  const useText = (text: string, status = 0) => {
    fs.writeFileSync(path.join(dir, 'discovery.tmp'), text);
    fs.renameSync(path.join(dir, 'discovery.tmp'), path.join(dir, 'discovery'));
    fs.writeFileSync(path.join(dir, 'status'), String(status));
  };
  const fake: FakeSmi = { path: script, dir, use: (name) => useText(fixture(name), EXIT_STATUS[name] ?? 0), useText };
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

/** removeDevicesRoot kills what a test root still holds in the devices hierarchy and removes it. */
export async function removeDevicesRoot(root: string): Promise<void> {
  const top = path.join(DEVICES, root);
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
