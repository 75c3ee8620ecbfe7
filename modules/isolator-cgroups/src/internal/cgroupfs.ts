/**
 * Small, synchronous file operations on cgroup interface files. Interface files are tiny and answer
 * from memory, so a synchronous read (open, one read, close: ~10 µs) is far cheaper than a promise
 * round trip; everything that waits (freezing, emptying, EBUSY on rmdir) is asynchronous instead.
 */
import fs from 'node:fs';
import path from 'node:path';

const BUFFER = Buffer.alloc(64 * 1024);

/** readFile reads a small file (up to 64 KiB, e.g. memory.stat) as text; throws the system error. */
export function readFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, BUFFER, length, BUFFER.length - length, null);
      if (n === 0 || length + n >= BUFFER.length) return BUFFER.toString('latin1', 0, length + n);
      length += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** readOptional reads a file, or answers undefined when it does not exist (or its cgroup is gone). */
export function readOptional(file: string): string | undefined {
  try {
    return readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** readNumber reads a file holding one number ("max" and absent read as undefined). */
export function readNumber(file: string): number | undefined {
  const text = readOptional(file)?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** writeFile writes a value into an interface file (one write(2), as the kernel expects). */
export function writeFile(file: string, value: string | number): void {
  fs.writeFileSync(file, String(value));
}

/** exists tells whether a path exists. */
export function exists(file: string): boolean {
  return fs.existsSync(file);
}

/** CGROUP_MAGIC and CGROUP2_MAGIC are the statfs types of cgroup v1 and v2 file systems. */
export const CGROUP_MAGIC = 0x27e0eb;
export const CGROUP2_MAGIC = 0x63677270;

/** isCgroupFs tells whether a directory lies on a cgroup (v1 or v2) file system, not a plain directory. */
export function isCgroupFs(dir: string): boolean {
  try {
    const type = Number(fs.statfsSync(dir).type);
    return type === CGROUP_MAGIC || type === CGROUP2_MAGIC;
  } catch {
    return false;
  }
}

/** sleep waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** subdirectories lists the directories inside `dir` (child cgroups); empty when it does not exist. */
export function subdirectories(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** descendants lists `dir` and every cgroup below it, deepest first (the order rmdir needs). */
export function descendants(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const child of subdirectories(d)) walk(path.join(d, child));
    out.push(d);
  };
  walk(dir);
  return out;
}

/**
 * removeCgroup removes a cgroup and any cgroups below it, deepest first. rmdir answers EBUSY for a
 * short while after the last process died (the kernel is still releasing it): it retries for up to
 * `busyMs`. A plain directory (a test fixture standing in for cgroupfs) is removed with its files.
 */
export async function removeCgroup(dir: string, busyMs = 5000): Promise<void> {
  if (!fs.existsSync(dir)) return;
  if (!isCgroupFs(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  const until = Date.now() + busyMs;
  for (const d of descendants(dir)) {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > until) throw err;
        await sleep(wait);
      }
    }
  }
}
