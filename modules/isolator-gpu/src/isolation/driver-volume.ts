/**
 * The driver volume, as Mesos's `/usr/local/nvidia`: a directory with `bin/` (nvidia-smi and the other
 * driver tools) and `lib64/` (libnvidia-ml, libcuda, ... under their sonames) that GPU containers get
 * read-only, with PATH and LD_LIBRARY_PATH pointing into it. It is built at Configure in the module's
 * state directory, as symbolic links to the host's files (found with `ldconfig -p`, or in `library_dirs`):
 * containers share the host's root filesystem today, so the links resolve inside them. (Containers with
 * an image of their own will need copies instead, as Mesos makes on a tmpfs.)
 *
 * ```ts
 * const v = buildDriverVolume({ dir: path.join(stateDir, 'nvidia-volume'), nvidiaSmi: '/usr/bin/nvidia-smi', ldconfig: 'ldconfig' });
 * if (v.volume) v.volume.bin;   // .../nvidia-volume/bin
 * else log.info(v.reason);
 * ```
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** VOLUME_BINARIES are the driver tools linked into bin/ when found (Mesos's list). */
export const VOLUME_BINARIES = ['nvidia-smi', 'nvidia-debugdump', 'nvidia-persistenced', 'nvidia-cuda-mps-control', 'nvidia-cuda-mps-server'];

/** VOLUME_LIBRARIES are the compute and utility libraries linked into lib64/ when found. */
export const VOLUME_LIBRARIES = [
  'libnvidia-ml.so',
  'libcuda.so',
  'libcudadebugger.so',
  'libnvidia-ptxjitcompiler.so',
  'libnvidia-fatbinaryloader.so',
  'libnvidia-compiler.so',
  'libnvidia-nvvm.so',
  'libnvidia-gpucomp.so',
  'libnvidia-allocator.so',
  'libnvidia-cfg.so',
  'libnvidia-opencl.so',
  'libnvidia-encode.so',
  'libnvcuvid.so',
];

/** STANDARD_LIBRARY_DIRS are searched when ldconfig cannot be asked. */
export const STANDARD_LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/nvidia/lib64', '/usr/local/cuda/lib64'];

/** DriverVolume is a built volume. */
export interface DriverVolume {
  /** The volume's directory on the host. */
  dir: string;
  bin: string;
  lib64: string;
  /** What was linked, by name, for the Configure log. */
  binaries: string[];
  libraries: string[];
  /** The real files the volume's links point at. */
  targets: string[];
}

/**
 * livesUnder tells whether the volume's files are the driver's own files under `target` (the driver is
 * installed in /usr/local/nvidia, as on many GPU images): binding the volume there would hide the files
 * its links point at, so each link would point at itself. Containers share the agent's root filesystem,
 * so they see those files at `target` as they are: no mount is needed.
 */
export function livesUnder(volume: DriverVolume, target: string): boolean {
  const dir = path.resolve(target);
  return volume.targets.some((t) => t === dir || t.startsWith(`${dir}/`));
}

/** parseLdconfig reads `ldconfig -p`: soname -> path, 64-bit entries only ("(libc6,x86-64)", "(libc6,AArch64)"). */
export function parseLdconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)(?:\s+OS ABI:[^=]*)?\s+=>\s+(\S+)\s*$/.exec(line);
    if (!m || !/64/.test(m[2])) continue;
    if (!out.has(m[1])) out.set(m[1], m[3]);
  }
  return out;
}

/** whichBinary finds a program: a path as given, else in PATH and the usual driver directories. */
export function whichBinary(name: string, extraDirs: string[] = []): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? path.resolve(name) : undefined;
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin', '/usr/local/nvidia/bin', '/sbin', '/usr/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** findLibraries maps each soname of the wanted libraries to its file: from ldconfig's cache, or by listing `dirs`. */
export function findLibraries(wanted: readonly string[], cache: Map<string, string> | undefined, dirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const matches = (file: string, base: string) => file === base || file.startsWith(`${base}.`);
  if (cache) {
    for (const [soname, file] of cache) if (wanted.some((w) => matches(soname, w)) && fs.existsSync(file)) out.set(soname, file);
    return out;
  }
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) if (wanted.some((w) => matches(e, w)) && !out.has(e)) out.set(e, path.join(dir, e));
  }
  return out;
}

/** BuildOptions say where to build and how to find the driver's files. */
export interface BuildOptions {
  dir: string;
  /** nvidia-smi as the parameter gives it. */
  nvidiaSmi: string;
  /** ldconfig to ask; ignored when `libraryDirs` is given. */
  ldconfig: string;
  /** Search only these directories (no ldconfig). */
  libraryDirs?: string[];
}

/**
 * buildDriverVolume (re)builds the volume; without nvidia-smi or libnvidia-ml there is no volume, and
 * `reason` says what is missing.
 */
export function buildDriverVolume(opts: BuildOptions): { volume?: DriverVolume; reason?: string } {
  const smi = whichBinary(opts.nvidiaSmi);
  if (!smi) return { reason: `${opts.nvidiaSmi} is not found` };
  let cache: Map<string, string> | undefined;
  if (!opts.libraryDirs) {
    const ldconfig = whichBinary(opts.ldconfig);
    const run = ldconfig ? spawnSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 10_000 }) : undefined;
    if (run && run.status === 0) cache = parseLdconfig(run.stdout);
  }
  let libs = findLibraries(VOLUME_LIBRARIES, cache, opts.libraryDirs ?? STANDARD_LIBRARY_DIRS);
  if (cache && ![...libs.keys()].some((s) => s.startsWith('libnvidia-ml.so'))) libs = findLibraries(VOLUME_LIBRARIES, undefined, STANDARD_LIBRARY_DIRS);
  if (![...libs.keys()].some((s) => s.startsWith('libnvidia-ml.so'))) {
    return { reason: `libnvidia-ml.so is not found (${opts.libraryDirs ? `in ${opts.libraryDirs.join(', ')}` : 'by ldconfig -p nor in the standard library directories'})` };
  }
  const bin = path.join(opts.dir, 'bin');
  const lib64 = path.join(opts.dir, 'lib64');
  fs.rmSync(opts.dir, { recursive: true, force: true });
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  fs.mkdirSync(lib64, { recursive: true, mode: 0o755 });
  const binaries: string[] = [];
  const targets: string[] = [];
  const link = (file: string, at: string) => {
    const real = fs.realpathSync(file);
    fs.symlinkSync(real, at);
    targets.push(real);
  };
  for (const name of VOLUME_BINARIES) {
    const file = name === 'nvidia-smi' ? smi : whichBinary(name, [path.dirname(smi)]);
    if (!file) continue;
    link(file, path.join(bin, name));
    binaries.push(name);
  }
  for (const [soname, file] of libs) link(file, path.join(lib64, soname));
  fs.chmodSync(opts.dir, 0o755);
  return { volume: { dir: opts.dir, bin, lib64, binaries, libraries: [...libs.keys()].sort(), targets } };
}
