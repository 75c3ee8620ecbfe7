/**
 * `/files/browse`, `/files/read` and `/files/download`: the sandboxes over HTTP, with Mesos's semantics,
 * confined to the sandboxes by sandbox-path.ts.
 *
 * - `GET /files/browse?path=DIR` lists a directory (or describes one file) as a JSON array of
 *   `{path, nlink, size, mtime, mode, uid, gid}` (mode as `ls -l` writes it, uid/gid as names).
 * - `GET /files/read?path=FILE&offset=N&length=M` answers `{"data": "...", "offset": N}` with at most
 *   16 pages (64 KiB); without `offset`, or with `offset=-1`, it answers the size as `offset` and no data.
 *   As Mesos, each byte is one character of `data` (ASCII, others escaped as \u00XX), so that a reader's
 *   next offset is `offset + data.length`.
 * - `GET /files/download?path=FILE` sends the file as an attachment.
 *
 * 400 for a missing `path`, a bad offset/length, or reading what is not a regular file (a directory, a
 * FIFO, a device: never opened for reading, so nothing can block on it), 403 for a path outside the
 * sandboxes, 404 for one that does not exist.
 *
 * ```sh
 * curl 'http://agent:5051/files/read?path=/var/lib/tessera/slaves/S0/frameworks/F/executors/t1/runs/C/stdout&offset=0'
 * ```
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { AgentView } from '../agent-view';
import { reply } from '../../master/http/body';
import { resolveSandboxPath, type SandboxPath } from './sandbox-path';

/** READ_CAP_BYTES is the most /files/read returns at once (Mesos: 16 pages). */
export const READ_CAP_BYTES = 16 * 4096;

/** FileInfo is one entry of /files/browse (mesos.v1.FileInfo in Mesos's legacy JSON). */
export interface FileInfo {
  path: string;
  nlink: number;
  size: number;
  mtime: number;
  mode: string;
  uid: string;
  gid: string;
}

/** filesEndpoint serves `/files/<action>`; `action` is browse, read or download. */
export async function filesEndpoint(view: AgentView, action: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, `Expecting a 'GET' request, received '${req.method}'`);
  }
  if (!['browse', 'read', 'download'].includes(action)) return reply(res, 404, `no endpoint /files/${action} on this agent; see /files/browse, /files/read, /files/download`);
  const target = await resolveSandboxPath(url.searchParams.get('path'), view);
  if (!target.ok) return reply(res, target.status, target.message);
  try {
    if (action === 'browse') return await browse(target, res);
    if (action === 'read') return await read(target, url, res);
    return await download(target, req, res);
  } finally {
    await target.close();
  }
}

async function browse(target: SandboxPath, res: http.ServerResponse): Promise<void> {
  return json(res, (await listEntries(target)).map((e) => fileInfo(e.path, e.stat)));
}

/**
 * listEntries lists a directory of the sandboxes (or names the one file), by name, each with its lstat:
 * a symlink is shown as itself, never as what it points to (which may lie outside). The directory is
 * read through its open descriptor, so a task that swaps it for a link meanwhile changes nothing. Shared
 * by /files/browse and the operator API's LIST_FILES.
 */
export async function listEntries(target: SandboxPath): Promise<{ path: string; stat: fs.Stats }[]> {
  if (!target.stat.isDirectory()) return [{ path: target.shownPath, stat: target.stat }];
  const entries: { path: string; stat: fs.Stats }[] = [];
  for (const name of (await fs.promises.readdir(target.fdPath)).sort()) {
    try {
      entries.push({ path: path.posix.join(target.shownPath, name), stat: await fs.promises.lstat(path.join(target.fdPath, name)) });
    } catch {
      // removed while listing: leave it out
    }
  }
  return entries;
}

/** notReadable says why a sandbox path cannot be read as a file (a directory, a FIFO, a device...), or undefined. */
function notReadable(target: SandboxPath, hint: string): { status: 400; message: string } | undefined {
  if (target.stat.isDirectory()) return { status: 400, message: `Cannot read '${target.shownPath}': it is a directory (${hint})` };
  if (!target.stat.isFile()) {
    const kind = target.stat.isFIFO() ? 'a FIFO' : target.stat.isSocket() ? 'a socket' : 'a device';
    return { status: 400, message: `Cannot read '${target.shownPath}': it is not a regular file (it is ${kind}); only regular files of a sandbox are served` };
  }
  return undefined;
}

// openForReading reopens the checked file for reading through its descriptor (the same file, not the path again).
async function openForReading(target: SandboxPath): Promise<fs.promises.FileHandle | { status: 403 | 404; message: string }> {
  try {
    // O_NONBLOCK: should it be anything but a regular file after all, nothing waits on it.
    return await fs.promises.open(target.fdPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { status: code === 'ENOENT' ? 404 : 403, message: `Cannot open '${target.shownPath}': ${code ?? (err as Error).message}` };
  }
}

/**
 * readRange reads at most `length` bytes (capped at {@link READ_CAP_BYTES}) of a sandbox file from
 * `offset` (none past its end), with its size; or says why it cannot (400 not a regular file, 403/404 open).
 * Shared by /files/read and the operator API's READ_FILE.
 */
export async function readRange(target: SandboxPath, offset: number, length: number | undefined): Promise<{ size: number; data: Buffer } | { status: 400 | 403 | 404; message: string }> {
  const refused = notReadable(target, 'list it instead');
  if (refused) return refused;
  const fd = await openForReading(target);
  if ('status' in fd) return fd;
  try {
    const st = await fd.stat();
    if (!st.isFile()) return { status: 400, message: `Cannot read '${target.shownPath}': it is not a regular file` };
    const size = st.size;
    if (offset >= size) return { size, data: Buffer.alloc(0) };
    const want = Math.min(length ?? READ_CAP_BYTES, READ_CAP_BYTES, size - offset);
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fd.read(buf, 0, want, offset);
    return { size, data: buf.subarray(0, bytesRead) };
  } finally {
    await fd.close();
  }
}

async function read(target: SandboxPath, url: URL, res: http.ServerResponse): Promise<void> {
  const refused = notReadable(target, 'use /files/browse');
  if (refused) return reply(res, refused.status, refused.message);
  const offset = intParam(url, 'offset', -1);
  const length = intParam(url, 'length', -1);
  if (offset === undefined || offset < -1) return reply(res, 400, `Failed to parse offset: '${url.searchParams.get('offset')}' must be a whole number >= -1 (-1 answers the file's size)`);
  if (length === undefined || length < -1) return reply(res, 400, `Failed to parse length: '${url.searchParams.get('length')}' must be a whole number >= -1 (-1 reads up to ${READ_CAP_BYTES} bytes)`);
  const r = await readRange(target, offset === -1 ? Number.MAX_SAFE_INTEGER : offset, length === -1 ? undefined : length); // -1: the size alone
  if ('status' in r) return reply(res, r.status, r.message);
  if (offset === -1 || offset >= r.size) return json(res, { data: '', offset: r.size });
  return json(res, { data: r.data.toString('latin1'), offset });
}

async function download(target: SandboxPath, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (target.stat.isDirectory()) return reply(res, 400, `Cannot download '${target.shownPath}': it is a directory (use /files/browse)`);
  const refused = notReadable(target, 'use /files/browse');
  if (refused) return reply(res, refused.status, refused.message.replace('Cannot read', 'Cannot download'));
  const fd = await openForReading(target);
  if ('status' in fd) return reply(res, fd.status, fd.message);
  try {
    const size = (await fd.stat()).size;
    const name = path.basename(target.shownPath).replace(/["\\\r\n]/g, '_');
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      'Content-Disposition': `attachment; filename="${name}"`,
    });
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    // Exactly the size announced, even if the file grows meanwhile (stdout of a running task does).
    const stream = fd.createReadStream({ start: 0, end: size - 1, autoClose: false });
    await new Promise<void>((resolve) => {
      stream.once('error', () => {
        res.destroy();
        resolve();
      });
      res.once('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  } finally {
    await fd.close();
  }
}

// A query parameter as a whole number; `fallback` when absent, undefined when malformed.
function intParam(url: URL, name: string, fallback: number): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** fileInfo describes one file as /files/browse lists it. */
export function fileInfo(shownPath: string, st: fs.Stats): FileInfo {
  return { path: shownPath, nlink: st.nlink, size: st.size, mtime: Math.floor(st.mtimeMs / 1000), mode: modeString(st), uid: userName(st.uid), gid: groupName(st.gid) };
}

/** modeString writes a file's type and permissions as `ls -l` does: `drwxr-xr-x`, `-rw-r--r--`. */
export function modeString(st: fs.Stats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : st.isSocket() ? 's' : '-';
  const m = st.mode;
  const bit = (mask: number, c: string) => (m & mask ? c : '-');
  const exec = (x: number, special: number, on: string, off: string) => (m & special ? (m & x ? on : off) : m & x ? 'x' : '-');
  return (
    type +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't', 'T')
  );
}

// User and group names from /etc/passwd and /etc/group, read once; ids without a name stay numbers.
let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

function readIds(file: string): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id && /^\d+$/.test(id) && !map.has(Number(id))) map.set(Number(id), name);
    }
  } catch {
    // no such file (a minimal container): numeric ids it is
  }
  return map;
}

export function userName(uid: number): string {
  users ??= readIds('/etc/passwd');
  return users.get(uid) ?? String(uid);
}

export function groupName(gid: number): string {
  groups ??= readIds('/etc/group');
  return groups.get(gid) ?? String(gid);
}

const NON_ASCII = /[\u0080-\uffff]/g;

/** json answers 200 with a body in ASCII-only JSON (Mesos escapes every non-ASCII character). */
export function json(res: http.ServerResponse, body: unknown): void {
  const text = JSON.stringify(body).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const bytes = Buffer.from(text);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  res.end(bytes);
}
