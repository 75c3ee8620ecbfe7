/**
 * The fetcher puts a task's CommandInfo.uris into its sandbox before the command starts, as Mesos's:
 * local files (absolute paths or file:// URLs) are copied, http(s) URLs downloaded (with a timeout);
 * archives are extracted into the sandbox unless `extract` is false (.tar, .tar.gz/.tgz, .tar.bz2/.tbz2,
 * .tar.xz/.txz through `tar`; .zip through `unzip`, else Python's zipfile); `executable` makes the
 * file executable; `output_file` names it in the sandbox (it must stay inside: no absolute paths, no
 * `..`). Any failure fails the launch with a message naming the URI.
 *
 * ```ts
 * await fetchUris([{ value: 'https://example.com/app.tar.gz' }], sandbox, { timeoutMs: 60_000 });
 * ```
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { CommandInfo } from '../../master/model/mesos';
import { isInside, resolveLinks } from '../http/sandbox-path';
import { launchFailed } from './errors';
import { blockedDirectory } from './launcher';
import { onPath } from './launch-info';

/** CommandUri is one entry of CommandInfo.uris (Mesos wire shape). */
export type CommandUri = NonNullable<CommandInfo['uris']>[number];

/** FetchOptions tune the fetcher. */
export interface FetchOptions {
  /** Milliseconds one download may take (default 60 s). */
  timeoutMs?: number;
  /** PATH used to find tar, unzip and python3. */
  path?: string;
  /** signal aborts downloads (the task was killed during its launch). */
  signal?: AbortSignal;
  /**
   * The task's user when it is not the agent's: local files are fetched only when that user may read
   * them (Mesos runs its fetcher as the task's user), so a task cannot copy out what it could not read.
   */
  asUser?: { name: string; uid: number; groups: readonly number[] };
}

const ARCHIVES: [RegExp, string[]][] = [
  [/\.(tar\.gz|tgz)$/i, ['-z']],
  [/\.(tar\.bz2|tbz2|tbz)$/i, ['-j']],
  [/\.(tar\.xz|txz)$/i, ['-J']],
  [/\.tar$/i, []],
];

/** outputName is the file's name in the sandbox: output_file, else the URI's last path segment. */
export function outputName(uri: CommandUri): string {
  if (uri.output_file) return uri.output_file;
  let p = uri.value;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(new URL(p).pathname);
    } catch {
      // an invalid URL fails later with a clear message
    }
  }
  return path.posix.basename(p);
}

/** sandboxPath resolves a name inside the sandbox; it throws for absolute names and any `..`. */
export function sandboxPath(sandbox: string, name: string): string {
  if (!name) throw new Error('the URI names no file (it ends with "/"): give output_file');
  if (path.isAbsolute(name)) throw new Error(`output_file "${name}" is absolute: it must be a path relative to the sandbox`);
  if (name.split(/[\\/]/).includes('..')) throw new Error(`output_file "${name}" contains "..": it must stay inside the sandbox`);
  const full = path.resolve(sandbox, name);
  const rel = path.relative(sandbox, full);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`output_file "${name}" is not inside the sandbox`);
  return full;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

async function download(url: string, dest: string, timeoutMs: number, abort?: AbortSignal): Promise<void> {
  let res: Response;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = abort ? AbortSignal.any([timeout, abort]) : timeout;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    if (abort?.aborted) throw new Error('aborted: the task was killed');
    if (e.name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs} ms`);
    throw new Error(e.cause?.message ?? e.message);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  }
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(dest), { signal });
}

async function extract(file: string, sandbox: string, env: NodeJS.ProcessEnv, pathVar: string): Promise<void> {
  for (const [re, flags] of ARCHIVES) {
    if (re.test(file)) return run('tar', ['--no-same-owner', '-x', ...flags, '-f', file, '-C', sandbox], env);
  }
  if (!/\.zip$/i.test(file)) return;
  if (onPath('unzip', pathVar)) return run('unzip', ['-o', '-q', file, '-d', sandbox], env);
  if (onPath('python3', pathVar)) return run('python3', ['-m', 'zipfile', '-e', file, sandbox], env);
  throw new Error('cannot extract a .zip: neither `unzip` nor `python3` is installed on the agent (install unzip)');
}

/** fetchOne fetches one URI into the sandbox. */
export async function fetchOne(uri: CommandUri, sandbox: string, opts: FetchOptions = {}): Promise<string> {
  const pathVar = opts.path ?? process.env.PATH ?? '';
  const env = { ...process.env, PATH: pathVar };
  const dest = sandboxPath(sandbox, outputName(uri));
  // An earlier URI's archive may have left symlinks in the sandbox: never create, write or chmod through
  // one to a place outside it (the fetcher runs as the agent's user, often root).
  if (!isInside(await resolveLinks(dest), await fs.promises.realpath(sandbox))) {
    throw new Error(`${path.relative(sandbox, dest)} leads out of the sandbox through a symbolic link`);
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const value = uri.value;
  if (/^https?:\/\//i.test(value)) await download(value, dest, opts.timeoutMs ?? 60_000, opts.signal);
  else if (/^file:\/\//i.test(value) || path.isAbsolute(value)) {
    const source = value.startsWith('/') ? value : fileURLToPath(value);
    if (opts.asUser) checkReadable(source, opts.asUser);
    await fs.promises.copyFile(source, dest).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'ENOENT' ? `${source} does not exist on the agent` : err.message);
    });
  } else {
    throw new Error('unsupported URI: give an absolute path, a file:// URL or an http(s):// URL');
  }
  if (uri.extract !== false) await extract(dest, sandbox, env, pathVar);
  if (uri.executable) await fs.promises.chmod(dest, 0o755);
  return dest;
}

/** checkReadable throws unless `user` may read `source` (search on every directory above it, read on the file itself). */
function checkReadable(source: string, user: { name: string; uid: number; groups: readonly number[] }): void {
  if (user.uid === 0) return;
  let real: string;
  try {
    real = fs.realpathSync(source);
  } catch {
    return; // missing: the copy says so
  }
  const say = (why: string) => new Error(`user "${user.name}" may not read ${source} (${why}): the fetcher reads local files with the permissions of the task's user, as Mesos runs it as that user`);
  const blocked = blockedDirectory(real, user);
  if (blocked) throw say(`${blocked.dir} is mode ${blocked.mode.toString(8).padStart(4, '0')}, owner ${blocked.uid}:${blocked.gid}`);
  const st = fs.statSync(real);
  const bit = st.uid === user.uid ? 0o400 : user.groups.includes(st.gid) ? 0o040 : 0o004;
  if ((st.mode & bit) === 0) throw say(`mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}`);
}

/** fetchUris fetches every URI in order; the first failure rejects with a LaunchError naming the URI. */
export async function fetchUris(uris: CommandUri[] | undefined, sandbox: string, opts: FetchOptions = {}): Promise<void> {
  for (const uri of uris ?? []) {
    try {
      if (!uri?.value) throw new Error('the URI is empty');
      await fetchOne(uri, sandbox, opts);
    } catch (err) {
      throw launchFailed(`fetching ${uri?.value ?? '(empty URI)'}: ${(err as Error).message}`, err);
    }
  }
}
