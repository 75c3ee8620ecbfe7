/**
 * VolumeStore is the state of `tessera-volume-local`: volumes are directories under
 * `<root>/volumes/<name>/_data` (sized ones: an ext4 image `<root>/volumes/<name>/disk.img`
 * loop-mounted there while mounted), and the mount ids holding each volume. The state is written to
 * `<root>/state.json` (atomically, fsynced) after every change, so a restarted plugin knows its volumes
 * and who has them mounted; at start it re-mounts or unmounts sized volumes to match, and adopts volume
 * directories the state file does not list (a lost state file loses no volume). Calls are serialized.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { VolumeInfo } from '../docker/protocol';
import { problemWithName } from '../volumes/names';
import { createImage, isMounted, mountImage, sizeSupport, unmountImage } from './disk-image';
import { parseOptions, sameOptions, type VolumeOptions } from './options';
import { PluginError } from './plugin-errors';

/** VolumeRecord is one volume as the state file keeps it. */
export interface VolumeRecord {
  name: string;
  /** createdAt is RFC 3339, as Docker shows it. */
  createdAt: string;
  options: VolumeOptions;
  /** mountIds hold the volume mounted; it is unmounted (sized volumes) when the last goes. */
  mountIds: string[];
}

interface StateFile {
  version: 1;
  volumes: VolumeRecord[];
}

/** StoreLog receives the store's notable events. */
export type StoreLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const MOUNT_ID = /^[A-Za-z0-9_.:-]{1,256}$/;

/** VolumeStore keeps the volumes of one plugin root. */
export class VolumeStore {
  private readonly volumes = new Map<string, VolumeRecord>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stateFile: string;

  private constructor(
    readonly root: string,
    private readonly log: StoreLog,
  ) {
    this.stateFile = path.join(root, 'state.json');
  }

  /** open loads (or starts) the store at `root` and reconciles sized volumes' mounts with the state. */
  static async open(root: string, log: StoreLog = () => undefined): Promise<VolumeStore> {
    const store = new VolumeStore(path.resolve(root), log);
    try {
      fs.mkdirSync(path.join(store.root, 'volumes'), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new PluginError('DVDI_LOCAL_STATE_WRITE_FAILED', `cannot create the root directory ${store.root}/volumes: ${(err as Error).message}: pass a writable --root`);
    }
    store.load();
    await store.reconcile();
    store.save();
    return store;
  }

  /** mountpointOf is where a volume is seen on the host. */
  mountpointOf(name: string): string {
    return path.join(this.root, 'volumes', name, '_data');
  }

  /** create makes a volume; an existing one with the same options is fine, other options are refused. */
  create(name: unknown, opts: Record<string, unknown> | undefined | null): Promise<void> {
    return this.serial(async () => {
      const n = this.checkName(name);
      const options = parseOptions(opts);
      const existing = this.volumes.get(n);
      if (existing) {
        if (sameOptions(existing.options, options)) return;
        throw new PluginError('DVDI_LOCAL_EXISTS', `volume "${n}" exists with other options (${describe(existing.options)}): remove it first, or create it without options`);
      }
      if (options.sizeBytes !== undefined) {
        const why = sizeSupport();
        if (why) throw new PluginError('DVDI_LOCAL_SIZE_UNSUPPORTED', `volume "${n}": size=${options.sizeBytes} cannot be enforced on this host: ${why}; create the volume without size`);
      }
      const dir = path.join(this.root, 'volumes', n);
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
        fs.mkdirSync(this.mountpointOf(n), { mode: options.mode });
        fs.chmodSync(this.mountpointOf(n), options.mode); // mkdir's mode is masked by the umask
        fs.chownSync(this.mountpointOf(n), options.uid, options.gid);
        if (options.sizeBytes !== undefined) await createImage(this.imageOf(n), options.sizeBytes, options, path.join(dir, '.format'));
      } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        if (err instanceof PluginError) throw err;
        throw new PluginError('DVDI_LOCAL_STATE_WRITE_FAILED', `cannot create volume "${n}" in ${dir}: ${(err as Error).message}`);
      }
      this.volumes.set(n, { name: n, createdAt: new Date().toISOString(), options, mountIds: [] });
      this.save();
      this.log('info', 'volume created', { volume: n, options: describe(options) });
    });
  }

  /** remove deletes a volume and its data; refused while any id has it mounted. */
  remove(name: unknown): Promise<void> {
    return this.serial(async () => {
      const v = this.find(name);
      if (v.mountIds.length) {
        throw new PluginError('DVDI_LOCAL_IN_USE', `volume "${v.name}" is mounted by ${v.mountIds.length} caller(s) (${v.mountIds.join(', ')}): unmount it first`);
      }
      if (v.options.sizeBytes !== undefined) await unmountImage(this.mountpointOf(v.name));
      fs.rmSync(path.join(this.root, 'volumes', v.name), { recursive: true, force: true });
      this.volumes.delete(v.name);
      this.save();
      this.log('info', 'volume removed', { volume: v.name });
    });
  }

  /** mount adds a mount id to a volume (mounting a sized volume for its first id) and returns its mountpoint. */
  mount(name: unknown, id: unknown): Promise<string> {
    return this.serial(async () => {
      const v = this.find(name);
      const mid = checkId(id);
      const mp = this.mountpointOf(v.name);
      if (v.mountIds.includes(mid)) return mp;
      if (v.options.sizeBytes !== undefined && !isMounted(mp)) await mountImage(this.imageOf(v.name), mp);
      v.mountIds.push(mid);
      this.save();
      this.log('info', 'volume mounted', { volume: v.name, id: mid, mount_ids: v.mountIds.length });
      return mp;
    });
  }

  /** unmount drops a mount id (an unknown id is fine); a sized volume is unmounted when no id is left. */
  unmount(name: unknown, id: unknown): Promise<void> {
    return this.serial(async () => {
      const v = this.find(name);
      const mid = checkId(id);
      if (!v.mountIds.includes(mid)) return;
      const rest = v.mountIds.filter((m) => m !== mid);
      if (rest.length === 0 && v.options.sizeBytes !== undefined) await unmountImage(this.mountpointOf(v.name));
      v.mountIds = rest;
      this.save();
      this.log('info', 'volume unmounted', { volume: v.name, id: mid, mount_ids: rest.length });
    });
  }

  /** path is where a volume is seen now: "" for a sized volume nobody mounted. */
  path(name: unknown): Promise<string> {
    return this.serial(async () => this.visibleAt(this.find(name)));
  }

  /** get describes a volume. */
  get(name: unknown): Promise<VolumeInfo> {
    return this.serial(async () => this.info(this.find(name)));
  }

  /** list describes every volume. */
  list(): Promise<VolumeInfo[]> {
    return this.serial(async () => [...this.volumes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((v) => this.info(v)));
  }

  /** records returns a copy of the state, for tests and tools. */
  records(): VolumeRecord[] {
    return [...this.volumes.values()].map((v) => ({ ...v, options: { ...v.options }, mountIds: [...v.mountIds] }));
  }

  private info(v: VolumeRecord): VolumeInfo {
    return {
      Name: v.name,
      Mountpoint: this.visibleAt(v),
      CreatedAt: v.createdAt,
      Status: { size: v.options.sizeBytes ?? 'unlimited', mode: v.options.mode.toString(8).padStart(4, '0'), uid: v.options.uid, gid: v.options.gid, mountIds: v.mountIds.length },
    };
  }

  private visibleAt(v: VolumeRecord): string {
    return v.options.sizeBytes !== undefined && v.mountIds.length === 0 ? '' : this.mountpointOf(v.name);
  }

  private imageOf(name: string): string {
    return path.join(this.root, 'volumes', name, 'disk.img');
  }

  private checkName(name: unknown): string {
    const problem = problemWithName('volume', name);
    if (problem) throw new PluginError('DVDI_LOCAL_INVALID_REQUEST', problem);
    return name as string;
  }

  private find(name: unknown): VolumeRecord {
    const v = this.volumes.get(this.checkName(name));
    if (!v) throw new PluginError('DVDI_LOCAL_NO_SUCH_VOLUME', `no such volume: "${String(name)}"`);
    return v;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private load(): void {
    let state: StateFile | undefined;
    if (fs.existsSync(this.stateFile)) {
      try {
        state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8'));
      } catch (err) {
        throw new PluginError('DVDI_LOCAL_STATE_CORRUPT', `${this.stateFile} is not JSON (${(err as Error).message}): move it away to rebuild the state from the volume directories`);
      }
      if (state?.version !== 1 || !Array.isArray(state.volumes)) {
        throw new PluginError('DVDI_LOCAL_STATE_CORRUPT', `${this.stateFile} is not a version 1 state file: move it away to rebuild the state from the volume directories`);
      }
    }
    const dirs = new Set(fs.readdirSync(path.join(this.root, 'volumes')).filter((d) => !problemWithName('volume', d)));
    for (const v of state?.volumes ?? []) {
      if (!dirs.has(v.name)) {
        this.log('warn', 'volume of the state file has no directory any more: forgotten', { volume: v.name });
        continue;
      }
      this.volumes.set(v.name, { name: v.name, createdAt: v.createdAt, options: v.options, mountIds: [...new Set(v.mountIds ?? [])] });
    }
    for (const d of dirs) {
      if (this.volumes.has(d) || !fs.existsSync(this.mountpointOf(d))) continue;
      const image = this.imageOf(d);
      const sizeBytes = fs.existsSync(image) ? fs.statSync(image).size : undefined;
      const st = fs.statSync(this.mountpointOf(d));
      this.volumes.set(d, { name: d, createdAt: st.mtime.toISOString(), options: { sizeBytes, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, mountIds: [] });
      this.log('warn', 'volume directory not in the state file: adopted', { volume: d, size: sizeBytes ?? 'unlimited' });
    }
  }

  private async reconcile(): Promise<void> {
    for (const v of this.volumes.values()) {
      if (v.options.sizeBytes === undefined) continue;
      const mp = this.mountpointOf(v.name);
      if (v.mountIds.length > 0 && !isMounted(mp)) {
        await mountImage(this.imageOf(v.name), mp);
        this.log('info', 'sized volume mounted again after a restart', { volume: v.name, mount_ids: v.mountIds.length });
      } else if (v.mountIds.length === 0 && isMounted(mp)) {
        await unmountImage(mp);
        this.log('info', 'sized volume nobody holds unmounted after a restart', { volume: v.name });
      }
    }
  }

  private save(): void {
    const state: StateFile = { version: 1, volumes: [...this.volumes.values()] };
    const tmp = `${this.stateFile}.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(state, null, 1));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.stateFile);
    } catch (err) {
      throw new PluginError('DVDI_LOCAL_STATE_WRITE_FAILED', `cannot write ${this.stateFile}: ${(err as Error).message}: free disk space or fix the permissions of --root`);
    }
  }
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !MOUNT_ID.test(id)) {
    throw new PluginError('DVDI_LOCAL_INVALID_REQUEST', `ID ${JSON.stringify(id)} must be 1 to 256 letters, digits, "_", ".", ":" or "-": every Mount and Unmount carries its caller's ID`);
  }
  return id;
}

function describe(o: VolumeOptions): string {
  return [o.sizeBytes !== undefined ? `size=${o.sizeBytes}` : 'no size', `mode=${o.mode.toString(8).padStart(4, '0')}`, `uid=${o.uid}`, `gid=${o.gid}`].join(', ');
}
