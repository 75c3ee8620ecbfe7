/**
 * Confinement of `/files/*` paths to the agent's sandboxes. A path a client names is refused unless it
 * is, after every decoding and after symlinks are resolved, inside {@link AgentView.sandboxRoot}:
 *
 * - NUL bytes, and `..` segments in any form (plain, percent-encoded once or several times, with
 *   backslashes as separators) are refused outright (403), before the file system is asked anything;
 * - a path must be absolute (the sandbox directory as Mesos's `directory` field gives it, or the virtual
 *   `/frameworks/<fid>/executors/<eid>/runs/latest[/...]` of a running executor);
 * - the path, resolved link by link, must lie inside the realpath of the sandbox root: a symlink inside
 *   a sandbox that points out of it is refused (403), a missing file is 404.
 *
 * Sandboxes belong to tasks, which may change them at any moment (swap a directory for a symbolic link
 * between the agent's check and its open). So the check is made again on what was opened: the resolved
 * path is opened first (O_PATH | O_NOFOLLOW: nothing is read, a FIFO or device is not opened, a final
 * link is not followed), and the opened file's real path (/proc/self/fd) must be inside the sandboxes;
 * a regular file is then reopened for reading through that descriptor (the same file, whatever happened
 * to the path meanwhile), a directory is listed through it.
 *
 * ```ts
 * const r = await resolveSandboxPath(query.get('path'), view);
 * if (!r.ok) return reply(res, r.status, r.message);
 * try { ... r.stat, r.reader() ... } finally { await r.close(); }
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AgentView } from '../agent-view';

/** SandboxPath is a path that was let through, opened: where it lives and what it is. Close it. */
export interface SandboxPath {
  ok: true;
  /** realPath is the real path of the opened file (inside the real sandbox root). */
  realPath: string;
  /** shownPath is the path as the client named it, normalized (what /files/browse answers with). */
  shownPath: string;
  /** stat describes the opened file itself (a symbolic link is never followed). */
  stat: fs.Stats;
  /** fdPath is `/proc/self/fd/<fd>`: the opened file or directory, whatever became of its path since. */
  fdPath: string;
  /** close releases the descriptor. */
  close(): Promise<void>;
}

/** PathRefusal says why a path was refused, as an HTTP status and a message for the client. */
export interface PathRefusal {
  ok: false;
  status: 400 | 403 | 404;
  message: string;
}

const VIRTUAL = /^\/frameworks\/([^/]+)\/executors\/([^/]+)\/runs\/(latest|[^/]+)(\/.*)?$/;

/**
 * hasTraversal tells whether a path holds a `..` segment in any form a client might sneak one in: plain,
 * percent-encoded (once or more), or with backslashes as separators.
 */
export function hasTraversal(text: string): boolean {
  let s = text;
  for (let i = 0; i < 4; i++) {
    if (s.replace(/\\/g, '/').split('/').includes('..')) return true;
    let next: string;
    try {
      next = decodeURIComponent(s);
    } catch {
      // A stray '%': what is left cannot decode further; check the raw form for encoded dots.
      return /%2e%2e|%252e/i.test(s);
    }
    if (next === s) return false;
    s = next;
  }
  return true; // still changing after four decodings: nobody needs that, refuse it
}

/** isInside tells whether `p` is `root` or below it (both absolute and normalized). */
export function isInside(p: string, root: string): boolean {
  const r = root.endsWith('/') ? root : root + '/';
  return p === root || p.startsWith(r);
}

/**
 * resolveSandboxPath checks a client's `path` parameter and finds the file it names, or says why not.
 * It never throws for a client's input.
 */
export async function resolveSandboxPath(requested: string | null | undefined, view: AgentView): Promise<SandboxPath | PathRefusal> {
  if (requested === null || requested === undefined || requested === '') {
    return { ok: false, status: 400, message: "Expecting 'path=value' in query: the absolute path of a file or directory in a sandbox (the executor's `directory` in /state)" };
  }
  if (requested.includes('\0') || /%00/.test(requested)) {
    return { ok: false, status: 403, message: 'Refusing a path with a NUL byte' };
  }
  if (hasTraversal(requested)) {
    return { ok: false, status: 403, message: `Refusing path '${requested}': '..' is not allowed in any form; name the file by its absolute path in a sandbox` };
  }
  if (!requested.startsWith('/')) {
    return { ok: false, status: 400, message: `Expecting an absolute path, got '${requested}': give the sandbox directory as /state's executors[].directory shows it, e.g. ${view.sandboxRoot()}/...` };
  }
  const root = path.resolve(view.sandboxRoot());
  let lexical = path.resolve(requested);
  const virtual = VIRTUAL.exec(requested);
  if (virtual && !isInside(lexical, root)) {
    const sandbox = virtualSandbox(view, virtual[1], virtual[2], virtual[3]);
    if (!sandbox) return { ok: false, status: 404, message: `No running executor '${virtual[2]}' of framework '${virtual[1]}' on this agent (run '${virtual[3]}')` };
    lexical = path.resolve(sandbox, '.' + (virtual[4] ?? '/'));
  }
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch {
    return { ok: false, status: 404, message: `File not found: '${requested}' (no sandbox exists on this agent yet)` };
  }
  // The root as configured or as it really is (a work dir reached through a symlink, e.g. /tmp on macOS).
  if (!isInside(lexical, root) && !isInside(lexical, realRoot)) {
    return { ok: false, status: 403, message: `Refusing path '${requested}': it is outside the sandboxes (${root}); /files/* serve sandboxes only` };
  }
  let realPath: string;
  try {
    realPath = await resolveLinks(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { ok: false, status: 403, message: `Refusing path '${requested}': too many levels of symbolic links` };
    if (code === 'EACCES') return { ok: false, status: 403, message: `Permission denied: '${requested}'` };
    return { ok: false, status: 404, message: `File not found: '${requested}' (${code ?? (err as Error).message})` };
  }
  // Checked before asking whether the file exists: a 403 or 404 must not tell what lies outside.
  if (!isInside(realPath, realRoot)) {
    return { ok: false, status: 403, message: `Refusing path '${requested}': it leads out of the sandboxes through a symbolic link` };
  }
  const opened = await openInside(realPath, realRoot, requested);
  if (!opened.ok) return opened;
  return { ...opened, shownPath: path.posix.normalize(requested).replace(/(.)\/+$/, '$1') };
}

/** O_PATH (Linux): a descriptor that names a file without opening it for reading (Node has no constant for it). */
const O_PATH = 0o10000000;

/**
 * openInside opens `p` (O_PATH | O_NOFOLLOW) and lets it through only when what was opened really lies
 * inside `realRoot` and is no symbolic link: the check that counts, made on the descriptor rather than
 * on a path a task could change between a check and an open. `requested` names it in messages.
 */
export async function openInside(p: string, realRoot: string, requested: string): Promise<Omit<SandboxPath, 'shownPath'> | PathRefusal> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(p, O_PATH | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { ok: false, status: 403, message: `Refusing path '${requested}': too many levels of symbolic links` };
    if (code === 'EACCES') return { ok: false, status: 403, message: `Permission denied: '${requested}'` };
    return { ok: false, status: 404, message: `File not found: '${requested}'` };
  }
  const fdPath = `/proc/self/fd/${handle.fd}`;
  const refuse = async (r: PathRefusal): Promise<PathRefusal> => {
    await handle.close().catch(() => undefined);
    return r;
  };
  let realPath: string;
  let stat: fs.Stats;
  try {
    realPath = await fs.promises.readlink(fdPath);
    stat = await handle.stat();
  } catch (err) {
    return refuse({ ok: false, status: 404, message: `File not found: '${requested}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
  }
  if (!isInside(realPath, realRoot)) return refuse({ ok: false, status: 403, message: `Refusing path '${requested}': it leads out of the sandboxes through a symbolic link` });
  if (stat.isSymbolicLink()) return refuse({ ok: false, status: 403, message: `Refusing path '${requested}': it is a symbolic link that changed while it was being opened` });
  return { ok: true, realPath, stat, fdPath, close: () => handle.close().catch(() => undefined) };
}

const MAX_LINKS = 40;

/**
 * resolveLinks is realpath that also resolves a path whose end does not exist: symlinks are followed one
 * component at a time, and from the first missing component on the rest is taken as written. So a
 * dangling symlink that points out of the sandboxes is seen as pointing out.
 */
export async function resolveLinks(p: string): Promise<string> {
  let parts = p.split('/').filter(Boolean);
  let current = '/';
  let links = 0;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(current, parts[i]);
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return path.join(next, ...parts.slice(i + 1));
      throw err;
    }
    if (!st.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
    const target = path.resolve(current, await fs.promises.readlink(next));
    parts = [...target.split('/').filter(Boolean), ...parts.slice(i + 1)];
    current = '/';
    i = -1;
  }
  return current;
}

// The sandbox of a running executor for Mesos's virtual path: run 'latest' or the container id.
function virtualSandbox(view: AgentView, frameworkId: string, executorId: string, run: string): string | undefined {
  const fw = view.frameworks().find((f) => f.info.id?.value === frameworkId);
  const ex = fw?.executors.find((e) => e.executorId === executorId && (run === 'latest' || e.containerId === run));
  return ex?.sandbox;
}
