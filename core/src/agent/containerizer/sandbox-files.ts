/**
 * The files the agent itself writes in a sandbox: the task's `stdout` and `stderr` (and a line about a
 * failed launch appended to `stderr`). A sandbox holds what a task, its archives and its user put there,
 * and the agent runs as root: every open here is O_NOFOLLOW (a symbolic link in their place is refused,
 * never followed to a file outside) and O_NONBLOCK (a FIFO in their place cannot stall the agent), and
 * what was opened must be a regular file with one link (a hard link to a file elsewhere is refused too).
 *
 * ```ts
 * createSandboxOutputs(sandbox, { uid: 65534, gid: 65534 });   // before the fetch
 * const fd = openSandboxOutput(path.join(sandbox, 'stdout'));   // when the container starts
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';

const C = fs.constants;
const FLAGS = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK;

/** OUTPUTS are the sandbox files the task's output goes to. */
export const OUTPUTS = ['stdout', 'stderr'] as const;

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a regular file';
}

/**
 * openSandboxOutput opens a sandbox file for appending (creating it when missing) and returns its
 * descriptor; it throws, naming the file and what it is, for anything but a regular file with one link.
 */
export function openSandboxOutput(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, FLAGS, 0o644);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOOP') {
      let to = '';
      try {
        to = ` (to ${fs.readlinkSync(file)})`;
      } catch {
        // not a link after all (a loop further up): the code says enough
      }
      throw new Error(`the sandbox's ${path.basename(file)} (${file}) is a symbolic link${to}, not a regular file: the task's output is only written to a regular file of its sandbox (did a fetched archive put it there?)`);
    }
    if (e.code === 'ENXIO') throw new Error(`the sandbox's ${path.basename(file)} (${file}) is a FIFO or socket, not a regular file: the task's output is only written to a regular file of its sandbox`);
    throw new Error(`cannot open the sandbox's ${path.basename(file)} (${file}): ${e.message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`the sandbox's ${path.basename(file)} (${file}) is ${kindOf(st)}, not a regular file: the task's output is only written to a regular file of its sandbox`);
    if (st.nlink !== 1) throw new Error(`the sandbox's ${path.basename(file)} (${file}) has ${st.nlink} hard links: the task's output is only written to a file of its sandbox alone`);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * createSandboxOutputs makes the sandbox's stdout and stderr (before anything is fetched into it) and,
 * for a task that runs as another user, hands the sandbox directory and both files to that user (the
 * fetch then runs as it). The sandbox is new and the agent's own here: nothing else has been in it yet.
 */
export function createSandboxOutputs(sandbox: string, owner?: { uid: number; gid: number }): void {
  for (const name of OUTPUTS) {
    const fd = openSandboxOutput(path.join(sandbox, name));
    try {
      if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    } finally {
      fs.closeSync(fd);
    }
  }
  if (owner) fs.lchownSync(sandbox, owner.uid, owner.gid);
}

/** appendSandboxFile appends text to a sandbox file the safe way; false (and nothing written) when it cannot. */
export function appendSandboxFile(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSandboxOutput(file);
  } catch {
    return false;
  }
  try {
    fs.writeSync(fd, text);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
