/**
 * The assignment checkpoint: `<state_dir>/assignments.json`, written atomically and durably (temp file,
 * fsync, rename, fsync of the directory) before Prepare answers and before Cleanup answers, so after a
 * crash of the module or the agent no GPU is handed out twice. GPUs are recorded by minor and, when
 * known, UUID (the UUID wins when reading back: minors can change across reboots).
 *
 * ```ts
 * const store = new CheckpointStore(stateDir);
 * store.save(table.containers, gpus);
 * const { assignments, problems } = store.load(gpus);
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoText, gpuError } from '../errors';
import type { Gpu } from '../discovery/gpu';
import type { Assignment } from './assignments';

/** CHECKPOINT_FILE is the checkpoint's name inside the state directory. */
export const CHECKPOINT_FILE = 'assignments.json';

interface FileV1 {
  version: 1;
  containers: { containerId: string; ownsCgroup: boolean; gpus: { minor: number; index: number; uuid?: string }[] }[];
}

/** CheckpointStore reads and writes one module instance's checkpoint. */
export class CheckpointStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, CHECKPOINT_FILE);
  }

  /** save writes every assignment; throws GPU_CHECKPOINT_FAILED. */
  save(assignments: readonly Assignment[], gpus: readonly Gpu[]): void {
    const byMinor = new Map(gpus.map((g) => [g.minor, g]));
    const body: FileV1 = {
      version: 1,
      containers: assignments.map((a) => ({
        containerId: a.containerId,
        ownsCgroup: a.ownsCgroup,
        gpus: a.minors.map((m) => ({ minor: m, index: byMinor.get(m)?.index ?? m, ...(byMinor.get(m)?.uuid && { uuid: byMinor.get(m)!.uuid }) })),
      })),
    };
    const tmp = `${this.file}.tmp`;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, `${JSON.stringify(body, null, 1)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      const dfd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch (err) {
      throw gpuError('GPU_CHECKPOINT_FAILED', `cannot write the GPU assignments to ${this.file}: ${errnoText(err)}: the operator must free disk space or fix the permissions of the agent's work_dir`, err);
    }
  }

  /**
   * load reads the assignments back, mapped onto the GPUs managed now. An unreadable file is moved
   * aside (Recover then rebuilds what it can from the cgroups) and reported in `problems`, as is a
   * recorded GPU that is no longer managed.
   */
  load(gpus: readonly Gpu[]): { assignments: Assignment[]; problems: string[] } {
    const problems: string[] = [];
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { assignments: [], problems };
      throw gpuError('GPU_CHECKPOINT_FAILED', `cannot read the GPU assignments in ${this.file}: ${errnoText(err)}: fix the permissions of the agent's work_dir`, err);
    }
    let body: FileV1;
    try {
      body = JSON.parse(text) as FileV1;
      if (body?.version !== 1 || !Array.isArray(body.containers)) throw new Error(`not a version 1 checkpoint of isolator-gpu`);
    } catch (err) {
      const aside = `${this.file}.unreadable-${Date.now()}`;
      fs.renameSync(this.file, aside);
      problems.push(`${this.file} does not read back (${(err as Error).message}); moved to ${aside}: assignments are rebuilt from the containers' devices cgroups where they list their GPUs`);
      return { assignments: [], problems };
    }
    const assignments: Assignment[] = [];
    for (const c of body.containers) {
      const minors: number[] = [];
      for (const g of c.gpus ?? []) {
        const now = (g.uuid && gpus.find((x) => x.uuid === g.uuid)) || gpus.find((x) => x.minor === g.minor && (!g.uuid || !x.uuid));
        if (now) minors.push(now.minor);
        else problems.push(`container ${c.containerId} holds GPU ${g.uuid ?? `minor ${g.minor}`}, which this module no longer manages`);
      }
      assignments.push({ containerId: c.containerId, minors, ownsCgroup: c.ownsCgroup === true });
    }
    return { assignments, problems };
  }
}
