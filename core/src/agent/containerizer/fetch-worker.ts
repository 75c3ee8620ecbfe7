/**
 * The fetch worker: a short-lived Node process that puts a container's URIs into its sandbox. It runs
 * apart from the agent for two reasons:
 *
 * - **As the task's user.** The agent runs as root; Mesos runs its fetcher as the task's user, so the
 *   kernel decides what a task may copy in (a root-only file is refused, whatever races a permission
 *   check in the agent could lose) and everything the fetch writes, follows or changes is limited to what
 *   the user could do anyway. The worker starts as root, takes the task's groups, gid and uid
 *   (setgroups, setgid, setuid: the same groups the task gets) and only then reads its job.
 * - **Off the agent's threads.** A slow disk, a huge archive or a FIFO where a file was expected stalls
 *   this process, not the agent (which kills it when the task is killed during the launch).
 *
 * What it does never follows a symbolic link to write, whoever it runs as: a fetched file is written to
 * a new temporary file and renamed over its destination (a link there is replaced, not written through);
 * a destination whose directories lead out of the sandbox through a link is refused; archives are
 * extracted into a fresh, empty directory inside the sandbox (so `tar`/`unzip` meet no link they did not
 * make themselves; GNU tar defers the links an archive makes until its files are out) and their entries
 * are then moved into the sandbox by rename, a directory of the archive going into a directory of the
 * sandbox only where that is a real directory or a link that stays inside; `executable` changes the mode
 * through a descriptor opened with O_NOFOLLOW. The sandbox's `stdout` and `stderr` must stay regular files
 * (the agent appends the task's output there): an archive entry of those names that is anything else
 * fails the fetch.
 *
 * Protocol: the job as JSON on stdin; on stdout one JSON line, `{"ok":true}` or
 * `{"ok":false,"index":N,"message":"..."}` naming the URI that failed (index into `uris`).
 *
 * ```ts
 * const r = await runFetchWorker({ sandbox, uris: [{ kind: 'http', source: url, dest: 'app.tgz', archive: { tool: 'tar', flags: ['-z'] } }], timeoutMs: 60_000, path: PATH });
 * ```
 */
import { spawn } from 'node:child_process';

/** WorkerUri is one URI, as the agent planned it (names checked, archive kind decided). */
export interface WorkerUri {
  kind: 'http' | 'file';
  /** The URL (http) or absolute local path (file). */
  source: string;
  /** The destination, relative to the sandbox (already checked to have no `..` and not to be absolute). */
  dest: string;
  /** How to extract it; absent: not extracted. */
  archive?: { tool: 'tar'; flags: string[] } | { tool: 'unzip' } | { tool: 'python3' };
  executable?: boolean;
}

/** WorkerJob is what one worker fetches. */
export interface WorkerJob {
  /** The sandbox's real path (no symbolic link in it). */
  sandbox: string;
  uris: WorkerUri[];
  /** Milliseconds one download may take. */
  timeoutMs: number;
  /** PATH for tar, unzip and python3. */
  path: string;
  /** The user to fetch as; absent: the agent's own. */
  user?: { name: string; uid: number; gid: number; groups: number[] };
}

/** WorkerResult is the worker's answer. */
export type WorkerResult = { ok: true } | { ok: false; index: number; message: string };

/**
 * FETCH_WORKER is the worker's program (CommonJS, run with `node -e`): plain JavaScript, because it must
 * run as its own process both from the bundled agent and from the sources under test.
 */
export const FETCH_WORKER = String.raw`'use strict';
const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');
const { Readable } = require('stream');
const { pipeline } = require('stream/promises');
const C = fs.constants;

const inside = (p, root) => p === root || p.startsWith(root.endsWith('/') ? root : root + '/');
const lstat = (p) => { try { return fs.lstatSync(p); } catch (e) { if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined; throw e; } };
const kindOf = (st) => st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a regular file';

// Like realpath, but a missing tail is taken as written: where a path leads, links followed one by one.
function resolveLinks(p) {
  let parts = p.split('/').filter(Boolean);
  let current = '/';
  let links = 0;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(current, parts[i]);
    const st = lstat(next);
    if (!st) return path.join(next, ...parts.slice(i + 1));
    if (!st.isSymbolicLink()) { current = next; continue; }
    if (++links > 40) throw new Error('too many levels of symbolic links at ' + next);
    parts = [...path.resolve(current, fs.readlinkSync(next)).split('/').filter(Boolean), ...parts.slice(i + 1)];
    current = '/';
    i = -1;
  }
  return current;
}

// The real file a destination names inside the sandbox; its directories are made.
function destination(sandbox, rel) {
  const real = resolveLinks(path.join(sandbox, rel));
  if (!inside(real, sandbox) || real === sandbox) throw new Error(rel + ' leads out of the sandbox through a symbolic link');
  fs.mkdirSync(path.dirname(real), { recursive: true });
  if (!inside(resolveLinks(path.dirname(real)), sandbox)) throw new Error(rel + ' leads out of the sandbox through a symbolic link');
  return real;
}

let seq = 0;
// Writes a new file next to dest from a stream, then renames it over dest (a link there is replaced).
async function writeReplacing(dest, mode, source) {
  const tmp = path.join(path.dirname(dest), '.tessera-fetch-' + process.pid + '-' + seq++);
  let fh;
  try {
    fh = await fs.promises.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
    await fh.chmod(mode);
  } catch (e) {
    source.destroy();
    if (fh) await fh.close().catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    await pipeline(source, fh.createWriteStream());
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(e.code === 'EISDIR' ? path.basename(dest) + ' is a directory in the sandbox' : e.message);
  }
}

async function download(url, dest, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  let res;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    if (e.name === 'TimeoutError') throw new Error('no answer within ' + timeoutMs + ' ms');
    throw new Error((e.cause && e.cause.message) || e.message);
  }
  if (!res.ok || !res.body) {
    if (res.body) await res.body.cancel();
    throw new Error(('HTTP ' + res.status + ' ' + res.statusText).trim());
  }
  try {
    await writeReplacing(dest, 0o644, Readable.fromWeb(res.body));
  } catch (e) {
    if (e.name === 'TimeoutError' || signal.aborted) throw new Error('no answer within ' + timeoutMs + ' ms');
    throw e;
  }
}

async function copy(source, dest, user) {
  let fh;
  try {
    // O_NONBLOCK: a FIFO opens at once (and is refused below) instead of waiting for a writer.
    fh = await fs.promises.open(source, C.O_RDONLY | C.O_NONBLOCK);
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new Error(source + ' does not exist on the agent');
    if (e.code === 'EACCES' && user) throw new Error('user "' + user + '" may not read ' + source + ' (permission denied): the fetcher reads local files as the task\'s user, as Mesos runs it as that user');
    throw new Error('cannot open ' + source + ': ' + e.message);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new Error(source + ' is not a regular file (it is ' + kindOf(st) + '): only regular files are fetched');
  }
  await writeReplacing(dest, st.mode & 0o777, fh.createReadStream());
}

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 1 << 20 }, (err, _out, stderr) => {
      if (err) reject(new Error(cmd + ' failed: ' + (String(stderr).trim() || err.message)));
      else resolve();
    });
  });
}

// Moves what an archive held (extracted into src) into the sandbox directory dst, never through a link.
function merge(src, dst, rel, sandbox) {
  for (const name of fs.readdirSync(src).sort()) {
    const s = path.join(src, name);
    const member = rel ? rel + '/' + name : name;
    const ss = fs.lstatSync(s);
    let d = path.join(dst, name);
    let ds = lstat(d);
    if (dst === sandbox && (name === 'stdout' || name === 'stderr') && !ss.isFile()) {
      const to = ss.isSymbolicLink() ? ' to ' + fs.readlinkSync(s) : '';
      throw new Error('the archive\'s member ' + member + ' is ' + kindOf(ss) + to + ': the sandbox\'s ' + name + ' must stay a regular file (the task\'s output goes there)');
    }
    if (ss.isDirectory() && ds && ds.isSymbolicLink()) {
      const target = resolveLinks(d);
      if (!inside(target, sandbox)) {
        throw new Error('the archive\'s member ' + member + ' would be extracted through the symbolic link ' + path.relative(sandbox, d) + ' (to ' + fs.readlinkSync(d) + '), which leads out of the sandbox');
      }
      const ts = lstat(target);
      if (ts && ts.isDirectory()) { d = target; ds = ts; }
    }
    if (ss.isDirectory() && ds && ds.isDirectory()) { merge(s, d, member, sandbox); continue; }
    if (ds && ds.isDirectory()) throw new Error('the archive\'s member ' + member + ' is ' + kindOf(ss) + ' but the sandbox has a directory there');
    if (ds && ss.isDirectory()) fs.unlinkSync(d);
    fs.renameSync(s, d);
  }
}

async function extract(archive, file, sandbox, env) {
  const tmp = fs.mkdtempSync(path.join(sandbox, '.tessera-extract-'));
  try {
    if (archive.tool === 'tar') await run('tar', ['--no-same-owner', '--no-overwrite-dir', '-x', ...archive.flags, '-f', file, '-C', tmp], env);
    else if (archive.tool === 'unzip') await run('unzip', ['-o', '-q', file, '-d', tmp], env);
    else await run('python3', ['-m', 'zipfile', '-e', file, tmp], env);
    merge(tmp, sandbox, '', sandbox);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function makeExecutable(dest, rel) {
  let fd;
  try {
    fd = fs.openSync(dest, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (e) {
    if (e.code === 'ELOOP') throw new Error(rel + ' is a symbolic link (to ' + fs.readlinkSync(dest) + '), put there by an archive: only a regular file of the sandbox is made executable');
    throw new Error('cannot make ' + rel + ' executable: ' + e.message);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(rel + ' is ' + kindOf(st) + ': only a regular file of the sandbox is made executable');
    fs.fchmodSync(fd, 0o755);
  } finally {
    fs.closeSync(fd);
  }
}

async function main() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const job = JSON.parse(text);
  if (job.user) {
    process.setgroups(job.user.groups);
    process.setgid(job.user.gid);
    process.setuid(job.user.uid);
  }
  const env = { ...process.env, PATH: job.path };
  for (let i = 0; i < job.uris.length; i++) {
    const u = job.uris[i];
    try {
      const dest = destination(job.sandbox, u.dest);
      if (u.kind === 'http') await download(u.source, dest, job.timeoutMs);
      else await copy(u.source, dest, job.user && job.user.name);
      if (u.archive) await extract(u.archive, dest, job.sandbox, env);
      if (u.executable) makeExecutable(dest, u.dest);
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, index: i, message: e.message }) + '\n');
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify({ ok: true }) + '\n');
}
main().catch((e) => {
  process.stderr.write((e && e.stack) || String(e));
  process.exit(2);
});
`;

/**
 * runFetchWorker runs one worker for a job and resolves with its answer. It rejects when the worker
 * could not run or answered nothing (its stderr is in the message), and kills it (its whole process
 * group: tar or unzip included) when `signal` aborts.
 */
export function runFetchWorker(job: WorkerJob, signal?: AbortSignal): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted: the task was killed'));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: job.path };
    delete env.NODE_OPTIONS; // the agent's loader flags are not the worker's business
    const child = spawn(process.execPath, ['-e', FETCH_WORKER], { cwd: '/', env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    child.stdin!.on('error', () => undefined);
    const abort = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (e) => {
      signal?.removeEventListener('abort', abort);
      reject(new Error(`the fetcher process could not start: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) return reject(new Error('aborted: the task was killed'));
      const line = out.trim().split('\n').pop();
      try {
        const r = JSON.parse(line ?? '') as WorkerResult;
        if (typeof r.ok === 'boolean') return resolve(r);
      } catch {
        // no answer: say how it ended
      }
      reject(new Error(`the fetcher process ended (${sig ?? `exit ${code}`}) without an answer${err.trim() ? `: ${err.trim()}` : ''}`));
    });
    child.stdin!.end(JSON.stringify(job));
  });
}
