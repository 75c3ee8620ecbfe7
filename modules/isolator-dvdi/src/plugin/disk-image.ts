/**
 * Size caps for `tessera-volume-local`: a sized volume is an ext4 file system in a sparse image file,
 * loop-mounted on the volume's directory while any caller has it mounted. Chosen over project quotas
 * because it works on any host file system as root with loop devices and mkfs.ext4, needs no
 * `prjquota` mount option on the host, and the cap holds for every writer. The image is sparse: it
 * uses only what is written, so caps may add up to more than the disk (overcommit, as thin volumes).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mountsAt } from './mountinfo';
import { PluginError } from './plugin-errors';

const run = (cmd: string, args: string[], timeoutMs = 60_000): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });

const MKFS_CANDIDATES = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4', '/usr/bin/mkfs.ext4'];

/** sizeSupport says why sizes cannot be enforced on this host, or undefined when they can. */
export function sizeSupport(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the plugin does not run as root (loop mounts need it)';
  if (!MKFS_CANDIDATES.some((p) => fs.existsSync(p))) return 'mkfs.ext4 is not installed (apt-get install e2fsprogs)';
  if (!fs.existsSync('/dev/loop-control')) return 'the kernel offers no loop devices (/dev/loop-control is missing: modprobe loop)';
  return undefined;
}

function mkfs(): string {
  return MKFS_CANDIDATES.find((p) => fs.existsSync(p)) ?? 'mkfs.ext4';
}

/** isMounted tells whether something is mounted on `dir`. */
export function isMounted(dir: string): boolean {
  return mountsAt(dir).length > 0;
}

/**
 * createImage makes a sparse image of `sizeBytes`, formats it ext4 (no reserved blocks), and sets the
 * owner and permissions of its root directory.
 */
export async function createImage(image: string, sizeBytes: number, owner: { mode: number; uid: number; gid: number }, scratch: string): Promise<void> {
  try {
    const fd = fs.openSync(image, 'wx', 0o600);
    try {
      fs.ftruncateSync(fd, sizeBytes);
    } finally {
      fs.closeSync(fd);
    }
    await run(mkfs(), ['-F', '-q', '-m', '0', '-E', `root_owner=${owner.uid}:${owner.gid}`, image]);
    fs.mkdirSync(scratch, { recursive: true });
    await mountImage(image, scratch);
    try {
      fs.chmodSync(scratch, owner.mode);
    } finally {
      await unmountImage(scratch);
      fs.rmdirSync(scratch);
    }
  } catch (err) {
    fs.rmSync(image, { force: true });
    if (err instanceof PluginError) throw err;
    throw new PluginError('DVDI_LOCAL_MOUNT_FAILED', `cannot make the ${sizeBytes}-byte ext4 image ${image}: ${(err as Error).message}`);
  }
}

/** mountImage loop-mounts an image on a directory (the loop device is freed again at unmount). */
export async function mountImage(image: string, dir: string): Promise<void> {
  try {
    await run('mount', ['-o', 'loop', image, dir]);
  } catch (err) {
    throw new PluginError('DVDI_LOCAL_MOUNT_FAILED', `cannot mount ${image} on ${dir}: ${(err as Error).message}`);
  }
}

/** unmountImage unmounts a directory (nothing to do when nothing is mounted there). */
export async function unmountImage(dir: string): Promise<void> {
  if (!isMounted(dir)) return;
  try {
    await run('umount', [dir]);
  } catch (err) {
    throw new PluginError(
      'DVDI_LOCAL_MOUNT_FAILED',
      `cannot unmount ${dir}: ${(err as Error).message}: a process still uses it (see \`fuser -m ${dir}\`) or it is still bind-mounted somewhere`,
    );
  }
}
