/**
 * Checkpoints of the volumes each container uses, one JSON file per container under
 * `<state_dir>/containers/`. A container's file is written (and fsynced) BEFORE its first volume is
 * mounted and removed only after every volume was released, so after a crash of the module or the
 * agent nothing that may be mounted is forgotten: Recover reads them back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dvdiError } from '../errors';

/** CheckpointedVolume is one volume of a container as checkpointed. */
export interface CheckpointedVolume {
  driver: string;
  name: string;
  options: Record<string, string>;
  readOnly: boolean;
  /** target is the bind mount target, when there is one. */
  target?: string;
  /** mountId is the ID the module mounted the volume with at the plugin. */
  mountId: string;
  /** mountpoint is the plugin's answer to Mount, once it answered. */
  mountpoint?: string;
}

/** ContainerCheckpoint is the file of one container. */
export interface ContainerCheckpoint {
  version: 1;
  containerId: string;
  volumes: CheckpointedVolume[];
}

/** CheckpointStore reads and writes the checkpoints of one module instance. */
export class CheckpointStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'containers');
  }

  /** write stores a container's checkpoint atomically and durably (temp file, fsync, rename, fsync dir). */
  write(cp: ContainerCheckpoint): void {
    const file = this.fileOf(cp.containerId);
    const tmp = `${file}.tmp`;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(cp, null, 1));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      syncDir(this.dir);
    } catch (err) {
      throw dvdiError(
        'DVDI_CHECKPOINT_FAILED',
        `cannot checkpoint the volumes of container ${cp.containerId} in ${file}: ${(err as Error).message}: the operator must free disk space or fix the permissions of the agent's work_dir`,
        err,
      );
    }
  }

  /** remove deletes a container's checkpoint (nothing of it is mounted any more). */
  remove(containerId: string): void {
    try {
      fs.rmSync(this.fileOf(containerId), { force: true });
      syncDir(this.dir);
    } catch (err) {
      throw dvdiError('DVDI_CHECKPOINT_FAILED', `cannot remove the checkpoint of container ${containerId}: ${(err as Error).message}`, err);
    }
  }

  /** read returns a container's checkpoint, or undefined when it has none. */
  read(containerId: string): ContainerCheckpoint | undefined {
    return this.readFile(this.fileOf(containerId));
  }

  /** all reads every checkpoint (leftover temp files of a crash are removed). */
  all(): ContainerCheckpoint[] {
    if (!fs.existsSync(this.dir)) return [];
    const out: ContainerCheckpoint[] = [];
    for (const entry of fs.readdirSync(this.dir).sort()) {
      const file = path.join(this.dir, entry);
      if (entry.endsWith('.tmp')) {
        fs.rmSync(file, { force: true }); // a torn write: the rename never happened, the old file (if any) stands
        continue;
      }
      if (!entry.endsWith('.json')) continue;
      const cp = this.readFile(file);
      if (cp) out.push(cp);
    }
    return out;
  }

  private readFile(file: string): ContainerCheckpoint | undefined {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw dvdiError('DVDI_CHECKPOINT_FAILED', `cannot read checkpoint ${file}: ${(err as Error).message}`, err);
    }
    let cp: ContainerCheckpoint;
    try {
      cp = JSON.parse(text);
    } catch (err) {
      throw dvdiError('DVDI_CHECKPOINT_FAILED', `checkpoint ${file} is not JSON (${(err as Error).message}): the operator must inspect it; its volumes may still be mounted`, err);
    }
    if (cp?.version !== 1 || typeof cp.containerId !== 'string' || !Array.isArray(cp.volumes)) {
      throw dvdiError('DVDI_CHECKPOINT_FAILED', `checkpoint ${file} is not a version 1 checkpoint of this module: the operator must inspect it`);
    }
    return cp;
  }

  private fileOf(containerId: string): string {
    // Container ids are the agent's, but a file name must never be "." or ".." or hold "/".
    return path.join(this.dir, `${encodeURIComponent(containerId).replace(/^\./, '%2E')}.json`);
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
