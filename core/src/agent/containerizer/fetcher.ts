/**
 * The fetcher puts a task's CommandInfo.uris into its sandbox before the command starts, as Mesos's:
 * local files (absolute paths or file:// URLs) are copied, http(s) URLs downloaded (with a timeout);
 * archives are extracted into the sandbox unless `extract` is false (.tar, .tar.gz/.tgz, .tar.bz2/.tbz2,
 * .tar.xz/.txz through `tar`; .zip through `unzip`, else Python's zipfile); `executable` makes the
 * file executable; `output_file` names it in the sandbox (it must stay inside: no absolute paths, no
 * `..`). Any failure fails the launch with a message naming the URI.
 *
 * The agent plans the URIs (names, schemes, archive kinds, and a readability check for local files that
 * gives the common refusal a clear message); the work itself is done by the fetch worker
 * (fetch-worker.ts), a process of its own that runs as the task's user when that is not the agent's, as
 * Mesos runs its fetcher, and that never writes through a symbolic link.
 *
 * ```ts
 * await fetchUris([{ value: 'https://example.com/app.tar.gz' }], sandbox, { timeoutMs: 60_000 });
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandInfo } from '../../master/model/mesos';
import { launchFailed } from './errors';
import { runFetchWorker, type WorkerUri } from './fetch-worker';
import { blockedDirectory } from './task-user';
import { onPath } from './launch-info';

/** CommandUri is one entry of CommandInfo.uris (Mesos wire shape). */
export type CommandUri = NonNullable<CommandInfo['uris']>[number];

/** FetchUser is the task's user when it is not the agent's: the fetch runs as it, with these groups. */
export interface FetchUser {
  name: string;
  uid: number;
  gid: number;
  /** The groups the task runs with (primary and supplementary): the fetch takes the same. */
  groups: number[];
}

/** FetchOptions tune the fetcher. */
export interface FetchOptions {
  /** Milliseconds one download may take (default 60 s). */
  timeoutMs?: number;
  /** PATH used to find tar, unzip and python3. */
  path?: string;
  /** signal aborts the fetch (the task was killed during its launch). */
  signal?: AbortSignal;
  /**
   * The task's user when it is not the agent's: the fetch runs as that user (Mesos runs its fetcher as
   * the task's user), so a task cannot copy in what it could not read, nor write where it could not.
   */
  asUser?: FetchUser;
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

// archiveOf decides how a fetched file is extracted (undefined: it is not).
function archiveOf(uri: CommandUri, dest: string, pathVar: string): WorkerUri['archive'] {
  if (uri.extract === false) return undefined;
  for (const [re, flags] of ARCHIVES) if (re.test(dest)) return { tool: 'tar', flags };
  if (!/\.zip$/i.test(dest)) return undefined;
  if (onPath('unzip', pathVar)) return { tool: 'unzip' };
  if (onPath('python3', pathVar)) return { tool: 'python3' };
  throw new Error('cannot extract a .zip: neither `unzip` nor `python3` is installed on the agent (install unzip)');
}

// planUri checks one URI and says what the worker does with it.
function planUri(uri: CommandUri, sandbox: string, opts: FetchOptions, pathVar: string): WorkerUri {
  if (!uri?.value) throw new Error('the URI is empty');
  const dest = path.relative(sandbox, sandboxPath(sandbox, outputName(uri)));
  const value = uri.value;
  let kind: WorkerUri['kind'];
  let source = value;
  if (/^https?:\/\//i.test(value)) kind = 'http';
  else if (/^file:\/\//i.test(value) || path.isAbsolute(value)) {
    kind = 'file';
    source = value.startsWith('/') ? value : fileURLToPath(value);
    if (opts.asUser) checkReadable(source, opts.asUser);
  } else {
    throw new Error('unsupported URI: give an absolute path, a file:// URL or an http(s):// URL');
  }
  return { kind, source, dest, archive: archiveOf(uri, dest, pathVar), ...(uri.executable ? { executable: true } : {}) };
}

/**
 * checkReadable throws unless `user` may read `source` (search on every directory above it, read on the
 * file itself), with the groups the task has. It only makes the common refusal clear: the worker reads
 * the file as the user, so the kernel has the last word.
 */
function checkReadable(source: string, user: FetchUser): void {
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

// fetchAll fetches every URI in one worker; a failure is thrown as [index, message].
async function fetchAll(uris: CommandUri[], sandbox: string, opts: FetchOptions): Promise<void> {
  const pathVar = opts.path ?? process.env.PATH ?? '';
  const planned: WorkerUri[] = [];
  for (const [i, uri] of uris.entries()) {
    try {
      planned.push(planUri(uri, sandbox, opts, pathVar));
    } catch (err) {
      throw new UriFailure(i, (err as Error).message);
    }
  }
  const r = await runFetchWorker(
    { sandbox: fs.realpathSync(sandbox), uris: planned, timeoutMs: opts.timeoutMs ?? 60_000, path: pathVar, ...(opts.asUser && { user: opts.asUser }) },
    opts.signal,
  );
  if (!r.ok) throw new UriFailure(r.index, r.message);
}

class UriFailure extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

/** fetchOne fetches one URI into the sandbox (its errors say what failed, without the URI). */
export async function fetchOne(uri: CommandUri, sandbox: string, opts: FetchOptions = {}): Promise<string> {
  await fetchAll([uri], sandbox, opts);
  return sandboxPath(sandbox, outputName(uri));
}

/** fetchUris fetches every URI in order; the first failure rejects with a LaunchError naming the URI. */
export async function fetchUris(uris: CommandUri[] | undefined, sandbox: string, opts: FetchOptions = {}): Promise<void> {
  if (!uris?.length) return;
  try {
    await fetchAll(uris, sandbox, opts);
  } catch (err) {
    if (!(err instanceof UriFailure)) throw launchFailed(`fetching into ${sandbox}: ${(err as Error).message}`, err);
    throw launchFailed(`fetching ${uris[err.index]?.value || '(empty URI)'}: ${err.message}`, err);
  }
}
