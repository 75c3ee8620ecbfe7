/**
 * Where a volume is mounted for a container, on the agent host, and making sure that place exists.
 *
 * - relative container_path: `<sandbox>/<container_path>`, created inside the sandbox (never through a
 *   symbolic link, so a task cannot redirect a later mount out of its sandbox);
 * - absolute container_path, container with its own rootfs: `<rootfs>/<container_path>`, created inside
 *   the rootfs the same way;
 * - absolute container_path, no rootfs (the container sees the host's filesystem): the path itself,
 *   which must exist (Mesos's rule); for legacy DVDI_VOLUME_CONTAINERPATH paths under /tmp it is
 *   created, as mesos-module-dvdi did.
 *
 * The containerizer performs the returned bind mounts in the container's own mount namespace (the
 * module asks for NEWNS), so they are not seen on the host and vanish with the container.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dvdiError } from '../errors';
import type { VolumeRequest } from './request';

/** TargetContext is what of the container decides where its volumes go. */
export interface TargetContext {
  containerId: string;
  /** directory is the sandbox on the host (ContainerConfig.directory). */
  directory?: string;
  /** rootfs is the container's root filesystem on the host, when it has an image. */
  rootfs?: string;
}

/** targetOf computes (without touching the disk) where a request is mounted; undefined: no bind mount. */
export function targetOf(req: VolumeRequest, ctx: TargetContext): string | undefined {
  const p = req.containerPath;
  if (p === undefined) return undefined;
  if (!p.startsWith('/')) {
    if (!ctx.directory || !path.isAbsolute(ctx.directory)) {
      throw dvdiError(
        'DVDI_VOLUME_INVALID',
        `container ${ctx.containerId}: ${req.origin}: the relative container_path "${p}" lies in the sandbox, but the agent sent no absolute sandbox directory (ContainerConfig.directory): this is a bug of the agent`,
      );
    }
    return path.join(ctx.directory, p);
  }
  return ctx.rootfs ? path.join(ctx.rootfs, p) : path.normalize(p);
}

/** ensureTarget makes sure the target directory of a request exists, creating it where it may. */
export function ensureTarget(req: VolumeRequest, target: string, ctx: TargetContext): void {
  const p = req.containerPath!;
  if (!p.startsWith('/')) return mkdirInside(ctx.directory!, p, req, ctx);
  if (ctx.rootfs) return mkdirInside(ctx.rootfs, p, req, ctx);
  if (req.legacy && (target === '/tmp' || target.startsWith('/tmp/'))) return mkdirInside('/tmp', path.relative('/tmp', target), req, ctx);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw dvdiError(
      'DVDI_CONTAINER_PATH_MISSING',
      `container ${ctx.containerId}: ${req.origin}: the absolute container path "${target}" does not exist on this agent, and the container has no image of its own, ` +
        'so it sees the host\'s filesystem: the operator must create that directory on every agent, or the framework must use a relative path (inside the sandbox) or give the task an image',
    );
  }
  if (!stat.isDirectory()) {
    throw dvdiError('DVDI_CONTAINER_PATH_MISSING', `container ${ctx.containerId}: ${req.origin}: the container path "${target}" is not a directory: a volume can only be mounted on a directory`);
  }
}

// mkdirInside creates root/rel one component at a time, refusing symbolic links and non-directories.
function mkdirInside(root: string, rel: string, req: VolumeRequest, ctx: TargetContext): void {
  let current = root;
  for (const segment of rel.split('/').filter((s) => s && s !== '.')) {
    current = path.join(current, segment);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(current);
    } catch {
      stat = undefined;
    }
    if (!stat) {
      try {
        fs.mkdirSync(current, { mode: 0o755 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw dvdiError('DVDI_CONTAINER_PATH_MISSING', `container ${ctx.containerId}: ${req.origin}: cannot create mount target "${current}": ${(err as Error).message}`);
        }
      }
      stat = fs.lstatSync(current);
    }
    if (stat.isSymbolicLink()) {
      throw dvdiError(
        'DVDI_VOLUME_INVALID',
        `container ${ctx.containerId}: ${req.origin}: "${current}" is a symbolic link: a volume is never mounted through a link, which could point outside ${root}`,
      );
    }
    if (!stat.isDirectory()) {
      throw dvdiError('DVDI_CONTAINER_PATH_MISSING', `container ${ctx.containerId}: ${req.origin}: "${current}" exists and is not a directory: a volume can only be mounted on a directory`);
    }
  }
}
